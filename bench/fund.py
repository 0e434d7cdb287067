"""Revolving-fund benchmark: the board's overdue list and fund summary, one club and many.

One realistic club is built through the storage API in a temporary SQLite file: 70 active
members (some poor or near-poor households), loan rules of 1 % a month over 12 months with
equal principal, seed capital, and five years of history up to 28/11/2026 — about 25 loans a
year of 5-20 million đồng (schedules from :func:`bot.fund.schedule`), a disbursement entry
each, every instalment repaid on its due date, a quarterly contribution of 50,000 đồng per
member, and about 10 % of the loans open today whose borrowers stopped paying 1-4 months ago.
A fixed random seed makes the club the same every time.

That club is then copied to ``--clubs`` clubs (default 1,000: 70,000 members, 125,000 loans,
1.5 million instalments, 2.7 million ledger rows) with ``INSERT ... SELECT`` and id offsets,
in one transaction; the ledger triggers keep the balance tables, as they do in production.

Checked before timing: the club's overdue list is not empty and every amount is positive;
its cash equals the ledger's sum; the balance tables equal the ledger's sums for every club;
clubs 1 and N have the same summary; there are N times as many overdue loans in all.

Timed (median and max of ``--runs`` repetitions after one warm-up, in ms):

- one club: ``arrears([club])`` + ``fund_summaries([club])`` in one transaction, and the
  chair's ``/quahan`` and ``/quy`` through the real service (engine, storage, replies queued
  in the outbox, commit with ``synchronous=FULL``): on the club's own database, then on the
  many-club database (the size of the shared database; the targets apply there);
- every club: ``arrears(None)`` + ``fund_summaries(None)`` in one transaction.

Targets (from the issue): under 50 ms for one club, under 1 s for 1,000 clubs. The figures
are medians on a shared, noisy machine with the database in the page cache; compare runs on
the same machine, not absolute numbers across machines.

Usage: ``python -m bench.fund [--runs N] [--clubs N] [--strict] [--explain] [--keep]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import common
from bench.registration import person_name
from bot import fund
from bot.conversations.registry import FLOWS
from bot.engine import Engine
from bot.messages import Inbound
from bot.service import FloodLimit, Service
from storage.ledger import FundSummary, LoanRules, NewEntry, NewLoan, ScheduleRow
from storage.sqlite import SQLiteStorage

SEED = 20261128
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam, as in tests.harness
START = date(2021, 11, 28)  # five years of history
MEETING_DAY = common.MEETING_DAY
MEMBERS = 70
LATE_JOINERS = 10  # members who joined during the five years
LOANS_PER_YEAR = 25
RULES = LoanRules(rate_bp=100, term_months=12, schedule="equal_principal", due_day=None,
                  max_amount=20_000_000, poor_first=True)
SEED_CAPITAL = 240_000_000
TOP_UP = (date(2023, 6, 15), 60_000_000)  # a second grant half-way
CONTRIBUTION = 50_000  # per member per quarter, at the meeting of March, June, ...
LATE_SHARE = 0.10  # of the loans open today, whose borrowers stopped paying
TARGET_ONE_MS = 50.0
TARGET_ALL_MS = 1000.0
CHAIR_USER = "bench-chair"

HOUSEHOLDS = ("poor", "near_poor", "hardship", "ordinary")
HOUSEHOLD_WEIGHTS = (15, 20, 10, 55)
BORROW_WEIGHT = {"poor": 3, "near_poor": 3, "hardship": 2, "ordinary": 1}
VILLAGES = ("Bản Lốc", "Bản Na Công", "Bản Piềng", "Bản Mường")
ETHNICITIES = ("Thái", "Thái", "Kinh", "Mông", None)
PURPOSES = ("cow", "buffalo", "pig", "goat", "poultry", "fish", "crops", "trade")

# Replication: columns that refer to another table's id (shifted by that table's stride).
REFS = {
    "club_id": "clubs", "member_id": "members", "assisted_by": "members",
    "decided_by": "members", "granted_by": "members", "changed_by": "members",
    "created_by": "members", "recorded_by": "members", "confirmed_by": "members",
    "loan_id": "loans", "reverses": "ledger",
}  # fmt: skip
UNIQUE_KEYS = ("registration_key", "idempotency_key")
COPIED = ("clubs", "members", "member_roles", "loan_rules", "loans", "installments", "ledger")


def at(day: date) -> datetime:
    """09:00 in Vietnam on ``day``, as the UTC moment the storage keeps."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


