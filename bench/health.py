"""Health benchmark: the board's lists, a member's readings and the trend chart, one club.

One realistic club is built through the storage API in a temporary SQLite file: 70 active
members (ten of them joined during the period, the last one this month), and five years of
readings taken at the monthly meetings (the 15th, from 12/2021 to 11/2026): most members
normal or high-normal, about a fifth hypertensive with a trend (rising, or falling once
treated), a pulse for half of them and a weight for a third; a few meetings missed, and about
10 % of the members not measured in November 2026. A fixed random seed makes the club the same
every time. The chair and one hypertensive member (measured at every meeting: 60 readings,
the most a chart shows) get a text-channel account.

Checked before timing: ``club_health`` and the chair's "Cả câu lạc bộ" reply list exactly the
members computed here from the generated readings (not measured since 1/11/2026; latest
reading at or above ``Triage().high_systolic`` / ``high_diastolic``); the member's
``/suckhoe`` reply shows the latest reading and its chart has the 60 newest readings; the
chart is an 800x500 PNG.

Timed (median and max of ``--runs`` repetitions after one warm-up, in ms):

- ``club_health(club, since=1/11/2026)`` alone, in one transaction;
- the chair's lists through the real service (engine, storage, reply queued in the outbox,
  commit with ``synchronous=FULL``): picking "Cả câu lạc bộ" after an untimed ``/suckhoe``
  (the list's own reply), and ``/suckhoe`` + the pick together (two updates);
- the member's ``/suckhoe`` (readings + chart spec) through the service, and
  ``readings_of(member, 60)`` + the spec alone;
- ``charts.draw(spec)`` for that member's 60 points: the first call in this process (cold:
  matplotlib's import, its font lookup and the font cache if it has to be built) and warm.

Targets (from the issue): the lists under 50 ms, the chart under 300 ms (warm). The figures are
medians on a shared, noisy machine with the database in the page cache; compare runs on the
same machine, not absolute numbers across machines.

Usage: ``python -m bench.health [--runs N] [--strict] [--explain] [--keep]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import common
from bench import fund as fund_bench
from bench.fund import (
    TODAY,
    Chair,
    Timing,
    at,
    explain,
    link_chair,
    statements,
    times,
)
from bot import charts, health, outbox
from bot.conversations.health_view import CHARTED, chart
from bot.fund import add_months
from storage.health import NewReading
from storage.sqlite import SQLiteStorage

SEED = 20261115
MEETING_DAY = common.MEETING_DAY
FIRST_MEETING = date(2021, 12, 15)
LAST_MEETING = date(2026, 11, 15)  # sixty meetings
MONTH = TODAY.replace(day=1)  # "this month" of the board's list
MEMBERS = 70
LATE_JOINERS = 10  # joined during the five years; the last one this month, not yet measured
HYPERTENSIVE_SHARE = 0.25
PULSE_SHARE = 0.5
WEIGHT_SHARE = 0.35
MISSED_SHARE = 0.03  # a meeting missed now and then
MISSING_NOW_SHARE = 0.10  # not measured in November 2026
TARGET_LIST_MS = 50.0
TARGET_CHART_MS = 300.0
CHAIR_USER = "bench-chair"
MEMBER_USER = "bench-member"
CLUB_CHOICE = "Cả câu lạc bộ"
RULES = health.Triage()  # the defaults: high from 140/90


def meetings() -> list[date]:
    """The sixty meeting days, oldest first."""
    days = [FIRST_MEETING]
    while days[-1] < LAST_MEETING:
        days.append(add_months(days[-1], 1, MEETING_DAY))
    return days


# --- the club's readings -----------------------------------------------------------------------


@dataclass
class Planned:
    """A reading to write: the meeting, the numbers, and the minute of the morning."""

    day: date
    minute: int
    systolic: int
    diastolic: int
    pulse: int | None
    weight_tenths: int | None

    @property
    def measured_at(self) -> datetime:
        return at(self.day) + timedelta(minutes=self.minute)

    @property
    def high(self) -> bool:
        """High per the triage settings, computed here from the numbers (not via bot.health)."""
        return self.systolic >= RULES.high_systolic or self.diastolic >= RULES.high_diastolic


@dataclass
class Person(fund_bench.Person):
    """A member of the fund benchmark's kind, with their blood pressure."""

    hypertensive: bool = False
    readings: list[Planned] = field(default_factory=list)


