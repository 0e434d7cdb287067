"""Tasks one process runs for all (pollers, the reminder scan, the sweeper, escalations).

Several service processes may share one PostgreSQL database: each such task runs in exactly
one of them, the leader, chosen by a session advisory lock; the others stand by and one takes
over within seconds when the leader dies. On SQLite (one service per file) it always runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import supervisor as supervision
from bot.supervisor import Supervisor
from storage.sqlite import SQLiteStorage
from tests.test_storage_contract import FreshPostgres


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch):
    monkeypatch.setattr(supervision, "LEAD_EVERY", 0.02)


async def test_a_led_task_runs_only_while_this_process_leads(monkeypatch) -> None:
    leading = False
    runs: list[str] = []

    async def lead(name: str) -> bool:
        assert name == "reminders"
        return leading

    async def work(beat) -> None:
        runs.append("started")
        try:
            while True:
                beat()
                await asyncio.sleep(0.01)
        finally:
            runs.append("stopped")

    supervisor = Supervisor()
    supervisor.loop("reminders", work, lead=lead)
    task = supervisor.tasks["reminders"]
    await asyncio.sleep(0.1)
    assert runs == []  # standing by
    assert task.last_ok is not None  # and healthy meanwhile
    leading = True
    await asyncio.sleep(0.1)
    assert runs == ["started"]
    leading = False  # another process took it (this one lost its connection)
    await asyncio.sleep(0.1)
    assert runs == ["started", "stopped"]
    leading = True
    await asyncio.sleep(0.1)
    assert runs == ["started", "stopped", "started"]
    await supervisor.stop()
    assert runs[-1] == "stopped"


async def test_not_knowing_whether_it_leads_stops_the_work_and_is_retried() -> None:
    answers = iter([True, True, RuntimeError("database gone"), True])
    runs: list[str] = []

    async def lead(name: str) -> bool:
        answer = next(answers, True)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def work(beat) -> None:
        runs.append("started")
        beat()
        try:
            await asyncio.Event().wait()
        finally:
            runs.append("stopped")

    supervisor = Supervisor(max_backoff=0.05)
    supervisor.loop("sweeper", work, lead=lead)
    await asyncio.sleep(0.3)
    await supervisor.stop()
    assert runs[:3] == ["started", "stopped", "started"]
    assert supervisor.tasks["sweeper"].failures == 0  # worked again after the failure


async def test_postgres_one_process_leads_each_task_and_another_takes_over(
    tmp_path: Path,
) -> None:
    first, second = FreshPostgres(tmp_path), FreshPostgres(tmp_path)  # one database
    await first.open()
    await second.open()
    try:
        assert await first.lead("telegram_poller")
        assert not await second.lead("telegram_poller")
        assert await first.lead("telegram_poller")  # it keeps it while it lives
        assert await second.lead("reminders")  # tasks are led one by one
        assert not await first.lead("reminders")
        await first.close()  # the leader dies: its connection and its lock go
        assert await second.lead("telegram_poller")
    finally:
        await first.close()
        await second.close()


async def test_sqlite_always_leads(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bot.sqlite3")
    await storage.open()
    try:
        assert await storage.lead("telegram_poller") and await storage.lead("reminders")
    finally:
        await storage.close()


async def test_postgres_counts_the_processes_that_share_the_database(tmp_path: Path) -> None:
    first, second, third = (FreshPostgres(tmp_path) for _ in range(3))  # one database
    for storage in (first, second, third):
        await storage.open()
    try:
        assert await first.peers() == 1  # the others have not said they are here yet
        assert await second.peers() == 2
        assert await third.peers() == 3
        assert await first.peers() == 3
        await second.close()  # a process dies: its presence goes with its connection
        assert await first.peers() == 2
        assert await third.peers() == 2
    finally:
        for storage in (first, second, third):
            await storage.close()


async def test_sqlite_is_one_process(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bot.sqlite3")
    await storage.open()
    try:
        assert await storage.peers() == 1
    finally:
        await storage.close()


async def test_postgres_leading_many_bots_pollers_costs_one_connection(tmp_path: Path) -> None:
    storage, watcher = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await storage.open()
    await watcher.open()

    async def connections() -> int:
        async with watcher.transaction() as tx:
            row = await tx._one("SELECT count(*) AS n FROM pg_stat_activity"
                                " WHERE datname = current_database()")
        return row["n"]

    try:
        await storage.peers()
        before = await connections()
        for n in range(34):  # one poller per province's bot
            assert await storage.lead(f"telegram:p{n:02}_poller")
        assert await connections() == before
        assert not await watcher.lead("telegram:p07_poller")
    finally:
        await storage.close()
        await watcher.close()