# --- the club's history ------------------------------------------------------------------------


@dataclass
class Person:
    index: int
    name: str
    sex: str
    birth_year: int
    phone: str | None
    village: str
    household: str
    ethnicity: str | None
    joined: date


@dataclass
class PlannedLoan:
    number: int
    borrower: int  # index into the members
    start: date
    principal: int
    purpose: str
    rows: list[fund.Installment]
    unpaid: frozenset[int] = frozenset()  # instalments the borrower stopped paying

    @property
    def last_due(self) -> date:
        return self.rows[-1].due


def new_person(rng: random.Random, index: int, joined: date) -> Person:
    """A member with random particulars (the same draws in every benchmark that uses it)."""
    return Person(
        index=index,
        name=person_name(index * 7 + 1),
        sex=rng.choices(("female", "male"), (6, 4))[0],
        birth_year=rng.randrange(1940, 1967),
        phone=None if rng.random() < 0.1 else f"+8491{index:07d}",
        village=rng.choice(VILLAGES),
        household=rng.choices(HOUSEHOLDS, HOUSEHOLD_WEIGHTS)[0],
        ethnicity=rng.choice(ETHNICITIES),
        joined=joined,
    )


@dataclass
class History:
    people: list[Person]
    loans: list[PlannedLoan]
    events: list[tuple[date, int, int, str, object]] = field(default_factory=list)


def plan(rng: random.Random) -> History:
    """Members, loans and every movement of money of one club over five years."""
    people = []
    joined_days = [START] * (MEMBERS - LATE_JOINERS) + sorted(
        START + timedelta(days=rng.randrange(30, 4 * 365)) for _ in range(LATE_JOINERS)
    )
    for index, joined in enumerate(joined_days):
        people.append(new_person(rng, index, joined))

    days = (TODAY - START).days
    starts = sorted(
        START + timedelta(days=rng.randrange(7, days)) for _ in range(LOANS_PER_YEAR * 5)
    )
    loans: list[PlannedLoan] = []
    busy_until: dict[int, date] = {}  # one loan at a time per member
    for start in starts:
        free = [p for p in people
                if p.joined <= start and busy_until.get(p.index, START) < start]
        if not free:
            continue
        borrower = rng.choices(free, [BORROW_WEIGHT[p.household] for p in free])[0]
        principal = rng.randrange(10, 41) * 500_000
        rows = fund.schedule(principal, RULES.rate_bp, RULES.term_months, RULES.schedule,
                             fund.first_due(start, MEETING_DAY), MEETING_DAY)
        loan = PlannedLoan(len(loans) + 1, borrower.index, start, principal,
                           rng.choice(PURPOSES), rows)
        loans.append(loan)
        busy_until[borrower.index] = loan.last_due

    # Of the loans open today, about one in ten stopped paying 1-4 months ago.
    open_now = [
        loan for loan in loans if loan.last_due >= TODAY and loan.rows[0].due < TODAY
    ]
    for loan in rng.sample(open_now, max(2, math.ceil(LATE_SHARE * len(open_now)))):
        past = [row.number for row in loan.rows if row.due < TODAY]
        loan.unpaid = frozenset(past[-min(rng.randint(1, 4), len(past)):])

    history = History(people, loans)
    order = {"capital": 0, "repayment": 1, "contribution": 2, "loan": 3}
    seq = iter(range(10**9))

    def add(day: date, kind: str, what: object) -> None:
        history.events.append((day, order[kind], next(seq), kind, what))

    add(START, "capital", ("Vốn hỗ trợ dự án", SEED_CAPITAL))
    add(TOP_UP[0], "capital", ("Ủng hộ của Hội Người cao tuổi tỉnh", TOP_UP[1]))
    quarter = date(START.year, 12, MEETING_DAY)
    while quarter < TODAY:
        for person in people:
            if person.joined <= quarter:
                add(quarter, "contribution", person)
        quarter = fund.add_months(quarter, 3, MEETING_DAY)
    for loan in loans:
        add(loan.start, "loan", loan)
        for row in loan.rows:
            if row.due < TODAY and row.number not in loan.unpaid:
                add(row.due, "repayment", (loan, row))
    history.events.sort(key=lambda event: event[:3])

    cash = 0
    for day, _rank, _n, kind, what in history.events:
        if kind == "capital":
            cash += what[1]  # type: ignore[index]
        elif kind == "contribution":
            cash += CONTRIBUTION
        elif kind == "repayment":
            cash += what[1].total  # type: ignore[index]
        else:
            cash -= what.principal  # type: ignore[attr-defined]
            assert cash >= 0, f"the plan lends money the fund does not have ({day}: {cash:,})"
    return history