@dataclass
class Plan:
    people: list[Person]
    chart_member: int  # index of the member whose chart is drawn

    @property
    def readings(self) -> int:
        return sum(len(p.readings) for p in self.people)


def plan(rng: random.Random) -> Plan:
    """Members and five years of their meeting readings."""
    days = meetings()
    late = sorted(FIRST_MEETING + timedelta(days=rng.randrange(20, 4 * 365))
                  for _ in range(LATE_JOINERS - 1))
    joined_days = [FIRST_MEETING - timedelta(days=20)] * (MEMBERS - LATE_JOINERS) + late
    joined_days.append(TODAY - timedelta(days=8))  # joined on 20/11/2026: no reading yet
    chart_member = 3  # after the chair, the vice-chair and the treasurer
    people: list[Person] = []
    for index, joined in enumerate(joined_days):
        particulars = vars(fund_bench.new_person(rng, index, joined))
        people.append(Person(
            **particulars,
            hypertensive=index == chart_member or rng.random() < HYPERTENSIVE_SHARE,
        ))

    # About 10 % not measured this month (never the member whose chart is drawn).
    measured_now = [p for p in people if p.joined <= LAST_MEETING and p.index != chart_member]
    absent_now = {p.index for p in rng.sample(
        measured_now, round(MISSING_NOW_SHARE * MEMBERS) - (people[-1].joined > LAST_MEETING)
    )}
    for person in people:
        if person.hypertensive:
            systolic, diastolic = rng.uniform(140, 162), rng.uniform(84, 98)
            # Rising untreated, or falling once treated (mmHg a month).
            trend = rng.choice((rng.uniform(0.15, 0.45), rng.uniform(-0.45, -0.2)))
        else:
            systolic, diastolic = rng.uniform(108, 134), rng.uniform(66, 84)
            trend = rng.gauss(0.05, 0.05)  # a slow rise with age
        pulse = rng.uniform(62, 86) if person.index == chart_member or (
            rng.random() < PULSE_SHARE) else None
        weight = rng.uniform(42, 66) if person.index == chart_member or (
            rng.random() < WEIGHT_SHARE) else None
        minute = rng.randrange(0, 120)  # when in the morning they are usually measured
        month = 0
        for day in days:
            if day < person.joined:
                continue
            month += 1
            if day == LAST_MEETING and person.index in absent_now:
                continue
            if person.index != chart_member and rng.random() < MISSED_SHARE:
                continue
            s = round(systolic + trend * month + rng.gauss(0, 7))
            d = round(diastolic + trend * 0.5 * month + rng.gauss(0, 5))
            s = min(max(s, 95), 215)
            d = min(max(d, 55), min(125, s - 25))
            if weight is not None:
                weight += rng.gauss(0, 0.4)
            person.readings.append(Planned(
                day=day,
                minute=(minute + rng.randrange(-15, 16)) % 180,
                systolic=s,
                diastolic=d,
                pulse=round(pulse + rng.gauss(0, 5)) if pulse is not None else None,
                weight_tenths=round(weight * 10) if weight is not None and (
                    person.index == chart_member or rng.random() < 0.8) else None,
            ))
    return Plan(people, chart_member)


@dataclass
class Built:
    club_id: int
    ids: list[int]  # member ids, by index
    chair_id: int
    readings: int


