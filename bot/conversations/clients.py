"""Care clients (``/khachhang``): who is cared for, and who has waited too long for a visit.

A volunteer sees their own clients with the day of the last visit; the board sees the club's
clients without a visit for longer than the setting (7 days by default).
"""

from __future__ import annotations

from bot import health
from bot.conversations.common import BOARD, member_line, one_block
from bot.conversations.visit import VOLUNTEERS
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from storage.health import Client


def _line(client: Client) -> T:
    if client.last_visit is None:
        return T(N_("- {who}: no visit yet"), who=member_line(client.member))
    return T(N_("- {who}: last visit {day}"), who=member_line(client.member),
             day=format_day(client.last_visit))


async def show(ctx: Ctx, args: str) -> Done:
    """The writer's clients (volunteer) and the club's neglected clients (board)."""
    assert ctx.member is not None
    parts: list[T] = []
    choices: tuple[Choice, ...] = ()
    if "volunteer" in ctx.roles:
        mine = await ctx.tx.clients_of(ctx.member.id)
        if mine:
            parts.append(T(N_("The people you care for:\n{lines}"),
                           lines=one_block([_line(c) for c in mine])))
            choices = (Choice("/thamnom", N_("Record a home visit")),)
        else:
            parts.append(T(N_("You have no care clients yet.")))
    if ctx.roles & BOARD:
        gap = (await health.triage(ctx.tx)).visit_gap_days
        clients = await ctx.tx.care_clients(ctx.member.club_id)
        late = [c for c in clients
                if c.last_visit is None or (ctx.today - c.last_visit).days > gap]
        if late:
            parts.append(T(N_("No visit for more than {days} days ({count}):\n{lines}"),
                           days=gap, count=len(late), lines=one_block([_line(c) for c in late])))
        elif clients:
            parts.append(T(N_("Every client had a visit in the last {days} days."), days=gap))
        parts.append(T(N_("Clients in the club: {count}. Assign volunteers with /phancong."),
                       count=len(clients)))
    return Done([Reply(tuple(parts), choices, "-", "-")])


CLIENTS = Flow(
    id="clients",
    command="khachhang",
    title=N_("Care clients"),
    roles=VOLUNTEERS | BOARD,
    begin=show,
    aliases=("khach hang",),
)
