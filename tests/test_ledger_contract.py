"""The fund part of the storage contract (:class:`storage.ledger.FundStore`).

Tests run on every backend of ``tests.test_storage_contract.BACKENDS``. The safety tests go
under the interface with plain SQL through the transaction's own statement helpers (``_run``,
``_all``), so they check every backend's schema: the database itself must refuse changes to
the ledger, loans and schedules, reversals that do not undo their original exactly and
repayments that would leave a loan's balance negative. Each statement expected to fail runs in
a savepoint, as PostgreSQL ends the whole transaction at an error otherwise. A stateful
Hypothesis test then checks every balance against plain sums over the ledger after random
sequences of operations.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bot.fund import Installment, Position, first_due, position, schedule
from storage.base import Storage, Transaction
from storage.errors import IntegrityError
from storage.ledger import (
    Arrears,
    Entry,
    FundSummary,
    Loan,
    LoanRequest,
    LoanRules,
    NewEntry,
    NewLoan,
    PaymentReport,
    ScheduleRow,
)
from storage.sqlite import SQLiteStorage
from tests import test_storage_contract as storage_contract
from tests.test_storage_contract import MINUTE, NOW, add, make_club

# What a refused write raises on every backend, worded as SQLite words it ("CHECK constraint
# failed: ...", "UNIQUE constraint failed: ..." or the trigger's own message).
REFUSED = IntegrityError

T = TypeVar("T")
DAY = NOW.date()  # 28/11/2026
MILLION = 1_000_000
_keys = itertools.count(1)


# The storage contract's fixtures: every backend of its ``BACKENDS`` list runs these tests too.
backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


_NAMED = re.compile(r":(\w+)")


async def run(tx: Transaction, sql: str, params: dict[str, Any]) -> int:
    """Run a statement with ``:name`` parameters through the transaction; rows changed."""
    names = _NAMED.findall(sql)
    done = await tx._run(_NAMED.sub("?", sql), tuple(params[name] for name in names))
    return done.rowcount


def new_loan(
    club_id: int,
    member_id: int,
    principal: int,
    *,
    rate_bp: int = 100,
    term: int = 12,
    kind: str = "equal_principal",
    start: date = date(2026, 12, 10),
    due_day: int = 15,
    carried_over: bool = False,
    request_id: int | None = None,
    created_by: int | None = None,
    purpose: str = "Mua bò giống",
    loan_key: str | None = None,
) -> NewLoan:
    first = first_due(start, due_day)
    rows = schedule(principal, rate_bp, term, kind, first, due_day)
    return NewLoan(
        club_id=club_id,
        member_id=member_id,
        principal=principal,
        purpose=purpose,
        rate_bp=rate_bp,
        term_months=term,
        schedule=kind,
        start_date=start,
        first_due=first,
        due_day=due_day,
        carried_over=carried_over,
        request_id=request_id,
        created_by=created_by,
        key=loan_key or key("loan"),
        installments=tuple(ScheduleRow(r.number, r.due, r.principal, r.interest) for r in rows),
    )


def disbursement(loan: NewLoan, loan_id: int, **changes: Any) -> NewEntry:
    kind = "opening" if loan.carried_over else "disbursement"
    cash = 0 if loan.carried_over else -loan.principal
    entry = NewEntry(
        loan.club_id, kind, loan.start_date, key("disb"), loan_id=loan_id,
        member_id=loan.member_id, principal=loan.principal, cash=cash,
    )
    return replace(entry, **changes)


def repayment(
    club_id: int, loan_id: int, member_id: int, principal: int, interest: int, **changes: Any
) -> NewEntry:
    entry = NewEntry(
        club_id, "repayment", DAY, key("pay"), loan_id=loan_id, member_id=member_id,
        principal=-principal, interest=interest, cash=principal + interest,
    )
    return replace(entry, **changes)


def contribution(club_id: int, member_id: int | None, amount: int, **changes: Any) -> NewEntry:
    entry = NewEntry(club_id, "contribution", DAY, key("gop"), member_id=member_id, cash=amount)
    return replace(entry, **changes)


def capital(club_id: int, amount: int) -> NewEntry:
    return NewEntry(club_id, "capital", DAY, key("von"), cash=amount, note="vốn ban đầu")


def reversal(original: Entry, **changes: Any) -> NewEntry:
    entry = NewEntry(
        original.club_id, original.kind, DAY, key("rev"), loan_id=original.loan_id,
        member_id=original.member_id, principal=-original.principal,
        interest=-original.interest, cash=-original.cash, reverses=original.id,
        note="ghi nhầm",
    )
    return replace(entry, **changes)


async def give(tx: Transaction, loan: NewLoan) -> int:
    """Record a loan and its disbursement (or opening balance)."""
    loan_id, created = await tx.add_loan(loan, NOW)
    assert created
    await append(tx, disbursement(loan, loan_id))
    return loan_id


async def append(tx: Transaction, entry: NewEntry) -> int:
    entry_id, created = await tx.add_entry(entry, NOW)
    assert created
    return entry_id


async def reverse(tx: Transaction, entry_id: int, **changes: Any) -> int:
    original = await tx.get_entry(entry_id)
    assert original is not None
    return await append(tx, reversal(original, **changes))


async def club_with_members(tx: Transaction, count: int = 3, name: str = "CLB Xuân Phương"):
    club = await make_club(tx, name)
    return club.id, [await add(tx, club.id) for _ in range(count)]


def balance(loan: Loan | None) -> tuple[int, int, int]:
    assert loan is not None
    return loan.outstanding, loan.principal_paid, loan.interest_paid


async def position_of(tx: Transaction, loan_id: int, day: date) -> Position:
    """The loan's position computed by ``bot.fund`` from its stored schedule and balance."""
    loan = await tx.get_loan(loan_id)
    assert loan is not None
    # ``ScheduleRow`` has no ``total``, which ``position()`` uses: convert.
    rows = [Installment(r.number, r.due, r.principal, r.interest)
            for r in await tx.schedule_of(loan_id)]
    return position(rows, loan.outstanding, loan.principal_paid, loan.interest_paid, day)


# Loan rules


