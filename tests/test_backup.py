"""Backups while the service writes, restoring one, the service's lock, and ``check``.

The fund is built through the storage API (as the ledger contract does); the commands run as
operators run them, ``python -m bot ...`` in a process of their own, and are judged by their
exit code and what they print.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import backup as backups
from bot.app import open_app
from bot.backup import BackupError, ServiceLock, ServiceRunning
from bot.config import Settings
from storage.sqlite import SQLiteStorage
from tests.test_ledger_contract import (
    MILLION,
    append,
    capital,
    club_with_members,
    contribution,
    give,
    new_loan,
    repayment,
    reverse,
)

ROOT = Path(__file__).resolve().parent.parent


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TELEGRAM_", "ZALO_"))}
    environment.update({"ISHC_DB": str(db), "PYTHONPATH": str(ROOT), "ISHC_REMINDERS": "0"})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environment,
        cwd=ROOT, timeout=120, check=False, stdin=subprocess.DEVNULL,
    )


def rows(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


def execute(db: Path, *statements: str) -> None:
    """Write under the storage layer (for breaking a database on purpose)."""
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


async def fund(storage: SQLiteStorage) -> dict[str, int]:
    """Two clubs with capital, contributions, loans, repayments and a reversal."""
    async with storage.transaction() as tx:
        club, (treasurer, borrower, saver) = await club_with_members(tx)
        other, (neighbour,) = await club_with_members(tx, 1, "CLB Tân Đức")
        await append(tx, capital(club, 20 * MILLION))
        await append(tx, capital(other, 5 * MILLION))
        await append(tx, contribution(club, saver, 300_000))
        wrong = await append(tx, contribution(club, saver, 250_000))
        await reverse(tx, wrong)
        loan = await give(tx, new_loan(club, borrower, 6 * MILLION))
        await append(tx, repayment(club, loan, borrower, 500_000, 60_000))
        paid = await append(tx, repayment(club, loan, borrower, 500_000, 55_000))
        await reverse(tx, paid)
        small = await give(tx, new_loan(other, neighbour, 2 * MILLION, term=6))
        await append(tx, repayment(other, small, neighbour, 2 * MILLION, 20_000))
        carried = await give(tx, new_loan(club, saver, 3 * MILLION, carried_over=True))
    return {"club": club, "other": other, "loan": loan, "small": small, "carried": carried,
            "treasurer": treasurer}


@pytest.fixture
async def live(tmp_path: Path):
    """An open database with a fund in it, as the running service holds it."""
    storage = SQLiteStorage(tmp_path / "data" / "ishc.sqlite3")
    await storage.open()
    try:
        ids = await fund(storage)
        yield storage, ids
    finally:
        await storage.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp")
                  or "-journal" in p.name)


# Backups


async def test_backup_of_the_live_database_is_consistent_and_checked(live, tmp_path):
    storage, ids = live
    db = Path(storage.path)
    assert Path(f"{db}-wal").stat().st_size > 0  # the fund is (partly) in the WAL still
    target = tmp_path / "backups" / "ishc-1.sqlite3"
    target.parent.mkdir()

    async with storage.transaction() as tx:  # a write in progress, not committed
        await append(tx, contribution(ids["club"], None, 999_000))
        summary = backups.backup(db, target)

    assert summary.path == str(target.resolve())
    assert (summary.members, summary.loans, summary.ledger_entries) == (4, 3, 12)
    assert summary.schema_version == backups.latest_schema()
    assert summary.bytes == target.stat().st_size
    assert rows(target, "SELECT count(*) FROM ledger WHERE cash = 999000") == [(0,)]
    assert rows(target, "PRAGMA journal_mode") == [("delete",)]  # one self-contained file
    assert target.stat().st_mode & 0o777 == 0o600  # it holds personal data
    assert leftovers(target.parent) == []
    assert cli(target, "check").returncode == 0


async def test_backup_starts_over_while_the_service_writes_then_finishes_in_one_step(
    live, tmp_path
):
    storage, _ = live
    db = Path(storage.path)
    writer = sqlite3.connect(db, isolation_level=None)
    steps: list[int] = []

    def meanwhile(remaining: int, total: int) -> None:
        steps.append(remaining)  # the service commits between every two steps
        writer.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"k{len(steps)}",))

    try:
        summary = backups.backup(db, tmp_path / "copy.sqlite3", step_pages=2,
                                 progress=meanwhile)
    finally:
        writer.close()
    assert len(steps) == backups.MAX_RESTARTS  # restarted, then copied in one step
    copied = rows(tmp_path / "copy.sqlite3", "SELECT count(*) FROM meta WHERE key LIKE 'k%'")
    assert copied == [(len(steps),)]  # every committed write, as of the final step
    assert summary.ledger_entries == 12


async def test_backup_refuses_to_overwrite_without_force(live, tmp_path):
    storage, _ = live
    db = Path(storage.path)
    target = tmp_path / "ishc.bak"
    target.write_bytes(b"an older backup")

    refused = cli(db, "backup", str(target))
    assert refused.returncode == 1
    assert f"{target} exists (add --force to replace it)" in refused.stderr
    assert target.read_bytes() == b"an older backup"

    done = cli(db, "backup", str(target), "--force", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == {"path", "bytes", "schema_version", "members", "loans",
                            "ledger_entries", "seconds"}
    assert summary["ledger_entries"] == 12 and summary["loans"] == 3
    assert leftovers(tmp_path) == []


async def test_backup_refuses_the_database_itself_and_a_database_in_use(live, tmp_path):
    storage, _ = live
    db = Path(storage.path)
    with pytest.raises(BackupError, match="is the database itself"):
        backups.backup(db, db, force=True)
    in_use = tmp_path / "other.sqlite3"
    in_use.write_bytes(b"")
    Path(f"{in_use}-wal").write_bytes(b"")
    with pytest.raises(BackupError, match=r"other.sqlite3-wal exists: .* in use, not a backup"):
        backups.backup(db, in_use, force=True)
    with pytest.raises(BackupError, match="does not exist"):
        backups.backup(db, tmp_path / "missing" / "x.sqlite3")
    with pytest.raises(BackupError, match="no database at"):
        backups.backup(tmp_path / "none.sqlite3", tmp_path / "x.sqlite3")


async def test_a_failed_backup_leaves_nothing_behind(live, tmp_path):
    storage, _ = live
    target = tmp_path / "half.sqlite3"

    def fail(remaining: int, total: int) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        backups.backup(storage.path, target, step_pages=1, progress=fail)
    assert not target.exists()
    assert leftovers(tmp_path) == []


# Restore and the service's lock


async def built(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A database with a fund, closed (the service is not running)."""
    storage = SQLiteStorage(tmp_path / "data" / "ishc.sqlite3")
    await storage.open()
    try:
        ids = await fund(storage)
    finally:
        await storage.close()
    return Path(storage.path), ids


