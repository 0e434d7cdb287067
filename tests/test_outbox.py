"""Outbox delivery: order per chat, retries, drops, and nothing lost after a send failure."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


# Promises (reminders and digests) ------------------------------------------------------------

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT = datetime(2026, 12, 13, 23, 0, tzinfo=VN)  # in the quiet hours (21:00-06:30)
MORNING = datetime(2026, 12, 14, 6, 30, tzinfo=VN)


async def night(tmp_path, queued):
    """The outbox at 23:00 club time with ``queued``: (chat, text, promise keywords)."""
    storage = SQLiteStorage(tmp_path / "db.sqlite3")
    await storage.open()
    clock = Clock(NIGHT.astimezone(UTC))
    ids = {}
    async with storage.transaction() as tx:
        for chat, text, promise in queued:
            ids[text] = await tx.enqueue("test", chat, {"text": text}, clock(), **promise)
    sender = Sender()
    return storage, clock, sender, OutboxWorker(storage, [sender], clock), ids


async def rows(storage, ids):
    async with storage.transaction() as tx:
        found = [await tx.get_outbox(n) for n in ids.values()]
    return {i.payload["text"]: (i.status, i.attempts, i.next_attempt_at) for i in found}


async def test_a_postponed_reminder_does_not_hold_up_the_replies_after_it(tmp_path):
    later = {"quiet": True, "expires_at": MORNING + timedelta(days=1)}
    storage, clock, sender, worker, ids = await night(tmp_path, [
        ("a", "reminder", later),  # due now, but 23:00 is in the quiet hours
        ("a", "a1", {}), ("b", "b1", {}), ("a", "a2", {}),
    ])
    try:
        await worker.drain()
        assert [text for chat, text in sender.sent if chat == "a"] == ["a1", "a2"]
        assert ("b", "b1") in sender.sent
        status = await rows(storage, ids)
        assert status["reminder"] == ("pending", 0, MORNING.astimezone(UTC))  # not an attempt
        # The person writes again in the night: the answer goes at once.
        async with storage.transaction() as tx:
            ids["a3"] = await tx.enqueue("test", "a", {"text": "a3"}, clock())
        worker.submit([await get(storage, ids["a3"])])
        await worker.drain()
        assert sender.sent[-1] == ("a", "a3")
        clock.now = MORNING.astimezone(UTC) - timedelta(minutes=1)
        await worker.drain()
        assert "reminder" not in [text for _, text in sender.sent]
        clock.now = MORNING.astimezone(UTC)
        await worker.drain()
        assert sender.sent[-1] == ("a", "reminder")
        assert (await rows(storage, ids))["reminder"][:2] == ("sent", 1)
    finally:
        await worker.stop()
        await storage.close()


async def test_replies_keep_their_order_while_a_failed_reminder_waits_aside(tmp_path):
    soon = {"expires_at": MORNING, "not_before": NIGHT - timedelta(hours=3)}
    storage, clock, sender, worker, ids = await night(tmp_path, [
        ("a", "reminder", soon), ("a", "a1", {}), ("a", "a2", {}), ("a", "a3", {}),
    ])
    try:
        sender.failures["reminder"] = [TimeoutError("slow network")]
        sender.failures["a2"] = [TimeoutError("slow network")]
        await worker.drain()
        # The reminder's failure holds up nobody; a2's holds up a3, never reordered.
        assert sender.sent == [("a", "a1")]
        clock.advance(seconds=2)
        await worker.drain()
        assert [text for _, text in sender.sent] == ["a1", "a2", "a3", "reminder"]
        assert (await rows(storage, ids))["reminder"][:2] == ("sent", 2)
    finally:
        await worker.stop()
        await storage.close()


async def test_a_restarted_sender_finds_a_reply_behind_many_waiting_reminders(tmp_path):
    morning = {"not_before": MORNING.astimezone(UTC), "quiet": True}
    queued = [("a", f"r{n}", morning) for n in range(1200)] + [("a", "answer", {})]
    storage, _clock, sender, worker, _ids = await night(tmp_path, queued)
    try:
        await worker.scan()  # 1,000 at a time: the reminders for the morning are not among them
        await worker.drain()
        assert sender.sent == [("a", "answer")]
    finally:
        await worker.stop()
        await storage.close()


async def test_expired_and_unconfirmed_promises_are_never_sent(tmp_path):
    storage, clock, sender, worker, ids = await night(tmp_path, [
        ("a", "past", {"expires_at": NIGHT - timedelta(minutes=1)}),
        ("a", "night", {"quiet": True, "expires_at": MORNING}),  # quiet until it expires
        ("a", "unknown", {"guard": {"kind": "nobody-checks-this"}}),
        ("a", "reply", {}),
    ])
    try:
        await worker.drain()
        assert sender.sent == [("a", "reply")]
        async with storage.transaction() as tx:
            found = {t: await tx.get_outbox(n) for t, n in ids.items()}
        assert {t: i.status for t, i in found.items()} == {
            "past": "expired", "night": "expired", "unknown": "expired", "reply": "sent"}
        assert found["past"].attempts == 0
        clock.now = MORNING.astimezone(UTC)
        await worker.drain()
        assert sender.sent == [("a", "reply")]
    finally:
        await worker.stop()
        await storage.close()


async def get(storage, item_id):
    async with storage.transaction() as tx:
        return await tx.get_outbox(item_id)


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
