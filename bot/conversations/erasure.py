"""Erasure request (``/xoadulieu``): a member asks the club to erase their personal data.

The board is notified. The financial ledger is kept, as the fund's accounts require.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import BOARD, member_line
from bot.engine import Ctx, Done, Flow, notify
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from storage.base import Transaction


def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """Explain what erasure means before the member confirms."""
    return T(N_(
        "You are asking the club to erase your name, phone, birth date, village and health "
        "records. Loan and repayment records are kept, as the fund's accounts require. "
        "The board will handle your request within 2 working days."
    ))


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Say so at once if the member's request is already open."""
    assert ctx.member is not None
    open_requests = await ctx.tx.open_erasure_requests(ctx.member.club_id)
    if any(member.id == ctx.member.id for _, member in open_requests):
        return Done([Reply((T(N_("Your request is already with the board.")),))])
    return {}


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the request."""
    return Done(effects=[RequestErasure()])


@dataclass(frozen=True)
class RequestErasure:
    """Effect: record the writer's erasure request and notify the board."""

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the request (once) and tell the board."""
        member = ctx.member
        if member is None:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        if not await tx.add_erasure_request(member.id, ctx.now):
            return [Reply((T(N_("Your request is already with the board.")),))]
        replies = [Reply((T(N_("Your request was sent to the board.")),))]
        for board in await tx.members_with_roles(member.club_id, BOARD):
            if board.id != member.id:
                replies.append(notify(board.id, T(
                    N_("{who} asked for their personal data to be erased. Please handle it "
                       "within 2 working days."), who=member_line(member)),
                    choices=(Choice("/xoa", N_("Handle it now")),)))
        return replies


ERASURE = Flow(
    id="erasure",
    command="xoadulieu",
    title=N_("Ask to erase my data"),
    who="member",
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("xoa du lieu",),
    confirm=N_("Correct, send the request"),
)