def killed_mid_write(db: Path, key: str) -> None:
    """A process commits one more row and dies without closing: the row is only in the WAL."""
    code = ("import os, sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=WAL')\n"
            "c.execute(\"INSERT INTO meta (key, value) VALUES (?, 'after the backup')\", "
            "(sys.argv[2],))\n"
            "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(db), key], check=True, timeout=60)


async def test_restore_puts_the_backup_back_and_keeps_the_replaced_database(tmp_path):
    db, ids = await built(tmp_path)
    saved = tmp_path / "ishc.bak"
    assert cli(db, "backup", str(saved)).returncode == 0
    killed_mid_write(db, "later")
    assert Path(f"{db}-wal").stat().st_size > 0

    done = cli(db, "restore", str(saved), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    aside = Path(result["kept_aside"])
    assert aside.name.startswith("ishc.sqlite3.before-restore-") and aside.name.endswith("Z")
    assert result["kept_aside_how"] == "backup"
    assert (result["members"], result["loans"], result["ledger_entries"]) == (4, 3, 12)
    assert result["schema_version"] == result["code_schema_version"] == backups.latest_schema()

    # The replaced database was copied with what only its WAL held; that WAL is gone, so it
    # was not applied to the restored file.
    assert rows(aside, "SELECT value FROM meta WHERE key = 'later'") == [("after the backup",)]
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    assert rows(db, "SELECT value FROM meta WHERE key = 'later'") == []
    assert leftovers(db.parent) == []
    assert cli(db, "check").returncode == 0

    storage = SQLiteStorage(db)  # the service opens it as usual
    await storage.open()
    try:
        async with storage.transaction() as tx:
            loan = await tx.get_loan(ids["loan"])
            assert loan is not None and loan.outstanding == 5_500_000
    finally:
        await storage.close()


async def test_restore_onto_a_lost_database(tmp_path):
    db, _ = await built(tmp_path)
    saved = tmp_path / "ishc.bak"
    backups.backup(db, saved)
    new_home = tmp_path / "new-machine" / "ishc.sqlite3"
    result = backups.restore(saved, new_home)
    assert result.kept_aside is None and result.ledger_entries == 12
    assert cli(new_home, "check").returncode == 0


async def test_restore_refuses_while_the_service_runs_and_two_services_cannot(tmp_path):
    db, _ = await built(tmp_path)
    saved = tmp_path / "ishc.bak"
    backups.backup(db, saved)

    async with open_app(Settings(db=str(db), reminders=False), []):
        refused = cli(db, "restore", str(saved))
        assert refused.returncode == 1
        assert f"another process is using {db}" in refused.stderr
        assert "is the service running?" in refused.stderr
        second = cli(db, "run")
        assert second.returncode == 1
        assert "two services must never share one database file" in second.stderr
        with pytest.raises(ServiceRunning):
            ServiceLock(db).acquire()
        assert backups.service_running(db)
    assert not [p.name for p in db.parent.iterdir() if "before-restore" in p.name]
    assert not backups.service_running(db)  # released when the app closed
    assert cli(db, "restore", str(saved)).returncode == 0


async def test_restore_refuses_a_bad_backup_and_changes_nothing(tmp_path):
    db, _ = await built(tmp_path)
    saved = tmp_path / "ishc.bak"
    backups.backup(db, saved)
    before = db.read_bytes()

    newer = tmp_path / "newer.bak"
    backups.backup(db, newer)
    execute(newer, "PRAGMA user_version = 999")
    refused = cli(db, "restore", str(newer))
    assert refused.returncode == 1
    assert f"has schema version 999, newer than this code's {backups.latest_schema()}" in (
        refused.stderr)

    broken = tmp_path / "broken.bak"
    data = bytearray(saved.read_bytes())
    page = 4096
    root = rows(saved, "SELECT rootpage FROM sqlite_master WHERE name = 'ledger'")[0][0]
    data[(root - 1) * page:(root - 1) * page + 64] = b"\xde\xad\xbe\xef" * 16
    broken.write_bytes(bytes(data))
    refused = cli(db, "restore", str(broken))
    assert refused.returncode == 1 and "failed its integrity check" in refused.stderr

    text = tmp_path / "notes.txt"
    text.write_text("not a database at all " * 100)
    refused = cli(db, "restore", str(text))
    assert refused.returncode == 1 and "notes.txt" in refused.stderr

    refused = cli(db, "restore", str(tmp_path / "missing.bak"))
    assert refused.returncode == 1 and "no backup at" in refused.stderr

    assert db.read_bytes() == before
    assert not [p.name for p in db.parent.iterdir() if "before-restore" in p.name]
    assert leftovers(db.parent) == []
