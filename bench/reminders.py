"""Reminder benchmark: delivery within Telegram's flood limit, and what is due nationwide.

(a) Delivery. ``--count`` members (default 10,000; clubs of 50) with Telegram accounts are
written through the storage API; every club meets on the same day, and the reminder two days
ahead is queued at its moment with the scheduler's own code (``Service.remind``, as
``ishc-bot reminders send --at`` does), then delivered by the bot, ``python -m bot run`` in
its own process as in production, with the production rates (``ISHC_TELEGRAM_RATE`` and
``ISHC_TELEGRAM_CHAT_RATE`` unset: 30 messages/s overall, 1/s per chat), through the fake Bot
API (``tests.fake_telegram``, real HTTP on 127.0.0.1) enforcing at most 30 messages in any
one-second span and answering 429 with ``retry_after`` beyond it. A separate process, so the
fake's clock and the bot's pacing do not share an event loop; the bot's outbox picks the
queued rows up from the table (its scan every second), as it does for the operator's command.
The meeting is tomorrow and the scan's moment two days before it (yesterday, 08:00), so the
reminders are still due when the bot sends them (they expire when the meeting begins); the
bot's own scans are off (``ISHC_REMINDERS=0``) and so are the quiet hours, so every message
comes from the one queued scan and the bench runs at any hour.

Reported: the achieved rate (messages accepted / seconds from the commit of the queued scan to
the last message accepted), the 429s received, 429s not honoured (more than the one send
already in flight arriving within the second), the most messages in any one-second span,
duplicates (messages beyond the first to a member, or to a stranger) and losses (members
without their message, outbox rows not marked sent). Targets: at least 28.5 messages/s (95 %
of the limit); no duplicate, no loss. At 30/s, 10,000 reminders take at least 333 s.

(b) What is due. ``--clubs`` clubs (default 6,000, the national target of Decision 1648) of
50 members (300,000): one club is built through the storage API (roles, loan rules, seed
capital, 24 loans over two years with their schedules and repayments, about 10 % of the open
loans stopped paying), copied with ``bench.fund.replicate`` (the ledger triggers keep the
balances); then, in bulk SQL, three meetings' blood-pressure readings per member and one this
month for a third of them, a meeting rule (same day, 07:30) for every tenth club and
December's meeting moved to the 16th for every fiftieth. Every club meets on the 15th.
``reminders.due(tx, now, tz)`` is timed (one warm-up, then ``--runs``) at three moments:
13/12/2026 08:00 (meeting two days ahead, "not measured this month" and the repayment due on
the 15th: the peak), 05/12/2026 10:00 (an ordinary moment: overdue follow-ups only) and
Monday 07/12/2026 07:30 (the board's weekly digest). Target: under 5 s. ``--profile`` (or a
missed target) prints where the time goes at that moment.

(c) The national reminder peak (``--national [--scale 0.1] [--window-minutes M]``): every
club meets on the same day, 34 province bots each held to 30 messages/s by the fake; see
:mod:`bench.reminders_national`.

Usage: ``python -m bench.reminders [--runs N] [--count N] [--clubs N] [--part delivery|due]
[--strict] [--profile] [--explain] [--keep] [--national [--scale S]]``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import common, reminders_national
from bench.fund import (
    ETHNICITIES,
    HOUSEHOLD_WEIGHTS,
    HOUSEHOLDS,
    MEETING_DAY,
    RULES,
    VILLAGES,
    History,
    Person,
    PlannedLoan,
    build,
    explain,
    replicate,
    statements,
)
from bench.registration import BotCrashed, BotProcess, free_port, person_name
from bot import fund, reminders
from bot.config import Settings as BotSettings
from bot.service import utcnow
from storage.sqlite import SQLiteStorage
from tests.fake_telegram import FakeTelegram
from tests.test_reminder_delivery import add_clubs, ignored_429s, window_peak

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
LIMIT = 30  # messages per second the fake accepts, as Telegram's documented overall limit
CLUB_SIZE = 50
FIRST_USER = 30_000_000
TARGET_RATE = 28.5
TARGET_DUE_S = 5.0
IN_FLIGHT = 1  # sends that may already be under way when a 429 arrives (the outbox runs two)
SETTLE_S = 3.0  # after the last message: time for a duplicate to show up
PROGRESS_EVERY = 60.0

SEED = 20261213
HISTORY_START = date(2024, 12, 1)  # two years of loans up to...
HISTORY_END = date(2026, 12, 1)  # ... the day the data stops
LOANS_PER_YEAR = 12
SEED_CAPITAL = 200_000_000
LATE_SHARE = 0.10
MOMENTS = {
    "meeting": datetime(2026, 12, 13, 8, 0, tzinfo=VN),
    "ordinary": datetime(2026, 12, 5, 10, 0, tzinfo=VN),
    "digest": datetime(2026, 12, 7, 7, 30, tzinfo=VN),
}


# --- (a) delivery ------------------------------------------------------------------------------


class DeliveryBot(BotProcess):
    """``python -m bot run`` on the benchmark's database, rates left at their defaults."""

    label = "ishc"

    def __init__(self, fake: FakeTelegram, workdir: Path, db: Path) -> None:
        super().__init__(fake, workdir, None)
        self.db = db

    def env(self) -> dict[str, str]:
        env = super().env()  # no ISHC_* from the caller: production defaults
        env["ISHC_DB"] = str(self.db)
        env["ISHC_LISTEN"] = f"127.0.0.1:{free_port()}"
        env["ISHC_REMINDERS"] = "0"  # every message comes from the bench's one scan
        return env

    def module(self) -> list[str]:
        return ["bot", "run"]


