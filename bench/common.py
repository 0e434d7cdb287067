"""What the database benchmarks share: their command line and their run in a temp folder."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clubs import create_club
from storage.base import NewMember

MEETING_DAY = 15  # the benchmark clubs meet on the 15th


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The options every database benchmark has: --runs, --strict, --explain, --keep."""
    made = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--runs", type=int, default=5, help="repetitions (default 5)")
    made.add_argument("--strict", action="store_true",
                      help="exit with status 2 when a target is missed")
    made.add_argument("--explain", action="store_true",
                      help="print the query plans of the timed queries")
    made.add_argument("--keep", action="store_true",
                      help="keep the temporary database and print where it is")
    return made


async def run_in_tempdir(
    name: str,
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, Path], Awaitable[tuple[Any, Any]]],
    report: Callable[[Any, Any, int, float], bool],
) -> int:
    """Run a benchmark in a fresh folder, report it, and return the exit status.

    Returns:
        0, or 1 when the generated data fails its checks, or 2 when a target is missed and
        ``--strict`` was given.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"ishc-bench-{name}-"))
    started = time.perf_counter()
    try:
        timings, facts = await run(args, workdir)
    except AssertionError as error:
        print(f"\nbenchmark FAILED: the data is not right: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    met = report(timings, facts, args.runs, time.perf_counter() - started)
    return 0 if met or not args.strict else 2


def rounded(value: object) -> object:
    """``value`` with floats rounded, for a short JSON line."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


async def write_club(
    tx: Any, people: Sequence[Any], founded: datetime, when: Callable[[Any], datetime]
) -> tuple[int, list[int]]:
    """Create a club and its members through the storage API; the first three are the board.

    Args:
        tx: An open transaction.
        people: Planned members (``name``, ``sex``, ``birth_year``, ``phone``, ``village``,
            ``household``, ``ethnicity``, ``index``, ``joined``).
        founded: When the club was created and the board's roles were given.
        when: Turns a planned day into the moment it happened.

    Returns:
        The club id and the member ids, in the order of ``people``.
    """
    info = await create_club(tx, name="CLB LTHTGN bản Lốc", commune="Thông Thụ",
                             district="Quế Phong", province="Nghệ An",
                             meeting_day=MEETING_DAY, now=founded)
    club_id = info["club_id"]
    ids: list[int] = []
    for person in people:
        member_id, _ = await tx.add_member(NewMember(
            club_id=club_id, full_name=person.name, sex=person.sex,
            birth_year=person.birth_year, birth_date=None, phone=person.phone,
            village=person.village, household=person.household,
            ethnicity=person.ethnicity, status="active", assisted_by=None,
            registration_key=f"bench-member-{person.index}",
        ), when(person.joined))
        ids.append(member_id)
    for member_id, role in zip(ids[:3], ("chair", "vice_chair", "treasurer"), strict=False):
        await tx.grant_role(member_id, role, None, founded)
    return club_id, ids


def timing_table(timings: Sequence[Any]) -> bool:
    """Print median and max (ms) of each timing with its target; whether all targets were met.

    A timing has ``label``, ``median``, ``worst``, ``target`` (or None) and ``ok``.
    """
    width = max(len(t.label) for t in timings) + 2
    print(f"{'':{width}}{'median':>9}{'max':>9}   target")
    met = True
    for timing in timings:
        if timing.target is None:
            verdict = ""
        else:
            verdict = f"< {timing.target:.0f} ms [{'ok' if timing.ok else 'MISSED'}]"
            met = met and bool(timing.ok)
        print(f"{timing.label:{width}}{timing.median:9.1f}{timing.worst:9.1f}   {verdict}")
    return met


def footer(seconds: float, facts: dict[str, Any], timings: Sequence[Any]) -> None:
    """The closing lines: total time and versions, then the figures as one JSON line."""
    print(f"total time {seconds:.1f}s, python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    data = {
        "facts": facts,
        "timings": {t.label: {"median_ms": round(t.median, 2), "max_ms": round(t.worst, 2),
                              "target_ms": t.target, "ok": t.ok} for t in timings},
    }
    print(json.dumps(rounded(data), ensure_ascii=False, separators=(",", ":")))


def replicate(
    path: Path,
    clubs: int,
    tables: Sequence[str],
    refs: dict[str, str],
    unique_keys: Sequence[str],
    no_id: Sequence[str] = ("member_roles", "installments"),
    always_null: Sequence[str] = (),
) -> dict[str, int]:
    """Copy club 1 (the only club in ``path``) to clubs 2..``clubs``, in one transaction.

    Every id is shifted by ``k`` times the largest id of its table, and so is every column
    named in ``refs`` (column -> the table it refers to); ``unique_keys`` get a ``c<club>:``
    prefix; ``always_null`` columns stay empty. Rows go in club by club and in their original
    order through the ordinary insert triggers, so the balance tables are what production
    would hold.

    Args:
        path: The database holding club 1 only.
        clubs: How many clubs there are afterwards.
        tables: The tables to copy, parents first.
        refs: Columns that hold another table's id.
        unique_keys: Columns that must stay unique.
        no_id: Tables without an ``id`` column.
        always_null: Columns the copies leave empty.

    Returns:
        Row counts of the copied tables and the balance tables afterwards.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A scratch database: no fsync, a big cache; the service sets WAL again on open.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-2000000")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=ON")
        [(others,)] = conn.execute("SELECT COUNT(*) FROM clubs WHERE id <> 1").fetchall()
        assert others == 0, "replicate() expects a database holding club 1 only"
        stride = {table: conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]
                  for table in tables if table not in no_id}
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE copies (k INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO copies VALUES (?)", [(k,) for k in range(1, clubs)])
        for table in tables:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            exprs = []
            for column in columns:
                if column == "id":
                    exprs.append(f"b.id + c.k * {stride[table]}")
                elif column in refs:
                    exprs.append(f"b.{column} + c.k * {stride[refs[column]]}")
                elif column in unique_keys:
                    exprs.append(f"'c' || (c.k + 1) || ':' || b.{column}")
                elif column in always_null:
                    exprs.append("NULL")
                elif table == "clubs" and column == "name":
                    exprs.append("b.name || ' ' || (c.k + 1)")
                else:
                    exprs.append(f"b.{column}")
            # A snapshot of club 1's rows in key order (so its rowids follow that order): the
            # copy reads it club after club, in order, without sorting.
            key = "loan_id, number" if table == "installments" else "1"
            conn.execute(f"CREATE TEMP TABLE base_{table} AS SELECT * FROM main.{table} "
                         f"ORDER BY {key}")
            conn.execute(
                f"INSERT INTO main.{table} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
                f"FROM copies c CROSS JOIN base_{table} b ORDER BY c.k, b.rowid"
            )
            conn.execute(f"DROP TABLE base_{table}")
        conn.execute("DROP TABLE copies")
        conn.execute("COMMIT")
        counts = {table: conn.execute(f"SELECT COUNT(*) FROM main.{table}").fetchone()[0]
                  for table in (*tables, "loan_balances", "fund_balances")}
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return counts