@dataclass
class Built:
    club_id: int
    chair_id: int
    members: int
    loans: int
    entries: int
    late: int


async def build(storage: SQLiteStorage, history: History) -> Built:
    """Write the planned club through the storage API, in one transaction."""
    async with storage.transaction() as tx:
        club_id, ids = await common.write_club(tx, history.people, at(START), at)
        chair, _, treasurer = ids[:3]
        await tx.set_loan_rules(club_id, RULES, chair, at(START))

        loan_ids: dict[int, int] = {}
        entries = 0
        for day, _rank, _n, kind, what in history.events:
            if kind == "loan":
                loan: PlannedLoan = what  # type: ignore[assignment]
                loan_id, _ = await tx.add_loan(NewLoan(
                    club_id=club_id, member_id=ids[loan.borrower], principal=loan.principal,
                    purpose=loan.purpose, rate_bp=RULES.rate_bp,
                    term_months=RULES.term_months, schedule=RULES.schedule,
                    start_date=loan.start, first_due=loan.rows[0].due, due_day=MEETING_DAY,
                    carried_over=False, request_id=None, created_by=chair,
                    key=f"bench-loan-{loan.number}",
                    installments=tuple(ScheduleRow(r.number, r.due, r.principal, r.interest)
                                       for r in loan.rows),
                ), at(day))
                loan_ids[loan.number] = loan_id
                entry = NewEntry(
                    club_id=club_id, kind="disbursement", day=day,
                    key=f"loan:bench-loan-{loan.number}", loan_id=loan_id,
                    member_id=ids[loan.borrower], principal=loan.principal,
                    cash=-loan.principal, recorded_by=chair, source="text:bench",
                )
            elif kind == "repayment":
                loan, row = what  # type: ignore[misc]
                entry = NewEntry(
                    club_id=club_id, kind="repayment", day=day,
                    key=f"bench-repay-{loan.number}-{row.number}",
                    loan_id=loan_ids[loan.number], member_id=ids[loan.borrower],
                    principal=-row.principal, interest=row.interest, cash=row.total,
                    recorded_by=treasurer, confirmed_by=treasurer, source="text:bench",
                )
            elif kind == "contribution":
                person: Person = what  # type: ignore[assignment]
                entry = NewEntry(
                    club_id=club_id, kind="contribution", day=day,
                    key=f"bench-contribution-{person.index}-{day.isoformat()}",
                    member_id=ids[person.index], cash=CONTRIBUTION, recorded_by=treasurer,
                    confirmed_by=treasurer, source="text:bench",
                )
            else:
                note, amount = what  # type: ignore[misc]
                entry = NewEntry(
                    club_id=club_id, kind="capital", day=day, key=f"bench-capital-{day}",
                    cash=amount, note=note, recorded_by=treasurer, confirmed_by=treasurer,
                    source="text:bench",
                )
            await tx.add_entry(entry, at(day))
            entries += 1
    late = sum(1 for loan in history.loans if loan.unpaid)
    return Built(club_id, chair, len(ids), len(history.loans), entries, late)


# --- copying the club --------------------------------------------------------------------------


def replicate(path: Path, clubs: int) -> dict[str, int]:
    """Copy club 1 (the only club in ``path``) to clubs 2..``clubs`` (see ``common``)."""
    return common.replicate(path, clubs, COPIED, REFS, UNIQUE_KEYS)


