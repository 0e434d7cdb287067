"""Blood pressure: reading what people type, grading a reading, and the urgent-care rule.

Pure functions. The grading is the Vietnamese one (VNHA/VSH, Ministry of Health table): the
worse of the two numbers wins. The triage thresholds are settings (:class:`Triage`) because
the commune health station may adjust them; they are stored in one place (``meta`` key
``health.triage``) and read with :func:`triage`.

Not clinical advice: the rule follows ../shared/reference/domain.md §2.6 and must be reviewed
with the local health station.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from bot import lexicon
from bot.i18n import N_
from bot.parsers import ParseError
from bot.text import fold

MSG_BP = N_("Please type the blood pressure like 130/85, or 130 85. You may add the pulse: "
            "130/85 72.")
MSG_BP_RANGE = N_("The upper number must be between 70 and 300 and the lower between 40 and "
                  "180. Please check, for example 130/85.")
MSG_BP_ORDER = N_("The upper number (systolic) must be larger than the lower one. Please type "
                  "the upper number first, like 130/85.")
MSG_PULSE = N_("The pulse must be between 30 and 220. Please check, for example 130/85 72.")
MSG_WEIGHT = N_("Please type the weight in kg, like 52 or 52,5.")
MSG_WEIGHT_RANGE = N_("The weight must be between 25 and 200 kg. Please check, for example 52.")

GRADES = ("optimal", "normal", "high_normal", "grade_1", "grade_2", "grade_3")
GRADE_LABELS = {
    "optimal": N_("optimal"),
    "normal": N_("normal"),
    "high_normal": N_("high-normal"),
    "grade_1": N_("high blood pressure, grade 1"),
    "grade_2": N_("high blood pressure, grade 2"),
    "grade_3": N_("high blood pressure, grade 3"),
}
LOW_LABEL = N_("low blood pressure")
_SYSTOLIC_GRADES = ((120, "optimal"), (130, "normal"), (140, "high_normal"), (160, "grade_1"),
                    (180, "grade_2"))
_DIASTOLIC_GRADES = ((80, "optimal"), (85, "normal"), (90, "high_normal"), (100, "grade_1"),
                     (110, "grade_2"))
_MAX_INPUT = 60


@dataclass(frozen=True)
class Reading:
    """A measurement as typed: systolic, diastolic and an optional pulse."""

    systolic: int
    diastolic: int
    pulse: int | None = None


@dataclass(frozen=True)
class Triage:
    """The thresholds of the urgent-care rule and of the soft checks (settings).

    Attributes:
        urgent_systolic: At or above: re-measure, ask the symptoms, maybe alert.
        urgent_diastolic: At or above: the same.
        crisis_systolic: At or above: alert even without symptoms on the first measure.
        crisis_diastolic: At or above: the same.
        low_systolic: Below: ask about dizziness (with it: urgent).
        low_diastolic: Below: the same.
        high_systolic: At or above: "high", listed for the board.
        high_diastolic: At or above: the same.
        check_systolic_above: Above: ask "are you sure?" instead of refusing.
        check_systolic_below: Below: the same.
        check_diastolic_above: Above: the same.
        check_diastolic_below: Below: the same.
        check_jump: A change from the last reading larger than this asks to confirm.
        check_weight_change: kg; a larger change from the last weight asks to confirm.
        visit_gap_days: Clients without a visit for longer are listed for the board.
    """

    urgent_systolic: int = 180
    urgent_diastolic: int = 110
    crisis_systolic: int = 200
    crisis_diastolic: int = 120
    low_systolic: int = 90
    low_diastolic: int = 60
    high_systolic: int = 140
    high_diastolic: int = 90
    check_systolic_above: int = 220
    check_systolic_below: int = 80
    check_diastolic_above: int = 130
    check_diastolic_below: int = 45
    check_jump: int = 40
    check_weight_change: int = 5
    visit_gap_days: int = 7

    def to_json(self) -> str:
        """The settings as JSON (for the ``meta`` table)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Triage:
        """Settings stored by :meth:`to_json`; unknown keys are ignored, missing ones default."""
        stored = json.loads(text) if text else {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in stored.items() if k in known})


TRIAGE_KEY = "health.triage"


async def triage(tx: Any) -> Triage:
    """The thresholds in force (defaults until an operator stores others)."""
    return Triage.from_json(await tx.get_meta(TRIAGE_KEY))


_NUMBER = r"([0-9]{2,3})"
_BP = re.compile(
    rf"{_NUMBER}\s*(?:/|-|\s|tren|,)\s*{_NUMBER}"
    rf"(?:\s*[,;/]?\s*(?:(?:mach|m)\s*:?)?\s*{_NUMBER})?"
)


