"""The revolving fund's records and the part of the storage interface that keeps them.

The ledger is append-only: disbursements, repayments and contributions are entries that are
never changed; a mistake is undone by a reversal entry. Balances (:class:`LoanBalance`,
:class:`FundSummary`) are derived from the entries. :class:`FundStore` is mixed into
:class:`storage.base.Transaction`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

LOAN_KINDS = ("disbursement", "opening", "repayment")
ENTRY_KINDS = (*LOAN_KINDS, "contribution", "capital")


@dataclass(frozen=True)
class LoanRules:
    """A club's loan rules (quy chế). ``due_day`` None means the club's meeting day."""

    rate_bp: int = 0
    term_months: int = 12
    schedule: str = "equal_principal"
    due_day: int | None = None
    max_amount: int = 50_000_000
    poor_first: bool = True
    changed_by: int | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True)
class ScheduleRow:
    """One stored instalment of a loan."""

    number: int
    due: date
    principal: int
    interest: int


@dataclass(frozen=True)
class NewLoan:
    """A loan to record, with its schedule; ``key`` makes recording it idempotent."""

    club_id: int
    member_id: int
    principal: int
    purpose: str
    rate_bp: int
    term_months: int
    schedule: str
    start_date: date
    first_due: date
    due_day: int
    carried_over: bool
    request_id: int | None
    created_by: int | None
    key: str
    installments: tuple[ScheduleRow, ...]


@dataclass(frozen=True)
class Loan:
    """A loan as given, with its balance derived from the ledger."""

    id: int
    club_id: int
    member_id: int
    principal: int
    purpose: str
    rate_bp: int
    term_months: int
    schedule: str
    start_date: date
    first_due: date
    due_day: int
    carried_over: bool
    created_at: datetime
    outstanding: int
    principal_paid: int
    interest_paid: int


@dataclass(frozen=True)
class Entry:
    """A ledger entry. A reversal has ``reverses`` set and the negated amounts."""

    id: int
    club_id: int
    kind: str
    loan_id: int | None
    member_id: int | None
    principal: int
    interest: int
    cash: int
    day: date
    note: str
    reverses: int | None
    recorded_by: int | None
    confirmed_by: int | None
    key: str
    created_at: datetime
    reversed_by: int | None = None


@dataclass(frozen=True)
class NewEntry:
    """A ledger entry to append; ``key`` makes appending it idempotent."""

    club_id: int
    kind: str
    day: date
    key: str
    loan_id: int | None = None
    member_id: int | None = None
    principal: int = 0
    interest: int = 0
    cash: int = 0
    note: str = ""
    reverses: int | None = None
    recorded_by: int | None = None
    confirmed_by: int | None = None
    source: str = ""


@dataclass(frozen=True)
class PaymentReport:
    """A payment a member reported, until the treasurer confirms or rejects it."""

    id: int
    club_id: int
    loan_id: int
    member_id: int
    amount: int
    day: date
    status: str
    reported_at: datetime
    decided_by: int | None
    reason: str | None
    entry_id: int | None


@dataclass(frozen=True)
class LoanRequest:
    """A member's request for a loan, in the board's queue."""

    id: int
    club_id: int
    member_id: int
    amount: int
    purpose: str
    status: str
    requested_at: datetime
    decided_by: int | None
    reason: str | None
    loan_id: int | None


@dataclass(frozen=True)
class FundSummary:
    """A club's fund at a glance, all derived from the ledger.

    Attributes:
        cash: Money the fund holds.
        lent_out: Principal owed by borrowers.
        disbursed: Principal ever lent (loans carried over count at their balance then).
        repaid: Principal repaid.
        interest: Interest received.
        contributions: Members' contributions (góp quỹ, hội phí).
        capital: Other money put into the fund (seed capital, donations, cash carried over).
        borrowers: Members who owe something now.
        open_loans: Loans not yet repaid.
        members: Active members.
    """

    club_id: int
    cash: int
    lent_out: int
    disbursed: int
    repaid: int
    interest: int
    contributions: int
    capital: int
    borrowers: int
    open_loans: int
    members: int


@dataclass(frozen=True)
class Arrears:
    """A loan in arrears on a day: since when and how much is due."""

    club_id: int
    loan_id: int
    member_id: int
    since: date
    amount: int


class FundReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def loan_rules(self, club_id: int) -> LoanRules:
        """The club's rules in force (the defaults until the club sets its own)."""

    async def rules_history(self, club_id: int) -> list[LoanRules]:
        """Every version of the club's rules, oldest first."""

    async def get_loan(self, loan_id: int) -> Loan | None:
        """A loan with its balance."""

    async def loans_of(self, member_id: int, open_only: bool = False) -> list[Loan]:
        """A member's loans, newest first."""

    async def schedule_of(self, loan_id: int) -> list[ScheduleRow]:
        """A loan's instalments in order."""

    async def get_entry(self, entry_id: int) -> Entry | None:
        """One ledger entry (with the id of its reversal, if reversed)."""

    async def entries(
        self,
        club_id: int,
        *,
        loan_id: int | None = None,
        member_id: int | None = None,
        limit: int = 1000,
    ) -> list[Entry]:
        """Ledger entries of a club (optionally of one loan or member), newest first."""

    async def contributed(self, member_id: int) -> int:
        """What a member has contributed to the fund (reversals deducted)."""

    async def fund_summaries(self, club_ids: Sequence[int] | None = None) -> list[FundSummary]:
        """The fund of each club (all clubs when ``club_ids`` is None), by club id."""

    async def arrears(self, club_ids: Sequence[int] | None, today: date) -> list[Arrears]:
        """Loans with an instalment due before ``today`` left unpaid, oldest first."""

    async def get_payment_report(self, report_id: int) -> PaymentReport | None:
        """One payment report."""

    async def payment_reports(
        self, club_id: int, statuses: Iterable[str] = ("pending",), member_id: int | None = None
    ) -> list[PaymentReport]:
        """A club's payment reports with one of ``statuses`` (optionally one member's)."""

    async def get_loan_request(self, request_id: int) -> LoanRequest | None:
        """One loan request."""

    async def loan_requests(
        self, club_id: int, statuses: Iterable[str] = ("pending",), member_id: int | None = None
    ) -> list[LoanRequest]:
        """A club's loan requests with one of ``statuses``, oldest first."""


class FundStore(FundReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def set_loan_rules(
        self, club_id: int, rules: LoanRules, changed_by: int | None, now: datetime
    ) -> None:
        """Put new rules in force, keeping the earlier ones as history."""

    async def add_loan(self, loan: NewLoan, now: datetime) -> tuple[int, bool]:
        """Record a loan and its schedule; ``(id, created)``. Same key: the existing id."""

    async def add_entry(self, entry: NewEntry, now: datetime) -> tuple[int, bool]:
        """Append a ledger entry; ``(id, created)``. Same key: the existing entry's id."""

    async def add_payment_report(
        self, loan_id: int, amount: int, day: date, key: str, now: datetime
    ) -> tuple[int, bool]:
        """Record a member's report of a payment; ``(id, created)``."""

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

    async def add_loan_request(
        self, member_id: int, amount: int, purpose: str, key: str, now: datetime
    ) -> tuple[int, bool]:
        """Queue a member's request for a loan; ``(id, created)``."""

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
