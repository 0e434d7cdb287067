"""Erasure (``/xoa``): the board carries out a member's request to erase their data.

Name, phone, birth date, village and ethnic group are removed and the member's roles and
chat accounts are unlinked; the row stays (as ``#id``) so the fund's ledger keeps adding up.
The member is told before their chat account is unlinked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import BOARD, member_choices, member_line
from bot.engine import Ctx, Done, Flow, Step, refused
from bot.i18n import N_
from bot.messages import Chat, Choice, Reply, T
from bot.parsers import ParseError
from storage.base import Member, Transaction


async def _requests(ctx: Ctx) -> list[Member]:
    assert ctx.member is not None
    requests = await ctx.tx.open_erasure_requests(ctx.member.club_id)
    return [member for _, member in requests if member.id != ctx.member.id]


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when someone (other than the writer) asked to be erased."""
    if not await _requests(ctx):
        return Done([Reply((T(N_("No one is waiting for their data to be erased.")),))])
    return {}


async def who_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Members of this board member's club with an open request."""
    return member_choices(await _requests(ctx))


async def remember(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The request must still be open; keep the name for the summary."""
    member = next((m for m in await _requests(ctx) if str(m.id) == value), None)
    if member is None:
        raise ParseError(N_("Please pick a member from the list."))
    return {"_name": member_line(member)}


def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """What erasing means, before the board member confirms."""
    return T(N_(
        "Erase the personal data of {who}: name, phone, birth date, village and ethnic "
        "group. Loan and repayment records stay, under a number instead of the name. "
        "This cannot be undone."
    ), who=data["_name"])


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Erase."""
    return Done(effects=[Erase(int(data["who"]))])


@dataclass(frozen=True)
class Erase:
    """Effect: tell the member, then erase their personal data."""

    member_id: int

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Check the board role and the open request again, then erase."""
        if refusal := refused(ctx, BOARD):
            return refusal
        assert ctx.member is not None
        requests = await tx.open_erasure_requests(ctx.member.club_id)
        member = next((m for _, m in requests if m.id == self.member_id), None)
        if member is None or member.id == ctx.member.id:
            return [Reply((T(N_("Please pick a member from the list.")),))]
        told = T(N_("As you asked, the club has erased your personal data. Thank you."))
        notice = await _notice_before_unlinking(tx, member, told)
        await tx.erase_member(member.id, ctx.member.id, ctx.now)
        done = T(N_("Erased. Their loan records stay under number #{id}."), id=member.id)
        return [*notice, Reply((done,))]


async def _notice_before_unlinking(tx: Transaction, member: Member, text: T) -> list[Reply]:
    """Address the member by chat now: after erasing, no chat account points to them."""
    accounts = [i for i in await tx.identities_of(member.id) if not i.unreachable]
    if not accounts:
        return []
    return [Reply((text,), to=Chat(accounts[0].channel, accounts[0].chat_id, accounts[0].locale))]


ERASE = Flow(
    id="erase",
    command="xoa",
    title=N_("Erase a member's data on request"),
    steps=(Step("who", N_("Whose data do you want to erase?"), choices=who_choices,
                validate=remember),),
    roles=BOARD,
    begin=begin,
    summary=summary,
    finish=finish,
    in_menu=False,  # reached from the request notice and /thanhvien
    confirm=N_("Correct, erase"),
)
