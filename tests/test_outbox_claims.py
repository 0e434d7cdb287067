"""Several service processes on one PostgreSQL database: each message is sent once.

A process sends what it queued: the message is claimed by it (``claimed_by``) until its
lease lapses, renewed by each scan while the process lives. Another process's scan skips it,
and takes it over only once the claim has lapsed, when its process died.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.messages import Chat, Reply, T
from bot.outbox import OutboxWorker, queue
from storage.sqlite import SQLiteStorage
from tests.test_storage_contract import FreshPostgres

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


class Recorder:
    """A text channel that writes down what it sends."""

    channel = "text"
    rate = 1000.0
    chat_rate = 1000.0

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat_id: str, message) -> None:
        self.sent.append((chat_id, message.text))


async def queue_replies(storage, count: int, now: datetime, prefix: str) -> list[int]:
    async with storage.transaction() as tx:
        ids = []
        for n in range(count):
            items = await queue(tx, ("text", f"{prefix}{n}", "vi"),
                                [Reply((T("Xin chào"),))], now)
            ids += [item.id for item in items]
    return ids


async def test_a_process_takes_only_its_own_messages_until_the_other_ones_claim_lapses(
    tmp_path: Path,
) -> None:
    one, two = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await one.open()
    await two.open()
    try:
        mine = await queue_replies(one, 3, NOW, "a")
        async with two.transaction() as tx:
            assert await tx.pending_outbox(10, NOW) == []  # the other process's, alive
        async with one.transaction() as tx:
            assert [i.id for i in await tx.pending_outbox(10, NOW)] == mine
            await tx.renew_claims(NOW + timedelta(seconds=50))
        async with two.transaction() as tx:  # renewed: still the first one's at 70 s
            assert await tx.pending_outbox(10, NOW + timedelta(seconds=70)) == []
        later = NOW + timedelta(minutes=3)  # the first process died: its claims lapsed
        async with two.transaction() as tx:
            assert [i.id for i in await tx.pending_outbox(10, later)] == mine
        async with one.transaction() as tx:  # now the second one's
            assert await tx.pending_outbox(10, later) == []
    finally:
        await one.close()
        await two.close()


async def test_two_workers_send_each_message_once_and_a_dead_ones_messages_still_go(
    tmp_path: Path,
) -> None:
    one, two = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await one.open()
    await two.open()
    first, second = Recorder(), Recorder()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    workers = [OutboxWorker(one, [first], clock, scan_every=0.05),
               OutboxWorker(two, [second], clock, scan_every=0.05)]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await queue_replies(one, 20, clock(), "a")
        await queue_replies(two, 20, clock(), "b")
        await asyncio.sleep(1.0)
        assert sorted(first.sent) == sorted((f"a{n}", "Xin chào") for n in range(20))
        assert sorted(second.sent) == sorted((f"b{n}", "Xin chào") for n in range(20))

        # The first process dies with messages it queued and never sent.
        await workers[0].stop()
        running[0].cancel()
        one.claim_lease = timedelta(seconds=0.5)
        await queue_replies(one, 5, clock(), "c")
        await one.close()
        for _ in range(100):
            if len(second.sent) == 25:
                break
            await asyncio.sleep(0.05)
        assert sorted(chat for chat, _ in second.sent if chat.startswith("c")) == [
            f"c{n}" for n in range(5)]
        assert len(first.sent) + len(second.sent) == 45  # nothing twice
    finally:
        for worker in workers:
            await worker.stop()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await one.close()
        await two.close()


async def test_sqlite_never_claims(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "bot.sqlite3")
    await storage.open()
    try:
        ids = await queue_replies(storage, 2, NOW, "a")
        async with storage.transaction() as tx:
            await tx.renew_claims(NOW)
            assert [i.id for i in await tx.pending_outbox(10, NOW)] == ids
            rows = await tx._all("SELECT claimed_by, claimed_until FROM outbox")
        assert [tuple(row) for row in rows] == [(None, None), (None, None)]
    finally:
        await storage.close()


async def test_an_export_is_built_by_the_process_asked_unless_it_died(tmp_path: Path) -> None:
    one, two = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await one.open()
    await two.open()
    try:
        async with one.transaction() as tx:
            job = await tx.add_export("report", {"month": "2026-11"}, None,
                                      ("text", "c1", "vi"), NOW)
        async with two.transaction() as tx:
            assert await tx.unfinished_exports(NOW) == []  # the first process builds it
            await tx.renew_claims(NOW)
        async with one.transaction() as tx:
            assert await tx.unfinished_exports(NOW) == [job]
        async with two.transaction() as tx:  # the first process died: its claim lapsed
            assert await tx.unfinished_exports(NOW + timedelta(minutes=2)) == [job]
    finally:
        await one.close()
        await two.close()


async def test_processes_split_each_bots_rate_budget_and_take_back_a_dead_ones_share(
    tmp_path: Path,
) -> None:
    one, two = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await one.open()
    await two.open()
    sender = Recorder()
    sender.rate = 30.0
    worker = OutboxWorker(one, [sender], lambda: NOW)
    try:
        await two.peers()  # the second process is here
        await worker.scan()
        assert worker.peers == 2
        assert worker._global["text"].rate == 15.0  # half of the bot's 30 messages/s
        await two.close()  # it dies
        await worker.scan()
        assert worker._global["text"].rate == 30.0
    finally:
        await one.close()
        await two.close()


async def test_reminders_queued_by_one_process_are_sent_by_every_process_once(
    tmp_path: Path,
) -> None:
    one, two = FreshPostgres(tmp_path), FreshPostgres(tmp_path)
    await one.open()
    await two.open()
    first, second = Recorder(), Recorder()
    first.rate = second.rate = 20.0  # slow enough that both processes get a share
    clock = lambda: datetime.now(UTC)  # noqa: E731
    assert await one.peers() == 1 and await two.peers() == 2  # both are here
    workers = [OutboxWorker(one, [first], clock, scan_every=0.05),
               OutboxWorker(two, [second], clock, scan_every=0.05)]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        now = clock()
        async with one.transaction() as tx:  # the reminder scan's leader queues them all
            for n in range(60):
                await queue(tx, None, [Reply((T("Nhắc họp"),), to=Chat("text", f"m{n}", "vi"))],
                            now, not_before=now, expires_at=now + timedelta(hours=1))
            rows = await tx._all("SELECT claimed_by FROM outbox")
        assert {row["claimed_by"] for row in rows} == {None}  # for whoever scans first
        for _ in range(200):
            if len(first.sent) + len(second.sent) >= 60:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        sent = sorted(first.sent + second.sent)
        assert sent == sorted((f"m{n}", "Nhắc họp") for n in range(60))  # each exactly once
        assert first.sent and second.sent  # both processes sent a share
    finally:
        for worker in workers:
            await worker.stop()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await one.close()
        await two.close()
