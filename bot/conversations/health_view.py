"""Health (``/suckhoe``): a member's last readings and a chart of the trend.

Readings are sensitive: a member sees only their own; a volunteer their own and their
clients'; the board any member of their club, and the club's lists: who was not measured this
month, whose last reading was high (from the latest reading of each member), and the alerts of
the last :data:`ALERT_DAYS` days with who was told, who answered and any escalation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import charts, health
from bot.conversations.common import BOARD, member_line, one_block
from bot.conversations.fund_common import chosen, member_steps
from bot.conversations.health_common import kg
from bot.engine import END, Ctx, Done, Flow, Step
from bot.i18n import N_, format_day, format_moment
from bot.messages import Choice, Reply, T, joined
from storage.alerts import Alert
from storage.base import Member
from storage.health import StoredReading

SHOWN = 5  # readings listed in the message; the chart shows up to CHARTED
CHARTED = 60
ALERT_DAYS = 30  # the board's list of alerts goes back this far
MINE = Choice("self", N_("My own"), ("toi", "cua toi"))
OTHER = Choice("other", N_("Another member"), ("nguoi khac",))
CLUB = Choice("club", N_("The whole club"), ("ca cau lac bo", "clb"))


def _board(ctx: Ctx) -> bool:
    return bool(ctx.roles & BOARD)


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """A member without a care role sees their own readings at once."""
    assert ctx.member is not None
    if _board(ctx) or "volunteer" in ctx.roles:
        return {}
    return Done([await member_health(ctx, ctx.member)])


async def whose_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Own readings, then the board's choices or the volunteer's clients."""
    assert ctx.member is not None
    if _board(ctx):
        return (MINE, OTHER, CLUB)
    clients = await ctx.tx.clients_of(ctx.member.id)
    return (MINE, *(Choice(str(c.member.id), member_line(c.member)) for c in clients))


def _line(reading: StoredReading, rules: health.Triage) -> T:
    measured = health.Reading(reading.systolic, reading.diastolic)
    text = T(N_("{day}: {bp} ({grade})"), day=format_day(reading.day),
             bp=health.reading_text(measured), grade=T(health.label(measured, rules)))
    if reading.pulse:
        text = T(N_("{text}, pulse {pulse}"), text=text, pulse=reading.pulse)
    if reading.weight_tenths:
        text = T(N_("{text}, {weight} kg"), text=text, weight=kg(reading.weight_tenths / 10))
    if not reading.confirmed:
        text = T(N_("{text} (not confirmed)"), text=text)
    return text


def chart(member: Member, readings: list[StoredReading], rules: health.Triage) -> dict[str, Any]:
    """The trend chart of a member's readings (oldest first), as a chart spec."""
    return charts.bp_chart(
        T(N_("Blood pressure of {name}"), name=member.full_name),
        [[r.day, r.systolic, r.diastolic, r.pulse,
          r.weight_tenths / 10 if r.weight_tenths else None] for r in reversed(readings)],
        systolic_limit=rules.high_systolic,
        diastolic_limit=rules.high_diastolic,
    )


async def member_health(ctx: Ctx, member: Member) -> Reply:
    """A member's last readings and the chart (to whoever may see them)."""
    readings = await ctx.tx.readings_of(member.id, CHARTED)
    own = ctx.member is not None and member.id == ctx.member.id
    if not readings:
        text = (N_("No readings yet. Type /huyetap to record one.") if own
                else N_("{name} has no readings yet."))
        return Reply((T(text, name=member.full_name),))
    head = (T(N_("Your last readings:")) if own
            else T(N_("Last readings of {name}:"), name=member.full_name))
    rules = await health.triage(ctx.tx)
    lines = one_block([_line(r, rules) for r in readings[:SHOWN]])
    spec = chart(member, readings, rules)
    return Reply((head, lines), chart=spec)


NONE = N_("- nobody")