PLAN_RATE = 10_000.0  # messages/s the scan plans for: the sender, not the plan, sets the pace


def delivery_moment(now: datetime) -> tuple[int, datetime]:
    """The day of the month of a meeting tomorrow (club time), and the moment two days before
    it, 08:00 (yesterday): its reminder is due then and has not expired now."""
    tomorrow = now.astimezone(VN).date() + timedelta(days=1)
    moment = datetime.combine(tomorrow - timedelta(days=2), clock(8, 0), VN)
    return tomorrow.day, moment.astimezone(UTC)


@dataclass
class Delivered:
    count: int
    queued: int = 0
    queue_s: float = math.nan
    accepted: int = 0
    seconds: float = math.nan  # from the commit of the scan to the last message accepted
    steady_rate: float = math.nan  # first to last message accepted
    refused_429: int = 0
    ignored_429: int = 0
    peak_per_second: int = 0
    duplicates: int = 0
    lost: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    second_scan: int = 0

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else math.nan

    def ok(self) -> bool:
        return self.rate >= TARGET_RATE and not self.duplicates and not self.lost


def outbox_statuses(db: Path) -> dict[str, int]:
    """The outbox rows by status (read from the bench process; the bot writes them)."""
    conn = sqlite3.connect(db, timeout=10.0)
    try:
        rows = conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    finally:
        conn.close()
    return dict(rows)


