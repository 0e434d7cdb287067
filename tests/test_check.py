"""``ishc-bot check``: a sound fund passes; a database broken on purpose fails, saying where.

The breakage goes under the storage layer, as a bug or a hand edit would: a balance row
changed, a trigger dropped before an entry is written, a CHECK constraint ignored, bytes of
a copy overwritten. Each is judged by the command's exit code and what it prints.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot import backup as backups
from bot import dbcheck
from storage.sqlite import SQLiteStorage, migrations
from tests.test_backup import built, cli, execute, fund, rows
from tests.test_ledger_contract import (
    MILLION,
    append,
    capital,
    club_with_members,
    give,
    new_loan,
    reverse,
)


async def test_a_sound_fund_passes(tmp_path):
    db, _ = await built(tmp_path)
    done = cli(db, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == (f"{db}: ok (schema {backups.latest_schema()}, code "
                                   f"{backups.latest_schema()}; 3 loan(s), 12 ledger entries)")
    report = json.loads(cli(db, "check", "--json").stdout)
    assert report["ok"] is True and report["problems"] == [] and report["warnings"] == []
    assert (report["loans"], report["clubs_with_entries"], report["ledger_entries"]) == (3, 2, 12)


async def test_check_reads_the_live_database_while_it_is_written(tmp_path):
    storage = SQLiteStorage(tmp_path / "ishc.sqlite3")
    await storage.open()
    try:
        await fund(storage)
        async with storage.transaction() as tx:  # a write under way does not disturb it
            club, _ = await club_with_members(tx, 0, "CLB Mới")
            await append(tx, capital(club, MILLION))
            report = dbcheck.check(storage.path)
    finally:
        await storage.close()
    assert report.ok, report.problems
    assert report.ledger_entries == 12  # the snapshot before the uncommitted entry


async def test_a_changed_loan_balance_fails_with_the_loan_and_both_amounts(tmp_path):
    db, ids = await built(tmp_path)
    execute(db, f"UPDATE loan_balances SET outstanding = outstanding - 100000, "
                f"interest_paid = 0 WHERE loan_id = {ids['loan']}")
    done = cli(db, "check")
    assert done.returncode == 1
    club, loan = ids["club"], ids["loan"]
    assert done.stdout.splitlines()[:2] == [
        f"FAILED loan_balance: loan {loan} (club {club}): outstanding expected 5500000 (from "
        "the ledger), found 5400000",
        f"FAILED loan_balance: loan {loan} (club {club}): interest_paid expected 60000 (from "
        "the ledger), found 0",
    ]
    latest = migrations()[-1][0]
    assert done.stdout.splitlines()[-1].endswith(f"2 failure(s) (schema {latest}, code {latest}; "
                                                 "3 loan(s), 12 ledger entries)")
    problems = json.loads(cli(db, "check", "--json").stdout)["problems"]
    assert problems[0] == {
        "check": "loan_balance", "club_id": club, "loan_id": loan, "column": "outstanding",
        "expected": 5_500_000, "found": 5_400_000,
        "message": f"loan {loan} (club {club}): outstanding expected 5500000 (from the "
                   "ledger), found 5400000",
    }


async def test_an_entry_written_without_its_trigger_fails_on_the_fund_and_the_schema(tmp_path):
    db, ids = await built(tmp_path)
    club = ids["club"]
    execute(
        db,
        "DROP TRIGGER ledger_fund_balance",
        "INSERT INTO ledger (club_id, kind, cash, day, idempotency_key, created_at) "
        f"VALUES ({club}, 'contribution', 100000, '2026-11-28', 'by-hand', "
        "'2026-11-28T02:00:00+00:00')",
    )
    done = cli(db, "check")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "FAILED schema: trigger ledger_fund_balance is missing" in lines
    assert (f"FAILED fund_balance: club {club}: cash expected 14960000 (from the ledger), "
            "found 14860000") in lines
    assert (f"FAILED fund_balance: club {club}: contributions expected 400000 (from the "
            "ledger), found 300000") in lines
    assert not any("loan_balance" in line for line in lines)


async def test_a_negative_loan_balance_fails_and_negative_cash_is_a_warning(tmp_path):
    db, ids = await built(tmp_path)
    execute(db, "PRAGMA ignore_check_constraints = ON",
            f"UPDATE loan_balances SET outstanding = -5 WHERE loan_id = {ids['small']}")
    done = cli(db, "check")
    assert done.returncode == 1
    assert (f"FAILED negative: loan {ids['small']} (club {ids['other']}): outstanding is "
            "negative (-5)") in done.stdout.splitlines()

    # Cash below zero is what the schema allows: capital counted, lent out, then reversed.
    storage = SQLiteStorage(tmp_path / "cash.sqlite3")
    await storage.open()
    try:
        async with storage.transaction() as tx:
            club, (member,) = await club_with_members(tx, 1)
            seed = await append(tx, capital(club, MILLION))
            await give(tx, new_loan(club, member, MILLION))
            await reverse(tx, seed)
    finally:
        await storage.close()
    done = cli(Path(storage.path), "check")
    assert done.returncode == 0, done.stdout
    assert f"warning negative: club {club}: cash is negative (-1000000)" in done.stdout


async def test_corrupt_bytes_in_a_copy_fail_the_integrity_check(tmp_path):
    db, _ = await built(tmp_path)
    copy = tmp_path / "copy.sqlite3"
    backups.backup(db, copy)
    page = rows(copy, "PRAGMA page_size")[0][0]
    root = rows(copy, "SELECT rootpage FROM sqlite_master WHERE name = 'ledger'")[0][0]
    with copy.open("r+b") as file:
        file.seek((root - 1) * page)
        file.write(b"\xde\xad\xbe\xef" * 16)
    done = cli(copy, "check")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0].startswith("FAILED integrity: ")
    assert "malformed" in done.stdout
    assert cli(db, "check").returncode == 0  # the original is untouched

    missing = cli(tmp_path / "nothing.sqlite3", "check")
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "nothing.sqlite3").exists()  # check never creates a database
