"""Blood pressure: reading what people type, grading, the soft checks and the urgent rule.

Covers :mod:`bot.health` (pure functions and the :class:`~bot.health.Triage` settings) and
:func:`bot.conversations.health_common.assess`, the urgent-care rule applied to a
conversation's answers. Hypothesis checks that the parsers never fail in any other way than a
translated :class:`ParseError` and never swap the two numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversations.health_common import (
    ADVICE,
    LOW,
    URGENT,
    Assessment,
    advice,
    assess,
    weight_tenths,
)
from bot.health import (
    GRADE_LABELS,
    GRADES,
    LOW_LABEL,
    MSG_BP,
    MSG_BP_ORDER,
    MSG_BP_RANGE,
    MSG_PULSE,
    MSG_WEIGHT,
    MSG_WEIGHT_RANGE,
    TRIAGE_KEY,
    Reading,
    Triage,
    doubts,
    grade,
    is_crisis,
    is_high,
    is_low,
    is_urgent,
    label,
    parse_reading,
    parse_weight,
    reading_text,
    triage,
)
from bot.i18n import catalog
from bot.parsers import ParseError

RULES = Triage()
VI = catalog("vi")
READING_MESSAGES = {MSG_BP, MSG_BP_RANGE, MSG_BP_ORDER, MSG_PULSE}
WEIGHT_MESSAGES = {MSG_WEIGHT, MSG_WEIGHT_RANGE}


def bp(systolic: int, diastolic: int, pulse: int | None = None) -> dict[str, Any]:
    """A reading as the conversation stores it."""
    return {"systolic": systolic, "diastolic": diastolic, "pulse": pulse}


# --- parse_reading: every accepted form ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("130/85", Reading(130, 85)),
        ("130 85", Reading(130, 85)),
        ("130-85", Reading(130, 85)),
        ("130/85 72", Reading(130, 85, 72)),
        ("130 85 72", Reading(130, 85, 72)),
        ("130/85 mạch 72", Reading(130, 85, 72)),
        ("130/85 mach 72", Reading(130, 85, 72)),
        ("130/85 Mạch 72", Reading(130, 85, 72)),
        ("130/85 m72", Reading(130, 85, 72)),
        ("130/85/72", Reading(130, 85, 72)),
        ("130/85, 72", Reading(130, 85, 72)),
        ("HA 130/85", Reading(130, 85)),
        ("ha 130/85", Reading(130, 85)),
        ("HA: 130/85", Reading(130, 85)),
        ("HA130/85", Reading(130, 85)),
        ("Huyết áp 130/85", Reading(130, 85)),
        ("huyet ap: 130/85", Reading(130, 85)),
        ("135 trên 85", Reading(135, 85)),
        ("135 tren 85", Reading(135, 85)),
        ("135 TRÊN 85 mạch 80", Reading(135, 85, 80)),
        ("130 / 85", Reading(130, 85)),
        ("130  85", Reading(130, 85)),
        ("130,85", Reading(130, 85)),
        ("  130/85  ", Reading(130, 85)),
        ("130/85.", Reading(130, 85)),
        ("130/85!", Reading(130, 85)),
        ("130/85 mmHg", Reading(130, 85)),
        ("130/85mmhg", Reading(130, 85)),
        ("130/85 mmHg mạch 72 lần/phút", Reading(130, 85, 72)),
        ("130/85 72 l/p", Reading(130, 85, 72)),
        ("130\xa085", Reading(130, 85)),  # a no-break space
        ("130/85\n72", Reading(130, 85, 72)),
        ("HA 130/85 mạch 72", Reading(130, 85, 72)),
        ("99/60", Reading(99, 60)),
        # The hard limits themselves are accepted.
        ("70/40", Reading(70, 40)),
        ("300/180", Reading(300, 180)),
        ("181/180", Reading(181, 180)),
        ("71/70", Reading(71, 70)),
        ("130/85 30", Reading(130, 85, 30)),
        ("130/85 220", Reading(130, 85, 220)),
    ],
)
def test_parse_reading_forms(text: str, expected: Reading) -> None:
    assert parse_reading(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", MSG_BP),
        ("   ", MSG_BP),
        ("abc", MSG_BP),
        ("130", MSG_BP),
        ("130/", MSG_BP),
        ("/85", MSG_BP),
        ("13085", MSG_BP),
        ("1300/85", MSG_BP),
        ("1 30/85", MSG_BP),
        ("130/85 72 80", MSG_BP),  # three numbers after the reading
        ("130/85 m", MSG_BP),
        ("130/85 mạch", MSG_BP),
        ("130/85 nhịp 72", MSG_BP),
        ("130/8", MSG_BP),
        ("130.5/85", MSG_BP),
        ("ha", MSG_BP),
        ("huyết áp cao", MSG_BP),
        ("130/85" + " " * 60, MSG_BP),  # longer than any reading
        ("69/40", MSG_BP_RANGE),
        ("301/85", MSG_BP_RANGE),
        ("70/39", MSG_BP_RANGE),
        ("200/181", MSG_BP_RANGE),
        ("12/10", MSG_BP_RANGE),  # a date is not a reading
        ("130/857", MSG_BP_RANGE),
        ("999/999", MSG_BP_RANGE),
        ("85/130", MSG_BP_ORDER),  # never swapped
        ("130/130", MSG_BP_ORDER),
        ("80 120", MSG_BP_ORDER),
        ("85-130 72", MSG_BP_ORDER),
        ("90 trên 140", MSG_BP_ORDER),
        ("130/85 29", MSG_PULSE),
        ("130/85 221", MSG_PULSE),
        ("130/85 mạch 10", MSG_PULSE),
        ("130/85 999", MSG_PULSE),
    ],
)
def test_parse_reading_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_reading(text)
    assert raised.value.message == message
    assert message in VI


def test_range_is_checked_before_order_and_order_before_pulse() -> None:
    with pytest.raises(ParseError) as raised:
        parse_reading("50/60")  # out of range and in the wrong order
    assert raised.value.message == MSG_BP_RANGE
    with pytest.raises(ParseError) as raised:
        parse_reading("85/130 10")  # wrong order and a bad pulse
    assert raised.value.message == MSG_BP_ORDER


def test_parse_reading_full_width_digits() -> None:
    assert parse_reading("１３０/８５") == Reading(130, 85)


@pytest.mark.parametrize("text", ["130/85, mạch 72", "130/85 mạch: 72", "HA: 130/85, mạch: 72"])
def test_parse_reading_pulse_with_punctuation(text: str) -> None:
    assert parse_reading(text) == Reading(130, 85, 72)


def test_reading_text() -> None:
    assert reading_text(Reading(130, 85, 72)) == "130/85"


# --- parse_weight ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52", "52.0"),
        ("52,5", "52.5"),
        ("52.5", "52.5"),
        ("52.5 kg", "52.5"),
        ("52,5kg", "52.5"),
        ("52 KG", "52.0"),
        ("52 cân", "52.0"),
        ("52 ký", "52.0"),
        ("52 ki lo", "52.0"),
        ("52 kilo", "52.0"),
        (" 52,5 . ", "52.5"),
        ("052", "52.0"),
        ("25", "25.0"),
        ("25,0", "25.0"),
        ("200", "200.0"),
        ("199,9", "199.9"),
    ],
)
def test_parse_weight_forms(text: str, expected: str) -> None:
    weight = parse_weight(text)
    assert weight == Decimal(expected)
    assert weight.as_tuple().exponent == -1  # always one decimal place
    assert str(weight) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", MSG_WEIGHT),
        ("abc", MSG_WEIGHT),
        ("5", MSG_WEIGHT),
        ("52,55", MSG_WEIGHT),  # one decimal only
        ("52,", MSG_WEIGHT),
        ("1000", MSG_WEIGHT),
        ("52 lb", MSG_WEIGHT),
        ("năm mươi", MSG_WEIGHT),
        ("-52", MSG_WEIGHT),
        ("52" + " " * 60, MSG_WEIGHT),
        ("24,9", MSG_WEIGHT_RANGE),
        ("24", MSG_WEIGHT_RANGE),
        ("200,1", MSG_WEIGHT_RANGE),
        ("201", MSG_WEIGHT_RANGE),
        ("00", MSG_WEIGHT_RANGE),
        ("999 kg", MSG_WEIGHT_RANGE),
    ],
)
def test_parse_weight_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_weight(text)
    assert raised.value.message == message
    assert message in VI


# --- grade, label and the triage predicates -----------------------------------------------------


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        # The examples of the brief.
        (119, 79, "optimal"),
        (120, 79, "normal"),
        (139, 80, "high_normal"),
        (121, 90, "grade_1"),
        (180, 70, "grade_3"),
        (150, 112, "grade_3"),
        # Each systolic threshold from both sides (the diastolic stays optimal).
        (70, 40, "optimal"),
        (119, 70, "optimal"),
        (120, 70, "normal"),
        (129, 70, "normal"),
        (130, 70, "high_normal"),
        (139, 70, "high_normal"),
        (140, 70, "grade_1"),
        (159, 70, "grade_1"),
        (160, 70, "grade_2"),
        (179, 70, "grade_2"),
        (180, 70, "grade_3"),
        (300, 70, "grade_3"),
        # Each diastolic threshold from both sides (the systolic stays optimal).
        (115, 79, "optimal"),
        (115, 80, "normal"),
        (115, 84, "normal"),
        (115, 85, "high_normal"),
        (115, 89, "high_normal"),
        (115, 90, "grade_1"),
        (115, 99, "grade_1"),
        (115, 100, "grade_2"),
        (115, 109, "grade_2"),
        (115, 110, "grade_3"),
        (200, 180, "grade_3"),
        # The worse of the two wins.
        (125, 95, "grade_1"),
        (165, 82, "grade_2"),
        (135, 105, "grade_2"),
        (185, 85, "grade_3"),
        (129, 84, "normal"),
        (130, 84, "high_normal"),
        (129, 85, "high_normal"),
    ],
)
def test_grade_boundaries(systolic: int, diastolic: int, expected: str) -> None:
    assert grade(Reading(systolic, diastolic)) == expected


@given(st.integers(70, 300), st.integers(40, 180), st.integers(70, 300), st.integers(40, 180))
@settings(max_examples=60)
def test_grade_never_improves_when_a_number_rises(s1: int, d1: int, s2: int, d2: int) -> None:
    low, high = Reading(min(s1, s2), min(d1, d2)), Reading(max(s1, s2), max(d1, d2))
    assert GRADES.index(grade(low)) <= GRADES.index(grade(high))


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        (89, 70, LOW_LABEL),
        (100, 59, LOW_LABEL),
        (85, 55, LOW_LABEL),
        (90, 60, GRADE_LABELS["optimal"]),
        (125, 82, GRADE_LABELS["normal"]),
        (135, 87, GRADE_LABELS["high_normal"]),
        (145, 92, GRADE_LABELS["grade_1"]),
        (170, 100, GRADE_LABELS["grade_2"]),
        (190, 115, GRADE_LABELS["grade_3"]),
    ],
)
def test_label(systolic: int, diastolic: int, expected: str) -> None:
    assert label(Reading(systolic, diastolic), RULES) == expected
    assert expected in VI


def test_every_label_has_a_translation() -> None:
    assert set(GRADE_LABELS) == set(GRADES)
    assert all(text in VI for text in [*GRADE_LABELS.values(), LOW_LABEL])


@pytest.mark.parametrize(
    ("systolic", "diastolic", "urgent", "crisis", "low", "high"),
    [
        (130, 85, False, False, False, False),
        (139, 89, False, False, False, False),
        (140, 80, False, False, False, True),
        (130, 90, False, False, False, True),
        (179, 109, False, False, False, True),
        (180, 100, True, False, False, True),
        (150, 110, True, False, False, True),
        (199, 119, True, False, False, True),
        (200, 100, True, True, False, True),
        (150, 120, True, True, False, True),
        (90, 60, False, False, False, False),
        (89, 60, False, False, True, False),
        (90, 59, False, False, True, False),
        (185, 55, True, False, False, True),  # high with a low lower number: high, not low
        (120, 55, False, False, True, False),
    ],
)
def test_triage_predicates(
    systolic: int, diastolic: int, urgent: bool, crisis: bool, low: bool, high: bool
) -> None:
    reading = Reading(systolic, diastolic)
    assert is_urgent(reading, RULES) is urgent
    assert is_crisis(reading, RULES) is crisis
    assert is_low(reading, RULES) is low
    assert is_high(reading, RULES) is high


def test_predicates_follow_the_settings() -> None:
    rules = Triage(urgent_systolic=170, crisis_diastolic=105, low_systolic=100, high_systolic=130)
    assert is_urgent(Reading(170, 80), rules) and not is_urgent(Reading(169, 80), RULES)
    assert is_crisis(Reading(150, 105), rules) and not is_crisis(Reading(150, 105), RULES)
    assert is_low(Reading(99, 70), rules) and not is_low(Reading(99, 70), RULES)
    assert is_high(Reading(130, 70), rules) and not is_high(Reading(130, 70), RULES)
    assert label(Reading(99, 70), rules) == LOW_LABEL


# --- doubts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "last", "expected"),
    [
        (Reading(130, 85, 72), None, []),
        (Reading(130, 85), Reading(125, 80), []),
        # The soft limits themselves are fine; beyond them the reading is "unusual".
        (Reading(220, 130), None, []),
        (Reading(80, 45), None, []),
        (Reading(221, 100), None, ["unusual"]),
        (Reading(79, 50), None, ["unusual"]),
        (Reading(150, 131), None, ["unusual"]),
        (Reading(100, 44), None, ["unusual"]),
        # A change of more than 40 from the last reading, up or down, on either number.
        (Reading(170, 85), Reading(130, 85), []),
        (Reading(171, 85), Reading(130, 85), ["jump"]),
        (Reading(89, 85), Reading(130, 85), ["jump"]),
        (Reading(180, 126), Reading(180, 85), ["jump"]),
        (Reading(130, 44), Reading(130, 85), ["unusual", "jump"]),
        # An unusual pulse.
        (Reading(130, 85, 45), None, []),
        (Reading(130, 85, 130), None, []),
        (Reading(130, 85, 44), None, ["pulse"]),
        (Reading(130, 85, 131), None, ["pulse"]),
        # All three, in this order.
        (Reading(230, 100, 140), Reading(130, 80), ["unusual", "jump", "pulse"]),
    ],
)
def test_doubts(reading: Reading, last: Reading | None, expected: list[str]) -> None:
    assert doubts(reading, last, RULES) == expected


def test_doubts_follow_the_settings() -> None:
    rules = Triage(check_jump=10, check_systolic_above=160)
    assert doubts(Reading(145, 85), Reading(130, 85), rules) == ["jump"]
    assert doubts(Reading(161, 85), Reading(161, 85), rules) == ["unusual"]


# --- Triage settings ---------------------------------------------------------------------------


def test_triage_defaults_are_the_reference_rule() -> None:
    assert (RULES.urgent_systolic, RULES.urgent_diastolic) == (180, 110)
    assert (RULES.crisis_systolic, RULES.crisis_diastolic) == (200, 120)
    assert (RULES.low_systolic, RULES.low_diastolic) == (90, 60)
    assert (RULES.high_systolic, RULES.high_diastolic) == (140, 90)
    assert (RULES.check_systolic_below, RULES.check_systolic_above) == (80, 220)
    assert (RULES.check_diastolic_below, RULES.check_diastolic_above) == (45, 130)
    assert (RULES.check_jump, RULES.check_weight_change) == (40, 5)


def test_triage_json_round_trip() -> None:
    custom = Triage(urgent_systolic=170, low_diastolic=55, visit_gap_days=14)
    for rules in (RULES, custom):
        text = rules.to_json()
        assert json.loads(text) == asdict(rules)
        assert list(json.loads(text)) == sorted(asdict(rules))
        assert Triage.from_json(text) == rules


def test_triage_from_json_is_tolerant() -> None:
    assert Triage.from_json(None) == RULES
    assert Triage.from_json("") == RULES
    assert Triage.from_json("{}") == RULES
    stored = json.dumps({"urgent_systolic": 170, "retired_setting": 1, "note": "trạm y tế"})
    assert Triage.from_json(stored) == Triage(urgent_systolic=170)
    assert Triage.from_json('{"check_jump": "30"}') == Triage(check_jump=30)


class FakeMeta:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []

    async def get_meta(self, key: str) -> str | None:
        self.asked.append(key)
        return self.values.get(key)


async def test_triage_reads_the_meta_key() -> None:
    empty = FakeMeta({})
    assert await triage(empty) == RULES
    assert empty.asked == [TRIAGE_KEY] == ["health.triage"]
    custom = Triage(crisis_systolic=190)
    assert await triage(FakeMeta({"health.triage": custom.to_json()})) == custom
    assert await triage(FakeMeta({"other": custom.to_json()})) == RULES


# --- assess: the urgent-care rule --------------------------------------------------------------


def test_assess_not_urgent() -> None:
    result = assess({"bp": bp(130, 85, 72)}, RULES)
    assert result == Assessment(
        reading=Reading(130, 85, 72), first=None, grade="high_normal", high=False,
        urgent=False, low=False, symptoms=(),
    )
    assert advice(result).msgid == ADVICE["high_normal"]


def test_assess_high_but_not_urgent() -> None:
    result = assess({"bp": bp(165, 95)}, RULES)
    assert (result.grade, result.high) == ("grade_2", True)
    assert (result.urgent, result.low) == (False, False)
    assert advice(result).msgid == ADVICE["grade_2"]


def test_assess_urgent_that_settles_without_signs_is_not_urgent() -> None:
    data = {"bp": bp(185, 100, 80), "again": bp(150, 92, 76), "symptoms": ["none"]}
    result = assess(data, RULES)
    assert result == Assessment(
        reading=Reading(150, 92, 76), first=Reading(185, 100, 80), grade="grade_1", high=True,
        urgent=False, low=False, symptoms=(),
    )
    assert advice(result).msgid == ADVICE["grade_1"]


def test_assess_urgent_with_a_sign() -> None:
    data = {"bp": bp(185, 100), "again": bp(150, 90), "symptoms": ["headache", "vision"]}
    result = assess(data, RULES)
    assert result.urgent is True
    assert result.symptoms == ("headache", "vision")
    assert (result.reading, result.first) == (Reading(150, 90), Reading(185, 100))
    assert advice(result).msgid == URGENT


@pytest.mark.parametrize(
    ("first", "second"),
    [((185, 100), (182, 95)), ((170, 112), (165, 110)), ((185, 100), None)],
    ids=["systolic", "diastolic", "not-measured-again"],
)
def test_assess_urgent_still_high(
    first: tuple[int, int], second: tuple[int, int] | None
) -> None:
    data = {"bp": bp(*first), "again": bp(*second) if second else "none", "symptoms": ["none"]}
    result = assess(data, RULES)
    assert result.urgent is True
    assert result.symptoms == ()
    assert result.reading == Reading(*(second or first))
    assert result.first == (Reading(*first) if second else None)
    assert advice(result).msgid == URGENT


def test_assess_crisis_without_remeasure() -> None:
    data = {"bp": bp(205, 100), "again": "none", "symptoms": ["none"]}
    result = assess(data, RULES)
    assert result == Assessment(
        reading=Reading(205, 100), first=None, grade="grade_3", high=True, urgent=True,
        low=False, symptoms=(),
    )
    assert advice(result).msgid == URGENT


def test_assess_crisis_that_settles_is_still_urgent() -> None:
    for first in ((205, 100), (160, 120)):
        data = {"bp": bp(*first), "again": bp(150, 90), "symptoms": ["none"]}
        result = assess(data, RULES)
        assert (result.urgent, result.reading, result.grade) == (True, Reading(150, 90), "grade_1")


def test_assess_low_with_dizziness() -> None:
    result = assess({"bp": bp(85, 55), "symptoms": ["dizzy"]}, RULES)
    assert (result.urgent, result.low, result.symptoms) == (True, True, ("dizzy",))
    assert result.first is None
    assert advice(result).msgid == URGENT


def test_assess_low_without_signs() -> None:
    for symptoms in (["none"], []):
        result = assess({"bp": bp(85, 55), "symptoms": symptoms}, RULES)
        assert (result.urgent, result.low, result.symptoms) == (False, True, ())
        assert advice(result).msgid == LOW
    result = assess({"bp": bp(88, 62)}, RULES)  # the symptoms question was not reached
    assert (result.urgent, result.low) == (False, True)


def test_assess_signs_count_only_when_very_high_or_low() -> None:
    result = assess({"bp": bp(130, 85), "symptoms": ["headache"]}, RULES)
    assert result.urgent is False
    assert result.symptoms == ("headache",)


def test_assess_not_measured() -> None:
    assert assess({"bp": "none"}, RULES) is None
    assert assess({}, RULES) is None


def test_assess_follows_the_settings() -> None:
    rules = Triage(urgent_systolic=170, crisis_systolic=175)
    data = {"bp": bp(176, 90), "again": bp(150, 90), "symptoms": ["none"]}
    assert assess(data, RULES).urgent is False  # 176 is not even urgent by default
    assert assess(data, rules).urgent is True  # a crisis by these settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [("52.5", 525), ("52.0", 520), ("25.0", 250), ("199.9", 1999), ("200.0", 2000),
     ("skip", None), (None, None)],
)
def test_weight_tenths(value: str | None, expected: int | None) -> None:
    data = {"weight": value} if value is not None else {}
    assert weight_tenths(data) == expected


def test_every_advice_has_a_translation() -> None:
    assert set(ADVICE) == set(GRADES)
    assert all(text in VI for text in [*ADVICE.values(), URGENT, LOW])


# --- Hypothesis: any text gives a valid value or a translated ParseError -------------------------

_TOKENS = st.sampled_from(
    [
        *"0123456789 /-,.:!m",
        *["130", "85", "72", "300", "40", "70", "180", "29", "221", "52,5", "199,9"],
        *["mạch", "trên", "tren", "HA", "huyết áp", "mmHg", "lần/phút", "l/p", "kg", "cân"],
        *["ký", "kilo", "\xa0", "\u0301", "\t", "\n", "٣", "²", "１", "đ", "\x00", "🙂"],
    ]
)
_NUMBERISH = st.builds(
    lambda a, sep, b, tail: f"{a}{sep}{b}{tail}",
    st.integers(0, 999),
    st.sampled_from(["/", " ", "-", ",", " trên ", "/ ", ".", ""]),
    st.integers(0, 999),
    st.one_of(st.just(""), st.integers(0, 999).map(lambda p: f" {p}"),
              st.integers(0, 999).map(lambda p: f" mạch {p}")),
)
_TEXT = st.one_of(
    st.text(max_size=70),
    st.lists(_TOKENS, max_size=12).map("".join),
    _NUMBERISH,
)


@settings(max_examples=250)
@given(_TEXT)
def test_parse_reading_gives_a_valid_reading_or_a_translated_error(text: str) -> None:
    try:
        reading = parse_reading(text)
    except ParseError as error:
        assert error.message in READING_MESSAGES
        assert error.message in VI
        return
    assert isinstance(reading, Reading)
    assert 70 <= reading.systolic <= 300
    assert 40 <= reading.diastolic <= 180
    assert reading.systolic > reading.diastolic
    assert reading.pulse is None or 30 <= reading.pulse <= 220


@settings(max_examples=250)
@given(st.one_of(_TEXT, st.builds(lambda n, d, unit: f"{n}{d}{unit}", st.integers(0, 999),
                                  st.sampled_from(["", ",5", ".9", ",0", ",55"]),
                                  st.sampled_from(["", " kg", "kg", " cân", " lb"]))))
def test_parse_weight_gives_a_valid_weight_or_a_translated_error(text: str) -> None:
    try:
        weight = parse_weight(text)
    except ParseError as error:
        assert error.message in WEIGHT_MESSAGES
        assert error.message in VI
        return
    assert isinstance(weight, Decimal)
    assert Decimal(25) <= weight <= Decimal(200)
    assert weight.as_tuple().exponent == -1


_VALID_PAIR = st.integers(40, 180).flatmap(
    lambda d: st.tuples(st.integers(max(70, d + 1), 300), st.just(d))
)


@settings(max_examples=100)
@given(_VALID_PAIR, st.sampled_from(["{s}/{d}", "{s} {d}", "{s}-{d}"]))
def test_a_valid_pair_parses_back_exactly(pair: tuple[int, int], form: str) -> None:
    systolic, diastolic = pair
    assert parse_reading(form.format(s=systolic, d=diastolic)) == Reading(systolic, diastolic)


@settings(max_examples=60)
@given(_VALID_PAIR, st.integers(30, 220))
def test_a_valid_pair_with_pulse_parses_back(pair: tuple[int, int], pulse: int) -> None:
    systolic, diastolic = pair
    expected = Reading(systolic, diastolic, pulse)
    assert parse_reading(f"{systolic}/{diastolic} {pulse}") == expected
    assert parse_reading(f"{systolic}/{diastolic} mạch {pulse}") == expected


@settings(max_examples=60)
@given(_VALID_PAIR, st.sampled_from(["/", " ", "-"]), st.booleans())
def test_the_numbers_are_never_swapped(pair: tuple[int, int], sep: str, equal: bool) -> None:
    systolic, diastolic = pair
    upper, lower = (systolic, systolic) if equal else (diastolic, systolic)  # upper <= lower
    in_range = 70 <= upper <= 300 and 40 <= lower <= 180
    with pytest.raises(ParseError) as raised:
        parse_reading(f"{upper}{sep}{lower}")
    assert raised.value.message == (MSG_BP_ORDER if in_range else MSG_BP_RANGE)


@settings(max_examples=60)
@given(st.integers(250, 2000), st.sampled_from([",", "."]))
def test_a_valid_weight_parses_back(tenths: int, comma: str) -> None:
    text = f"{tenths // 10}{comma}{tenths % 10}"
    assert parse_weight(text) == Decimal(tenths) / 10
    assert parse_weight(f"{text} kg") == Decimal(tenths) / 10