async def test_rules_default_until_set_then_history_is_kept(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club_id, (chair, treasurer, _) = await club_with_members(tx)
        other, _ = await club_with_members(tx, 1, "CLB Tân Đức")
        assert await tx.loan_rules(club_id) == LoanRules()
        assert await tx.rules_history(club_id) == []
        first = LoanRules(
            rate_bp=150, term_months=10, schedule="interest_only", due_day=20,
            max_amount=20 * MILLION, poor_first=False,
        )
        await tx.set_loan_rules(club_id, first, chair, NOW)
    later = NOW + timedelta(days=30)
    second = LoanRules(rate_bp=80, term_months=24, schedule="lump_sum", due_day=None)
    async with storage.transaction() as tx:
        assert await tx.loan_rules(club_id) == replace(first, changed_by=chair, changed_at=NOW)
        await tx.set_loan_rules(club_id, second, treasurer, later)
    async with storage.transaction() as tx:
        in_force = await tx.loan_rules(club_id)
        assert in_force == replace(second, changed_by=treasurer, changed_at=later)
        assert in_force.changed_at.utcoffset() == timedelta(0)
        assert await tx.rules_history(club_id) == [
            replace(first, changed_by=chair, changed_at=NOW),
            replace(second, changed_by=treasurer, changed_at=later),
        ]
        assert await tx.loan_rules(other) == LoanRules()
        assert await tx.rules_history(other) == []


async def test_rules_may_be_set_by_nobody_in_particular(tx: Transaction) -> None:
    club_id, _ = await club_with_members(tx, 0)
    await tx.set_loan_rules(club_id, LoanRules(rate_bp=0, poor_first=False), None, NOW)
    assert await tx.loan_rules(club_id) == LoanRules(poor_first=False, changed_at=NOW)


# Loans


async def test_add_loan_is_idempotent_and_keeps_its_schedule(tx: Transaction) -> None:
    club_id, (chair, member, _) = await club_with_members(tx)
    loan = new_loan(club_id, member, 12 * MILLION, request_id=7, created_by=chair)
    loan_id, created = await tx.add_loan(loan, NOW)
    assert created
    again = replace(loan, principal=1, installments=loan.installments[:1])
    assert await tx.add_loan(again, NOW + MINUTE) == (loan_id, False)
    assert await tx.schedule_of(loan_id) == list(loan.installments)
    rows = await tx.schedule_of(loan_id)
    assert len(rows) == 12
    assert rows[0] == ScheduleRow(1, date(2027, 1, 15), MILLION, 120_000)
    assert rows[-1] == ScheduleRow(12, date(2027, 12, 15), MILLION, 10_000)
    assert await tx.get_loan(loan_id) == Loan(
        id=loan_id, club_id=club_id, member_id=member, principal=12 * MILLION,
        purpose="Mua bò giống", rate_bp=100, term_months=12, schedule="equal_principal",
        start_date=date(2026, 12, 10), first_due=date(2027, 1, 15), due_day=15,
        carried_over=False, created_at=NOW, outstanding=0, principal_paid=0, interest_paid=0,
    )
    assert await tx.get_loan(loan_id + 1000) is None
    assert await tx.schedule_of(loan_id + 1000) == []


async def test_a_lump_sum_loan_has_one_instalment(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    loan = new_loan(club_id, member, 12 * MILLION, kind="lump_sum")
    loan_id, _ = await tx.add_loan(loan, NOW)
    assert await tx.schedule_of(loan_id) == [
        ScheduleRow(1, date(2027, 12, 15), 12 * MILLION, 1_440_000)
    ]
    assert (await tx.get_loan(loan_id)).schedule == "lump_sum"


async def test_a_disbursement_makes_the_principal_outstanding(tx: Transaction) -> None:
    club_id, (_, member, _) = await club_with_members(tx)
    await append(tx, capital(club_id, 20 * MILLION))
    loan = new_loan(club_id, member, 12 * MILLION)
    loan_id, _ = await tx.add_loan(loan, NOW)
    assert balance(await tx.get_loan(loan_id)) == (0, 0, 0)  # not paid out yet
    await append(tx, disbursement(loan, loan_id))
    assert balance(await tx.get_loan(loan_id)) == (12 * MILLION, 0, 0)
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.cash, summary.lent_out, summary.disbursed) == (
        8 * MILLION, 12 * MILLION, 12 * MILLION,
    )


async def test_a_repayment_lowers_the_outstanding_principal(tx: Transaction) -> None:
    """1,000,000 + 120,000 repaid on 12,000,000 (an upsert's CHECK once refused every one)."""
    club_id, (_, member, _) = await club_with_members(tx)
    loan = new_loan(club_id, member, 12 * MILLION)
    loan_id = await give(tx, loan)
    await append(tx, repayment(club_id, loan_id, member, MILLION, 120_000))
    assert balance(await tx.get_loan(loan_id)) == (11 * MILLION, MILLION, 120_000)


async def test_loan_balance_is_derived_from_the_entries(tx: Transaction) -> None:
    club_id, (_, member, _) = await club_with_members(tx)
    await append(tx, capital(club_id, 20 * MILLION))
    loan = new_loan(club_id, member, 12 * MILLION)
    loan_id = await give(tx, loan)
    assert balance(await tx.get_loan(loan_id)) == (12 * MILLION, 0, 0)
    paid = await append(tx, repayment(club_id, loan_id, member, MILLION, 120_000))
    assert balance(await tx.get_loan(loan_id)) == (11 * MILLION, MILLION, 120_000)
    await append(tx, repayment(club_id, loan_id, member, 500_000, 110_000))
    assert balance(await tx.get_loan(loan_id)) == (10_500_000, 1_500_000, 230_000)
    await reverse(tx, paid)
    assert balance(await tx.get_loan(loan_id)) == (11_500_000, 500_000, 110_000)
    assert [loan.id for loan in await tx.loans_of(member, open_only=True)] == [loan_id]
    await append(tx, repayment(club_id, loan_id, member, 11_500_000, 0))
    assert balance(await tx.get_loan(loan_id)) == (0, 12 * MILLION, 110_000)
    assert await tx.loans_of(member, open_only=True) == []
    assert [loan.id for loan in await tx.loans_of(member)] == [loan_id]
    (summary,) = await tx.fund_summaries([club_id])
    assert summary == FundSummary(
        club_id, cash=20 * MILLION + 110_000, lent_out=0, disbursed=12 * MILLION,
        repaid=12 * MILLION, interest=110_000, contributions=0, capital=20 * MILLION,
        borrowers=0, open_loans=0, members=3,
    )


async def test_reversing_a_disbursement_closes_the_loan(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    await append(tx, capital(club_id, 5 * MILLION))
    loan = new_loan(club_id, member, 2 * MILLION, start=date(2026, 1, 1))
    loan_id, _ = await tx.add_loan(loan, NOW)
    await reverse(tx, await append(tx, disbursement(loan, loan_id)))  # paid out by mistake
    assert balance(await tx.get_loan(loan_id)) == (0, 0, 0)
    assert await tx.loans_of(member, open_only=True) == []
    assert await tx.arrears(None, date(2028, 1, 1)) == []
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.cash, summary.lent_out, summary.disbursed, summary.open_loans) == (
        5 * MILLION, 0, 0, 0,
    )


async def test_loans_of_a_member_newest_first_and_open_only(tx: Transaction) -> None:
    club_id, (first, second, _) = await club_with_members(tx)
    await append(tx, capital(club_id, 50 * MILLION))
    old = await give(tx, new_loan(club_id, first, 2 * MILLION))
    newer = await give(tx, new_loan(club_id, first, 3 * MILLION, carried_over=True))
    pending, _ = await tx.add_loan(new_loan(club_id, first, MILLION), NOW)  # not paid out yet
    others = await give(tx, new_loan(club_id, second, 4 * MILLION))
    assert [loan.id for loan in await tx.loans_of(first)] == [pending, newer, old]
    assert [loan.id for loan in await tx.loans_of(first, open_only=True)] == [newer, old]
    assert [loan.id for loan in await tx.loans_of(second, open_only=True)] == [others]
    assert [balance(loan) for loan in await tx.loans_of(first)] == [
        (0, 0, 0), (3 * MILLION, 0, 0), (2 * MILLION, 0, 0),
    ]
    assert await tx.loans_of(second + 1000) == []


async def test_a_carried_over_loan_opens_without_cash(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    loan = new_loan(club_id, member, 3 * MILLION, carried_over=True, start=date(2026, 11, 1))
    loan_id = await give(tx, loan)
    got = await tx.get_loan(loan_id)
    assert got.carried_over is True
    assert balance(got) == (3 * MILLION, 0, 0)
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.cash, summary.lent_out, summary.disbursed) == (0, 3 * MILLION, 3 * MILLION)
    (entry,) = await tx.entries(club_id)
    assert (entry.kind, entry.principal, entry.cash) == ("opening", 3 * MILLION, 0)


# The ledger


async def test_add_entry_is_idempotent_per_key(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    entry = contribution(club_id, member, 200_000, key="gop-2026-11-m1")
    entry_id, created = await tx.add_entry(entry, NOW)
    assert created
    assert await tx.add_entry(replace(entry, cash=999_000), NOW + MINUTE) == (entry_id, False)
    assert len(await tx.entries(club_id)) == 1
    assert (await tx.get_entry(entry_id)).cash == 200_000
    assert await tx.contributed(member) == 200_000
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.cash, summary.contributions) == (200_000, 200_000)


async def test_get_entry_round_trips_and_shows_its_reversal(tx: Transaction) -> None:
    club_id, (treasurer, member, _) = await club_with_members(tx)
    entry = NewEntry(
        club_id, "contribution", date(2026, 11, 20), "gop-1", member_id=member, cash=150_000,
        note="góp quỹ tháng 11", recorded_by=treasurer, confirmed_by=treasurer, source="tg",
    )
    entry_id = await append(tx, entry)
    stored = Entry(
        id=entry_id, club_id=club_id, kind="contribution", loan_id=None, member_id=member,
        principal=0, interest=0, cash=150_000, day=date(2026, 11, 20), note="góp quỹ tháng 11",
        reverses=None, recorded_by=treasurer, confirmed_by=treasurer, key="gop-1",
        created_at=NOW, reversed_by=None,
    )
    assert await tx.get_entry(entry_id) == stored
    undo = await reverse(tx, entry_id)
    assert await tx.get_entry(entry_id) == replace(stored, reversed_by=undo)
    undone = await tx.get_entry(undo)
    assert (undone.reverses, undone.reversed_by, undone.cash) == (entry_id, None, -150_000)
    assert (undone.kind, undone.member_id, undone.note) == ("contribution", member, "ghi nhầm")
    assert await tx.get_entry(undo + 1000) is None


async def test_entries_newest_first_with_filters(tx: Transaction) -> None:
    club_id, (first, second, _) = await club_with_members(tx)
    other_club, (stranger, *_) = await club_with_members(tx, 1, "CLB Tân Đức")
    seed = await append(tx, capital(club_id, 30 * MILLION))
    gop = await append(tx, contribution(club_id, first, 100_000))
    loan = new_loan(club_id, first, 5 * MILLION)
    loan_id, _ = await tx.add_loan(loan, NOW)
    disb = await append(tx, disbursement(loan, loan_id))
    other_loan = new_loan(club_id, second, 2 * MILLION)
    other_id, _ = await tx.add_loan(other_loan, NOW)
    disb2 = await append(tx, disbursement(other_loan, other_id))
    gop2 = await append(tx, contribution(club_id, first, 40_000))
    undo = await reverse(tx, gop2)
    elsewhere = await append(tx, contribution(other_club, stranger, 70_000))

    ids = [e.id for e in await tx.entries(club_id)]
    assert ids == [undo, gop2, disb2, disb, gop, seed]
    assert [e.id for e in await tx.entries(club_id, loan_id=loan_id)] == [disb]
    assert [e.id for e in await tx.entries(club_id, member_id=first)] == [undo, gop2, disb, gop]
    assert [e.id for e in await tx.entries(club_id, member_id=second)] == [disb2]
    assert [e.id for e in await tx.entries(club_id, loan_id=loan_id, member_id=second)] == []
    assert [e.id for e in await tx.entries(club_id, limit=2)] == [undo, gop2]
    assert [e.id for e in await tx.entries(other_club)] == [elsewhere]
    assert [e.id for e in await tx.entries(other_club, loan_id=loan_id)] == []
    by_id = {e.id: e for e in await tx.entries(club_id)}
    assert by_id[gop2].reversed_by == undo and by_id[undo].reverses == gop2
    assert all(by_id[i].reversed_by is None for i in (seed, gop, disb, disb2, undo))
    assert (by_id[disb].loan_id, by_id[disb].principal, by_id[disb].cash) == (
        loan_id, 5 * MILLION, -5 * MILLION,
    )


async def test_entries_of_a_loan_with_a_reversed_repayment(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    loan_id = await give(tx, new_loan(club_id, member, 5 * MILLION))
    pay = await append(tx, repayment(club_id, loan_id, member, 400_000, 50_000))
    undo = await reverse(tx, pay)
    found = await tx.entries(club_id, loan_id=loan_id)
    assert [(e.id, e.kind, e.reverses, e.reversed_by) for e in found][:2] == [
        (undo, "repayment", pay, None), (pay, "repayment", None, undo),
    ]
    assert (found[0].principal, found[0].interest, found[0].cash) == (400_000, -50_000, -450_000)


async def test_contributed_deducts_reversals(tx: Transaction) -> None:
    club_id, (first, second, _) = await club_with_members(tx)
    await append(tx, contribution(club_id, first, 100_000))
    mistake = await append(tx, contribution(club_id, first, 250_000))
    await append(tx, contribution(club_id, first, 50_000))
    await append(tx, contribution(club_id, second, 80_000))
    await append(tx, capital(club_id, 5 * MILLION))  # not a member's contribution
    await give(tx, new_loan(club_id, first, MILLION))  # nor is a loan
    assert await tx.contributed(first) == 400_000
    await reverse(tx, mistake)
    assert await tx.contributed(first) == 150_000
    assert await tx.contributed(second) == 80_000
    assert await tx.contributed(second + 1000) == 0


# Summaries


async def test_fund_summaries_of_one_club_and_of_all(tx: Transaction) -> None:
    club_id, (first, second, third) = await club_with_members(tx)
    await add(tx, club_id, status="pending")
    await add(tx, club_id, status="rejected")
    empty, _ = await club_with_members(tx, 0, "CLB Tân Đức")
    small, (someone, *_) = await club_with_members(tx, 1, "CLB Hòa Bình")

    await append(tx, capital(club_id, 20 * MILLION))
    await append(tx, contribution(club_id, first, 500_000))
    await reverse(tx, await append(tx, contribution(club_id, second, 300_000)))
    await append(tx, contribution(club_id, second, 200_000))
    await give(tx, new_loan(club_id, first, 12 * MILLION))
    await give(tx, new_loan(club_id, first, 2 * MILLION))
    await give(tx, new_loan(club_id, third, 3 * MILLION, carried_over=True))
    await tx.add_loan(new_loan(club_id, second, MILLION), NOW)  # approved, not paid out
    await append(tx, contribution(small, someone, 90_000))

    expected = FundSummary(
        club_id=club_id,
        cash=6_700_000,  # 20M + 0.5M + 0.2M (0.3M reversed) - 12M - 2M; the opening: none
        lent_out=17 * MILLION,
        disbursed=17 * MILLION,  # loans carried over count at their balance
        repaid=0,
        interest=0,
        contributions=700_000,
        capital=20 * MILLION,
        borrowers=2,  # first (two loans) and third (carried over)
        open_loans=3,
        members=3,  # active only
    )
    assert await tx.fund_summaries([club_id]) == [expected]
    zero = FundSummary(empty, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    tiny = FundSummary(small, 90_000, 0, 0, 0, 0, 90_000, 0, 0, 0, 1)
    assert await tx.fund_summaries() == [expected, zero, tiny]
    assert await tx.fund_summaries(None) == [expected, zero, tiny]
    assert await tx.fund_summaries([small, club_id]) == [expected, tiny]
    assert await tx.fund_summaries((empty,)) == [zero]
    assert await tx.fund_summaries([small + 1000]) == []


async def test_fund_summaries_count_repayments_interest_and_reversals(tx: Transaction) -> None:
    club_id, (first, second, third) = await club_with_members(tx)
    await append(tx, capital(club_id, 20 * MILLION))
    await append(tx, contribution(club_id, first, 500_000))
    loan1 = await give(tx, new_loan(club_id, first, 12 * MILLION))
    await append(tx, repayment(club_id, loan1, first, MILLION, 120_000))
    loan2 = new_loan(club_id, second, 5 * MILLION)
    loan2_id, _ = await tx.add_loan(loan2, NOW)
    await reverse(tx, await append(tx, disbursement(loan2, loan2_id)))  # paid out by mistake
    await give(tx, new_loan(club_id, third, 3 * MILLION, carried_over=True))
    loan4 = await give(tx, new_loan(club_id, first, 2 * MILLION))
    await append(tx, repayment(club_id, loan4, first, 2 * MILLION, 20_000))
    wrong = await append(tx, repayment(club_id, loan1, first, 300_000, 0))
    await reverse(tx, wrong)
    assert await tx.fund_summaries([club_id]) == [
        FundSummary(
            club_id=club_id,
            # 20M + 0.5M - 12M + 1.12M - 5M + 5M - 2M + 2.02M (+0.3M - 0.3M); opening: none
            cash=9_640_000,
            lent_out=14 * MILLION,  # 11M + 3M carried over
            disbursed=17 * MILLION,  # 12M + 3M + 2M (the reversed 5M not counted)
            repaid=3 * MILLION,
            interest=140_000,
            contributions=500_000,
            capital=20 * MILLION,
            borrowers=2,  # first (loan 1) and third (carried over); loan 4 is repaid
            open_loans=2,
            members=3,
        )
    ]


async def test_borrowers_count_members_not_loans(tx: Transaction) -> None:
    club_id, (first, second, _) = await club_with_members(tx)
    await append(tx, capital(club_id, 10 * MILLION))
    for amount in (MILLION, 2 * MILLION):
        await give(tx, new_loan(club_id, first, amount))
    await give(tx, new_loan(club_id, second, MILLION))
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.borrowers, summary.open_loans, summary.lent_out) == (2, 3, 4 * MILLION)


async def test_fund_summaries_of_no_clubs_is_empty(tx: Transaction) -> None:
    await club_with_members(tx, 1)
    assert await tx.fund_summaries([]) == []


# Arrears


async def arrears_setup(tx: Transaction) -> dict[str, Any]:
    """Three late loans in two clubs and one not due yet."""
    club_id, (m1, m2, m3) = await club_with_members(tx)
    other, (m4, *_) = await club_with_members(tx, 1, "CLB Tân Đức")
    await append(tx, capital(club_id, 50 * MILLION))
    await append(tx, capital(other, 5 * MILLION))
    # First due 15/01/2027: 100,000 + 12,000 interest a month to start with.
    late_a = await give(tx, new_loan(club_id, m1, 1_200_000))
    # First due 15/12/2026: 200,000 + 24,000, then 200,000 + 22,000.
    late_b = await give(tx, new_loan(club_id, m2, 2_400_000, start=date(2026, 11, 5)))
    # The other club, due on the 10th, no interest: 100,000 a month from 10/01/2027.
    late_c = await give(
        tx, new_loan(other, m4, 600_000, rate_bp=0, term=6, start=date(2026, 12, 1), due_day=10)
    )
    await give(tx, new_loan(club_id, m3, 1_200_000, start=date(2027, 1, 5)))  # due 15/02/2027
    await tx.add_loan(new_loan(club_id, m3, MILLION, start=date(2026, 1, 1)), NOW)  # not paid out
    return {
        "a": Arrears(club_id, late_a, m1, date(2027, 1, 15), 112_000),
        "b": Arrears(club_id, late_b, m2, date(2026, 12, 15), 446_000),
        "c": Arrears(other, late_c, m4, date(2027, 1, 10), 100_000),
    }


async def test_arrears_oldest_first_with_club_filter(tx: Transaction) -> None:
    late = await arrears_setup(tx)
    a, b, c = late["a"], late["b"], late["c"]
    today = date(2027, 1, 20)
    assert await tx.arrears(None, today) == [b, c, a]
    assert await tx.arrears([a.club_id], today) == [b, a]
    assert await tx.arrears([c.club_id], today) == [c]
    assert await tx.arrears([c.club_id, a.club_id], today) == [b, c, a]
    assert await tx.arrears([c.club_id + 1000], today) == []
    # On the due day itself nothing is late yet; before the first due date neither.
    assert await tx.arrears(None, date(2027, 1, 15)) == [replace(b, amount=224_000), c]
    assert await tx.arrears(None, date(2026, 12, 15)) == []
    # Each one agrees with the loan's position computed by bot.fund from its schedule.
    for day in (date(2027, 1, 20), date(2027, 3, 1), date(2028, 6, 1)):
        for found in await tx.arrears(None, day):
            where = await position_of(tx, found.loan_id, day)
            assert (where.overdue_since, where.arrears) == (found.since, found.amount), day


async def test_a_payment_covering_the_arrears_removes_them(tx: Transaction) -> None:
    late = await arrears_setup(tx)
    a, b, c = late["a"], late["b"], late["c"]
    today = date(2027, 1, 20)
    await append(tx, repayment(a.club_id, a.loan_id, a.member_id, 100_000, 12_000))
    # A partial payment (the first instalment of two) moves ``since`` on.
    await append(tx, repayment(b.club_id, b.loan_id, b.member_id, 200_000, 24_000))
    still = replace(b, since=date(2027, 1, 15), amount=222_000)
    assert await tx.arrears(None, today) == [c, still]
    await append(tx, repayment(c.club_id, c.loan_id, c.member_id, 600_000, 0))  # all of it
    assert await tx.arrears(None, today) == [still]
    for found in await tx.arrears(None, today):
        where = await position_of(tx, found.loan_id, today)
        assert (where.overdue_since, where.arrears) == (found.since, found.amount)


async def test_a_loan_not_yet_paid_out_is_never_in_arrears(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    await tx.add_loan(new_loan(club_id, member, MILLION, start=date(2026, 1, 1)), NOW)
    assert await tx.arrears(None, date(2028, 1, 1)) == []


async def test_arrears_of_no_clubs_is_empty(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    await give(tx, new_loan(club_id, member, MILLION, start=date(2026, 1, 1)))
    assert await tx.arrears([], date(2027, 1, 1)) == []


# Payment reports


async def test_payment_reports(tx: Transaction) -> None:
    club_id, (treasurer, first, second) = await club_with_members(tx)
    await append(tx, capital(club_id, 10 * MILLION))
    loan1 = await give(tx, new_loan(club_id, first, 2 * MILLION))
    loan2 = await give(tx, new_loan(club_id, second, 2 * MILLION))
    day = date(2027, 1, 15)
    report, created = await tx.add_payment_report(loan1, 224_000, day, "rep-1", NOW)
    assert created
    assert await tx.add_payment_report(loan1, 1, day, "rep-1", NOW + MINUTE) == (report, False)
    stored = PaymentReport(
        id=report, club_id=club_id, loan_id=loan1, member_id=first, amount=224_000, day=day,
        status="pending", reported_at=NOW, decided_by=None, reason=None, entry_id=None,
    )
    assert await tx.get_payment_report(report) == stored
    assert await tx.get_payment_report(report + 1000) is None
    other, _ = await tx.add_payment_report(loan2, 100_000, day, "rep-2", NOW)
    third, _ = await tx.add_payment_report(loan1, 50_000, day, "rep-3", NOW)
    assert [r.id for r in await tx.payment_reports(club_id)] == [report, other, third]
    assert [r.id for r in await tx.payment_reports(club_id, member_id=first)] == [report, third]

    # The entry the confirmation points to (the repayment, in real use) is stored as given.
    entry = (await tx.entries(club_id, loan_id=loan1))[0].id
    later = NOW + timedelta(hours=3)
    assert await tx.decide_payment_report(report, "confirmed", treasurer, later, entry_id=entry)
    assert not await tx.decide_payment_report(report, "rejected", treasurer, later, "x")
    assert await tx.get_payment_report(report) == replace(
        stored, status="confirmed", decided_by=treasurer, entry_id=entry
    )
    assert await tx.decide_payment_report(other, "rejected", treasurer, later, "chưa nhận")
    assert not await tx.decide_payment_report(other, "confirmed", treasurer, later)
    rejected = await tx.get_payment_report(other)
    assert (rejected.status, rejected.reason, rejected.entry_id) == ("rejected", "chưa nhận", None)

    assert [r.id for r in await tx.payment_reports(club_id)] == [third]
    assert [r.id for r in await tx.payment_reports(club_id, ("confirmed",))] == [report]
    assert [r.id for r in await tx.payment_reports(club_id, ("confirmed", "rejected"))] == [
        report, other,
    ]
    assert [
        r.id for r in await tx.payment_reports(club_id, ("rejected",), member_id=first)
    ] == []
    assert await tx.payment_reports(club_id + 1000) == []


async def test_confirming_a_report_with_its_repayment(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club_id, (treasurer, member, _) = await club_with_members(tx)
        loan_id = await give(tx, new_loan(club_id, member, 2 * MILLION))
        report, _ = await tx.add_payment_report(loan_id, 220_000, DAY, "rep-ok", NOW)
    async with storage.transaction() as tx:
        entry = await append(tx, repayment(club_id, loan_id, member, 200_000, 20_000))
        assert await tx.decide_payment_report(report, "confirmed", treasurer, NOW, entry_id=entry)
    async with storage.transaction() as tx:
        assert (await tx.get_payment_report(report)).entry_id == entry
        assert balance(await tx.get_loan(loan_id)) == (1_800_000, 200_000, 20_000)


# Loan requests


async def test_loan_requests(tx: Transaction) -> None:
    club_id, (chair, first, second) = await club_with_members(tx)
    request, created = await tx.add_loan_request(first, 5 * MILLION, "nuôi lợn", "req-1", NOW)
    assert created
    assert await tx.add_loan_request(first, 1, "x", "req-1", NOW) == (request, False)
    stored = LoanRequest(
        id=request, club_id=club_id, member_id=first, amount=5 * MILLION, purpose="nuôi lợn",
        status="pending", requested_at=NOW, decided_by=None, reason=None, loan_id=None,
    )
    assert await tx.get_loan_request(request) == stored
    assert await tx.get_loan_request(request + 1000) is None
    other, _ = await tx.add_loan_request(second, 3 * MILLION, "sửa nhà", "req-2", NOW + MINUTE)
    third, _ = await tx.add_loan_request(first, MILLION, "mua giống", "req-3", NOW + 2 * MINUTE)
    assert [r.id for r in await tx.loan_requests(club_id)] == [request, other, third]
    assert [r.id for r in await tx.loan_requests(club_id, member_id=second)] == [other]

    await append(tx, capital(club_id, 10 * MILLION))
    loan_id = await give(tx, new_loan(club_id, first, 5 * MILLION, request_id=request))
    later = NOW + timedelta(days=2)
    assert await tx.decide_loan_request(request, "approved", chair, later, loan_id=loan_id)
    assert not await tx.decide_loan_request(request, "declined", chair, later, "quá hạn mức")
    assert await tx.get_loan_request(request) == replace(
        stored, status="approved", decided_by=chair, loan_id=loan_id
    )
    assert await tx.decide_loan_request(other, "declined", chair, later, "quỹ hết tiền")
    assert not await tx.decide_loan_request(other, "approved", chair, later)
    declined = await tx.get_loan_request(other)
    assert (declined.status, declined.reason, declined.loan_id) == (
        "declined", "quỹ hết tiền", None,
    )
    assert [r.id for r in await tx.loan_requests(club_id)] == [third]
    assert [r.id for r in await tx.loan_requests(club_id, ("approved", "declined"))] == [
        request, other,
    ]
    assert [r.id for r in await tx.loan_requests(club_id, ("approved",), first)] == [request]
    assert await tx.loan_requests(club_id + 1000, ("pending", "approved")) == []


async def test_decisions_are_kept_across_transactions(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club_id, (chair, member, _) = await club_with_members(tx)
        request, _ = await tx.add_loan_request(member, MILLION, "mua gà", "req-x", NOW)
    async with storage.transaction() as tx:
        assert await tx.decide_loan_request(request, "declined", chair, NOW, "chưa đủ quỹ")
    async with storage.transaction() as tx:
        assert not await tx.decide_loan_request(request, "approved", chair, NOW)
        assert (await tx.get_loan_request(request)).status == "declined"
        assert await tx.loan_requests(club_id) == []


# Safety: the database itself refuses what would falsify the books (SQLite-specific).


async def loan_and_gift(tx: Transaction) -> tuple[int, int, int, int, int]:
    """A club with a loan of 5,000,000 paid out and a contribution.

    Returns:
        ``(club, member, loan, disbursement entry, contribution entry)``.
    """
    club_id, (member, *_) = await club_with_members(tx, 1)
    await append(tx, capital(club_id, 10 * MILLION))
    loan = new_loan(club_id, member, 5 * MILLION)
    loan_id, _ = await tx.add_loan(loan, NOW)
    disb = await append(tx, disbursement(loan, loan_id))
    gift = await append(tx, contribution(club_id, member, 100_000))
    return club_id, member, loan_id, disb, gift


# The fund's tables, each ordered by its primary key.
TABLES = {
    "ledger": "id",
    "loans": "id",
    "installments": "loan_id, number",
    "loan_balances": "loan_id",
    "fund_balances": "club_id",
}


async def snapshot(tx: Transaction) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the fund's tables, to compare before and after a refused write."""
    return {
        table: [tuple(row) for row in await tx._all(f"SELECT * FROM {table} ORDER BY {order}")]
        for table, order in TABLES.items()
    }


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger SET cash = 0 WHERE id = :disb",
        "UPDATE ledger SET principal = 1 WHERE id = :disb",
        "UPDATE ledger SET note = 'sửa' WHERE id = :gift",
        "UPDATE ledger SET reverses = :disb WHERE id = :gift",
        "DELETE FROM ledger WHERE id = :gift",
        "DELETE FROM ledger",
    ],
)
async def test_the_ledger_is_append_only(tx: Transaction, statement: str) -> None:
    *_, disb, gift = await loan_and_gift(tx)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="append-only"):
        async with tx.savepoint():
            await run(tx, statement, {"disb": disb, "gift": gift})
    assert await snapshot(tx) == before


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE loans SET principal = 1 WHERE id = :loan", "fixed when given"),
        ("UPDATE loans SET purpose = 'khác' WHERE id = :loan", "fixed when given"),
        ("DELETE FROM loans WHERE id = :loan", "fixed when given"),
        ("UPDATE installments SET interest = 0 WHERE loan_id = :loan", "schedules are fixed"),
        ("UPDATE installments SET due = '2030-01-01' WHERE loan_id = :loan", "schedules"),
        ("DELETE FROM installments WHERE loan_id = :loan", "schedules are fixed"),
    ],
)
async def test_loans_and_schedules_are_fixed(
    tx: Transaction, statement: str, message: str
) -> None:
    _, _, loan_id, _, _ = await loan_and_gift(tx)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match=message):
        async with tx.savepoint():
            await run(tx, statement, {"loan": loan_id})
    assert await snapshot(tx) == before


