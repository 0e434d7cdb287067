"""What the health flows share: the blood-pressure questions, the urgent rule and the alerts.

The questions (:func:`reading_steps`): the reading; "are you sure?" when it is unusual or far
from the last one; when very high, a second measure after five minutes' rest; when very high
or low, the warning signs; then the weight (not asked when the reading is very high).
:func:`assess` turns the answers into what is saved and what the person is told;
:func:`alerts` tells the member's volunteers and the chair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bot import health
from bot.conversations.common import BOARD
from bot.engine import Ctx, Step, notify
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError
from bot.vocabulary import SYMPTOMS
from storage.base import Member, Transaction
from storage.health import StoredReading

RECORDERS = BOARD | {"volunteer"}
"""Record readings for other members (at the meeting, on a home visit)."""

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
URGENT = N_("Please call 115 or go to the commune health station now. I have told your "
            "volunteer and the chair.")
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
             parse=_parse_bp, choices=NO_SECOND,
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
    """The reading as it will be saved, for the summary."""
    reading = reading_of(data)
    assert reading is not None
    second = reading_of(data, "again")
    text = T(N_("Blood pressure: {reading}"), reading=_shown(second or reading))
    if second:
        text = T(N_("{text} (first measure {first})"), text=text, first=_shown(reading))
    weight = data.get("weight")
    if weight and weight != "skip":
        text = T(N_("{text}\nWeight: {weight} kg"), text=text, weight=kg(weight))
    return T(N_("{text}\nDay: {day}"), text=text, day=format_day(day))


async def alerts(tx: Transaction, ctx: Ctx, member: Member, why: T) -> list[Reply]:
    """Tell the member's volunteers and the chair at once (never the numbers).

    Args:
        tx: The update's transaction.
        ctx: The update (the writer is not alerted about their own entry).
        member: Who needs help.
        why: What happened, without readings.
    """
    people = {v.id: v for v in await tx.volunteers_of(member.id)}
    people.update({c.id: c for c in await tx.members_with_roles(member.club_id, {"chair"})})
    writer = ctx.member.id if ctx.member else None
    phone = member.phone.replace("+84", "0") if member.phone else T(N_("no phone"))
    told = T(N_("Needs help now: {name} ({village}, phone {phone}). {why} Please call or go to "
                "see them now."), name=member.full_name, village=member.village, phone=phone,
             why=why)
    return [notify(person_id, told) for person_id in people
            if person_id not in (writer, member.id)]
