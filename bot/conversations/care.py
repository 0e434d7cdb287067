"""Care assignments (``/phancong``): the board matches volunteers with their care clients.

A client may have several volunteers and a volunteer several clients. Ending an assignment
keeps its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import BOARD, member_choices
from bot.conversations.fund_common import chosen, member_in_club, member_steps
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError
from storage.base import Transaction

ACTIONS = (
    Choice("link", N_("Start caring for this person"), ("giao", "phan cong")),
    Choice("unlink", N_("Stop caring for this person"), ("thoi", "ngung")),
)


async def _volunteers(ctx: Ctx) -> list[Any]:
    assert ctx.member is not None
    return await ctx.tx.members_with_roles(ctx.member.club_id, {"volunteer"})


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when the club has volunteers."""
    if not await _volunteers(ctx):
        return Done([Reply((T(N_("The club has no volunteers yet. Give the volunteer role "
                                 "first with /vaitro.")),))])
    return {}


async def volunteer_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The club's volunteers."""
    return member_choices(await _volunteers(ctx))


async def action_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Start or stop, naming the volunteer and the person cared for."""
    volunteer = await ctx.tx.get_member(int(data["volunteer"]))
    client = await ctx.tx.get_member(chosen(data))
    assert volunteer is not None and client is not None
    return T(N_("Should {volunteer} start or stop caring for {client}? For example: 1 to "
                "start."), volunteer=volunteer.full_name, client=client.full_name)


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """Who cares for whom, for checking."""
    volunteer = await ctx.tx.get_member(int(data["volunteer"]))
    client = await ctx.tx.get_member(chosen(data))
    assert volunteer is not None and client is not None
    text = (N_("{volunteer} will care for {client}.") if data["action"] == "link"
            else N_("{volunteer} will no longer care for {client}."))
    return T(text, volunteer=volunteer.full_name, client=client.full_name)


async def check_action(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """A volunteer cannot be their own client."""
    if int(data["volunteer"]) == chosen(data):
        raise ParseError(N_("A volunteer cannot care for themselves. Type /huy and start "
                            "again with another member."))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Write the change."""
    return Done(effects=[SetCare(int(data["volunteer"]), chosen(data), data["action"] == "link")])


@dataclass(frozen=True)
class SetCare:
    """Effect: a volunteer starts or stops caring for a member; the volunteer is told."""

    volunteer_id: int
    client_id: int
    link: bool

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the link if the writer is on the board of both people's club."""
        if refusal := refused(ctx, BOARD):
            return refusal
        assert ctx.member is not None
        club_id = ctx.member.club_id
        volunteer = await member_in_club(tx, self.volunteer_id, club_id)
        client = await member_in_club(tx, self.client_id, club_id)
        if volunteer is None or client is None:
            return [Reply((T(N_("This person is not an active member of the club.")),))]
        if self.link:
            changed = await tx.link_care(volunteer.id, client.id, ctx.member.id, ctx.now)
            told = T(N_("The board asks you to care for {client} ({village}). Record each visit "
                        "with /thamnom."), client=client.full_name, village=client.village)
        else:
            changed = await tx.unlink_care(volunteer.id, client.id, ctx.now)
            told = T(N_("You no longer care for {client}. Thank you for your help."),
                     client=client.full_name)
        if not changed:
            return [Reply((T(N_("Nothing changed: it was already so.")),))]
        replies = [Reply((T(N_("Done.")),))]
        if volunteer.id != ctx.member.id:
            replies.append(notify(volunteer.id, told))
        return replies


WHO, PICK = member_steps(
    N_("Who is cared for? Type part of the name or the phone number, for example Hoa or "
       "0912 345 678."),
    N_("Member"),
)

CARE = Flow(
    id="care",
    command="phancong",
    title=N_("Volunteers and the members they care for"),
    steps=(
        Step("volunteer", N_("Which volunteer?"), choices=volunteer_choices,
             label=N_("Volunteer")),
        WHO,
        PICK,
        Step("action", action_prompt, choices=ACTIONS, validate=check_action),
    ),
    roles=BOARD,
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("phan cong",),
)