@pytest.mark.parametrize(
    "change",
    [
        {"cash": 4_999_999},
        {"principal": -4_999_999},
        {"interest": 1},
        {"cash": 0, "principal": 0},
        {"kind": "opening"},
        {"kind": "contribution", "loan_id": None},
        {"member_id": None},
        {"loan_id": "other"},
        {"club_id": "other"},
    ],
    ids=["cash", "principal", "interest", "zero", "kind", "not-a-loan", "member", "loan", "club"],
)
async def test_a_reversal_must_exactly_negate_its_original(
    tx: Transaction, change: dict[str, Any]
) -> None:
    club_id, member, loan_id, disb, _ = await loan_and_gift(tx)
    other_club, _ = await club_with_members(tx, 1, "CLB Tân Đức")
    other_loan = await give(tx, new_loan(club_id, member, MILLION))
    values = {"loan_id": other_loan, "club_id": other_club}
    changes = {k: values[k] if v == "other" else v for k, v in change.items()}
    before = await snapshot(tx)
    original = await tx.get_entry(disb)
    with pytest.raises(REFUSED, match="reversal must negate"):
        async with tx.savepoint():
            await tx.add_entry(reversal(original, **changes), NOW)
    assert await snapshot(tx) == before
    assert (await tx.get_entry(disb)).reversed_by is None
    assert balance(await tx.get_loan(loan_id)) == (5 * MILLION, 0, 0)