async def build(storage: SQLiteStorage, club: Plan) -> Built:
    """Write the planned club through the storage API, in one transaction."""
    async with storage.transaction() as tx:
        club_id, ids = await common.write_club(tx, club.people, at(FIRST_MEETING), at)
        chair, vice, _ = ids[:3]
        written = 0
        for person in club.people:
            for number, r in enumerate(person.readings):
                measured = health.Reading(r.systolic, r.diastolic, r.pulse)
                await tx.add_reading(NewReading(
                    club_id=club_id, member_id=ids[person.index], measured_at=r.measured_at,
                    day=r.day, systolic=r.systolic, diastolic=r.diastolic, pulse=r.pulse,
                    weight_tenths=r.weight_tenths, grade=health.grade(measured),
                    high=health.is_high(measured, RULES),
                    urgent=health.is_crisis(measured, RULES), first_systolic=None,
                    first_diastolic=None, symptoms=(), place="meeting", recorded_by=vice,
                    key=f"bench-reading-{person.index}-{number}",
                ), r.measured_at)
                written += 1
    return Built(club_id, ids, chair, written)


# --- checking ----------------------------------------------------------------------------------


@dataclass
class Expected:
    """The board's lists, computed from the plan: member indexes."""

    missing: list[int]
    high: list[int]


def expected(club: Plan) -> Expected:
    """Who was not measured since the 1st of this month, and whose latest reading is high."""
    missing, high = [], []
    for person in club.people:
        latest = max(person.readings, key=lambda r: r.measured_at, default=None)
        if latest is None or latest.day < MONTH:
            missing.append(person.index)
        if latest is not None and latest.high:
            high.append(person.index)
    return Expected(missing, high)


def section(reply: str, heading: str) -> str:
    """The block of ``reply`` that starts with ``heading`` (up to the next blank line)."""
    start = reply.index(heading)
    end = reply.find("\n\n", start)
    return reply[start:] if end < 0 else reply[start:end]


class Replies:
    """The messages a service queued last (the chart spec is in their payload)."""

    def __init__(self, talker: Chair) -> None:
        self.items: list[Any] = []
        talker.service.storage.on_commit(outbox.OUTBOX, self.keep)

    def keep(self, items: list[Any]) -> None:
        self.items = items


async def check(
    storage: SQLiteStorage, club: Plan, built: Built, chair: Chair, member: Chair
) -> tuple[Expected, dict[str, Any]]:
    """The lists and the member's readings are right; returns the lists and the chart spec."""
    want = expected(club)
    ids = built.ids
    async with storage.transaction() as tx:
        everyone = await tx.club_health(built.club_id, MONTH)
    assert len(everyone) == MEMBERS, f"club_health lists {len(everyone)} members"
    got_missing = {h.member.id for h in everyone if not h.measured_since}
    got_high = {h.member.id for h in everyone if h.latest is not None and h.latest.high}
    assert got_missing == {ids[i] for i in want.missing}, "not measured: club_health differs"
    assert got_high == {ids[i] for i in want.high}, "high: club_health differs"

    asked = Replies(chair)
    await chair.say("/suckhoe")
    [item] = asked.items
    buttons = [(number, label) for number, label, _ in item.payload["buttons"]]
    assert (3, CLUB_CHOICE) in buttons, buttons  # on the text channel: type "3"
    reply = await chair.say("3")
    missing = section(reply, f"Tháng này chưa đo ({len(want.missing)}):")
    high = section(reply, f"Lần đo gần nhất bị cao ({len(want.high)}):")
    for index in want.missing:
        assert f"- {club.people[index].name} (" in missing, f"{club.people[index].name} missing"
    for index in want.high:
        assert f"- {club.people[index].name}: " in high, f"{club.people[index].name} not high"
    assert missing.count("\n- ") == len(want.missing) and high.count("\n- ") == len(want.high)

    shown = Replies(member)
    reply = await member.say("/suckhoe")
    person = club.people[club.chart_member]
    latest = person.readings[-1]
    assert "Các lần đo gần đây của bác:" in reply, reply[:300]
    assert f"{latest.day:%d/%m/%Y}: {latest.systolic}/{latest.diastolic}" in reply, reply
    [item] = shown.items
    spec = item.payload["chart"]
    assert spec is not None and len(spec["points"]) == CHARTED == len(person.readings)
    assert spec["points"][-1][:3] == [latest.day.isoformat(), latest.systolic, latest.diastolic]
    assert spec["points"][0][0] == person.readings[0].day.isoformat()
    return want, spec


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG picture."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


