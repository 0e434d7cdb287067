"""SQLite implementation of the fund's storage (:class:`storage.ledger.FundStore`).

The ledger table refuses UPDATE and DELETE (triggers in ``0004_fund.sql``); balances are kept
by triggers on insert, in the same transaction, so they always equal the sum of the entries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

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
from storage.sqlite_queries import SQLiteQueries, _dt, _in, _ts


class SQLiteLedger(SQLiteQueries):
    """The fund's queries; mixed into ``SQLiteTransaction``."""

    # Rules

    @staticmethod
    def _rules(row: sqlite3.Row) -> LoanRules:
        return LoanRules(
            rate_bp=row["rate_bp"],
            term_months=row["term_months"],
            schedule=row["schedule"],
            due_day=row["due_day"],
            max_amount=row["max_amount"],
            poor_first=bool(row["poor_first"]),
            changed_by=row["changed_by"],
            changed_at=_dt(row["changed_at"]),
        )

    async def loan_rules(self, club_id: int) -> LoanRules:
        """The club's rules in force (the defaults until the club sets its own)."""
        row = await self._one(
            "SELECT * FROM loan_rules WHERE club_id = ? ORDER BY id DESC LIMIT 1", (club_id,)
        )
        return self._rules(row) if row else LoanRules()

    async def set_loan_rules(
        self, club_id: int, rules: LoanRules, changed_by: int | None, now: datetime
    ) -> None:
        """Put new rules in force, keeping the earlier ones as history."""
        await self._run(
            "INSERT INTO loan_rules (club_id, rate_bp, term_months, schedule, due_day, "
            "max_amount, poor_first, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (club_id, rules.rate_bp, rules.term_months, rules.schedule, rules.due_day,
             rules.max_amount, int(rules.poor_first), changed_by, _ts(now)),
        )

    async def rules_history(self, club_id: int) -> list[LoanRules]:
        """Every version of the club's rules, oldest first."""
        rows = await self._all(
            "SELECT * FROM loan_rules WHERE club_id = ? ORDER BY id", (club_id,)
        )
        return [self._rules(row) for row in rows]

    # Loans

    async def add_loan(self, loan: NewLoan, now: datetime) -> tuple[int, bool]:
        """Record a loan and its schedule; ``(id, created)``. Same key: the existing id."""
        row = await self._one(
            "INSERT INTO loans (club_id, member_id, principal, purpose, rate_bp, term_months, "
            "schedule, start_date, first_due, due_day, carried_over, request_id, created_by, "
            "created_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            (loan.club_id, loan.member_id, loan.principal, loan.purpose, loan.rate_bp,
             loan.term_months, loan.schedule, loan.start_date.isoformat(),
             loan.first_due.isoformat(), loan.due_day, int(loan.carried_over), loan.request_id,
             loan.created_by, _ts(now), loan.key),
        )
        if row is None:  # given already (the same key): its schedule is there too
            found = await self._one("SELECT id FROM loans WHERE idempotency_key = ?",
                                    (loan.key,))
            assert found is not None
            return found["id"], False
        loan_id = row["id"]
        assert loan_id is not None
        cumulative, rows = 0, []
        for item in loan.installments:
            cumulative += item.principal + item.interest
            rows.append((loan_id, item.number, item.due.isoformat(), item.principal,
                         item.interest, cumulative))
        await self._many(
            "INSERT INTO installments (loan_id, number, due, principal, interest, cum_total) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        return loan_id, True

    _LOAN_SQL = (
        "SELECT l.*, COALESCE(b.outstanding, 0) AS outstanding, "
        "COALESCE(b.principal_paid, 0) AS principal_paid, "
        "COALESCE(b.interest_paid, 0) AS interest_paid "
        "FROM loans l LEFT JOIN loan_balances b ON b.loan_id = l.id "
    )

    @staticmethod
    def _loan(row: sqlite3.Row) -> Loan:
        return Loan(
            id=row["id"],
            club_id=row["club_id"],
            member_id=row["member_id"],
            principal=row["principal"],
            purpose=row["purpose"],
            rate_bp=row["rate_bp"],
            term_months=row["term_months"],
            schedule=row["schedule"],
            start_date=date.fromisoformat(row["start_date"]),
            first_due=date.fromisoformat(row["first_due"]),
            due_day=row["due_day"],
            carried_over=bool(row["carried_over"]),
            created_at=_dt(row["created_at"]),
            outstanding=row["outstanding"],
            principal_paid=row["principal_paid"],
            interest_paid=row["interest_paid"],
        )

    async def get_loan(self, loan_id: int) -> Loan | None:
        """A loan with its balance."""
        row = await self._one(self._LOAN_SQL + "WHERE l.id = ?", (loan_id,))
        return self._loan(row) if row else None

    async def loans_of(self, member_id: int, open_only: bool = False) -> list[Loan]:
        """A member's loans, newest first."""
        where = " AND b.outstanding > 0" if open_only else ""
        rows = await self._all(
            self._LOAN_SQL + f"WHERE l.member_id = ?{where} ORDER BY l.id DESC", (member_id,)
        )
        return [self._loan(row) for row in rows]

    async def schedule_of(self, loan_id: int) -> list[ScheduleRow]:
        """A loan's instalments in order."""
        rows = await self._all(
            "SELECT * FROM installments WHERE loan_id = ? ORDER BY number", (loan_id,)
        )
        return [
            ScheduleRow(r["number"], date.fromisoformat(r["due"]), r["principal"], r["interest"])
            for r in rows
        ]

    # The ledger

    async def add_entry(self, entry: NewEntry, now: datetime) -> tuple[int, bool]:
        """Append a ledger entry; ``(id, created)``. Same key: the existing entry's id."""
        return await self._add_once(
            "ledger", entry.key,
            "INSERT INTO ledger (club_id, kind, loan_id, member_id, principal, interest, cash, "
            "day, note, reverses, recorded_by, confirmed_by, source, idempotency_key, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.club_id, entry.kind, entry.loan_id, entry.member_id, entry.principal,
             entry.interest, entry.cash, entry.day.isoformat(), entry.note, entry.reverses,
             entry.recorded_by, entry.confirmed_by, entry.source, entry.key, _ts(now)),
        )

    _ENTRY_SQL = (
        "SELECT e.*, r.id AS reversed_by FROM ledger e LEFT JOIN ledger r ON r.reverses = e.id "
    )

    @staticmethod
    def _entry(row: sqlite3.Row) -> Entry:
        return Entry(
            id=row["id"],
            club_id=row["club_id"],
            kind=row["kind"],
            loan_id=row["loan_id"],
            member_id=row["member_id"],
            principal=row["principal"],
            interest=row["interest"],
            cash=row["cash"],
            day=date.fromisoformat(row["day"]),
            note=row["note"],
            reverses=row["reverses"],
            recorded_by=row["recorded_by"],
            confirmed_by=row["confirmed_by"],
            key=row["idempotency_key"],
            created_at=_dt(row["created_at"]),
            reversed_by=row["reversed_by"],
        )

    async def get_entry(self, entry_id: int) -> Entry | None:
        """One ledger entry (with the id of its reversal, if reversed)."""
        row = await self._one(self._ENTRY_SQL + "WHERE e.id = ?", (entry_id,))
        return self._entry(row) if row else None

    async def entries(
        self,
        club_id: int,
        *,
        loan_id: int | None = None,
        member_id: int | None = None,
        limit: int = 1000,
    ) -> list[Entry]:
        """Ledger entries of a club (optionally of one loan or member), newest first."""
        sql, args = self._ENTRY_SQL + "WHERE e.club_id = ?", [club_id]
        if loan_id is not None:
            sql, args = sql + " AND e.loan_id = ?", [*args, loan_id]
        if member_id is not None:
            sql, args = sql + " AND e.member_id = ?", [*args, member_id]
        rows = await self._all(sql + " ORDER BY e.id DESC LIMIT ?", (*args, limit))
        return [self._entry(row) for row in rows]

    async def contributed(self, member_id: int) -> int:
        """What a member has contributed to the fund (reversals deducted)."""
        row = await self._one(
            "SELECT COALESCE(SUM(cash), 0) AS total FROM ledger "
            "WHERE member_id = ? AND kind = 'contribution'",
            (member_id,),
        )
        assert row is not None
        return row["total"]

    # Views across a club or many clubs

    async def fund_summaries(self, club_ids: Sequence[int] | None = None) -> list[FundSummary]:
        """The fund of each club (all clubs when ``club_ids`` is None), by club id."""
        if club_ids is not None and not club_ids:
            return []
        ids = list(club_ids or [])
        only = f"club_id IN ({_in(ids)})" if ids else "1 = 1"  # filtered inside each part
        rows = await self._all(
            "WITH open AS (SELECT club_id, COUNT(*) AS loans, COUNT(DISTINCT member_id) AS "
            f"borrowers FROM loan_balances WHERE outstanding > 0 AND {only} GROUP BY club_id), "
            "active AS (SELECT club_id, COUNT(*) AS members FROM members "
            f"WHERE status = 'active' AND {only} GROUP BY club_id) "
            "SELECT c.id AS club_id, COALESCE(f.cash, 0) AS cash, "
            "COALESCE(f.lent_out, 0) AS lent_out, COALESCE(f.disbursed, 0) AS disbursed, "
            "COALESCE(f.repaid, 0) AS repaid, COALESCE(f.interest, 0) AS interest, "
            "COALESCE(f.contributions, 0) AS contributions, COALESCE(f.capital, 0) AS capital, "
            "COALESCE(o.borrowers, 0) AS borrowers, COALESCE(o.loans, 0) AS open_loans, "
            "COALESCE(a.members, 0) AS members FROM clubs c "
            "LEFT JOIN fund_balances f ON f.club_id = c.id "
            "LEFT JOIN open o ON o.club_id = c.id LEFT JOIN active a ON a.club_id = c.id "
            f"WHERE {only.replace('club_id', 'c.id')} ORDER BY c.id",
            [*ids, *ids, *ids],
        )
        return [FundSummary(**dict(row)) for row in rows]

    async def arrears(self, club_ids: Sequence[int] | None, today: date) -> list[Arrears]:
        """Loans with an instalment due before ``today`` left unpaid, oldest first."""
        if club_ids is not None and not club_ids:
            return []
        where, args = ("", []) if club_ids is None else (
            f"AND b.club_id IN ({_in(club_ids)})", list(club_ids))
        rows = await self._all(
            "SELECT b.club_id, b.loan_id, b.member_id, MIN(i.due) AS since, "
            "MAX(i.cum_total) - b.principal_paid - b.interest_paid AS amount "
            "FROM loan_balances b "
            "JOIN installments i ON i.loan_id = b.loan_id AND i.due < ? "
            "AND i.cum_total > b.principal_paid + b.interest_paid "
            f"WHERE b.outstanding > 0 {where} GROUP BY b.loan_id ORDER BY since, b.loan_id",
            (today.isoformat(), *args),
        )
        return [
            Arrears(r["club_id"], r["loan_id"], r["member_id"], date.fromisoformat(r["since"]),
                    r["amount"])
            for r in rows
        ]

    # Payment reports and loan requests: rows waiting for a keeper's decision

    async def _waiting(
        self, table: str, club_id: int, statuses: Iterable[str], member_id: int | None
    ) -> list[sqlite3.Row]:
        wanted = list(statuses)
        sql = f"SELECT * FROM {table} WHERE club_id = ? AND status IN ({_in(wanted)})"
        args: list[Any] = [club_id, *wanted]
        if member_id is not None:
            sql, args = sql + " AND member_id = ?", [*args, member_id]
        return await self._all(sql + " ORDER BY id", args)

    async def _decide(
        self, table: str, row_id: int, status: str, decided_by: int, now: datetime,
        reason: str | None, link: tuple[str, int | None],
    ) -> bool:
        cursor = await self._run(
            f"UPDATE {table} SET status = ?, decided_by = ?, decided_at = ?, reason = ?, "
            f"{link[0]} = ? WHERE id = ? AND status = 'pending'",
            (status, decided_by, _ts(now), reason, link[1], row_id),
        )
        return cursor.rowcount == 1

    async def _add_once(self, table: str, key: str, sql: str, args: tuple) -> tuple[int, bool]:
        """Insert a row once per idempotency key: ``(id, created)``.

        One statement, so two processes inserting the same key at once cannot both succeed:
        the second finds the first's row.
        """
        inserted = await self._one(
            f"{sql} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id", args)
        if inserted is not None:
            return inserted["id"], True
        row = await self._one(f"SELECT id FROM {table} WHERE idempotency_key = ?", (key,))
        assert row is not None
        return row["id"], False

    @staticmethod
    def _report(row: sqlite3.Row) -> PaymentReport:
        return PaymentReport(
            id=row["id"],
            club_id=row["club_id"],
            loan_id=row["loan_id"],
            member_id=row["member_id"],
            amount=row["amount"],
            day=date.fromisoformat(row["day"]),
            status=row["status"],
            reported_at=_dt(row["reported_at"]),
            decided_by=row["decided_by"],
            reason=row["reason"],
            entry_id=row["entry_id"],
        )

    async def add_payment_report(
        self, loan_id: int, amount: int, day: date, key: str, now: datetime
    ) -> tuple[int, bool]:
        """Record a member's report of a payment; ``(id, created)``."""
        return await self._add_once(
            "payment_reports", key,
            "INSERT INTO payment_reports (club_id, loan_id, member_id, amount, day, "
            "reported_at, idempotency_key) SELECT club_id, id, member_id, ?, ?, ?, ? "
            "FROM loans WHERE id = ?",
            (amount, day.isoformat(), _ts(now), key, loan_id),
        )

    async def get_payment_report(self, report_id: int) -> PaymentReport | None:
        """One payment report."""
        row = await self._one("SELECT * FROM payment_reports WHERE id = ?", (report_id,))
        return self._report(row) if row else None

    async def payment_reports(
        self, club_id: int, statuses: Iterable[str] = ("pending",), member_id: int | None = None
    ) -> list[PaymentReport]:
        """A club's payment reports with one of ``statuses`` (optionally one member's)."""
        rows = await self._waiting("payment_reports", club_id, statuses, member_id)
        return [self._report(row) for row in rows]

    async def decide_payment_report(
        self,
        report_id: int,
        status: str,
        decided_by: int,
        now: datetime,
        reason: str | None = None,
        entry_id: int | None = None,
    ) -> bool:
        """Confirm or reject a pending report; ``False`` if it was no longer pending."""
        return await self._decide("payment_reports", report_id, status, decided_by, now, reason,
                                  ("entry_id", entry_id))

    @staticmethod
    def _request(row: sqlite3.Row) -> LoanRequest:
        return LoanRequest(
            id=row["id"],
            club_id=row["club_id"],
            member_id=row["member_id"],
            amount=row["amount"],
            purpose=row["purpose"],
            status=row["status"],
            requested_at=_dt(row["requested_at"]),
            decided_by=row["decided_by"],
            reason=row["reason"],
            loan_id=row["loan_id"],
        )

    async def add_loan_request(
        self, member_id: int, amount: int, purpose: str, key: str, now: datetime
    ) -> tuple[int, bool]:
        """Queue a member's request for a loan; ``(id, created)``."""
        return await self._add_once(
            "loan_requests", key,
            "INSERT INTO loan_requests (club_id, member_id, amount, purpose, requested_at, "
            "idempotency_key) SELECT club_id, id, ?, ?, ?, ? FROM members WHERE id = ?",
            (amount, purpose, _ts(now), key, member_id),
        )

    async def get_loan_request(self, request_id: int) -> LoanRequest | None:
        """One loan request."""
        row = await self._one("SELECT * FROM loan_requests WHERE id = ?", (request_id,))
        return self._request(row) if row else None

    async def loan_requests(
        self, club_id: int, statuses: Iterable[str] = ("pending",), member_id: int | None = None
    ) -> list[LoanRequest]:
        """A club's loan requests with one of ``statuses``, oldest first."""
        rows = await self._waiting("loan_requests", club_id, statuses, member_id)
        return [self._request(row) for row in rows]

    async def decide_loan_request(
        self,
        request_id: int,
        status: str,
        decided_by: int,
        now: datetime,
        reason: str | None = None,
        loan_id: int | None = None,
    ) -> bool:
        """Approve or decline a pending request; ``False`` if it was no longer pending."""
        return await self._decide("loan_requests", request_id, status, decided_by, now, reason,
                                  ("loan_id", loan_id))