@pytest.mark.parametrize(
    "change",
    [{"cash": -99_999}, {"member_id": None}, {"kind": "capital"}, {"club_id": "other"}],
    ids=["cash", "member", "kind", "club"],
)
async def test_a_reversal_of_a_contribution_must_negate_it(
    tx: Transaction, change: dict[str, Any]
) -> None:
    club_id, member, _, _, gift = await loan_and_gift(tx)
    other_club, _ = await club_with_members(tx, 1, "CLB Tân Đức")
    changes = {k: other_club if v == "other" else v for k, v in change.items()}
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="reversal must negate"):
        async with tx.savepoint():
            await tx.add_entry(reversal(await tx.get_entry(gift), **changes), NOW)
    assert await snapshot(tx) == before
    undo = await reverse(tx, gift)  # the exact negation is accepted
    assert (await tx.get_entry(gift)).reversed_by == undo
    assert await tx.contributed(member) == 0
    (summary,) = await tx.fund_summaries([club_id])
    assert (summary.cash, summary.contributions) == (5 * MILLION, 0)


async def test_a_reversal_of_a_missing_entry_or_of_a_reversal_is_refused(tx: Transaction) -> None:
    club_id, (member, *_) = await club_with_members(tx, 1)
    gift = await append(tx, contribution(club_id, member, 100_000))
    undo = await reverse(tx, gift)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="reversal must negate"):
        async with tx.savepoint():  # a reversal of a reversal
            await tx.add_entry(reversal(await tx.get_entry(undo)), NOW)
    phantom = replace(contribution(club_id, member, -100_000), reverses=undo + 1000)
    with pytest.raises(REFUSED):
        async with tx.savepoint():
            await tx.add_entry(phantom, NOW)
    assert await snapshot(tx) == before
    assert await tx.contributed(member) == 0