# --- measuring ---------------------------------------------------------------------------------


async def times_after(
    prepare: Callable[[], Awaitable[object]], work: Callable[[], Awaitable[object]], runs: int
) -> list[float]:
    """Like :func:`bench.fund.times`, with an untimed ``prepare`` before each call."""
    out = []
    for _ in range(runs + 1):  # the first is the warm-up
        await prepare()
        started = time.perf_counter()
        await work()
        out.append((time.perf_counter() - started) * 1000)
    return out[1:]


def import_ms() -> float:
    """Milliseconds to import what :func:`bot.charts.draw` imports, in a fresh interpreter."""
    code = ("import time; t = time.perf_counter(); import matplotlib; "
            "from matplotlib.figure import Figure; "
            "from matplotlib.backends.backend_agg import FigureCanvasAgg; "
            "from matplotlib import dates, ticker; print((time.perf_counter() - t) * 1000)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return float(done.stdout)


async def measure(
    storage: SQLiteStorage, built: Built, club: Plan, chair: Chair, member: Chair,
    spec: dict[str, Any], args: argparse.Namespace, facts: dict[str, Any],
) -> list[Timing]:
    """Time the queries, the two commands and the chart."""
    member_id = built.ids[club.chart_member]

    async def lists_query() -> None:
        async with storage.transaction() as tx:
            await tx.club_health(built.club_id, MONTH)

    async def readings_query() -> None:
        async with storage.transaction() as tx:
            found = await tx.get_member(member_id)
            assert found is not None
            chart(found, await tx.readings_of(member_id, CHARTED), await health.triage(tx))

    async def both() -> None:
        await chair.say("/suckhoe")
        await chair.say("3")

    counts = {}
    for name, work in (("club_health", lists_query), ("readings_of + spec", readings_query),
                       ("/suckhoe (chair)", lambda: chair.say("/suckhoe")),
                       ("pick the club (chair)", lambda: chair.say("3")),
                       ("/suckhoe (member)", lambda: member.say("/suckhoe"))):
        seen, stop = statements(storage)
        await work()
        stop()
        counts[name] = len(seen)
        if args.explain and name in ("club_health", "readings_of + spec"):
            print(f"query plans, {name}:")
            explain(storage, seen)
    facts["statements"] = counts

    timings = [
        Timing("club_health(club, since 1/11) alone", await times(lists_query, args.runs),
               TARGET_LIST_MS),
        Timing(f"board: pick '{CLUB_CHOICE}' via the service",
               await times_after(lambda: chair.say("/suckhoe"), lambda: chair.say("3"),
                                 args.runs), TARGET_LIST_MS),
        Timing("board: /suckhoe + the pick (two updates)", await times(both, args.runs)),
        Timing(f"member: readings_of({CHARTED}) + chart spec alone",
               await times(readings_query, args.runs)),
        Timing("member: /suckhoe via the service",
               await times(lambda: member.say("/suckhoe"), args.runs)),
    ]

    # The chart, in this process: the first call pays for importing matplotlib.
    facts["matplotlib_preloaded"] = "matplotlib" in sys.modules
    wall = time.time()
    started = time.perf_counter()
    png = charts.draw(spec)
    cold = (time.perf_counter() - started) * 1000
    import matplotlib

    facts["font_cache_built"] = any(
        path.stat().st_mtime >= wall
        for path in Path(matplotlib.get_cachedir()).glob("fontlist-*.json")
    )
    facts["matplotlib"] = matplotlib.__version__
    assert png_size(png) == (charts.WIDTH, charts.HEIGHT), png_size(png)
    facts["png_kib"] = len(png) / 1024
    facts["chart_points"] = len(spec["points"])
    facts["import_ms"] = import_ms()

    async def draw() -> None:
        charts.draw(spec)

    timings += [
        Timing(f"chart: draw {len(spec['points'])} points, first call (cold)", [cold]),
        Timing(f"chart: draw {len(spec['points'])} points, warm", await times(draw, args.runs),
               TARGET_CHART_MS),
    ]
    return timings


async def run(args: argparse.Namespace, workdir: Path) -> tuple[list[Timing], dict]:
    """Build, check and time; returns the timings and facts for the report."""
    facts: dict[str, Any] = {}
    path = workdir / "health.sqlite3"
    storage = SQLiteStorage(path)
    await storage.open()
    try:
        started = time.perf_counter()
        club = plan(random.Random(SEED))
        built = await build(storage, club)
        facts["build_s"] = time.perf_counter() - started
        facts["members"] = len(club.people)
        facts["late_joiners"] = LATE_JOINERS
        facts["hypertensive"] = sum(p.hypertensive for p in club.people)
        facts["readings"] = built.readings
        facts["with_pulse"] = sum(r.pulse is not None for p in club.people for r in p.readings)
        facts["with_weight"] = sum(
            r.weight_tenths is not None for p in club.people for r in p.readings
        )
        await link_chair(storage, built.chair_id, CHAIR_USER)
        await link_chair(storage, built.ids[club.chart_member], MEMBER_USER)
        chair, member = Chair(storage, CHAIR_USER), Chair(storage, MEMBER_USER)
        want, spec = await check(storage, club, built, chair, member)
        facts["not_measured"], facts["high"] = len(want.missing), len(want.high)
        facts["db_kib"] = sum(  # the WAL holds the pages until the next checkpoint
            file.stat().st_size / 1024 for file in (path, path.with_name(path.name + "-wal"))
            if file.exists()
        )
        print(f"club built in {facts['build_s']:.2f}s: {facts['members']} members, "
              f"{built.readings} readings; lists checked: {len(want.missing)} not measured "
              f"this month, {len(want.high)} high", flush=True)
        timings = await measure(storage, built, club, chair, member, spec, args, facts)
    finally:
        await storage.close()
    return timings, facts


def report(timings: list[Timing], facts: dict, runs: int, seconds: float) -> bool:
    """Print the figures; returns whether every target was met."""
    print()
    print(f"ishc-bot health benchmark (today {TODAY:%d/%m/%Y}, median and max of {runs} "
          f"run{'s' if runs != 1 else ''} after a warm-up, ms)")
    print(f"one club: {facts['members']} members ({facts['late_joiners']} joined during the "
          f"period, {facts['hypertensive']} hypertensive), {facts['readings']} readings at "
          f"monthly meetings {FIRST_MEETING:%m/%Y}-{LAST_MEETING:%m/%Y} ({facts['with_pulse']} "
          f"with pulse, {facts['with_weight']} with weight); built in {facts['build_s']:.2f}s,"
          f" {facts['db_kib']:.0f} KiB")
    print(f"board's lists: {facts['not_measured']} not measured this month, {facts['high']} "
          f"with a high last reading (checked against the generated data)")
    met = common.timing_table(timings)
    counts = facts["statements"]
    print("SQL statements: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    cache = "built by the first call" if facts["font_cache_built"] else "already there"
    if facts["matplotlib_preloaded"]:
        cache += "; matplotlib was imported before the first call (not cold)"
    print(f"chart: {facts['chart_points']} points, PNG {charts.WIDTH}x{charts.HEIGHT} "
          f"{facts['png_kib']:.1f} KiB; matplotlib {facts['matplotlib']}, importing it takes "
          f"{facts['import_ms']:.0f} ms in a fresh interpreter; font cache {cache}")
    print("notes: medians on a shared, noisy machine, database in the page cache; commands "
          "include the commit\n       (WAL, synchronous=FULL) and queueing the reply in the "
          "outbox, not sending it or drawing the chart.")
    common.footer(seconds, facts, timings)
    return met


def main(argv: list[str] | None = None) -> int:
    parser = common.parser("python -m bench.health", __doc__)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return asyncio.run(common.run_in_tempdir("health", args, run, report))


if __name__ == "__main__":
    sys.exit(main())