def check_balances(path: Path) -> list[str]:
    """Compare the balance tables with the ledger's sums, for every club and loan."""
    conn = sqlite3.connect(path)
    problems = []
    try:
        wrong_clubs = conn.execute(
            "WITH sums AS (SELECT club_id, SUM(cash) AS cash, SUM(principal) AS lent_out, "
            "SUM(interest) AS interest, SUM(CASE WHEN kind = 'contribution' THEN cash ELSE 0 "
            "END) AS contributions FROM ledger GROUP BY club_id) "
            "SELECT COUNT(*) FROM sums s LEFT JOIN fund_balances f ON f.club_id = s.club_id "
            "WHERE f.cash IS NOT s.cash OR f.lent_out IS NOT s.lent_out "
            "OR f.interest IS NOT s.interest OR f.contributions IS NOT s.contributions"
        ).fetchone()[0]
        if wrong_clubs:
            problems.append(f"{wrong_clubs} clubs' fund_balances differ from the ledger")
        wrong_loans = conn.execute(
            "WITH sums AS (SELECT loan_id, SUM(principal) AS outstanding, "
            "SUM(interest) AS interest FROM ledger WHERE loan_id IS NOT NULL GROUP BY loan_id) "
            "SELECT COUNT(*) FROM sums s LEFT JOIN loan_balances b ON b.loan_id = s.loan_id "
            "WHERE b.outstanding IS NOT s.outstanding OR b.interest_paid IS NOT s.interest"
        ).fetchone()[0]
        if wrong_loans:
            problems.append(f"{wrong_loans} loans' loan_balances differ from the ledger")
    finally:
        conn.close()
    return problems


# --- measuring ---------------------------------------------------------------------------------


class Chair:
    """The club's chair writing on the text channel, through the real service."""

    def __init__(self, storage: SQLiteStorage, user_id: str) -> None:
        # Hundreds of timed commands from one chat: the per-chat flood limit (for people) is
        # lifted, as the registration benchmark lifts the rate limits.
        self.service = Service(storage, Engine(FLOWS), clock=lambda: NOW,
                               flood=FloodLimit(messages=10**9))
        self.user_id = user_id
        self.sent = 0

    async def say(self, text: str) -> str:
        """Send ``text``; return the text of the (one) reply queued in the outbox."""
        self.sent += 1
        handled = await self.service.handle(Inbound(
            channel="text", user_id=self.user_id, chat_id=self.user_id,
            external_id=f"{self.user_id}-{self.sent}", text=text, message_id=str(self.sent),
            display_name="Chủ nhiệm", locale="vi",
        ))
        assert not handled.duplicate and handled.queued, f"no reply to {text!r}"
        return "\n\n".join(item.payload["text"] for item in handled.queued)


async def link_chair(storage: SQLiteStorage, chair_id: int, user_id: str) -> None:
    """Give the chair a text-channel account, as registration would have."""
    async with storage.transaction() as tx:
        await tx.touch_identity("text", user_id, user_id, "Chủ nhiệm", "vi", NOW)
        await tx.link_identity("text", user_id, chair_id)