async def test_an_entry_can_be_reversed_only_once(tx: Transaction) -> None:
    club_id, member, _, _, gift = await loan_and_gift(tx)
    await reverse(tx, gift)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="UNIQUE"):
        async with tx.savepoint():
            await reverse(tx, gift)
    assert await snapshot(tx) == before
    assert await tx.contributed(member) == 0
    assert len(await tx.entries(club_id, member_id=member)) == 3  # disbursement, gift, undo


async def test_a_repayment_can_be_reversed_only_once(tx: Transaction) -> None:
    club_id, member, loan_id, _, _ = await loan_and_gift(tx)
    paid = await append(tx, repayment(club_id, loan_id, member, MILLION, 50_000))
    await reverse(tx, paid)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="UNIQUE"):
        async with tx.savepoint():
            await reverse(tx, paid)
    assert await snapshot(tx) == before
    assert balance(await tx.get_loan(loan_id)) == (5 * MILLION, 0, 0)


async def test_an_overpayment_fails_the_whole_transaction(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club_id, (treasurer, member, _) = await club_with_members(tx)
        await append(tx, capital(club_id, 10 * MILLION))
        loan_id = await give(tx, new_loan(club_id, member, 2 * MILLION))
        report, _ = await tx.add_payment_report(loan_id, 2_100_000, DAY, "rep-over", NOW)
        before = await snapshot(tx)
        summary = await tx.fund_summaries([club_id])
    with pytest.raises(REFUSED, match="CHECK"):
        async with storage.transaction() as tx:
            # Confirming the report: a contribution, then the repayment that is too much.
            await append(tx, contribution(club_id, member, 50_000))
            entry = await append(tx, repayment(club_id, loan_id, member, 2 * MILLION + 1, 0))
            await tx.decide_payment_report(report, "confirmed", treasurer, NOW, entry_id=entry)
    async with storage.transaction() as tx:
        assert await snapshot(tx) == before
        assert await tx.fund_summaries([club_id]) == summary
        assert balance(await tx.get_loan(loan_id)) == (2 * MILLION, 0, 0)
        assert (await tx.get_payment_report(report)).status == "pending"
        assert await tx.contributed(member) == 0


async def test_a_refused_entry_leaves_no_trace_inside_the_transaction(tx: Transaction) -> None:
    club_id, member, loan_id, _, _ = await loan_and_gift(tx)
    before = await snapshot(tx)
    for bad in (
        repayment(club_id, loan_id, member, 5 * MILLION + 1, 0),  # more than is owed
        repayment(club_id, loan_id, member, 0, -1),  # interest paid below zero
        repayment(club_id, loan_id, member, -1, 0),  # principal paid below zero
    ):
        with pytest.raises(REFUSED, match="CHECK"):
            async with tx.savepoint():
                await tx.add_entry(bad, NOW)
        assert await snapshot(tx) == before
    # An entry of a loan must name it, and only loan entries may (the borrower's own loan).
    for bad in (
        NewEntry(club_id, "repayment", DAY, key("x"), member_id=member, cash=100),
        NewEntry(club_id, "contribution", DAY, key("x"), loan_id=loan_id, cash=100),
    ):
        with pytest.raises(REFUSED, match=r"CHECK|loan entry"):
            async with tx.savepoint():
                await tx.add_entry(bad, NOW)
        assert await snapshot(tx) == before
    # An original entry moves money the way its kind says; only a reversal may undo it.
    for bad in (
        NewEntry(club_id, "repayment", DAY, key("x"), loan_id=loan_id, member_id=member,
                 principal=200_000, cash=-200_000),  # a "repayment" that lends more
        NewEntry(club_id, "repayment", DAY, key("x"), loan_id=loan_id, member_id=member,
                 principal=-100_000, interest=10_000, cash=100_000),  # cash != what was paid
        NewEntry(club_id, "contribution", DAY, key("x"), member_id=member, cash=-50_000),
        NewEntry(club_id, "capital", DAY, key("x"), cash=0),
        NewEntry(club_id, "disbursement", DAY, key("x"), loan_id=loan_id, member_id=member,
                 principal=1_000, cash=0),
    ):
        with pytest.raises(REFUSED, match="CHECK"):
            async with tx.savepoint():
                await tx.add_entry(bad, NOW)
        assert await snapshot(tx) == before


async def test_a_disbursement_cannot_be_reversed_after_repayments(tx: Transaction) -> None:
    club_id, member, loan_id, disb, _ = await loan_and_gift(tx)
    await append(tx, repayment(club_id, loan_id, member, MILLION, 50_000))
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="CHECK"):
        async with tx.savepoint():
            await tx.add_entry(reversal(await tx.get_entry(disb)), NOW)
    assert await snapshot(tx) == before
    # A repayment of exactly what is owed is fine and closes the loan.
    await append(tx, repayment(club_id, loan_id, member, 4 * MILLION, 0))
    assert balance(await tx.get_loan(loan_id)) == (0, 5 * MILLION, 50_000)


