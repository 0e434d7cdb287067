"""Loan arithmetic for the revolving fund: schedules, what is due, and splitting a payment.

Pure functions on integers (đồng) and dates, so every rule is easy to test. Interest is a
monthly percentage in basis points (``150`` = 1.5 % a month), computed on the scheduled
balance and rounded to the nearest đồng. The three schedule types are the clubs' usual ones:

- ``equal_principal``: each month an equal share of the principal plus that month's interest;
- ``interest_only``: each month the interest, the principal with the last instalment;
- ``lump_sum``: everything (principal and all the interest) at the end of the term.

A payment pays the interest that is due first (up to and including the current period's
instalment), then principal. More than the outstanding principal plus that interest is an
overpayment and is refused.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

SCHEDULES = ("equal_principal", "interest_only", "lump_sum")


@dataclass(frozen=True)
class Installment:
    """One scheduled payment."""

    number: int
    due: date
    principal: int
    interest: int

    @property
    def total(self) -> int:
        """Principal plus interest."""
        return self.principal + self.interest


@dataclass(frozen=True)
class Position:
    """Where a loan stands on a given day.

    Attributes:
        outstanding: Principal still owed.
        payable: The most that may be paid now (outstanding principal and the interest due).
        interest_due: Interest due now and not yet paid (paid before principal).
        arrears: What should have been paid before today and was not.
        overdue_since: Due date of the oldest unpaid instalment, when in arrears.
        next_due: The next due date with something to pay, if any.
        next_amount: What to pay by ``next_due`` (arrears included).
    """

    outstanding: int
    payable: int
    interest_due: int
    arrears: int
    overdue_since: date | None
    next_due: date | None
    next_amount: int


class Overpayment(ValueError):
    """A payment larger than what may be paid; ``payable`` says the most allowed."""

    def __init__(self, payable: int) -> None:
        super().__init__(payable)
        self.payable = payable


def month_day(year: int, month: int, day: int) -> date:
    """The ``day`` of a month, or its last day when the month is shorter (31 -> 28/02)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(first: date, months: int, day: int) -> date:
    """The due ``day`` ``months`` months after ``first``'s month."""
    index = first.year * 12 + first.month - 1 + months
    return month_day(index // 12, index % 12 + 1, day)


def first_due(start: date, due_day: int) -> date:
    """The first due date of a loan given on ``start``: the due day of the following month."""
    return add_months(start, 1, due_day)


def interest(amount: int, rate_bp: int, months: int = 1) -> int:
    """Interest on ``amount`` for ``months`` at ``rate_bp`` a month, to the nearest đồng."""
    return (amount * rate_bp * months * 2 + 10_000) // 20_000


def schedule(
    principal: int, rate_bp: int, term_months: int, kind: str, first: date, due_day: int
) -> list[Installment]:
    """The repayment schedule of a loan.

    Args:
        principal: The amount lent (or, for a loan carried over, what is still owed).
        rate_bp: Monthly interest in basis points.
        term_months: Number of monthly periods.
        kind: One of :data:`SCHEDULES`.
        first: The first due date.
        due_day: The day of the month payments fall due.

    Returns:
        The instalments in order; their principal adds up to ``principal``.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"unknown schedule type {kind!r}")
    dues = [first, *(add_months(first, k, due_day) for k in range(1, term_months))]
    if kind == "lump_sum":
        return [Installment(1, dues[-1], principal, interest(principal, rate_bp, term_months))]
    rows, left = [], principal
    share, extra = divmod(principal, term_months)
    for number, due in enumerate(dues, 1):
        if kind == "equal_principal":
            part = share + (1 if number <= extra else 0)
        else:
            part = principal if number == term_months else 0
        rows.append(Installment(number, due, part, interest(left, rate_bp)))
        left -= part
    return rows


def position(
    installments: Sequence[Installment],
    outstanding: int,
    principal_paid: int,
    interest_paid: int,
    on: date,
) -> Position:
    """Where a loan stands on ``on``, from its schedule and what was paid.

    Args:
        installments: The loan's schedule.
        outstanding: Principal still owed (from the ledger).
        principal_paid: Principal repaid so far.
        interest_paid: Interest paid so far.
        on: The day to look at (the club's today).

    Returns:
        The loan's :class:`Position`.
    """
    if outstanding <= 0:
        return Position(0, 0, 0, 0, None, None, 0)
    paid = principal_paid + interest_paid
    current = next((i for i in installments if i.due >= on), installments[-1])
    interest_to_now = sum(i.interest for i in installments if i.number <= current.number)
    interest_due = max(0, interest_to_now - interest_paid)
    cumulative, arrears, since, next_due, next_amount = 0, 0, None, None, 0
    for item in installments:
        cumulative += item.total
        if cumulative <= paid:
            continue
        if item.due < on:
            since = since or item.due
            arrears = cumulative - paid
        elif next_due is None:
            next_due, next_amount = item.due, cumulative - paid
    if next_due is None and arrears:  # past the end of the term: all of it is due now
        next_amount = arrears
    return Position(
        outstanding=outstanding,
        payable=outstanding + interest_due,
        interest_due=interest_due,
        arrears=arrears,
        overdue_since=since,
        next_due=next_due,
        next_amount=min(next_amount, outstanding + interest_due),
    )


def split(amount: int, where: Position) -> tuple[int, int]:
    """Split a payment into ``(principal, interest)``: interest due first, then principal.

    Raises:
        Overpayment: ``amount`` is more than the outstanding principal plus the interest due.
    """
    if amount > where.payable:
        raise Overpayment(where.payable)
    paid_interest = min(amount, where.interest_due)
    return amount - paid_interest, paid_interest
