"""Approval (``/duyet``): the board approves or rejects people waiting to join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import BOARD, details, member_choices, member_values
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError
from storage.base import Transaction

DECISIONS = (
    Choice("approve", N_("Approve"), ("duyet", "dong y", "co")),
    Choice("reject", N_("Reject"), ("tu choi", "khong")),
    Choice("later", N_("Decide later"), ("de sau", "sau")),
)


async def _pending(ctx: Ctx) -> list[Any]:
    assert ctx.member is not None
    return await ctx.tx.list_members(ctx.member.club_id, ["pending"])


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when someone is waiting."""
    if not await _pending(ctx):
        return Done([Reply((T(N_("No one is waiting for approval.")),))])
    return {}


async def who_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The people waiting, in this board member's club only."""
    return member_choices(await _pending(ctx))


async def check_pending(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """The person must still be waiting (another board member may have decided)."""
    member = await ctx.tx.get_member(int(value))
    assert ctx.member is not None
    if member is None or member.club_id != ctx.member.club_id or member.status != "pending":
        raise ParseError(N_("This person is no longer waiting. Please pick another."))


async def decision_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The waiting person's details and the question."""
    member = await ctx.tx.get_member(int(data["who"]))
    assert member is not None
    return T(N_("{details}\n\nApprove this person?"), details=details(member_values(member)))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the decision (or nothing, if it is for later)."""
    if data["decision"] == "later":
        return Done([Reply((T(N_("All right, nothing changed. Type /duyet when ready.")),))])
    return Done(effects=[Decide(int(data["who"]), data["decision"] == "approve")])


@dataclass(frozen=True)
class Decide:
    """Effect: approve or reject a waiting member, and tell them."""

    member_id: int
    approve: bool

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the decision if the actor is on the same club's board and it is still open."""
        member = await tx.get_member(self.member_id)
        actor = ctx.member
        if refusal := refused(ctx, BOARD):
            return refusal
        assert actor is not None
        if member is None or member.club_id != actor.club_id or member.status != "pending":
            return [Reply((T(N_("This person is no longer waiting.")),))]
        status = "active" if self.approve else "rejected"
        await tx.set_member_status(member.id, status, actor.id, ctx.now)
        club = await tx.get_club(member.club_id)
        assert club is not None
        if self.approve:
            done = T(N_("{name} is now a member."), name=member.full_name)
            told = T(N_("Good news: the board of {club} approved you. Type /menu to start."),
                     club=club.name)
        else:
            done = T(N_("{name} was not approved."), name=member.full_name)
            told = T(N_("Sorry, the board of {club} did not approve your registration. "
                        "Please talk to the board if you have questions."), club=club.name)
        replies = [Reply((done,)), notify(member.id, told)]
        left = len(await tx.list_members(member.club_id, ["pending"]))
        if left:
            more = T(N_("{count} more waiting. Type /duyet to continue."), count=left)
            replies.append(Reply((more,), (Choice("/duyet", N_("Review now")),), "-", "-"))
        return replies


APPROVE = Flow(
    id="approve",
    command="duyet",
    title=N_("Approve new members"),
    steps=(
        Step("who", N_("Who do you want to review?"), choices=who_choices,
             validate=check_pending),
        Step("decision", decision_prompt, choices=DECISIONS),
    ),
    roles=BOARD,
    begin=begin,
    finish=finish,
)
