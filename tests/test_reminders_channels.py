"""Reminders planned per channel: each bot spreads its share at its own rate.

A national deployment has one bot per province, each with its own rate budget (Telegram: about
30 messages/s per bot). :func:`bot.reminders.plan` spreads each channel's reminders over the
send window at that channel's rate, never into the quiet hours, and says in the log when a
channel cannot deliver its share inside the window. :func:`bot.reminders.scan` finds each
member's channel in the database (the account their messages go to), as the outbox does.
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import reminders
from bot.reminders import SETTINGS_KEY, Due, Settings, plan
from storage.sqlite import SQLiteStorage
from tests.test_reminder_delivery import add_clubs

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


def meeting(member: int, club: int = 1) -> Due:
    """A reminder due at 06:30 for a meeting two days later."""
    return Due(f"meeting:{club}:{member}", club, member, "meeting", local("2026-12-13 06:30"),
               local("2026-12-15 08:00"), ())


def gaps(moments: list[datetime]) -> set[timedelta]:
    return {b - a for a, b in itertools.pairwise(moments)}


def test_each_channel_goes_at_its_own_rate_and_overflow_is_reported(caplog):
    """Bots at 2/s and 1/s, 3,000 and 2,000 reminders, a ten-minute window, quiet from 07:20."""
    tuned = Settings(send_window="07:00-07:10", quiet_start="07:20")
    fast = [meeting(i) for i in range(3_000)]
    slow = [meeting(i, club=2) for i in range(10_000, 12_000)]
    channels = {item.member_id: "telegram:p01" for item in fast}
    channels.update({item.member_id: "zalo" for item in slow})
    with caplog.at_level(logging.WARNING, logger="bot.reminders"):
        planned = plan(fast + slow, local("2026-12-13 06:30"), VN.key, tuned,
                       {"telegram:p01": 2.0, "zalo": 1.0}, channels)
    assert len(planned) == 5_000
    by_channel = {name: [at for item, at in planned if channels[item.member_id] == name]
                  for name in ("telegram:p01", "zalo")}
    quiet = tuned.quiet_hours()
    assert all(quiet.end_of(at) is None for _, at in planned)  # never in the quiet hours
    assert [at for _, at in planned] == sorted(at for _, at in planned)
    for name, rate in (("telegram:p01", 2.0), ("zalo", 1.0)):
        moments = by_channel[name]
        assert moments[0] == local("2026-12-13 07:00")  # the window's start, each channel
        today = [at for at in moments if at.date() == moments[0].date()]
        # Spaced by the channel's own rate until the quiet hours...
        assert gaps(today) == {timedelta(seconds=1 / rate)}
        assert today[-1] < local("2026-12-13 07:20")
        # ...and what remains resumes at the next day's window start, at the same pace.
        rest = moments[len(today):]
        assert rest[0] == local("2026-12-14 07:00")
        assert gaps(rest) == {timedelta(seconds=1 / rate)}
    # Both channels said they cannot deliver their share inside the window, with counts.
    said = {record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING}
    assert any("telegram:p01" in text and "3000 reminders at 2/s" in text
               and "room for 1200" in text and "1800 planned after the window" in text
               for text in said), said
    assert any("zalo" in text and "2000 reminders at 1/s" in text and "room for 600" in text
               and "1400 planned after the window" in text for text in said), said


def test_a_channel_that_fits_says_nothing_and_one_rate_for_all_still_works(caplog):
    items = [meeting(i) for i in range(100)]
    with caplog.at_level(logging.WARNING, logger="bot.reminders"):
        per_channel = plan(items, local("2026-12-13 06:30"), VN.key, Settings(),
                           {"telegram": 29.0}, {i.member_id: "telegram" for i in items})
        one_rate = plan(items, local("2026-12-13 06:30"), VN.key, Settings(), 29.0)
    assert per_channel == one_rate  # one channel: the same plan as before
    assert gaps([at for _, at in one_rate]) == {timedelta(seconds=1)}  # MAX_GAP: not stretched
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_channel_missing_from_the_rates_is_planned_at_the_default_pace():
    items = [meeting(i) for i in range(3_000)]
    tuned = Settings(send_window="07:00-07:01")
    planned = plan(items, local("2026-12-13 06:30"), VN.key, tuned, {"telegram": 1.0},
                   {i.member_id: "zalo" for i in items})
    assert gaps([at for _, at in planned]) == {timedelta(seconds=1 / reminders.PACE_RATE)}


@pytest.fixture
async def storage(tmp_path):
    store = SQLiteStorage(str(tmp_path / "channels.sqlite3"))
    await store.open()
    yield store
    await store.close()


async def test_the_scan_plans_each_members_channel_from_the_database(storage, caplog):
    """Club 1 on Telegram, club 2 moved to a province bot; the outbox rows say which."""
    chats = await add_clubs(storage, [300, 300], meeting_day=15)
    second = [chat for chat, club in chats.items() if club == 2]
    async with storage.transaction() as tx:
        await tx._run(f"UPDATE identities SET channel = 'telegram:p02' WHERE user_id IN "
                      f"({', '.join('?' for _ in second)})", [str(c) for c in second])
        await tx.set_meta(SETTINGS_KEY, Settings(health_days=1, meeting_days=(2,),
                                                 send_window="08:00-08:03").to_json())
    rates = {"telegram": 2.0, "telegram:p02": 1.0}
    with caplog.at_level(logging.WARNING, logger="bot.reminders"):
        found = await reminders.scan(storage, VN.key, local("2026-12-13 08:00").astimezone(UTC),
                                     rate=rates)
    assert len(found) == 600
    async with storage.transaction() as tx:
        rows = await tx._all("SELECT channel, not_before FROM outbox ORDER BY not_before, id")
    assert len(rows) == 600
    # 300 at 2/s fit in three minutes: spread evenly over them (0.6 s apart); 300 at 1/s do
    # not: one a second, and the province bot says so.
    for channel, gap in (("telegram", 0.6), ("telegram:p02", 1.0)):
        moments = [datetime.fromisoformat(r["not_before"]) for r in rows
                   if r["channel"] == channel]
        assert len(moments) == 300
        assert moments[0] == local("2026-12-13 08:00")
        assert gaps(moments) == {timedelta(seconds=gap)}
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "telegram:p02" in said[0] and "120 planned after" in said[0]
    # A second scan finds them queued: nothing twice.
    assert await reminders.scan(storage, VN.key, local("2026-12-13 08:05").astimezone(UTC),
                                rate=rates) == []
