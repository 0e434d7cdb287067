"""The demo club of the local chat has a history, so every command shows something real on
the first run, and its ledger is sound (``ishc-bot check`` passes)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import dbcheck, report
from bot.demo import seed
from storage.sqlite import SQLiteStorage
from tests.test_cli import run

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Saturday 05/12/2026, 09:00 in Vietnam


async def test_the_demo_club_has_cash_loans_clients_readings_and_a_meeting(tmp_path):
    db = tmp_path / "demo.sqlite3"
    storage = SQLiteStorage(str(db))
    await storage.open()
    try:
        code = await seed(storage, NOW)
        assert code is not None and await seed(storage, NOW) == code  # seeded once
        async with storage.transaction() as tx:
            [club] = [c for c, _ in await tx.list_clubs()]
            [fund] = await tx.fund_summaries([club.id])
            november = {f.key: f.value for f in await report.monthly(tx, club.id, "2026-11")}
            december = {f.key: f.value for f in await report.monthly(
                tx, club.id, "2026-12", today=NOW.date())}
    finally:
        await storage.close()
    # 30.000.000 capital - 8.000.000 lent + 1.800.000 principal and 82.500 interest repaid
    # + 360.000 contributions (three members, six meetings).
    assert fund.cash == 24_242_500
    assert november["members"] == 7 and november["borrowers"] == 2
    assert november["outstanding"] == 6_200_000  # 3.500.000 (Hoa) + 2.700.000 (Hùng)
    # Hùng paid only his first instalment (15/10); the one of 15/11 is late.
    assert (november["overdue_loans"], november["overdue_amount"]) == (1, 313_500)
    assert (november["clients"], november["volunteers"], november["visits"]) == (2, 1, 3)
    # Xuân's last visit was on 13/11; Pao's on 19/11, then 01/12.
    assert november["clients_unvisited"] == 1 and december["clients_unvisited"] == 1
    assert (november["measured"], november["measured_high"]) == (6, 2)
    assert (november["meetings"], november["attended"]) == (1, 5)
    report_check = dbcheck.check(str(db))
    assert report_check.ok, report_check.problems
    assert (report_check.loans, report_check.ledger_entries) == (2, 25)


def test_every_command_shows_something_on_the_first_run(tmp_path):
    db = tmp_path / "demo.sqlite3"
    lines = ["/as treasurer", "/giaingan", "/huy", "/quahan", "/as volunteer", "/thamnom",
             "/huy", "/as member", "/vay", "/as chair", "/diemdanh", "/huy"]
    done = run(["run"], db, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Ai vay ạ?" in out and "Quỹ chỉ còn" not in out  # /giaingan goes on
    assert "1. Vi Văn Hùng: 313.500" in out  # /quahan
    assert "1. Lò Văn Pao (1941, Bản Lốc)\n    2. Lương Thị Xuân (1944, Bản Lốc)" in out
    assert "Khoản vay 1: 5.000.000" in out  # the member's own loan
    assert "Buổi này đã điểm danh rồi (có mặt" in out
    checked = run(["check"], db)
    assert checked.returncode == 0 and ": ok (" in checked.stdout, checked.stdout
