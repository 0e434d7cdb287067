"""Unit tests of the loan arithmetic in ``bot/fund.py``, with exact numbers.

Expected values are worked out by hand: interest is ``amount * rate_bp / 10_000`` a month,
rounded to the nearest đồng with halves rounded up.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.fund import (
    SCHEDULES,
    Installment,
    Overpayment,
    Position,
    add_months,
    first_due,
    interest,
    month_day,
    position,
    schedule,
    split,
)

MILLION = 1_000_000
FIRST = date(2027, 1, 15)


def twelve(kind: str) -> list[Installment]:
    """12,000,000 đồng at 1 % a month over 12 months, due on the 15th from 15/01/2027."""
    return schedule(12 * MILLION, 100, 12, kind, FIRST, 15)


def dues(first: date, count: int, day: int) -> list[date]:
    return [first, *(add_months(first, k, day) for k in range(1, count))]


# Dates


def test_month_day_clamps_to_the_end_of_short_months() -> None:
    assert month_day(2027, 2, 31) == date(2027, 2, 28)
    assert month_day(2028, 2, 31) == date(2028, 2, 29)
    assert month_day(2027, 4, 31) == date(2027, 4, 30)
    assert month_day(2027, 3, 31) == date(2027, 3, 31)
    assert month_day(2027, 6, 15) == date(2027, 6, 15)


def test_add_months_crosses_years_and_keeps_the_due_day() -> None:
    assert add_months(date(2026, 11, 28), 1, 15) == date(2026, 12, 15)
    assert add_months(date(2026, 12, 15), 1, 15) == date(2027, 1, 15)
    assert add_months(date(2027, 1, 15), 11, 15) == date(2027, 12, 15)
    assert add_months(date(2027, 1, 15), 12, 15) == date(2028, 1, 15)
    assert add_months(date(2027, 1, 15), 25, 15) == date(2029, 2, 15)
    assert add_months(date(2027, 1, 15), 0, 15) == date(2027, 1, 15)


def test_due_day_31_clamps_in_february_and_returns_in_march() -> None:
    assert dues(date(2027, 1, 31), 4, 31) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30),
    ]
    assert dues(date(2028, 1, 31), 3, 31) == [
        date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31),
    ]
    rows = schedule(3 * MILLION, 100, 3, "equal_principal", date(2027, 1, 31), 31)
    assert [r.due for r in rows] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]
    # The clamped day is not carried on: after 30/04 comes 31/05.
    assert add_months(date(2027, 4, 30), 1, 31) == date(2027, 5, 31)


def test_first_due_is_the_due_day_of_the_following_month() -> None:
    assert first_due(date(2026, 11, 28), 15) == date(2026, 12, 15)
    assert first_due(date(2026, 11, 2), 15) == date(2026, 12, 15)
    assert first_due(date(2026, 12, 5), 15) == date(2027, 1, 15)
    assert first_due(date(2027, 1, 31), 31) == date(2027, 2, 28)
    assert first_due(date(2028, 1, 10), 30) == date(2028, 2, 29)
    assert first_due(date(2027, 3, 20), 1) == date(2027, 4, 1)


# Interest


@pytest.mark.parametrize(
    ("amount", "rate_bp", "months", "expected"),
    [
        (12 * MILLION, 100, 1, 120_000),
        (12 * MILLION, 100, 12, 1_440_000),
        (333_333, 150, 1, 5_000),  # 4,999.995 -> 5,000
        (6_666_666, 150, 1, 100_000),  # 99,999.99 -> 100,000
        (3_333_333, 150, 1, 50_000),  # 49,999.995 -> 50,000
        (250, 100, 1, 3),  # 2.5 -> 3 (half up, not to even)
        (249, 100, 1, 2),  # 2.49 -> 2
        (350, 100, 1, 4),  # 3.5 -> 4
        (100, 50, 1, 1),  # 0.5 -> 1
        (99, 50, 1, 0),  # 0.495 -> 0
        (1, 50, 1, 0),  # 0.005 -> 0
        (1_000_001, 150, 1, 15_000),  # 15,000.015 -> 15,000
        (1_000_000, 150, 3, 45_000),
        (333_333, 150, 3, 15_000),  # 14,999.985 -> 15,000
        (5 * MILLION, 0, 12, 0),
        (0, 150, 1, 0),
        (10**9, 500, 60, 3 * 10**9),
    ],
)
def test_interest_rounds_to_the_nearest_dong_halves_up(
    amount: int, rate_bp: int, months: int, expected: int
) -> None:
    assert interest(amount, rate_bp, months) == expected


@given(st.integers(0, 10**10), st.integers(0, 500), st.integers(1, 60))
def test_interest_is_exact_half_up_rounding(amount: int, rate_bp: int, months: int) -> None:
    exact_times_10000 = amount * rate_bp * months
    got = interest(amount, rate_bp, months)
    # |got - exact| <= 1/2, and a remainder of exactly one half rounds up.
    assert abs(got * 10_000 - exact_times_10000) <= 5_000
    if exact_times_10000 % 10_000 == 5_000:
        assert got * 10_000 == exact_times_10000 + 5_000


# Schedules


def test_equal_principal_twelve_months() -> None:
    rows = twelve("equal_principal")
    assert [r.number for r in rows] == list(range(1, 13))
    assert [r.due for r in rows] == [date(2027, m, 15) for m in range(1, 13)]
    assert [r.principal for r in rows] == [MILLION] * 12
    assert [r.interest for r in rows] == [k * 10_000 for k in range(12, 0, -1)]
    assert rows[0] == Installment(1, date(2027, 1, 15), MILLION, 120_000)
    assert rows[-1] == Installment(12, date(2027, 12, 15), MILLION, 10_000)
    assert rows[0].total == 1_120_000 and rows[1].total == 1_110_000
    assert sum(r.interest for r in rows) == 780_000


def test_interest_only_twelve_months() -> None:
    rows = twelve("interest_only")
    assert [r.due for r in rows] == [date(2027, m, 15) for m in range(1, 13)]
    assert [r.interest for r in rows] == [120_000] * 12
    assert [r.principal for r in rows] == [0] * 11 + [12 * MILLION]
    assert rows[-1].total == 12_120_000


def test_lump_sum_is_one_instalment_at_the_end() -> None:
    assert twelve("lump_sum") == [
        Installment(1, date(2027, 12, 15), 12 * MILLION, 1_440_000)
    ]


def test_a_remainder_goes_to_the_first_instalments() -> None:
    rows = schedule(10 * MILLION, 150, 3, "equal_principal", FIRST, 15)
    assert [r.principal for r in rows] == [3_333_334, 3_333_333, 3_333_333]
    assert sum(r.principal for r in rows) == 10 * MILLION
    # Interest on the scheduled balance: 10,000,000 / 6,666,666 / 3,333,333 at 1.5 %.
    assert [r.interest for r in rows] == [150_000, 100_000, 50_000]

    rows = schedule(10_000_002, 0, 4, "equal_principal", FIRST, 15)
    assert [r.principal for r in rows] == [2_500_001, 2_500_001, 2_500_000, 2_500_000]


def test_a_principal_smaller_than_the_term_still_adds_up() -> None:
    rows = schedule(2, 100, 3, "equal_principal", FIRST, 15)
    assert [r.principal for r in rows] == [1, 1, 0]
    assert [r.interest for r in rows] == [0, 0, 0]


def test_one_month_terms() -> None:
    for kind in SCHEDULES:
        rows = schedule(5 * MILLION, 200, 1, kind, FIRST, 15)
        assert rows == [Installment(1, FIRST, 5 * MILLION, 100_000)], kind


def test_unknown_schedule_type_is_refused() -> None:
    with pytest.raises(ValueError, match="weekly"):
        schedule(MILLION, 100, 12, "weekly", FIRST, 15)


# Position


def test_before_the_first_due_date_nothing_is_in_arrears() -> None:
    rows = twelve("equal_principal")
    for on in (date(2026, 12, 15), date(2027, 1, 10), FIRST):  # the due day is not late yet
        where = position(rows, 12 * MILLION, 0, 0, on)
        assert where == Position(
            outstanding=12 * MILLION,
            payable=12_120_000,
            interest_due=120_000,
            arrears=0,
            overdue_since=None,
            next_due=FIRST,
            next_amount=1_120_000,
        ), on


def test_a_missed_first_instalment_is_in_arrears() -> None:
    rows = twelve("equal_principal")
    where = position(rows, 12 * MILLION, 0, 0, date(2027, 1, 16))
    assert where == Position(
        outstanding=12 * MILLION,
        payable=12 * MILLION + 230_000,  # the current period is the one due 15/02
        interest_due=230_000,
        arrears=1_120_000,
        overdue_since=FIRST,
        next_due=date(2027, 2, 15),
        next_amount=2_230_000,  # arrears included
    )


def test_two_missed_instalments() -> None:
    rows = twelve("equal_principal")
    where = position(rows, 12 * MILLION, 0, 0, date(2027, 3, 1))
    assert where.arrears == 1_120_000 + 1_110_000
    assert where.overdue_since == FIRST
    assert where.interest_due == 120_000 + 110_000 + 100_000
    assert (where.next_due, where.next_amount) == (date(2027, 3, 15), 3_330_000)


def test_a_partial_payment_reduces_arrears() -> None:
    rows = twelve("equal_principal")
    on = date(2027, 1, 16)
    assert split(500_000, position(rows, 12 * MILLION, 0, 0, on)) == (270_000, 230_000)
    where = position(rows, 11_730_000, 270_000, 230_000, on)
    assert where == Position(
        outstanding=11_730_000,
        payable=11_730_000,
        interest_due=0,
        arrears=620_000,
        overdue_since=FIRST,
        next_due=date(2027, 2, 15),
        next_amount=1_730_000,
    )


def test_paying_the_first_instalment_on_time_then_being_late() -> None:
    rows = twelve("equal_principal")
    assert split(1_120_000, position(rows, 12 * MILLION, 0, 0, FIRST)) == (MILLION, 120_000)
    where = position(rows, 11 * MILLION, MILLION, 120_000, date(2027, 2, 1))
    assert (where.arrears, where.overdue_since) == (0, None)
    assert (where.next_due, where.next_amount, where.interest_due) == (
        date(2027, 2, 15), 1_110_000, 110_000,
    )
    late = position(rows, 11 * MILLION, MILLION, 120_000, date(2027, 2, 16))
    assert (late.arrears, late.overdue_since) == (1_110_000, date(2027, 2, 15))


def test_paying_everything_leaves_nothing() -> None:
    rows = twelve("equal_principal")
    where = position(rows, 12 * MILLION, 0, 0, date(2027, 1, 16))
    principal, paid_interest = split(where.payable, where)
    assert (principal, paid_interest) == (12 * MILLION, 230_000)
    after = position(rows, 12 * MILLION - principal, principal, paid_interest, date(2027, 1, 16))
    assert after == Position(0, 0, 0, 0, None, None, 0)
    assert position(rows, 0, 12 * MILLION, 780_000, date(2030, 1, 1)) == Position(
        0, 0, 0, 0, None, None, 0
    )


def test_past_the_end_of_the_term_everything_is_due_now() -> None:
    rows = twelve("equal_principal")
    where = position(rows, 12 * MILLION, 0, 0, date(2028, 1, 1))
    assert where == Position(
        outstanding=12 * MILLION,
        payable=12_780_000,
        interest_due=780_000,
        arrears=12_780_000,
        overdue_since=FIRST,
        next_due=None,
        next_amount=12_780_000,
    )
    # Half of it paid (interest first): the rest is arrears and next_amount.
    principal, paid_interest = split(6 * MILLION, where)
    assert (principal, paid_interest) == (5_220_000, 780_000)
    rest = position(rows, 12 * MILLION - principal, principal, paid_interest, date(2028, 1, 1))
    assert rest.arrears == rest.next_amount == rest.payable == 6_780_000
    assert rest.next_due is None
    # The oldest unpaid instalment: 6,000,000 covers the first five (5,500,000) only.
    assert rest.overdue_since == date(2027, 6, 15)


def test_lump_sum_position() -> None:
    rows = twelve("lump_sum")
    before = position(rows, 12 * MILLION, 0, 0, date(2027, 6, 1))
    assert (before.arrears, before.interest_due, before.payable) == (0, 1_440_000, 13_440_000)
    assert (before.next_due, before.next_amount) == (date(2027, 12, 15), 13_440_000)
    late = position(rows, 12 * MILLION, 0, 0, date(2027, 12, 16))
    assert (late.arrears, late.overdue_since) == (13_440_000, date(2027, 12, 15))
    assert (late.next_due, late.next_amount) == (None, 13_440_000)


def test_interest_only_position() -> None:
    rows = twelve("interest_only")
    where = position(rows, 12 * MILLION, 0, 360_000, date(2027, 3, 20))
    assert (where.arrears, where.overdue_since) == (0, None)
    assert (where.interest_due, where.payable) == (120_000, 12_120_000)
    assert (where.next_due, where.next_amount) == (date(2027, 4, 15), 120_000)


# Split


def test_split_pays_interest_first_then_principal() -> None:
    where = position(twelve("equal_principal"), 12 * MILLION, 0, 0, date(2027, 1, 16))
    assert split(100_000, where) == (0, 100_000)
    assert split(230_000, where) == (0, 230_000)
    assert split(230_001, where) == (1, 230_000)
    assert split(1_120_000, where) == (890_000, 230_000)
    assert split(where.payable, where) == (12 * MILLION, 230_000)


def test_split_without_interest_due_is_all_principal() -> None:
    where = position(twelve("equal_principal"), 11 * MILLION, MILLION, 120_000, FIRST)
    assert where.interest_due == 0
    assert split(400_000, where) == (400_000, 0)


def test_overpayment_is_refused_with_the_most_allowed() -> None:
    where = position(twelve("equal_principal"), 12 * MILLION, 0, 0, date(2027, 1, 16))
    with pytest.raises(Overpayment) as raised:
        split(where.payable + 1, where)
    assert raised.value.payable == 12_230_000
    assert isinstance(raised.value, ValueError)
    done = Position(0, 0, 0, 0, None, None, 0)
    with pytest.raises(Overpayment) as raised:
        split(1, done)
    assert raised.value.payable == 0


# Properties

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))
loans = st.tuples(
    st.integers(1, 10**9),
    st.integers(0, 500),
    st.integers(1, 60),
    st.sampled_from(SCHEDULES),
    days,
    st.integers(1, 31),
)


@given(loans)
@settings(max_examples=300)
def test_schedule_properties(loan: tuple[int, int, int, str, date, int]) -> None:
    principal, rate_bp, term, kind, first, due_day = loan
    rows = schedule(principal, rate_bp, term, kind, first, due_day)
    assert len(rows) == (1 if kind == "lump_sum" else term)
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.principal for r in rows) == principal
    assert all(r.principal >= 0 and r.interest >= 0 for r in rows)
    assert all(a.due < b.due for a, b in itertools.pairwise(rows))
    assert rows[0].due == first or kind == "lump_sum"
    assert rows[-1].due == (first if term == 1 else add_months(first, term - 1, due_day))
    assert all(r.due.day == min(due_day, month_end(r.due)) for r in rows if r.due != first)
    if kind == "equal_principal":
        parts = [r.principal for r in rows]
        assert max(parts) - min(parts) <= 1 and parts == sorted(parts, reverse=True)
    # Never more than a month's interest on the whole principal each month (plus rounding).
    total_interest = sum(r.interest for r in rows)
    assert total_interest * 10_000 <= principal * rate_bp * term + 5_000 * term


def month_end(day: date) -> int:
    return (add_months(day, 1, 1) - timedelta(days=1)).day


@given(loans, st.lists(st.tuples(st.integers(0, 70), st.integers(1, 10**10)), max_size=25))
@settings(max_examples=300)
def test_payments_never_overpay_and_always_add_up(
    loan: tuple[int, int, int, str, date, int], payments: list[tuple[int, int]]
) -> None:
    principal, rate_bp, term, kind, first, due_day = loan
    rows = schedule(principal, rate_bp, term, kind, first, due_day)
    total_interest = sum(r.interest for r in rows)
    outstanding, principal_paid, interest_paid = principal, 0, 0
    day = first - timedelta(days=20)
    for gap, wanted in payments:
        day += timedelta(days=gap)
        where = position(rows, outstanding, principal_paid, interest_paid, day)
        assert 0 <= where.arrears <= where.payable
        assert 0 <= where.next_amount <= where.payable
        assert where.payable == where.outstanding + where.interest_due
        assert (where.overdue_since is None) == (where.arrears == 0)
        if where.next_due is not None:
            assert where.next_due >= day and where.next_amount >= where.arrears
        if wanted > where.payable:
            with pytest.raises(Overpayment) as raised:
                split(wanted, where)
            assert raised.value.payable == where.payable
            wanted = where.payable
        if wanted == 0:
            continue
        paid_principal, paid_interest = split(wanted, where)
        assert paid_principal + paid_interest == wanted
        assert paid_principal >= 0 and paid_interest >= 0
        assert paid_interest <= where.interest_due
        assert paid_principal == 0 or paid_interest == where.interest_due  # interest first
        outstanding -= paid_principal
        principal_paid += paid_principal
        interest_paid += paid_interest
        assert outstanding >= 0
        assert principal_paid + outstanding == principal
        assert interest_paid <= total_interest


@given(loans)
@settings(max_examples=200)
def test_paying_each_instalment_on_its_due_day_clears_the_loan(
    loan: tuple[int, int, int, str, date, int],
) -> None:
    principal, rate_bp, term, kind, first, due_day = loan
    rows = schedule(principal, rate_bp, term, kind, first, due_day)
    outstanding, principal_paid, interest_paid = principal, 0, 0
    for row in rows:
        where = position(rows, outstanding, principal_paid, interest_paid, row.due)
        assert (where.arrears, where.overdue_since) == (0, None)
        if row.total == 0:  # nothing to pay this month (tiny principal, no interest)
            continue
        assert (where.next_due, where.next_amount) == (row.due, row.total)
        assert split(where.next_amount, where) == (row.principal, row.interest)
        outstanding -= row.principal
        principal_paid += row.principal
        interest_paid += row.interest
    assert outstanding == 0
    assert interest_paid == sum(r.interest for r in rows)
    end = position(rows, outstanding, principal_paid, interest_paid, rows[-1].due + timedelta(1))
    assert end == Position(0, 0, 0, 0, None, None, 0)


@given(loans, st.integers(1, 400))
def test_nothing_paid_arrears_is_everything_due_before_the_day(
    loan: tuple[int, int, int, str, date, int], offset: int
) -> None:
    principal, rate_bp, term, kind, first, due_day = loan
    rows = schedule(principal, rate_bp, term, kind, first, due_day)
    on = first + timedelta(days=offset)
    where = position(rows, principal, 0, 0, on)
    late = [r for r in rows if r.due < on]
    assert where.arrears == sum(r.total for r in late)
    expected_since = next((r.due for r in late if r.total > 0), None)
    assert where.overdue_since == expected_since
