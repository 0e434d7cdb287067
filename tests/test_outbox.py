"""Outbox delivery: order per chat, retries, drops, and nothing lost after a send failure."""

from __future__ import annotations

import asyncio
import time

from bot.outbox import Blocked, OutboxWorker, Rejected, RetryAfter
from bot.service import utcnow
from storage.sqlite import SQLiteStorage
from tests.harness import Clock


class Sender:
    channel = "test"
    rate = 1000.0
    chat_rate = 1000.0

    def __init__(self):
        self.sent: list[tuple[str, str]] = []
        self.failures: dict[str, list[Exception]] = {}

    async def send(self, chat_id, message):
        errors = self.failures.get(message.text)
        if errors:
            raise errors.pop(0)
        self.sent.append((chat_id, message.text))


async def setup(tmp_path, texts):
    storage = SQLiteStorage(tmp_path / "db.sqlite3")
    await storage.open()
    clock = Clock(utcnow())
    async with storage.transaction() as tx:
        for chat, text in texts:
            await tx.enqueue("test", chat, {"text": text}, clock())
    sender = Sender()
    return storage, clock, sender, OutboxWorker(storage, [sender], clock)


async def statuses(storage):
    async with storage.transaction() as tx:
        return [(i.payload["text"], i.status) for i in
                [await tx.get_outbox(n) for n in range(1, 10)] if i]


async def test_one_chat_waits_for_its_failed_reply_others_go_on(tmp_path):
    storage, clock, sender, worker = await setup(
        tmp_path, [("a", "a1"), ("a", "a2"), ("b", "b1"), ("a", "a3")]
    )
    try:
        sender.failures["a1"] = [TimeoutError("slow network")]
        await worker.drain()
        assert sender.sent == [("b", "b1")]
        clock.advance(seconds=1)
        await worker.drain()
        assert sender.sent == [("b", "b1"), ("a", "a1"), ("a", "a2"), ("a", "a3")]
        assert await statuses(storage) == [
            ("a1", "sent"), ("a2", "sent"), ("b1", "sent"), ("a3", "sent")
        ]
    finally:
        await worker.stop()
        await storage.close()


async def test_rejected_and_blocked_replies_are_dropped_and_the_chat_goes_on(tmp_path):
    storage, _clock, sender, worker = await setup(
        tmp_path, [("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")]
    )
    try:
        sender.failures["a1"] = [Rejected("message is too long")]
        sender.failures["b1"] = [Blocked("bot was blocked by the user")]
        await worker.drain()
        assert ("a", "a2") in sender.sent
        assert await statuses(storage) == [
            ("a1", "dropped"), ("a2", "sent"), ("b1", "dropped"), ("b2", "sent")
        ]
    finally:
        await worker.stop()
        await storage.close()


async def test_a_new_worker_sends_what_the_old_one_left(tmp_path):
    storage, clock, sender, worker = await setup(tmp_path, [("a", "a1"), ("a", "a2")])
    try:
        sender.failures["a1"] = [ConnectionError("down")]
        await worker.drain()
        await worker.stop()  # the process ends with a1 and a2 still pending
        fresh = Sender()
        clock.advance(seconds=5)
        second = OutboxWorker(storage, [fresh], clock)
        await second.drain()
        assert fresh.sent == [("a", "a1"), ("a", "a2")]
        await second.stop()
    finally:
        await storage.close()


async def test_a_channel_told_to_slow_down_does_not_hold_up_another(tmp_path):
    """A 429 pauses its own channel; the other channel's replies still go out meanwhile."""
    storage = SQLiteStorage(tmp_path / "db.sqlite3")
    await storage.open()
    clock = Clock(utcnow())
    slow, fast = Sender(), Sender()
    slow.channel, fast.channel = "slow", "fast"
    async with storage.transaction() as tx:
        for chat in ("s1", "s2", "s3", "s4"):
            await tx.enqueue("slow", chat, {"text": chat}, clock())
        await tx.enqueue("fast", "f", {"text": "f1"}, clock())
    for text in ("s1", "s2"):  # the first two sends are told to wait; the next two wait too
        slow.failures[text] = [RetryAfter(3.0)]
    worker = OutboxWorker(storage, [slow, fast], clock)
    running = asyncio.create_task(worker.run())
    try:
        started = time.monotonic()
        while not fast.sent and time.monotonic() - started < 2.5:
            await asyncio.sleep(0.01)
        assert fast.sent == [("f", "f1")], "the fast channel waited for the slow one's pause"
    finally:
        await worker.stop()
        await running
        await storage.close()