async def test_a_loan_entry_must_be_in_the_loans_club(tx: Transaction) -> None:
    club_id, member, _, _, _ = await loan_and_gift(tx)
    other_club, _ = await club_with_members(tx, 1, "CLB Tân Đức")
    loan = new_loan(club_id, member, MILLION)
    loan_id, _ = await tx.add_loan(loan, NOW)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="loan entry must be in the loan's club"):
        async with tx.savepoint():
            await tx.add_entry(disbursement(loan, loan_id, club_id=other_club), NOW)
    assert await snapshot(tx) == before


# Stateful: balances always equal plain sums over the ledger.

SUMS_SQL = (
    "SELECT club_id, SUM(cash), SUM(principal), "
    "SUM(CASE WHEN kind IN ('disbursement', 'opening') THEN principal ELSE 0 END), "
    "SUM(CASE WHEN kind = 'repayment' THEN -principal ELSE 0 END), SUM(interest), "
    "SUM(CASE WHEN kind = 'contribution' THEN cash ELSE 0 END), "
    "SUM(CASE WHEN kind = 'capital' THEN cash ELSE 0 END) FROM ledger GROUP BY club_id "
    "ORDER BY club_id"
)
LOAN_SQL = (
    "SELECT loans.id, loans.member_id, loans.club_id, COALESCE(SUM(ledger.principal), 0), "
    "COALESCE(SUM(CASE WHEN kind = 'repayment' THEN -ledger.principal ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN kind = 'repayment' THEN ledger.interest ELSE 0 END), 0) "
    "FROM loans LEFT JOIN ledger ON ledger.loan_id = loans.id GROUP BY loans.id "
    "ORDER BY loans.id"
)
ROWS_SQL = (
    "SELECT id, club_id, kind, loan_id, member_id, principal, interest, cash, reverses "
    "FROM ledger ORDER BY id"
)


