"""Overdue loans (``/quahan``): oldest first, with days overdue and the amount due.

Computed from the latest ledger entries on every request, so a payment just recorded takes
the loan off the list at once.
"""

from __future__ import annotations

from bot.conversations.common import one_block
from bot.conversations.fund_common import VIEWERS, money
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_, format_day
from bot.messages import Reply, T


async def show(ctx: Ctx, args: str) -> Done:
    """The club's loans in arrears today."""
    assert ctx.member is not None
    overdue = await ctx.tx.arrears([ctx.member.club_id], ctx.today)
    if not overdue:
        return Done([Reply((T(N_("No loan is overdue. Well done!")),))])
    lines = []
    for number, row in enumerate(overdue, 1):
        member = await ctx.tx.get_member(row.member_id)
        assert member is not None
        lines.append(T(N_("{n}. {name}: {amount} due since {since} ({days} days)"), n=number,
                       name=member.full_name, amount=money(row.amount),
                       since=format_day(row.since), days=(ctx.today - row.since).days))
    total = sum(row.amount for row in overdue)
    return Done([Reply((
        T(N_("Overdue loans ({count}, {total} in all), oldest first:"), count=len(overdue),
          total=money(total)),
        one_block(lines),
    ))])


OVERDUE = Flow(
    id="overdue",
    command="quahan",
    title=N_("Overdue loans"),
    roles=VIEWERS,
    begin=show,
    aliases=("qua han", "no qua han"),
)
