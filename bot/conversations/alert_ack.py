"""Answering a health alert (``/dagoi``): "I have called / I am on my way".

Every alert carries this as a button; it can also be typed outside a task (``đã gọi``,
``da goi``, ``đang đến``, ``tôi đang đến``). Someone told about the alert, or the board, may
answer it; the member is told that help is coming and from whom, the others told that
someone answered (``bot/alerts.py``). With several alerts waiting, the person picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import alerts
from bot.conversations.common import BOARD
from bot.engine import END, Ctx, Done, Flow, Step
from bot.i18n import N_, format_moment
from bot.messages import Choice, Reply, T
from storage.base import Transaction


async def _waiting(ctx: Ctx) -> list[Any]:
    assert ctx.member is not None
    return await ctx.tx.alerts_to_answer(ctx.member.id, ctx.member.club_id,
                                         ctx.now - alerts.ANSWER_WINDOW,
                                         bool(ctx.roles & BOARD))


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """The alert of the button, the only one waiting, or a question which."""
    if args.strip().isdigit():
        return Done(effects=[Acknowledge(int(args.strip()))])
    waiting = await _waiting(ctx)
    if not waiting:
        return Done([Reply((T(N_("There is no alert waiting for your answer.")),))])
    if len(waiting) == 1:
        return Done(effects=[Acknowledge(waiting[0].id)])
    return {}


async def alert_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The alerts waiting for this person's answer, newest first."""
    choices = []
    for alert in await _waiting(ctx):
        member = await ctx.tx.get_member(alert.member_id)
        name = member.full_name if member else "-"
        at = format_moment(alert.raised_at, ctx.tz) if alert.raised_at else ""
        choices.append(Choice(str(alert.id), f"{name} ({at})"))
    return tuple(choices)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the answer to the alert picked."""
    return Done(effects=[Acknowledge(int(data["alert"]))])


@dataclass(frozen=True)
class Acknowledge:
    """Effect: record the writer's answer to an alert (checked: told about it, or board)."""

    alert_id: int

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Record the answer once and tell the member and the others alerted."""
        if ctx.member is None or not ctx.active:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        return await alerts.acknowledge(tx, ctx.now, ctx.member, ctx.roles, self.alert_id)


ALERT_ACK = Flow(
    id="alert_ack",
    command=alerts.ACK_COMMAND,
    title=N_("Answer an alert"),
    steps=(
        Step("alert", N_("Which alert are you answering?"), choices=alert_choices, next=END),
    ),
    begin=begin,
    finish=finish,
    in_menu=False,
    aliases=alerts.ACK_WORDS,
)
