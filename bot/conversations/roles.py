"""Roles (``/vaitro``): the chair gives or takes away vice chair, treasurer and volunteer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import member_choices
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError
from bot.vocabulary import ROLE_LABELS
from storage.base import Transaction

CHAIR = frozenset({"chair"})
GIVABLE = ("vice_chair", "treasurer", "volunteer")
ROLE_CHOICES = tuple(Choice(role, ROLE_LABELS[role]) for role in GIVABLE)
ACTIONS = (
    Choice("give", N_("Give this role"), ("giao", "them", "co")),
    Choice("take", N_("Take this role away"), ("bo", "thu hoi", "go")),
)


async def who_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Active members of the chair's own club."""
    assert ctx.member is not None
    return member_choices(await ctx.tx.list_members(ctx.member.club_id, ["active"]))


async def check_member(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """The member must be active in the chair's club."""
    member = await ctx.tx.get_member(int(value))
    assert ctx.member is not None
    if member is None or member.club_id != ctx.member.club_id or member.status != "active":
        raise ParseError(N_("Please pick a member from the list."))


async def action_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Give or take away, naming the member and the role."""
    member = await ctx.tx.get_member(int(data["who"]))
    assert member is not None
    return T(N_("Give {name} the role {role}, or take it away? For example: 1 to give it."),
             name=member.full_name, role=T(ROLE_LABELS[data["role"]]))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Change the role."""
    return Done(effects=[SetRole(int(data["who"]), data["role"], data["action"] == "give")])


@dataclass(frozen=True)
class SetRole:
    """Effect: give or take a role, checked again against the chair's club."""

    member_id: int
    role: str
    give: bool

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the change and tell the member."""
        member = await tx.get_member(self.member_id)
        actor = ctx.member
        if refusal := refused(ctx, CHAIR):
            return refusal
        assert actor is not None
        if member is None or member.club_id != actor.club_id or self.role not in GIVABLE:
            return [Reply((T(N_("Please pick a member from the list.")),))]
        role = T(ROLE_LABELS[self.role])
        if self.give:
            changed = await tx.grant_role(member.id, self.role, actor.id, ctx.now)
            told = T(N_("The chair gave you the role {role}. Type /menu to see your tasks."),
                     role=role)
        else:
            changed = await tx.revoke_role(member.id, self.role)
            told = T(N_("Your role {role} has ended. Thank you for your work."), role=role)
        if not changed:
            return [Reply((T(N_("Nothing to change: that is already so.")),))]
        return [Reply((T(N_("Done.")),)), notify(member.id, told)]


async def remember_summary(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Pre-compute the summary text, so the pure summary needs no database."""
    member = await ctx.tx.get_member(int(data["who"]))
    assert member is not None
    return {"_name": member.full_name}


def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """What will change (from the remembered name)."""
    text = (
        N_("Give {name} the role {role}.")
        if data["action"] == "give"
        else N_("Take the role {role} away from {name}.")
    )
    return T(text, name=data["_name"], role=T(ROLE_LABELS[data["role"]]))


ROLES = Flow(
    id="roles",
    command="vaitro",
    title=N_("Give or take roles"),
    steps=(
        Step("who", N_("Whose role do you want to change?"), choices=who_choices,
             validate=check_member),
        Step("role", N_("Which role?"), choices=ROLE_CHOICES),
        Step("action", action_prompt, choices=ACTIONS, validate=remember_summary),
    ),
    roles=CHAIR,
    summary=summary,
    finish=finish,
    aliases=("vai tro",),
)