class LedgerMachine(RuleBasedStateMachine):
    """Random fund operations on a fresh database (SQLite in memory), checked after each step.

    The machine keeps what it wrote (``rows``) and what each loan owes by its own count
    (``owed``), to choose operations that make sense; the checks compare the backend's balances
    with plain SQL sums over the ledger table.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.storage = self.make_storage()
        self.clubs: list[tuple[int, list[int]]] = []
        self.rows: dict[int, tuple[Any, ...]] = {}  # the ledger as the test wrote it
        self.owed: dict[int, int] = {}  # loan id -> principal owed, by the test's count
        self.day = date(2026, 12, 1)
        self.keys = itertools.count(1)

    def make_storage(self) -> Storage:
        """A fresh, empty database for one example."""
        return SQLiteStorage(":memory:")

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        try:
            self.run(self.storage.close())
        finally:
            self.loop.close()

    def key(self, prefix: str) -> str:
        return f"{prefix}-{next(self.keys)}"

    @initialize(seed=st.lists(st.integers(0, 100 * MILLION), min_size=2, max_size=2))
    def open(self, seed: list[int]) -> None:
        async def setup() -> None:
            await self.storage.open()
            async with self.storage.transaction() as tx:
                for name, count in (("CLB Xuân Phương", 3), ("CLB Tân Đức", 2)):
                    self.clubs.append(await club_with_members(tx, count, name))
                await add(tx, self.clubs[0][0], status="pending")

        self.run(setup())
        for (club_id, _), amount in zip(self.clubs, seed, strict=True):
            if amount:
                self.write(NewEntry(club_id, "capital", self.day, self.key("von"), cash=amount))

    # Reads

    def query(self, *sql: str) -> list[list[tuple[Any, ...]]]:
        """Run plain SQL over the ledger tables, in one transaction."""

        async def go() -> list[list[tuple[Any, ...]]]:
            async with self.storage.transaction() as tx:
                return [[tuple(row) for row in await tx._all(one)] for one in sql]

        return self.run(go())

    def cash(self, club_id: int) -> int:
        [sums] = self.query(SUMS_SQL)
        return {row[0]: row[1] for row in sums}.get(club_id, 0)

    def open_loans(self) -> list[int]:
        return [loan_id for loan_id, owed in self.owed.items() if owed > 0]

    def originals(self) -> list[int]:
        reversed_ids = {row[-1] for row in self.rows.values() if row[-1] is not None}
        return [i for i, row in self.rows.items() if row[-1] is None and i not in reversed_ids]

    def reversals(self) -> list[tuple[Any, ...]]:
        return [row for row in self.rows.values() if row[-1] is not None]

    # Writes

    def write(self, entry: NewEntry, loan: NewLoan | None = None) -> int:
        """Append an entry (recording ``loan`` first, as its loan) in one transaction."""

        async def go() -> int:
            async with self.storage.transaction() as tx:
                nonlocal entry
                if loan is not None:
                    loan_id, created = await tx.add_loan(loan, NOW)
                    assert created
                    entry = replace(entry, loan_id=loan_id)
                entry_id, created = await tx.add_entry(entry, NOW)
                assert created
                return entry_id

        entry_id = self.run(go())
        self.rows[entry_id] = (
            entry_id, entry.club_id, entry.kind, entry.loan_id, entry.member_id,
            entry.principal, entry.interest, entry.cash, entry.reverses,
        )
        if entry.loan_id is not None:
            self.owed[entry.loan_id] = self.owed.get(entry.loan_id, 0) + entry.principal
        return entry_id

    def refused(self, entry: NewEntry) -> None:
        """Try an entry the database must refuse; nothing may change."""
        before = self.query(ROWS_SQL, SUMS_SQL, LOAN_SQL)

        async def go() -> None:
            async with self.storage.transaction() as tx:
                await tx.add_entry(entry, NOW)
            raise AssertionError(f"the database accepted {entry}")

        with pytest.raises(REFUSED):
            self.run(go())
        assert self.query(ROWS_SQL, SUMS_SQL, LOAN_SQL) == before

    def loan_of(self, loan_id: int) -> tuple[int, int]:
        """``(club, member)`` of a loan, from its first entry."""
        row = next(row for row in self.rows.values() if row[3] == loan_id)
        return row[1], row[4]

    @rule(club=st.integers(0, 1), member=st.integers(0, 2), amount=st.integers(1, 5_000))
    def contribute(self, club: int, member: int, amount: int) -> None:
        club_id, members = self.clubs[club]
        member_id = members[member % len(members)]
        self.write(NewEntry(club_id, "contribution", self.day, self.key("gop"),
                            member_id=member_id, cash=amount * 1000))

    @rule(club=st.integers(0, 1), amount=st.integers(1, 50_000))
    def add_capital(self, club: int, amount: int) -> None:
        club_id, _ = self.clubs[club]
        self.write(NewEntry(club_id, "capital", self.day, self.key("von"), cash=amount * 1000))

    @rule(
        data=st.data(),
        club=st.integers(0, 1),
        member=st.integers(0, 2),
        carried_over=st.booleans(),
        kind=st.sampled_from(("equal_principal", "interest_only", "lump_sum")),
        term=st.integers(1, 24),
        rate_bp=st.integers(0, 300),
        due_day=st.integers(1, 31),
    )
    def give_loan(
        self, data: st.DataObject, club: int, member: int, carried_over: bool, kind: str,
        term: int, rate_bp: int, due_day: int,
    ) -> None:
        club_id, members = self.clubs[club]
        member_id = members[member % len(members)]
        available = self.cash(club_id)
        if carried_over:
            principal = data.draw(st.integers(1, 20 * MILLION), label="carried over")
        elif available <= 0:
            event("no cash to lend")
            return
        else:
            principal = data.draw(st.integers(1, available), label="principal")
        loan = new_loan(
            club_id, member_id, principal, rate_bp=rate_bp, term=term, kind=kind,
            start=self.day, due_day=due_day, carried_over=carried_over,
            loan_key=self.key("loan"),
        )
        self.write(disbursement(loan, 0, key=self.key("disb"), day=self.day), loan=loan)

    @precondition(lambda self: bool(self.open_loans()))
    @rule(data=st.data(), interest=st.integers(0, 500_000))
    def repay(self, data: st.DataObject, interest: int) -> None:
        loan_id = data.draw(st.sampled_from(self.open_loans()), label="loan")
        club_id, member_id = self.loan_of(loan_id)
        outstanding = self.owed[loan_id]
        principal = data.draw(
            st.one_of(st.just(outstanding), st.integers(0, outstanding)), label="principal"
        )
        if principal + interest == 0:
            interest = 1_000
        event("loan repaid in full" if principal == outstanding else "repayment")
        self.write(repayment(club_id, loan_id, member_id, principal, interest,
                             key=self.key("pay"), day=self.day))

    @precondition(lambda self: bool(self.open_loans()))
    @rule(data=st.data(), extra=st.integers(1, MILLION))
    def overpay(self, data: st.DataObject, extra: int) -> None:
        loan_id = data.draw(st.sampled_from(self.open_loans()), label="loan")
        club_id, member_id = self.loan_of(loan_id)
        self.refused(repayment(club_id, loan_id, member_id, self.owed[loan_id] + extra, 0,
                               key=self.key("over"), day=self.day))

    @precondition(lambda self: bool(self.originals()))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(self.originals()), label="entry")
        _, club_id, kind, loan_id, member_id, principal, interest, cash, _ = self.rows[entry_id]
        entry = NewEntry(
            club_id, kind, self.day, self.key("rev"), loan_id=loan_id, member_id=member_id,
            principal=-principal, interest=-interest, cash=-cash, reverses=entry_id,
        )
        if loan_id is not None and self.owed[loan_id] - principal < 0:
            # Undoing a disbursement after repayments would leave the loan owing less than 0.
            event("reversal refused")
            self.refused(entry)
        else:
            event(f"{kind} reversed")
            self.write(entry)

    @precondition(lambda self: bool(self.reversals()))
    @rule(data=st.data())
    def reverse_again(self, data: st.DataObject) -> None:
        """A second reversal (or a reversal of a reversal) is always refused."""
        _, club_id, kind, loan_id, member_id, principal, interest, cash, target = data.draw(
            st.sampled_from(self.reversals()), label="reversal"
        )
        twice = NewEntry(  # the same reversal once more
            club_id, kind, self.day, self.key("rev2"), loan_id=loan_id, member_id=member_id,
            principal=principal, interest=interest, cash=cash, reverses=target,
        )
        self.refused(twice)

    @precondition(lambda self: bool(self.rows))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Sending an entry again under its key returns it and changes nothing."""
        entry_id = data.draw(st.sampled_from(sorted(self.rows)), label="entry")
        before = self.query(ROWS_SQL)

        async def go() -> tuple[int, bool]:
            async with self.storage.transaction() as tx:
                stored = await tx.get_entry(entry_id)
                entry = NewEntry(stored.club_id, "capital", self.day, stored.key, cash=1)
                return await tx.add_entry(entry, NOW)

        assert self.run(go()) == (entry_id, False)
        assert self.query(ROWS_SQL) == before

    @rule(days=st.integers(1, 120))
    def advance(self, days: int) -> None:
        self.day += timedelta(days=days)

    # Checks

    @invariant()
    def balances_equal_the_ledger(self) -> None:
        if not self.clubs:
            return
        members_of = [m for _, members in self.clubs for m in members]

        async def read() -> dict[str, Any]:
            async with self.storage.transaction() as tx:
                rows, sums, loans = [
                    [tuple(row) for row in await tx._all(sql)]
                    for sql in (ROWS_SQL, SUMS_SQL, LOAN_SQL)
                ]
                open_loans = [row for row in loans if row[3] > 0]
                return {
                    "rows": rows,
                    "sums": {row[0]: row[1:] for row in sums},
                    "loans": loans,
                    "open_loans": open_loans,
                    "summaries": await tx.fund_summaries(),
                    "got": [await tx.get_loan(row[0]) for row in loans],
                    "late": await tx.arrears(None, self.day),
                    "positions": {
                        row[0]: await position_of(tx, row[0], self.day) for row in open_loans
                    },
                    "contributed": {m: await tx.contributed(m) for m in members_of},
                    "open_of": {
                        m: [loan.id for loan in await tx.loans_of(m, open_only=True)]
                        for m in members_of
                    },
                }

        found = self.run(read())
        loans, open_loans, positions = found["loans"], found["open_loans"], found["positions"]
        sums, summaries, got = found["sums"], found["summaries"], found["got"]
        assert found["rows"] == [self.rows[i] for i in sorted(self.rows)]

        for row, loan in zip(loans, got, strict=True):
            loan_id, _, _, outstanding, principal_paid, interest_paid = row
            assert balance(loan) == (outstanding, principal_paid, interest_paid), loan_id
            assert outstanding == self.owed.get(loan_id, 0)
            assert min(outstanding, principal_paid, interest_paid) >= 0
            assert outstanding + principal_paid in (0, loan.principal)  # given, or undone

        assert [s.club_id for s in summaries] == [club_id for club_id, _ in self.clubs]
        for summary, (club_id, members) in zip(summaries, self.clubs, strict=True):
            cash, lent_out, disbursed, repaid, interest, contributions, capital_ = sums.get(
                club_id, (0,) * 7
            )
            mine = [row for row in open_loans if row[2] == club_id]
            assert summary == FundSummary(
                club_id=club_id, cash=cash, lent_out=lent_out, disbursed=disbursed,
                repaid=repaid, interest=interest, contributions=contributions,
                capital=capital_, borrowers=len({row[1] for row in mine}),
                open_loans=len(mine), members=len(members),
            )
            assert min(lent_out, disbursed, repaid, interest, contributions, capital_) >= 0
            assert lent_out == disbursed - repaid

        for _, members in self.clubs:
            for member_id in members:
                assert found["contributed"][member_id] == sum(
                    row[7] for row in self.rows.values()
                    if row[2] == "contribution" and row[4] == member_id
                )
                assert found["open_of"][member_id] == sorted(
                    (row[0] for row in open_loans if row[1] == member_id), reverse=True
                )

        expected = [
            Arrears(row[2], row[0], row[1], positions[row[0]].overdue_since,
                    positions[row[0]].arrears)
            for row in open_loans if positions[row[0]].arrears > 0
        ]
        assert found["late"] == sorted(expected, key=lambda a: (a.since, a.loan_id))


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestLedgerMachine = LedgerMachine.TestCase


class PostgresLedgerMachine(LedgerMachine):
    """The same machine on PostgreSQL, whose balances are kept by triggers of its own.

    Each example gets a database of its own (a copy of the migrated template), dropped after.
    """

    def make_storage(self) -> Storage:
        return storage_contract.FreshPostgres(Path(f"ledger-machine-{uuid.uuid4()}"))

    def teardown(self) -> None:
        async def drop() -> None:
            admin = await asyncpg.connect(storage_contract.pg_cluster().dsn("postgres"))
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {self.storage.name}")
            finally:
                await admin.close()

        try:
            self.run(self.storage.close())
            self.run(drop())
        finally:
            self.loop.close()


PostgresLedgerMachine.TestCase.settings = settings(
    max_examples=25,  # a fresh database per example: fewer than on SQLite, same rules
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestPostgresLedgerMachine = PostgresLedgerMachine.TestCase