async def club_lists(ctx: Ctx) -> Reply:
    """Who was not measured this month, and whose last reading was high."""
    assert ctx.member is not None
    month = ctx.today.replace(day=1)
    everyone = await ctx.tx.club_health(ctx.member.club_id, month)
    missing = [h.member for h in everyone if not h.measured_since]
    high = [h for h in everyone if h.latest is not None and h.latest.high]
    parts = [T(N_("Not measured this month ({count}):\n{lines}"), count=len(missing),
               lines=one_block([f"- {member_line(m)}" for m in missing]) if missing else T(NONE))]
    parts.append(T(N_("Last reading high ({count}):\n{lines}"), count=len(high), lines=one_block(
        [T(N_("- {name}: {grade}, {day}"), name=h.member.full_name, day=format_day(h.latest.day),
           grade=T(health.GRADE_LABELS[h.latest.grade])) for h in high if h.latest]
    ) if high else T(NONE)))
    found = await ctx.tx.club_alerts(ctx.member.club_id, ctx.now - timedelta(days=ALERT_DAYS))
    lines = [await _alert_line(ctx, alert) for alert in found]
    parts.append(T(N_("Alerts in the last {days} days ({count}):\n{lines}"), days=ALERT_DAYS,
                   count=len(found), lines=one_block(lines) if lines else T(NONE)))
    return Reply(tuple(parts))


async def _names(ctx: Ctx, ids: list[int]) -> T | str:
    names = []
    for member_id in ids:
        member = await ctx.tx.get_member(member_id)
        names.append(member.full_name if member else f"#{member_id}")
    return joined(names, ", ") if names else T(N_("nobody"))


async def _alert_line(ctx: Ctx, alert: Alert) -> T:
    """One alert for the board: when, about whom, who was told, answered, escalated."""
    member = await ctx.tx.get_member(alert.member_id)
    at = format_moment(alert.raised_at, ctx.tz) if alert.raised_at else "-"
    line = T(N_("- {at}, {name}: told {told}."), at=at,
             name=member.full_name if member else "-",
             told=await _names(ctx, [r.member_id for r in alert.told()]))
    if alert.acks:
        first = alert.acks[0]
        line = T(N_("{line} Answered by {helpers} at {at}."), line=line,
                 helpers=await _names(ctx, [a.member_id for a in alert.acks]),
                 at=format_moment(first.at, ctx.tz))
    else:
        line = T(N_("{line} Nobody answered."), line=line)
    if alert.escalated_at is not None:
        line = T(N_("{line} Sent to the whole board at {at}."), line=line,
                 at=format_moment(alert.escalated_at, ctx.tz))
    reading = await ctx.tx.reading_by_key(alert.key)
    if reading is not None and not reading.confirmed:
        line = T(N_("{line} Reading not confirmed."), line=line)
    return line


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Show what was asked for, if the writer may see it."""
    assert ctx.member is not None
    whose = data["whose"]
    if whose == "self":
        return Done([await member_health(ctx, ctx.member)])
    if whose == "club" and _board(ctx):
        return Done([await club_lists(ctx)])
    member_id = chosen(data) if whose == "other" else int(whose)
    member = await ctx.tx.get_member(member_id)
    clients = {c.member.id for c in await ctx.tx.clients_of(ctx.member.id)}
    allowed = member is not None and member.club_id == ctx.member.club_id and (
        _board(ctx) or member.id in clients)
    if not allowed or member is None:
        return Done([Reply((T(N_("Sorry, you cannot use this.")),))])
    return Done([await member_health(ctx, member)])


WHO, PICK = member_steps(
    N_("Whose readings? Type part of the name or the phone number, for example Hoa or "
       "0912 345 678."),
    N_("Member"),
    skip=lambda ctx, data: data.get("whose") != "other",
)

HEALTH = Flow(
    id="health",
    command="suckhoe",
    title=N_("Health records"),
    steps=(
        Step("whose", N_("Whose health records?"), choices=whose_choices,
             next=lambda data: None if data["whose"] == "other" else END),
        WHO,
        PICK,
    ),
    begin=begin,
    finish=finish,
    aliases=("suc khoe",),
)
