"""What the health flows share: the blood-pressure questions, the urgent rule and the alerts.

The questions (:func:`reading_steps`): the reading; "are you sure?" when it is unusual or far
from the last one; when very high, a second measure after five minutes' rest; when very high
or low, the warning signs; then the weight (not asked when the reading is very high).
:func:`assess` turns the answers into what is saved and what the person is told.

Urgent readings are never dropped (:func:`alert_hooks`): the answer that makes a reading
urgent (:func:`urgent_known`) gives the advice at once, keeps the reading as not confirmed
and alerts (``bot/alerts.py``); confirming the summary later confirms that same reading
(:func:`record`) without alerting twice. A very high first reading whose conversation ends
before the second measure (cancelled, replaced, timed out) is treated as urgent too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot import alerts, health
from bot.conversations.common import BOARD
from bot.conversations.fund_common import member_in_club
from bot.engine import Abandon, Answered, Ctx, Done, Step, notify, refused
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T, joined
from bot.parsers import ParseError
from bot.vocabulary import SYMPTOMS
from storage.base import Member, Transaction
from storage.health import NewReading, StoredReading

RECORDERS = BOARD | {"volunteer"}
"""Record readings for other members (at the meeting, on a home visit)."""
REMEASURE_WAIT = timedelta(minutes=20)
"""How long the re-measure of a very high reading is waited for: rest 5 minutes, measure,
type. Silence after that ends the conversation, and its abandonment alerts (not after hours)."""

CONFIRM_READING = (
    Choice("yes", N_("Yes, it is right"), ("dung", "co", "dung roi")),
    Choice("retype", N_("Type it again"), ("go lai", "sai")),
)
NO_WEIGHT = (Choice("skip", N_("Not weighed"), ("bo qua", "khong", "khong can")),)
NO_SECOND = (Choice("none", N_("Could not measure again"), ("khong", "khong do duoc")),)
DOUBT_LABELS = {
    "unusual": N_("is unusual"),
    "jump": N_("is far from the last reading"),
    "pulse": N_("has an unusual pulse"),
}
ADVICE = {
    "optimal": N_("Your blood pressure is good. Well done!"),
    "normal": N_("Your blood pressure is normal. Well done!"),
    "high_normal": N_("Your blood pressure is at the high end of normal. Eat less salt, keep "
                      "moving gently, and measure again next month."),
    "grade_1": N_("Your blood pressure is high (grade 1). Please measure again at the next "
                  "meeting and ask the health worker."),
    "grade_2": N_("Your blood pressure is high (grade 2). Please see the commune health "
                  "station in the next few days."),
    "grade_3": N_("Your blood pressure is very high (grade 3). Please see the commune health "
                  "station today."),
}
URGENT = N_("Please call 115 or go to the commune health station now.")
URGENT_FOR_OTHER = N_("{name} needs help now: call 115 or take them to the commune health "
                      "station.")
URGENT_FOR_MEMBER = N_("Your blood pressure measured today is dangerous. Please call 115 or go "
                       "to the commune health station now.")
NOT_REMEASURED = N_("This blood pressure is very high and was not measured again, so I kept it "
                    "as not confirmed. Please call 115 or go to the commune health station now.")
NOT_REMEASURED_OTHER = N_("The blood pressure of {name} is very high and was not measured again, "
                          "so I kept it as not confirmed. Call 115 or take them to the commune "
                          "health station now.")
KEPT = N_("The reading is kept as not confirmed, so the board can see it. If you have not done "
          "so yet, please call 115 or go to the commune health station now.")
KEPT_OTHER = N_("The reading of {name} is kept as not confirmed, so the board can see it. If "
                "not done yet, call 115 or take them to the commune health station now.")
LOW = N_("Your blood pressure is low. If you feel dizzy, sit or lie down, drink some water, "
         "and tell your volunteer.")


def reading_of(data: dict[str, Any], step: str = "bp") -> health.Reading | None:
    """The reading answered at ``step`` (``None``: not measured)."""
    value = data.get(step)
    return health.Reading(**value) if isinstance(value, dict) else None


def _parse_bp(text: str, ctx: Ctx) -> dict[str, Any]:
    reading = health.parse_reading(text)
    return {"systolic": reading.systolic, "diastolic": reading.diastolic, "pulse": reading.pulse}


def _parse_weight(text: str, ctx: Ctx) -> str:
    return str(health.parse_weight(text))


async def last_reading(ctx: Ctx, member_id: int) -> StoredReading | None:
    """The member's latest reading, if any."""
    found = await ctx.tx.readings_of(member_id, limit=1)
    return found[0] if found else None