async def times(work: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """Milliseconds of ``runs`` calls of ``work`` after one warm-up call."""
    await work()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        out.append((time.perf_counter() - started) * 1000)
    return out


@dataclass
class Timing:
    label: str
    ms: list[float]
    target: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def worst(self) -> float:
        return max(self.ms)

    @property
    def ok(self) -> bool | None:
        return None if self.target is None else self.median < self.target


def statements(storage: SQLiteStorage) -> tuple[list[str], Callable[[], None]]:
    """Start collecting the SQL the storage runs; returns the list and a stop function."""
    conn = storage._conn  # the backend's connection, for counting statements only
    assert conn is not None
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen, lambda: conn.set_trace_callback(None)


def explain(storage: SQLiteStorage, sql: list[str]) -> None:
    """Print the query plan of each SELECT in ``sql`` (run as traced, values inlined)."""
    conn = storage._conn
    assert conn is not None
    for text in sql:
        if not text.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        print(f"  {text[:160]}{' ...' if len(text) > 160 else ''}")
        for row in conn.execute("EXPLAIN QUERY PLAN " + text):
            print(f"      {row[0]:>3} {row[1]:>3}  {row[3]}")


async def measure_club(
    storage: SQLiteStorage, club_id: int, chair: Chair, runs: int, where: str, target: bool,
    show_plans: bool,
) -> tuple[list[Timing], dict[str, int]]:
    """Time one club's queries and the chair's two commands."""

    async def queries() -> None:
        async with storage.transaction() as tx:
            await tx.arrears([club_id], TODAY)
            await tx.fund_summaries([club_id])

    async def arrears() -> None:
        async with storage.transaction() as tx:
            await tx.arrears([club_id], TODAY)

    async def summaries() -> None:
        async with storage.transaction() as tx:
            await tx.fund_summaries([club_id])

    seen, stop = statements(storage)
    await queries()
    stop()
    counts = {"queries": len(seen)}
    if show_plans:
        print(f"query plans, one club ({where}):")
        explain(storage, seen)
    for command in ("/quahan", "/quy"):
        seen, stop = statements(storage)
        await chair.say(command)
        stop()
        counts[command] = len(seen)
    goal = TARGET_ONE_MS if target else None
    return [
        Timing(f"1 club ({where}): arrears + fund_summaries", await times(queries, runs), goal),
        Timing(f"1 club ({where}):   arrears alone", await times(arrears, runs)),
        Timing(f"1 club ({where}):   fund_summaries alone", await times(summaries, runs)),
        Timing(f"1 club ({where}): /quahan via the service",
               await times(lambda: chair.say("/quahan"), runs), goal),
        Timing(f"1 club ({where}): /quy via the service",
               await times(lambda: chair.say("/quy"), runs), goal),
    ], counts


async def check_club(
    storage: SQLiteStorage, club_id: int, chair: Chair
) -> tuple[int, FundSummary]:
    """The club's overdue list, summary and the chair's replies are right.

    Returns:
        The number of overdue loans and the club's fund.
    """
    async with storage.transaction() as tx:
        overdue = await tx.arrears([club_id], TODAY)
        [summary] = await tx.fund_summaries([club_id])
        ledger_cash = (await tx._all(  # the SQLite backend's helper, as tests.harness uses
            "SELECT COALESCE(SUM(cash), 0) AS cash FROM ledger WHERE club_id = ?", (club_id,)
        ))[0]["cash"]
    assert overdue, "the overdue list is empty"
    assert all(row.amount > 0 for row in overdue), "an overdue amount is not positive"
    assert all(row.since < TODAY for row in overdue), "an overdue loan is not overdue"
    assert summary.cash == ledger_cash, f"cash {summary.cash} != ledger sum {ledger_cash}"
    assert summary.cash >= 0 and summary.open_loans > 0 and summary.members == MEMBERS
    reply = await chair.say("/quahan")
    assert f"Khoản vay quá hạn ({len(overdue)} khoản" in reply, reply[:300]
    reply = await chair.say("/quy")
    assert f"Khoản vay quá hạn: {len(overdue)}." in reply, reply[:300]
    assert f"{summary.members} thành viên" in reply, reply[:300]
    return len(overdue), summary


async def check_many(storage: SQLiteStorage, clubs: int, overdue_one: int) -> None:
    """Clubs 1 and N look alike, and the overdue list of all clubs is N times one club's."""
    async with storage.transaction() as tx:
        first, last = await tx.fund_summaries([1, clubs])
        overdue = await tx.arrears(None, TODAY)
        summaries = await tx.fund_summaries(None)
    assert dataclasses.replace(last, club_id=1) == first, f"{first} != {last}"
    assert len(overdue) == clubs * overdue_one, f"{len(overdue)} != {clubs} x {overdue_one}"
    assert len(summaries) == clubs


async def run(args: argparse.Namespace, workdir: Path) -> tuple[list[Timing], dict]:
    """Build, check and time; returns the timings and facts for the report."""
    facts: dict = {"clubs": args.clubs}
    path = workdir / "fund.sqlite3"
    storage = SQLiteStorage(path)
    await storage.open()
    timings: list[Timing] = []
    try:
        started = time.perf_counter()
        history = plan(random.Random(SEED))
        built = await build(storage, history)
        facts["build_s"] = time.perf_counter() - started
        facts["one_club"] = dataclasses.asdict(built)
        await link_chair(storage, built.chair_id, CHAIR_USER)
        chair = Chair(storage, CHAIR_USER)
        overdue_one, summary = await check_club(storage, built.club_id, chair)
        facts["overdue_one"], facts["open_one"] = overdue_one, summary.open_loans
        print(f"one club built in {facts['build_s']:.2f}s: {built.members} members, "
              f"{built.loans} loans ({summary.open_loans} open, {overdue_one} overdue), "
              f"{built.entries} ledger entries, cash {summary.cash:,} đồng", flush=True)
        alone, counts = await measure_club(storage, built.club_id, chair, args.runs,
                                           "alone", args.clubs == 1, args.explain)
        timings += alone
        facts["statements"] = counts
    finally:
        await storage.close()
    if args.clubs == 1:
        return timings, facts

    print(f"copying to {args.clubs} clubs ...", end=" ", flush=True)
    started = time.perf_counter()
    facts["rows"] = replicate(path, args.clubs)
    facts["copy_s"] = time.perf_counter() - started
    print(f"{facts['copy_s']:.1f}s", flush=True)
    started = time.perf_counter()
    problems = check_balances(path)
    assert not problems, "; ".join(problems)
    facts["check_s"] = time.perf_counter() - started
    facts["db_mib"] = path.stat().st_size / 2**20

    storage = SQLiteStorage(path)
    await storage.open()
    try:
        await check_many(storage, args.clubs, overdue_one)
        club_id = args.clubs // 2 + 1  # a club in the middle of every table
        chair_id = built.chair_id + (club_id - 1) * built.members
        await link_chair(storage, chair_id, f"{CHAIR_USER}-{club_id}")
        chair = Chair(storage, f"{CHAIR_USER}-{club_id}")
        await check_club(storage, club_id, chair)
        many, counts = await measure_club(storage, club_id, chair, args.runs,
                                          f"in {args.clubs}", True, args.explain)
        timings += many

        async def everything() -> None:
            async with storage.transaction() as tx:
                await tx.arrears(None, TODAY)
                await tx.fund_summaries(None)

        if args.explain:
            seen, stop = statements(storage)
            await everything()
            stop()
            print(f"query plans, all {args.clubs} clubs:")
            explain(storage, seen)
        target = TARGET_ALL_MS if args.clubs >= 1000 else None
        timings.append(Timing(f"all {args.clubs} clubs: arrears + fund_summaries",
                              await times(everything, args.runs), target))
    finally:
        await storage.close()
    return timings, facts


def report(timings: list[Timing], facts: dict, runs: int, seconds: float) -> bool:
    """Print the figures; returns whether every target was met."""
    print()
    print(f"ishc-bot revolving-fund benchmark (today {TODAY:%d/%m/%Y}, median and max of "
          f"{runs} run{'s' if runs != 1 else ''} after a warm-up, ms)")
    one = facts["one_club"]
    print(f"one club: {one['members']} members, {one['loans']} loans over five years "
          f"({facts['open_one']} open, {facts['overdue_one']} overdue), {one['entries']} "
          f"ledger entries; built in {facts['build_s']:.2f}s")
    if "rows" in facts:
        rows = facts["rows"]
        print(f"{facts['clubs']} clubs: " + ", ".join(f"{rows[t]:,} {t}" for t in rows)
              + f"; {facts['db_mib']:.0f} MiB")
        print(f"copied in {facts['copy_s']:.1f}s, balances checked against the ledger in "
              f"{facts['check_s']:.1f}s")
    met = common.timing_table(timings)
    counts = facts["statements"]
    print(f"SQL statements: arrears + fund_summaries {counts['queries']}, /quahan "
          f"{counts['/quahan']}, /quy {counts['/quy']} (one club alone)")
    print("notes: medians on a shared, noisy machine, database in the page cache; commands "
          "include the commit\n       (WAL, synchronous=FULL) and queueing the reply in the "
          "outbox, not sending it.")
    common.footer(seconds, facts, timings)
    return met


def main(argv: list[str] | None = None) -> int:
    parser = common.parser("python -m bench.fund", __doc__)
    parser.add_argument("--clubs", type=int, default=1000, help="clubs in the shared "
                        "database (default 1000)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.clubs < 1:
        parser.error("--clubs must be at least 1")
    return asyncio.run(common.run_in_tempdir("fund", args, run, report))


if __name__ == "__main__":
    sys.exit(main())