def parse_reading(text: str) -> Reading:
    """Read a blood pressure: ``130/85``, ``130 85``, ``130-85``, with an optional pulse.

    Args:
        text: What the person typed, e.g. ``130/85 72`` or ``130/85 mạch 72``; emoji and
            punctuation around it are ignored (``130/85 😊``).

    Returns:
        The reading. The numbers are never swapped: an upper number below the lower one is
        an error.

    Raises:
        ParseError: Not a reading, outside the hard limits (systolic 70–300, diastolic
            40–180, pulse 30–220), or systolic not above diastolic.
    """
    folded = fold(unicodedata.normalize("NFKC", lexicon.tidy(text[:_MAX_INPUT]))).strip(" .!")
    folded = re.sub(r"^(?:ha|huyet ap)\s*:?\s*", "", folded)
    folded = re.sub(r"\s*(?:mmhg|lan/phut|l/p)\b", "", folded)
    match = _BP.fullmatch(folded)
    if len(text) > _MAX_INPUT or not match:
        raise ParseError(MSG_BP)
    systolic, diastolic = int(match[1]), int(match[2])
    pulse = int(match[3]) if match[3] else None
    if not (70 <= systolic <= 300 and 40 <= diastolic <= 180):
        raise ParseError(MSG_BP_RANGE)
    if systolic <= diastolic:
        raise ParseError(MSG_BP_ORDER)
    if pulse is not None and not 30 <= pulse <= 220:
        raise ParseError(MSG_PULSE)
    return Reading(systolic, diastolic, pulse)


def parse_weight(text: str) -> Decimal:
    """Read a weight in kg: ``52``, ``52,5``, ``52.5 kg``, ``52 cân``.

    Returns:
        The weight, to one decimal place.

    Raises:
        ParseError: Not a weight, or outside 25–200 kg.
    """
    folded = fold(unicodedata.normalize("NFKC", text[:_MAX_INPUT])).strip(" .!")
    match = re.fullmatch(r"([0-9]{2,3}(?:[.,][0-9])?)\s*(?:kg|ki lo|kilo|ky|can)?", folded)
    if len(text) > _MAX_INPUT or not match:
        raise ParseError(MSG_WEIGHT)
    try:
        weight = Decimal(match[1].replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        raise ParseError(MSG_WEIGHT) from None
    if not 25 <= weight <= 200:
        raise ParseError(MSG_WEIGHT_RANGE)
    return weight.quantize(Decimal("0.1"))


def grade(reading: Reading) -> str:
    """The Vietnamese grade of a reading; the worse of the two numbers wins."""
    def level(value: int, table: tuple[tuple[int, str], ...]) -> int:
        return next((GRADES.index(name) for limit, name in table if value < limit), 5)

    return GRADES[max(level(reading.systolic, _SYSTOLIC_GRADES),
                      level(reading.diastolic, _DIASTOLIC_GRADES))]


def label(reading: Reading, rules: Triage) -> str:
    """What to call a reading: its grade, or "low" below the low thresholds."""
    return LOW_LABEL if is_low(reading, rules) else GRADE_LABELS[grade(reading)]


def is_urgent(reading: Reading, rules: Triage) -> bool:
    """Very high: re-measure after rest and ask the symptoms."""
    return (reading.systolic >= rules.urgent_systolic
            or reading.diastolic >= rules.urgent_diastolic)


def is_crisis(reading: Reading, rules: Triage) -> bool:
    """So high that help is needed whatever the symptoms."""
    return (reading.systolic >= rules.crisis_systolic
            or reading.diastolic >= rules.crisis_diastolic)


def is_low(reading: Reading, rules: Triage) -> bool:
    """Low: ask about dizziness or fainting.

    A high upper number with a low lower one (170/58, common in older people) is high blood
    pressure, not low.
    """
    low = reading.systolic < rules.low_systolic or reading.diastolic < rules.low_diastolic
    return low and not is_high(reading, rules)


def is_high(reading: Reading, rules: Triage) -> bool:
    """High enough to be listed for the board."""
    return reading.systolic >= rules.high_systolic or reading.diastolic >= rules.high_diastolic


def doubts(reading: Reading, last: Reading | None, rules: Triage) -> list[str]:
    """Why a plausible reading should be confirmed before saving (empty: nothing odd).

    Returns:
        Keys among ``unusual`` (beyond the soft limits), ``jump`` (far from the last
        reading) and ``pulse`` (an unusual pulse).
    """
    found = []
    if not (rules.check_systolic_below <= reading.systolic <= rules.check_systolic_above
            and rules.check_diastolic_below <= reading.diastolic <= rules.check_diastolic_above):
        found.append("unusual")
    if last is not None and (abs(reading.systolic - last.systolic) > rules.check_jump
                             or abs(reading.diastolic - last.diastolic) > rules.check_jump):
        found.append("jump")
    if reading.pulse is not None and not 45 <= reading.pulse <= 130:
        found.append("pulse")
    return found


def reading_text(reading: Reading) -> str:
    """``130/85`` (the pulse, if any, is shown by the message around it)."""
    return f"{reading.systolic}/{reading.diastolic}"