def reading_steps(whose: Any, optional: bool = False, weight: bool = True) -> tuple[Step, ...]:
    """The blood-pressure questions.

    Args:
        whose: ``whose(data) -> member id`` (for the comparison with the last reading).
        optional: Offer "not measured" (on a home visit).
        weight: Ask the weight too.
    """

    async def check(value: Any, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
        """Odd readings are confirmed; very high or low ones lead to more questions."""
        fresh = {"bp_check": None, "doubts": [], "urgent_first": False, "low_first": False}
        if not isinstance(value, dict):
            return fresh
        rules = await health.triage(ctx.tx)
        reading = health.Reading(**value)
        last = await last_reading(ctx, whose(ctx, data))
        before = health.Reading(last.systolic, last.diastolic) if last else None
        return {**fresh, "doubts": health.doubts(reading, before, rules),
                "urgent_first": health.is_urgent(reading, rules),
                "low_first": health.is_low(reading, rules)}

    async def check_weight(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
        if value == "skip":
            return {"weight_doubt": False, "weight_check": None}
        rules = await health.triage(ctx.tx)
        last = next((r for r in await ctx.tx.readings_of(whose(ctx, data), 12)
                     if r.weight_tenths), None)
        change = abs(Decimal(value) * 10 - last.weight_tenths) / 10 if last else Decimal(0)
        unusual = not 35 <= Decimal(value) <= 120 or change > rules.check_weight_change
        return {"weight_doubt": unusual, "weight_check": None}

    def measured(ctx: Ctx, data: dict[str, Any]) -> bool:
        return reading_of(data) is not None

    def retype(data: dict[str, Any]) -> str | None:
        return "bp" if data.get("bp_check") == "retype" else None

    def retype_weight(data: dict[str, Any]) -> str | None:
        return "weight" if data.get("weight_check") == "retype" else None

    return (
        Step("bp", bp_prompt, parse=_parse_bp, choices=NOT_MEASURED if optional else (),
             validate=check),
        Step("bp_check", doubt_prompt, choices=CONFIRM_READING, next=retype,
             skip=lambda ctx, data: not data.get("doubts")),
        Step("again", N_("This is very high. Please sit and rest for 5 minutes, then measure "
                         "again and type the new numbers, for example 150/90."),
             parse=_parse_bp, choices=NO_SECOND, wait=REMEASURE_WAIT,
             skip=lambda ctx, data: not data.get("urgent_first")),
        Step("symptoms", N_("Are there any of these signs now? Pick all that apply."),
             choices=SYMPTOMS, multi=True, validate=_symptoms,
             skip=lambda ctx, data: not measured(ctx, data) or not _asks_signs(data)),
        Step("weight", N_("What is the weight in kg? For example 52 or 52,5."),
             parse=_parse_weight, choices=NO_WEIGHT, validate=check_weight,
             label=N_("Weight"),
             skip=lambda ctx, data: not weight or data.get("urgent_first", False)),
        Step("weight_check", weight_doubt_prompt, choices=CONFIRM_READING, next=retype_weight,
             skip=lambda ctx, data: not weight or data.get("urgent_first", False)
             or not data.get("weight_doubt")),
    )


NOT_MEASURED = (Choice("none", N_("Not measured"), ("khong do", "khong")),)


def _asks_signs(data: dict[str, Any]) -> bool:
    return bool(data.get("urgent_first") or data.get("low_first"))


async def _symptoms(value: list[str], ctx: Ctx, data: dict[str, Any]) -> None:
    if "none" in value and len(value) > 1:
        raise ParseError(N_("\"None of these\" cannot go with a sign. Please pick again."))


async def bp_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The reading question (for oneself or for another member)."""
    if data.get("whom") == "other" or data.get("client"):
        return T(N_("What is the blood pressure? For example 130/85, or with the pulse "
                    "130/85 72."))
    return T(N_("What is your blood pressure? For example 130/85, or with the pulse "
                "130/85 72."))


async def doubt_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """"Are you sure?" with what looks odd."""
    reading = reading_of(data)
    assert reading is not None
    why = T(DOUBT_LABELS[data["doubts"][0]])
    return T(N_("The reading {reading} {why}. Is it right?"),
             reading=_shown(reading), why=why)


async def weight_doubt_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """"Are you sure?" for a weight far from the usual."""
    return T(N_("A weight of {weight} kg is unusual or far from the last one. Is it right?"),
             weight=kg(data["weight"]))


def kg(value: str | float) -> str:
    """A weight as people write it: ``52,5`` or ``52``."""
    return f"{float(value):.1f}".replace(".", ",").removesuffix(",0")


def _shown(reading: health.Reading) -> T | str:
    if reading.pulse is None:
        return health.reading_text(reading)
    return T(N_("{bp}, pulse {pulse}"), bp=health.reading_text(reading), pulse=reading.pulse)


@dataclass(frozen=True)
class Assessment:
    """What a reading means: the values saved, its grade, and whether help is needed now."""

    reading: health.Reading
    first: health.Reading | None
    grade: str
    high: bool
    urgent: bool
    low: bool
    symptoms: tuple[str, ...]


def assess(data: dict[str, Any], rules: health.Triage) -> Assessment | None:
    """Apply the urgent-care rule to the answers (``None`` when nothing was measured)."""
    first = reading_of(data)
    if first is None:
        return None
    second = reading_of(data, "again")
    final = second or first
    signs = tuple(s for s in data.get("symptoms", []) if s != "none")
    if health.is_urgent(first, rules):
        still_high = health.is_urgent(final, rules)
        urgent = bool(signs) or still_high or health.is_crisis(first, rules)
    else:
        urgent = health.is_low(first, rules) and bool(signs)
    return Assessment(
        reading=final,
        first=first if second else None,
        grade=health.grade(final),
        high=health.is_high(final, rules),
        urgent=urgent,
        low=health.is_low(final, rules),
        symptoms=signs,
    )


def weight_tenths(data: dict[str, Any]) -> int | None:
    """The answered weight in tenths of a kilogram."""
    value = data.get("weight")
    return int(Decimal(value) * 10) if value and value != "skip" else None


def advice(result: Assessment) -> T:
    """What the person is told about the reading."""
    if result.urgent:
        return T(URGENT)
    if result.low:
        return T(LOW)
    return T(ADVICE[result.grade])


def summary_lines(data: dict[str, Any], day: date) -> T:
    """The reading as it will be saved, for the summary (with the warning signs picked)."""
    reading = reading_of(data)
    assert reading is not None
    second = reading_of(data, "again")
    text = T(N_("Blood pressure: {reading}"), reading=_shown(second or reading))
    if second:
        text = T(N_("{text} (first measure {first})"), text=text, first=_shown(reading))
    if data.get("again") == "none":
        text = T(N_("{text} (could not measure again)"), text=text)
    if data.get("symptoms"):
        labels = {c.key: c.label for c in SYMPTOMS}
        signs = joined([T(labels[k]) for k in data["symptoms"] if k in labels], ", ")
        text = T(N_("{text}\nWarning signs: {signs}"), text=text, signs=signs)
    weight = data.get("weight")
    if weight and weight != "skip":
        text = T(N_("{text}\nWeight: {weight} kg"), text=text, weight=kg(weight))
    return T(N_("{text}\nDay: {day}"), text=text, day=format_day(day))


READING_STEPS = frozenset({"bp", "bp_check", "again", "symptoms"})
"""The answers that can make a reading urgent."""


def urgent_known(data: dict[str, Any], rules: health.Triage) -> bool:
    """Whether the answers so far already make the reading urgent (domain.md §2.6).

    A crisis reading at once; a very high one still very high at the second measure, or not
    measured again; any warning sign with a very high or low reading. Not while the person
    is still asked whether an unusual reading is right.
    """
    first = reading_of(data)
    if first is None or (data.get("doubts") and data.get("bp_check") != "yes"):
        return False
    if health.is_crisis(first, rules):
        return True
    if data.get("urgent_first") and "again" in data:
        second = reading_of(data, "again")
        if second is None or health.is_urgent(second, rules):
            return True
    signs = [s for s in data.get("symptoms", []) if s != "none"]
    return bool(signs) and bool(data.get("urgent_first") or data.get("low_first"))


def not_remeasured(data: dict[str, Any]) -> bool:
    """A very high first reading whose second measure was never answered."""
    return (reading_of(data) is not None and bool(data.get("urgent_first"))
            and "again" not in data and data.get("bp_check") != "retype")


def new_reading(
    member: Member, result: Assessment, data: dict[str, Any], key: str, place: str, ctx: Ctx,
    visit_id: int | None = None, confirmed: bool = True,
) -> NewReading:
    """The row to store for a reading of ``member`` entered by the writer of ``ctx``."""
    assert ctx.member is not None
    return NewReading(
        club_id=member.club_id, member_id=member.id, measured_at=ctx.now, day=ctx.today,
        systolic=result.reading.systolic, diastolic=result.reading.diastolic,
        pulse=result.reading.pulse, weight_tenths=weight_tenths(data),
        grade=result.grade, high=result.high, urgent=result.urgent,
        first_systolic=result.first.systolic if result.first else None,
        first_diastolic=result.first.diastolic if result.first else None,
        symptoms=result.symptoms, place=place, recorded_by=ctx.member.id,
        key=key, visit_id=visit_id, confirmed=confirmed,
    )


def may_record(ctx: Ctx, member_id: int) -> list[Reply]:
    """The refusal unless the writer may record a reading of ``member_id`` (empty: may)."""
    assert ctx.member is not None
    if member_id != ctx.member.id and (refusal := refused(ctx, RECORDERS)):
        return refusal
    if not ctx.active:
        return [Reply((T(N_("Sorry, you cannot use this.")),))]
    return []


@dataclass(frozen=True)
class KeepUrgent:
    """Effect: keep an urgent reading as not confirmed and alert, the moment it is known.

    ``key`` is the reading's idempotency key (the one its confirmation will use), so the
    reading is kept and the alert raised once, whatever happens next.
    """

    member_id: int
    data: dict[str, Any]
    key: str
    place: str
    reason: str = "urgent"

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Keep the reading and queue the alerts (the writer's role checked again)."""
        if ctx.member is None or (refusal := may_record(ctx, self.member_id)):
            return refusal if ctx.member is not None else []
        member = await member_in_club(tx, self.member_id, ctx.member.club_id)
        result = assess(self.data, await health.triage(tx))
        if member is None or result is None:
            return []
        existing = await tx.reading_by_key(self.key)
        if existing is None:
            row = new_reading(member, replace(result, urgent=True), self.data, self.key,
                              self.place, ctx, confirmed=False)
            reading_id, _ = await tx.add_reading(row, ctx.now)
        else:
            reading_id = existing.id
        _, notices = await alerts.raise_alert(tx, ctx.now, member, ctx.member.id, reading_id,
                                              self.key, self.reason)
        return notices


async def _urgent_now(
    ctx: Ctx, member_id: int, data: dict[str, Any], key: str, place: str, reason: str
) -> Done | None:
    """The advice naming who is told, and the effect keeping the reading and alerting."""
    if ctx.member is None or await ctx.tx.alert_by_key(key) is not None:
        return None
    member = await ctx.tx.get_member(member_id)
    if member is None:
        return None
    told = alerts.told_line((t.member.full_name, t.role)
                            for t in await alerts.recipients(ctx.tx, member, ctx.member.id))
    own = member.id == ctx.member.id
    if reason == "not_remeasured":
        advice_now = T(NOT_REMEASURED) if own else T(NOT_REMEASURED_OTHER,
                                                    name=member.full_name)
    else:
        advice_now = T(URGENT) if own else T(URGENT_FOR_OTHER, name=member.full_name)
    replies = [Reply((advice_now, told))]
    if not own:
        replies.append(notify(member.id, T(URGENT_FOR_MEMBER)))
    return Done(replies, [KeepUrgent(member.id, data, key, place, reason)])


def alert_hooks(
    whose: Callable[[Ctx, dict[str, Any]], int], place: Callable[[dict[str, Any]], str],
    key_of: Callable[[str], str],
) -> tuple[Answered, Abandon]:
    """A flow's ``answered`` and ``abandon`` hooks for its reading questions.

    Args:
        whose: The member measured, from the answers.
        place: Where the reading is taken (``self``, ``meeting``, ``home``), from the answers.
        key_of: The reading's idempotency key from the session id (the one the flow's
            finish uses).
    """

    async def answered(ctx: Ctx, data: dict[str, Any], step: str, session_id: str) -> Done | None:
        if step not in READING_STEPS or not urgent_known(data, await health.triage(ctx.tx)):
            return None
        return await _urgent_now(ctx, whose(ctx, data), data, key_of(session_id),
                                 place(data), "urgent")

    async def abandon(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done | None:
        if ctx.member is None or reading_of(data) is None:
            return None
        key, member_id = key_of(session_id), whose(ctx, data)
        if await ctx.tx.alert_by_key(key) is not None:
            if member_id == ctx.member.id:
                return Done([Reply((T(KEPT),))])
            member = await ctx.tx.get_member(member_id)
            name = member.full_name if member else "-"
            return Done([Reply((T(KEPT_OTHER, name=name),))])
        if not_remeasured(data):
            return await _urgent_now(ctx, member_id, data, key, place(data), "not_remeasured")
        return None

    return answered, abandon


@dataclass(frozen=True)
class Recorded:
    """A confirmed reading: what it means, whom its alert told, and the alerts raised now."""

    result: Assessment
    told: T | None
    notices: list[Reply]
    reading_id: int


async def record(
    tx: Transaction, ctx: Ctx, member: Member, data: dict[str, Any], key: str, place: str,
    visit_id: int | None = None,
) -> Recorded | None:
    """Save a confirmed reading: the one kept unconfirmed with ``key``, or a new one.

    An urgent reading alerts now only if it did not while the person was answering.

    Returns:
        What was recorded; ``None`` if it was saved already (a redelivery) or nothing was
        measured.
    """
    assert ctx.member is not None
    result = assess(data, await health.triage(tx))
    if result is None:
        return None
    existing = await tx.reading_by_key(key)
    if existing is not None and existing.member_id != member.id:  # the member was changed
        key = f"{key}:{member.id}"
        existing = await tx.reading_by_key(key)
    row = new_reading(member, result, data, key, place, ctx, visit_id)
    if existing is None:
        reading_id, _ = await tx.add_reading(row, ctx.now)
    elif not existing.confirmed and await tx.confirm_reading(row, ctx.now):
        reading_id = existing.id
    else:
        return None
    if not result.urgent:
        return Recorded(result, None, [], reading_id)
    notices: list[Reply] = []
    alert = await tx.alert_by_key(key)
    if alert is None:
        alert, notices = await alerts.raise_alert(tx, ctx.now, member, ctx.member.id,
                                                  reading_id, key, "urgent")
        if member.id != ctx.member.id:
            notices.insert(0, notify(member.id, T(URGENT_FOR_MEMBER)))
    return Recorded(result, await alerts.told_before(tx, alert), notices, reading_id)
