"""Moving a SQLite database to PostgreSQL: ``ishc-bot db copy`` and ``db migrate``.

A club's five years (the golden reports' generator) are copied; every table's rows, every
balance and the monthly report's figures must come out the same on PostgreSQL, and a target
that already holds data is refused untouched.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import report
from storage import transfer
from storage.postgres import PostgresStorage, migrations
from storage.sqlite import SQLiteStorage
from tests import postgres
from tests.club_history import generate
from tests.test_storage_contract import pg_cluster

ROOT = Path(__file__).resolve().parent.parent
MONTHS = ("2023-09", "2024-06", "2025-08", "2026-10")
_names = itertools.count(1)


@pytest.fixture
async def club_file(tmp_path: Path) -> tuple[Path, int]:
    """A SQLite database holding one club's five years; its path and the club's id."""
    path = tmp_path / "province.sqlite3"
    storage = SQLiteStorage(path)
    await storage.open()
    history = await generate(storage, members=30, loans_per_year=8)
    await storage.close()
    return path, history.club_id


def empty_target() -> str:
    """A new, empty PostgreSQL database on the test cluster."""
    cluster = pg_cluster()
    return cluster.create_database(f"copy_{os.getpid()}_{next(_names)}")


async def figures(storage, club_id: int) -> dict[str, dict[str, int]]:
    async with storage.transaction() as tx:
        return {month: {f.key: f.value for f in await report.monthly(tx, club_id, month)}
                for month in MONTHS}


async def test_a_club_copied_to_postgres_has_every_row_balance_and_figure(club_file) -> None:
    path, club_id = club_file
    target = empty_target()
    copied = await transfer.copy(str(path), target)
    assert copied.rows["ledger"] > 100 and copied.rows["readings"] > 100
    assert copied.balances_checked["loan_balances"] > 0
    assert copied.balances_checked["fund_balances"] == 1

    source, moved = SQLiteStorage(path), PostgresStorage(target)
    await source.open()
    await moved.open()
    try:
        assert await figures(moved, club_id) == await figures(source, club_id)
        async with source.transaction() as a, moved.transaction() as b:
            assert await b.fund_summaries() == await a.fund_summaries()
            assert await b.list_members(club_id, ["active"]) == await a.list_members(
                club_id, ["active"])
            # New rows get new ids after the copied ones.
            club = await b.create_club("CLB mới", "", "", "Nghệ An", 10, copied_now())
            assert club.id == club_id + 1
    finally:
        await source.close()
        await moved.close()


def copied_now():
    from datetime import UTC, datetime

    return datetime(2026, 12, 1, tzinfo=UTC)


async def test_a_target_holding_data_is_refused_and_left_as_it_was(club_file) -> None:
    path, _ = club_file
    target = empty_target()
    await transfer.copy(str(path), target)
    before = pg_cluster().psql("SELECT count(*) FROM ledger", dbname=target.rsplit("/", 1)[1])
    with pytest.raises(transfer.CopyError, match="already holds data"):
        await transfer.copy(str(path), target)
    after = pg_cluster().psql("SELECT count(*) FROM ledger", dbname=target.rsplit("/", 1)[1])
    assert after == before


async def test_copy_refuses_a_missing_file_and_a_target_that_is_not_postgres(tmp_path) -> None:
    with pytest.raises(transfer.CopyError, match="no such database file"):
        await transfer.copy(str(tmp_path / "nothing.sqlite3"), empty_target())
    (tmp_path / "a.sqlite3").write_bytes(b"")
    with pytest.raises(transfer.CopyError, match="must be a postgresql://"):
        await transfer.copy(str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3"))


def cli(*argv: str, db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ISHC_DB": db, "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": ""}
    return subprocess.run([sys.executable, "-m", "bot", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_the_commands_migrate_and_copy(club_file) -> None:
    path, _ = club_file
    target = empty_target()
    done = cli("db", "migrate", "--json", db=target)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == migrations()[-1][0]
    done = cli("db", "copy", "--from", str(path), "--to", target, db=str(path))
    assert done.returncode == 0, done.stderr
    assert "balances equal" in done.stdout
    again = cli("db", "copy", "--from", str(path), "--to", target, db=str(path))
    assert again.returncode == 1 and "already holds data" in again.stderr
    refused = cli("backup", str(path.parent / "b.sqlite3"), db=target)
    assert refused.returncode == 2 and "pg_dump" in refused.stderr
    assert postgres.available() is None