async def deliver(count: int, workdir: Path, number: int) -> Delivered:
    """Queue ``count`` meeting reminders and let the bot deliver them within the limit."""
    result = Delivered(count)
    db = workdir / f"delivery-{number}.sqlite3"
    meeting_day, moment = delivery_moment(utcnow())
    sizes = [CLUB_SIZE] * (count // CLUB_SIZE) + ([count % CLUB_SIZE] if count % CLUB_SIZE else [])
    storage = SQLiteStorage(db)
    await storage.open()
    try:
        chats = await add_clubs(storage, sizes, FIRST_USER, moment - timedelta(days=60),
                                meeting_day)
        # No quiet hours (the bench runs at any hour), and a send window over before the
        # scan's 08:00: the batch is not spread over the morning but handed to the sender at
        # once (the scan's plan rate below), so this measures the sender's pace.
        async with storage.transaction() as tx:
            await tx.set_meta(reminders.SETTINGS_KEY, reminders.Settings(
                health_days=1, quiet_start="00:00", quiet_end="00:00",
                send_window="06:30-07:00").to_json())
    finally:
        await storage.close()
    async with FakeTelegram(flood_limit=LIMIT) as fake:
        bot = DeliveryBot(fake, workdir, db)
        try:
            await bot.start()
            storage = SQLiteStorage(db)
            await storage.open()
            try:
                started = time.monotonic()
                found = await reminders.scan(storage, TZ, moment, rate=PLAN_RATE)
                queued = time.monotonic()
                result.second_scan = len(await reminders.scan(storage, TZ, moment,
                                                              rate=PLAN_RATE))
            finally:
                await storage.close()
            result.queued, result.queue_s = len(found), queued - started
            print(f"  {len(found):,} reminders queued in {result.queue_s:.1f}s; delivering "
                  f"(at least {count / LIMIT:.0f}s) ...", flush=True)
            deadline = queued + count / LIMIT * 2 + 60
            report_at = queued + PROGRESS_EVERY
            while _accepted(fake) < count:
                bot.check_alive()
                if time.monotonic() > deadline:
                    print(f"  gave up after {time.monotonic() - queued:.0f}s", flush=True)
                    break
                if time.monotonic() >= report_at:
                    report_at += PROGRESS_EVERY
                    print(f"  {time.monotonic() - queued:4.0f}s: {_accepted(fake):,} delivered, "
                          f"{len(fake.rate_limited)} answered 429", flush=True)
                await asyncio.sleep(0.2)
            settle = time.monotonic() + SETTLE_S
            while time.monotonic() < settle or outbox_statuses(db).get("pending"):
                bot.check_alive()
                if time.monotonic() > settle + 30:
                    break
                await asyncio.sleep(0.2)
        finally:
            await bot.stop()
        sent = [m for m in fake.sent if m.method == "sendMessage"]
        times = sorted(m.at for m in sent)
        result.refused_429 = len(fake.rate_limited)
        result.ignored_429 = len(ignored_429s(fake, IN_FLIGHT))
    result.accepted = len(sent)
    if times:
        result.seconds = times[-1] - queued
        result.steady_rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0
        result.peak_per_second = window_peak(times)
    per_chat = Counter(m.chat_id for m in sent)
    strangers = sum(n for chat, n in per_chat.items() if chat not in chats)
    result.duplicates = sum(n - 1 for n in per_chat.values() if n > 1) + strangers
    result.outbox = outbox_statuses(db)
    unsent = sum(n for status, n in result.outbox.items() if status != "sent")
    result.lost = len(set(chats) - set(per_chat)) + unsent
    return result


def _accepted(fake: FakeTelegram) -> int:
    return sum(1 for m in fake.sent if m.method == "sendMessage")


# --- (b) what is due ---------------------------------------------------------------------------


def plan_club(rng: random.Random) -> History:
    """One club: 50 members, two years of loans repaid on time but for about 10 % of the open
    ones, whose borrowers stopped paying 1-3 months ago; seed capital. No contributions."""
    people = [
        Person(index=i, name=person_name(i * 7 + 1), sex=rng.choice(("female", "male")),
               birth_year=rng.randrange(1940, 1967), phone=f"+8491{i:07d}",
               village=rng.choice(VILLAGES), household=rng.choices(HOUSEHOLDS,
                                                                   HOUSEHOLD_WEIGHTS)[0],
               ethnicity=rng.choice(ETHNICITIES), joined=HISTORY_START)
        for i in range(CLUB_SIZE)
    ]
    days = (HISTORY_END - HISTORY_START).days
    starts = sorted(HISTORY_START + timedelta(days=rng.randrange(3, days))
                    for _ in range(LOANS_PER_YEAR * 2))
    loans: list[PlannedLoan] = []
    busy_until: dict[int, date] = {}
    for start in starts:
        free = [p for p in people if busy_until.get(p.index, HISTORY_START) < start]
        borrower = rng.choice(free)
        principal = rng.randrange(10, 31) * 500_000
        rows = fund.schedule(principal, RULES.rate_bp, RULES.term_months, RULES.schedule,
                             fund.first_due(start, MEETING_DAY), MEETING_DAY)
        loan = PlannedLoan(len(loans) + 1, borrower.index, start, principal, "cow", rows)
        loans.append(loan)
        busy_until[borrower.index] = loan.last_due
    open_now = [loan for loan in loans
                if loan.last_due >= HISTORY_END and loan.rows[0].due < HISTORY_END]
    for loan in rng.sample(open_now, max(1, math.ceil(LATE_SHARE * len(open_now)))):
        past = [row.number for row in loan.rows if row.due < HISTORY_END]
        loan.unpaid = frozenset(past[-min(rng.randint(1, 3), len(past)):])
    history = History(people, loans)
    seq = iter(range(10**9))
    history.events.append((HISTORY_START, 0, next(seq), "capital",
                           ("Vốn hỗ trợ dự án", SEED_CAPITAL)))
    for loan in loans:
        history.events.append((loan.start, 3, next(seq), "loan", loan))
        for row in loan.rows:
            if row.due < HISTORY_END and row.number not in loan.unpaid:
                history.events.append((row.due, 1, next(seq), "repayment", (loan, row)))
    history.events.sort(key=lambda event: event[:3])
    return history


READINGS = (  # (day, measured at (UTC), which members: id % 3 = 0 only for the last one)
    ("2026-09-15", "2026-09-15T01:30:00+00:00", 1),
    ("2026-10-15", "2026-10-15T01:30:00+00:00", 1),
    ("2026-11-15", "2026-11-15T01:30:00+00:00", 1),
    ("2026-12-02", "2026-12-02T00:30:00+00:00", 3),
)


def add_the_rest(path: Path, clubs: int) -> dict[str, int]:
    """Readings, meeting rules and moves in bulk SQL; returns their row counts."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for number, (day, measured, every) in enumerate(READINGS):
            conn.execute(
                "INSERT INTO readings (club_id, member_id, measured_at, day, systolic, "
                "diastolic, grade, high, urgent, place, recorded_by, idempotency_key, "
                "created_at) SELECT club_id, id, :at, :day, s, d, CASE WHEN s >= 160 THEN "
                "'grade_2' WHEN s >= 140 THEN 'grade_1' WHEN s >= 130 THEN 'high_normal' "
                "WHEN s >= 120 THEN 'normal' ELSE 'optimal' END, s >= 140, 0, 'meeting', "
                "NULL, 'bench-reading-' || id || '-' || :day, :at FROM (SELECT club_id, id, "
                "110 + (id * 7 + :n * 13) % 55 AS s, 65 + (id * 3 + :n * 5) % 25 AS d "
                "FROM members WHERE status = 'active' AND id % :every = 0)",
                {"at": measured, "day": day, "n": number, "every": every},
            )
        changed = "2026-01-10T02:00:00+00:00"
        conn.execute(
            "INSERT INTO meeting_rules (club_id, kind, day, time, place, changed_at) "
            "SELECT id, 'day', 15, '07:30', 'Nhà văn hóa thôn', ? FROM clubs WHERE id % 10 = 0",
            (changed,),
        )
        conn.execute(
            "INSERT INTO meeting_moves (club_id, month, day, time, place, moved_at) "
            "SELECT id, '2026-12', '2026-12-16', '08:00', '', ? FROM clubs WHERE id % 50 = 0",
            (changed,),
        )
        conn.execute("COMMIT")
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("readings", "meeting_rules", "meeting_moves")}
    finally:
        conn.close()


@dataclass
class DueTiming:
    moment: str
    ms: list[float]
    found: dict[str, int]
    statements: int

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def ok(self) -> bool:
        return self.median < TARGET_DUE_S * 1000


async def time_due(
    storage: SQLiteStorage, runs: int, profile: bool, show_plans: bool
) -> tuple[list[DueTiming], dict[str, str]]:
    """Time ``reminders.due`` at each moment; profile the moments that miss the target (or
    all of them with ``profile``). cProfile slows the Python part about twofold."""

    async def due(moment: datetime) -> list[reminders.Due]:
        async with storage.transaction() as tx:
            return await reminders.due(tx, moment.astimezone(UTC), TZ)

    timings = []
    for name, moment in MOMENTS.items():
        seen, stop = statements(storage)
        found = await due(moment)  # the warm-up
        stop()
        kinds, total = dict(Counter(d.kind for d in found)), len(found)
        del found  # not kept alive while timing (the collector would walk it every time)
        ms = []
        for _ in range(runs):
            started = time.perf_counter()
            await due(moment)
            ms.append((time.perf_counter() - started) * 1000)
        timing = DueTiming(name, ms, kinds, len(seen))
        timings.append(timing)
        print(f"  due at {name} ({moment:%d/%m/%Y %H:%M}): {timing.median / 1000:.2f}s, "
              f"{total:,} reminders, {len(seen):,} SQL statements", flush=True)
        if show_plans:  # one statement of each shape (numbers and strings aside)
            shapes = {re.sub(r"'[^']*'|\d+", "?", sql): sql for sql in reversed(seen)}
            print(f"query plans at {name} ({len(shapes)} kinds of statement):")
            explain(storage, list(shapes.values()))
    hot = {}
    for timing in timings:
        if profile or not timing.ok:
            profiler = cProfile.Profile()
            profiler.enable()
            await due(MOMENTS[timing.moment])
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats(r"bot/|storage/", 20)
            hot[timing.moment] = out.getvalue()
    return timings, hot


async def due_part(args: argparse.Namespace, workdir: Path, facts: dict) -> list[DueTiming]:
    path = workdir / "due.sqlite3"
    started = time.perf_counter()
    storage = SQLiteStorage(path)
    await storage.open()
    try:
        built = await build(storage, plan_club(random.Random(SEED)))
    finally:
        await storage.close()
    facts["one_club"] = asdict(built)
    rows = replicate(path, args.clubs) if args.clubs > 1 else {}
    rows.update(add_the_rest(path, args.clubs))
    facts["build_s"] = time.perf_counter() - started
    facts["rows"] = rows
    facts["db_mib"] = path.stat().st_size / 2**20
    print(f"  {args.clubs:,} clubs built in {facts['build_s']:.1f}s: "
          + ", ".join(f"{n:,} {t}" for t, n in rows.items() if t in (
              "members", "loans", "installments", "ledger", "readings"))
          + f"; {facts['db_mib']:.0f} MiB", flush=True)
    storage = SQLiteStorage(path)
    await storage.open()
    try:
        timings, hot = await time_due(storage, args.runs, args.profile, args.explain)
    finally:
        await storage.close()
    facts["profile"] = hot
    return timings


# --- running and reporting ---------------------------------------------------------------------


async def run(args: argparse.Namespace, workdir: Path) -> tuple[dict, dict]:
    facts: dict = {"count": args.count, "clubs": args.clubs, "limit": LIMIT,
                   "bot_rate": BotSettings().telegram_rate,
                   "bot_chat_rate": BotSettings().telegram_chat_rate}
    results: dict = {"delivery": [], "due": []}
    if args.part in (None, "delivery"):
        for number in range(1, args.runs + 1):
            print(f"delivery run {number}/{args.runs}: {args.count:,} reminders, fake limit "
                  f"{LIMIT}/s", flush=True)
            try:
                results["delivery"].append(await deliver(args.count, workdir, number))
            except BotCrashed as error:
                raise AssertionError(f"the bot process failed: {error}") from error
    if args.part in (None, "due"):
        print(f"what is due: {args.clubs:,} clubs of {CLUB_SIZE} members", flush=True)
        results["due"] = await due_part(args, workdir, facts)
    return results, facts


def report(results: dict, facts: dict, runs: int, seconds: float) -> bool:
    print()
    met = True
    deliveries: list[Delivered] = results["delivery"]
    if deliveries:
        print(f"ishc-bot reminder delivery ({facts['count']:,} reminders; fake Telegram on "
              f"127.0.0.1 accepting {LIMIT} messages in any second, 429 + retry_after beyond;"
              f"\nbot as its own process at ISHC_TELEGRAM_RATE {facts['bot_rate']:g}, "
              f"ISHC_TELEGRAM_CHAT_RATE {facts['bot_chat_rate']:g}; median of {len(deliveries)} "
              f"run{'s' if len(deliveries) != 1 else ''})")
        rate = statistics.median(d.rate for d in deliveries)
        rows = [
            ("achieved messages/s (commit -> last)", f"{rate:.2f}",
             f">= {TARGET_RATE} [{'ok' if rate >= TARGET_RATE else 'MISSED'}]"),
            ("steady messages/s (first -> last)",
             f"{statistics.median(d.steady_rate for d in deliveries):.2f}", ""),
            ("delivered / queued", " / ".join(
                f"{d.accepted:,}/{d.queued:,}" for d in deliveries), ""),
            ("delivery seconds", ", ".join(f"{d.seconds:.1f}" for d in deliveries), ""),
            ("429s received", ", ".join(str(d.refused_429) for d in deliveries), ""),
            ("429s not honoured", ", ".join(str(d.ignored_429) for d in deliveries), "0"),
            ("most messages in one second", ", ".join(str(d.peak_per_second)
                                                      for d in deliveries), f"<= {LIMIT}"),
            ("duplicates", ", ".join(str(d.duplicates) for d in deliveries),
             f"0 [{'ok' if not any(d.duplicates for d in deliveries) else 'MISSED'}]"),
            ("losses", ", ".join(str(d.lost) for d in deliveries),
             f"0 [{'ok' if not any(d.lost for d in deliveries) else 'MISSED'}]"),
            ("queueing the scan (s)", ", ".join(f"{d.queue_s:.1f}" for d in deliveries), ""),
            ("second scan queued", ", ".join(str(d.second_scan) for d in deliveries), "0"),
        ]
        for label, value, target in rows:
            print(f"{label:40}{value:>16}   {target}")
        met = met and all(d.ok() for d in deliveries)
    timings: list[DueTiming] = results["due"]
    if timings:
        rows_ = facts["rows"]
        print("\nwhat is due: " + ", ".join(
            f"{n:,} {t}" for t, n in rows_.items()) + f"; {facts['db_mib']:.0f} MiB, built in "
            f"{facts['build_s']:.0f}s (median and max of {runs} run{'s' if runs != 1 else ''} "
            "after a warm-up)")
        print(f"{'':40}{'median s':>10}{'max s':>8}  statements  reminders")
        for t in timings:
            found = ", ".join(f"{n:,} {k}" for k, n in sorted(t.found.items())) or "none"
            verdict = f"< {TARGET_DUE_S:.0f} s [{'ok' if t.ok else 'MISSED'}]"
            print(f"{'due() at ' + t.moment + ' ' + verdict:40}{t.median / 1000:10.2f}"
                  f"{max(t.ms) / 1000:8.2f}{t.statements:12,}  {found}")
        met = met and all(t.ok for t in timings)
        for moment, text in facts.get("profile", {}).items():
            print(f"\nprofile of due() at {moment} (own time; then cumulative, bot/ and "
                  f"storage/ only):")
            print(text.strip())
    print(f"total time {seconds:.1f}s, python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    data = {
        "facts": {k: v for k, v in facts.items() if k != "profile"},
        "delivery": [{**asdict(d), "rate": d.rate, "ok": d.ok()} for d in deliveries],
        "due": {t.moment: {"median_ms": t.median, "max_ms": max(t.ms), "found": t.found,
                           "statements": t.statements, "ok": t.ok} for t in timings},
        "targets_met": met,
    }
    print(json.dumps(common.rounded(data), ensure_ascii=False, separators=(",", ":")))
    return met


def main(argv: list[str] | None = None) -> int:
    parser = common.parser("python -m bench.reminders", __doc__)
    parser.set_defaults(runs=1)
    for action in parser._actions:
        if action.dest == "runs":
            action.help = "deliveries, and timed calls of due() after a warm-up (default 1)"
    parser.add_argument("--count", type=int, default=10_000,
                        help="reminders to deliver (default 10000; at 30/s, 333 s or more)")
    parser.add_argument("--clubs", type=int, default=6_000,
                        help=f"clubs of {CLUB_SIZE} members for what is due (default 6000)")
    parser.add_argument("--part", choices=("delivery", "due"),
                        help="run only the delivery or only the timing of what is due")
    parser.add_argument("--profile", action="store_true",
                        help="print where due() spends its time at the meeting moment")
    parser.add_argument("--national", action="store_true",
                        help="the national reminder peak: every club meets the same day, 34 "
                             "province bots at 30/s each (see bench/reminders_national.py)")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="--national: share of the 6,000 clubs (default 0.1; 1 = full)")
    parser.add_argument("--window-minutes", type=int,
                        help="--national: the send window in minutes (default 10 x the scale)")
    args = parser.parse_args(argv)
    if args.national:
        if not 0 < args.scale <= 1:
            parser.error("--scale must be in (0, 1]")
        return asyncio.run(reminders_national.national(args))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.count < 1 or args.clubs < 1:
        parser.error("--count and --clubs must be at least 1")
    return asyncio.run(common.run_in_tempdir("reminders", args, run, report))


if __name__ == "__main__":
    sys.exit(main())
