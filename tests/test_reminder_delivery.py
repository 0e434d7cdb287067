"""Reminders delivered through the fake Telegram Bot API while it enforces a flood limit.

The issue: "Against the fake Telegram server enforcing the limits (429s with retry_after):
5,000 reminders delivered, each exactly once, none lost". Clubs and members with Telegram
accounts are written straight through the storage API; every club meets on the 15th at
08:00 and the scan runs on 13/12/2026 at 08:00 (club time), when the reminder two days ahead
is due. The health reminder is moved to the day before the meeting (a setting), so the
meeting reminder is the only one due: one message per member.

The fake accepts at most ``LIMIT`` messages in any one-second span and answers 429 with
``retry_after`` beyond it; the bot's overall rate is set well above it, so it does run into
the limit and must honour the answers. The production figures (30/s) are measured by
``python -m bench.reminders``; here the limit is ten times higher to keep the test short.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import reminders
from bot.config import Settings as BotSettings
from bot.conversations.registry import FLOWS
from bot.engine import Engine
from bot.handlers.telegram import TelegramChannel
from bot.outbox import OutboxWorker
from bot.reminders import SETTINGS_KEY, Settings
from bot.service import Service
from storage.base import NewMember
from storage.sqlite import SQLiteStorage
from tests.fake_telegram import FakeTelegram

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MOMENT = datetime(2026, 12, 13, 8, 0, tzinfo=VN).astimezone(UTC)  # two days before the 15th
MEETING = "Nhắc lịch: câu lạc bộ họp"
FIRST_USER = 20_000_000
MEMBERS = 5_000
CLUBS = 100
LIMIT = 300  # messages per second the fake accepts
BOT_RATE = 1_000.0  # the bot's overall rate, above the limit on purpose
CONCURRENCY = 2  # sends in flight (OutboxWorker's default, as bot/app.py runs it)
DELIVERY_TIMEOUT = 120.0
PLAN_RATE = 1e6  # the scan's plan a microsecond apart: the burst the fake's limit must hold


class RunningClock:
    """Club time that starts at ``start`` and runs as real time does.

    The outbox schedules a retry at ``clock() + retry_after``; with a clock that stood still
    the retried message would never come due.
    """

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


async def add_clubs(
    storage: SQLiteStorage, sizes: list[int], first_user: int = FIRST_USER,
    now: datetime = MOMENT - timedelta(days=30), meeting_day: int = 15,
) -> dict[int, int]:
    """Clubs meeting on ``meeting_day`` with ``sizes[i]`` active members, each on Telegram.

    Written through the storage API in one transaction (no conversation, no invite).

    Returns:
        Each member's Telegram chat id -> their club id.
    """
    chats: dict[int, int] = {}
    user = first_user
    async with storage.transaction() as tx:
        for number, size in enumerate(sizes, 1):
            club = await tx.create_club(f"CLB LTHTGN số {number}", "Thông Thụ", "Quế Phong",
                                        "Nghệ An", meeting_day, now)
            for index in range(size):
                member_id, _ = await tx.add_member(NewMember(
                    club_id=club.id, full_name=f"Thành viên {number}-{index}", sex="female",
                    birth_year=1955, birth_date=None, phone=f"+8490{user:08d}",
                    village="Bản Lốc", household="ordinary", ethnicity=None, status="active",
                    assisted_by=None, registration_key=f"delivery-{user}",
                ), now)
                await tx.touch_identity("telegram", str(user), str(user), "Bác", "vi", now)
                await tx.link_identity("telegram", str(user), member_id)
                chats[user] = club.id
                user += 1
        # Only the meeting reminder is due two days ahead: "not measured this month" comes on
        # the day before. The send window ends before the scan's 08:00, so the batch is not
        # spread over the morning: it goes at the pace the scan is given (``PLAN_RATE``).
        await tx.set_meta(SETTINGS_KEY, Settings(health_days=1,
                                                 send_window="06:30-07:00").to_json())
    return chats


def deliveries(fake: FakeTelegram) -> list[int]:
    """Chat ids of the messages the fake accepted, in the order it accepted them."""
    return [m.chat_id for m in fake.sent if m.method == "sendMessage"]


async def outbox_counts(storage: SQLiteStorage) -> dict[str, int]:
    """Rows of the outbox by status."""
    async with storage.transaction() as tx:
        rows = await tx._all("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    return {row["status"]: row["n"] for row in rows}


class Delivery:
    """The service, the outbox and the Telegram sender on one database, against ``fake``."""

    def __init__(self, storage: SQLiteStorage, fake: FakeTelegram, rate: float) -> None:
        self.storage = storage
        self.fake = fake
        self.clock: Callable[[], datetime] = RunningClock(MOMENT)
        self.service = Service(storage, Engine(FLOWS), clock=self.clock)
        settings = BotSettings(db=storage.path, telegram_token=fake.token,
                               telegram_api_url=fake.base_url, telegram_rate=rate,
                               telegram_chat_rate=1.0)
        self.channel = TelegramChannel(settings, self.service, storage, 1)
        self.outbox = OutboxWorker(storage, [self.channel], self.clock, CONCURRENCY)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Delivery:
        await self.channel.start()
        self.task = asyncio.create_task(self.outbox.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.outbox.stop()
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.channel.stop()

    async def until_delivered(self, count: int, timeout: float = DELIVERY_TIMEOUT) -> float:
        """Wait until the fake accepted ``count`` messages and the outbox recorded them.

        Returns:
            Seconds from the call to the last message accepted.
        """
        started = time.monotonic()
        deadline = started + timeout
        while len(deliveries(self.fake)) < count:
            assert time.monotonic() < deadline, (
                f"{len(deliveries(self.fake))} of {count} delivered after {timeout:.0f}s, "
                f"outbox {await outbox_counts(self.storage)}"
            )
            await asyncio.sleep(0.05)
        last = max(m.at for m in self.fake.sent)
        while (await outbox_counts(self.storage)).get("pending"):
            assert time.monotonic() < deadline, "the deliveries were not recorded"
            await asyncio.sleep(0.05)
        return last - started


def window_peak(times: list[float]) -> int:
    """The most messages in any one-second span (closed on the left, open on the right)."""
    peak, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def ignored_429s(fake: FakeTelegram, in_flight: int) -> list[tuple[float, int]]:
    """429s after which more than ``in_flight`` messages arrived before retry_after ran out.

    Up to ``in_flight`` messages may already be on their way when the bot reads a 429 (the
    outbox keeps that many sends in flight); any more within the second means the bot did not
    wait. The fake answers ``retry_after`` = 1 at this limit (a one-second window).
    """
    arrivals = sorted([m.at for m in fake.sent] + [t for t, _ in fake.rate_limited])
    ignored = []
    for moment, _chat in fake.rate_limited:
        early = [t for t in arrivals if moment < t < moment + 0.95]
        if len(early) > in_flight:
            ignored.append((moment, len(early)))
    return ignored


@pytest.fixture
async def storage(tmp_path: Path):
    store = SQLiteStorage(tmp_path / "ishc.sqlite3")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_the_fake_refuses_beyond_its_limit_with_retry_after():
    """The flood limit itself: N accepted in a second, then 429 with a whole retry_after."""
    from telegram import Bot
    from telegram.error import RetryAfter

    async with FakeTelegram(flood_limit=5) as fake, \
            Bot(fake.token, base_url=fake.base_url) as bot:
        for n in range(5):
            await bot.do_api_request("sendMessage", {"chat_id": 1, "text": f"m{n}"})
        with pytest.raises(RetryAfter) as refused:
            await bot.do_api_request("sendMessage", {"chat_id": 2, "text": "too many"})
        wait = refused.value.retry_after
        assert (wait.total_seconds() if isinstance(wait, timedelta) else wait) == 1
        assert [chat for _, chat in fake.rate_limited] == [2]
        assert len(fake.sent) == 5
        await asyncio.sleep(1.0)
        await bot.do_api_request("sendMessage", {"chat_id": 2, "text": "later"})
        assert len(fake.sent) == 6
        fake.flood_limit = None  # off again
        for n in range(10):
            await bot.do_api_request("sendMessage", {"chat_id": 3, "text": f"n{n}"})
        assert len(fake.rate_limited) == 1


async def test_5000_reminders_each_delivered_once_through_429s(storage):
    chats = await add_clubs(storage, [MEMBERS // CLUBS] * CLUBS)
    assert len(chats) == MEMBERS
    async with FakeTelegram(flood_limit=LIMIT) as fake:
        async with Delivery(storage, fake, BOT_RATE) as run:
            found = await reminders.scan(run.storage, VN.key, MOMENT, rate=PLAN_RATE)
            # Again, delivery under way:
            again = await reminders.scan(run.storage, VN.key, MOMENT, rate=PLAN_RATE)
            seconds = await run.until_delivered(MEMBERS)
            assert again == []
            assert len(found) == MEMBERS
            assert {d.kind for d in found} == {"meeting"}
            await asyncio.sleep(0.3)  # nothing else arrives afterwards
            late = await reminders.scan(run.storage, VN.key, MOMENT + timedelta(minutes=1),
                                          rate=PLAN_RATE)
            assert late == []
        sent = deliveries(fake)
        texts = {m.text for m in fake.sent}
        times = sorted(m.at for m in fake.sent)
        ignored = ignored_429s(fake, CONCURRENCY - 1)
        refused = len(fake.rate_limited)
    counts = Counter(sent)
    assert len(sent) == MEMBERS, f"{len(sent)} messages for {MEMBERS} reminders"
    assert set(counts) == set(chats), "a member got nothing, or a stranger got something"
    assert max(counts.values()) == 1, "a member got the reminder twice"
    assert len(texts) == 1 and next(iter(texts)).startswith(MEETING)
    assert refused > 0, "the bot never ran into the limit: nothing was tested"
    assert not ignored, f"429s not honoured (time, messages within the second): {ignored[:5]}"
    assert window_peak(times) <= LIMIT
    assert await outbox_counts(storage) == {"sent": MEMBERS}
    async with storage.transaction() as tx:
        [row] = await tx._all("SELECT COUNT(*) AS n, COUNT(DISTINCT member_id) AS m, "
                              "COUNT(outbox_id) AS o FROM reminders")
    assert (row["n"], row["m"], row["o"]) == (MEMBERS, MEMBERS, MEMBERS)
    print(f"\n{MEMBERS} reminders in {seconds:.1f}s ({MEMBERS / seconds:.0f}/s against a "
          f"limit of {LIMIT}/s), {refused} answered 429")


async def test_a_small_club_is_not_kept_waiting_behind_a_big_one(storage):
    chats = await add_clubs(storage, [400, 5], first_user=FIRST_USER)
    big, small = sorted(set(chats.values()))
    async with FakeTelegram() as fake:
        async with Delivery(storage, fake, 1_000.0) as run:
            found = await reminders.scan(run.storage, VN.key, MOMENT, rate=PLAN_RATE)
            assert len(found) == 405
            await run.until_delivered(405)
        order = [chats[chat] for chat in deliveries(fake)]
    assert len(order) == 405
    # fair(): one of each club in turn, so the small club's five are among the first ten
    # queued (without it they would come after the big club's 400) ...
    assert [d.club_id for d in found[:10]] == [found[0].club_id, found[1].club_id] * 5
    assert {found[0].club_id, found[1].club_id} == {big, small}
    # ... and sent: the sends in flight at once may overtake each other (the first to a new
    # connection arrives after the next one on the connection already open).
    positions = [index for index, club in enumerate(order) if club == small]
    assert positions[0] <= CONCURRENCY, positions
    assert positions[-1] < 10 + CONCURRENCY, positions
