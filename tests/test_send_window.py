"""Reminders spread over the send window: the urgent first, an even pace, never in the quiet
hours; real rows in the outbox with their ``not_before``.

Clubs are written through the storage API (tests/test_reminder_delivery.py's ``add_clubs``):
each meets on the 15th at 08:00, club time Vietnam (UTC+7).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import reminders
from bot.reminders import SETTINGS_KEY, Due, Settings, plan, window_problem
from storage.sqlite import SQLiteStorage
from tests.test_reminder_delivery import add_clubs

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


@pytest.fixture
async def storage(tmp_path):
    store = SQLiteStorage(str(tmp_path / "window.sqlite3"))
    await store.open()
    yield store
    await store.close()


async def queued(storage: SQLiteStorage) -> list[tuple[str, datetime, datetime]]:
    """Each queued reminder's kind, not_before and expires_at (club time), by not_before."""
    async with storage.transaction() as tx:
        rows = await tx._all("SELECT r.kind, r.key, o.not_before, o.expires_at FROM reminders r "
                             "JOIN outbox o ON o.id = r.outbox_id ORDER BY o.not_before, o.id")
    return [(r["key"], datetime.fromisoformat(r["not_before"]).astimezone(VN),
             datetime.fromisoformat(r["expires_at"]).astimezone(VN)) for r in rows]


async def settings(storage: SQLiteStorage, **values: object) -> None:
    async with storage.transaction() as tx:
        await tx.set_meta(SETTINGS_KEY, Settings(health_days=1, **values).to_json())


async def test_an_old_database_gets_the_default_window(storage):
    async with storage.transaction() as tx:
        await tx.set_meta(SETTINGS_KEY, '{"send_at": "07:30"}')  # written before the setting
        stored = Settings.from_json(await tx.get_meta(SETTINGS_KEY))
    assert (stored.send_at, stored.send_window) == ("07:30", "07:00-11:00")
    assert window_problem(stored) is None


def test_the_window_is_checked():
    def problem(**values: str) -> str | None:
        found = window_problem(Settings(**values))
        return None if found is None else found.msgid

    assert problem(send_window="07:00-11:00") is None
    assert problem(send_window="06:30-21:00") is None  # the whole day between quiet hours
    assert problem(send_window="11:00-07:00").endswith("must be before {end}")
    assert problem(send_window="07:00-07:00").endswith("must be before {end}")
    assert "quiet hours" in problem(send_window="06:00-09:00")  # starts in them
    assert "quiet hours" in problem(send_window="19:00-22:00")  # runs into them
    assert "quiet hours" in problem(send_window="07:00-11:00", quiet_start="10:00")
    assert "quiet hours" in problem(send_window="12:30-14:00", quiet_start="12:00",
                                    quiet_end="13:00")  # quiet hours within the day
    assert problem(send_window="07:00-11:00", quiet_start="00:00", quiet_end="00:00") is None
    assert "expected" in problem(send_window="7h-11h")


async def test_the_meeting_morning_goes_first_spread_from_the_window_start(storage):
    """Two clubs of 300 meet on the 15th at 08:00; nobody was measured this month."""
    await add_clubs(storage, [300, 300], meeting_day=15)
    await settings(storage, meeting_days=(0,))
    found = await reminders.scan(storage, VN.key, local("2026-12-15 06:30").astimezone(UTC))
    assert len(found) == 1200
    rows = await queued(storage)
    assert len(rows) == 1200
    # The meeting morning first (both clubs in turn), then "not measured this month".
    assert [key.split(":")[0] for key, _, _ in rows] == ["meeting"] * 600 + ["health"] * 600
    assert {key.split(":")[1] for key, _, _ in rows[:2]} == {"1", "2"}
    moments = [at for _, at, _ in rows]
    assert moments[0] == local("2026-12-15 07:00")  # the window's start, not 06:30
    # 1,200 in 4 hours would be one each 12 s, but each must go before the meeting (08:00):
    # 3 s fits, and slower than one a second is never planned.
    assert {b - a for a, b in itertools.pairwise(moments)} == {timedelta(seconds=1)}
    assert all(nb < exp for _, nb, exp in rows)
    assert moments[-1] < local("2026-12-15 08:00")
    quiet = Settings().quiet_hours()
    assert all(quiet.end_of(at) is None for at in moments)


async def test_repayments_and_the_meeting_morning_before_the_others():
    """A pure plan: urgent first, then the others, evenly over the whole window."""
    def due(key: str, urgent: bool, until: str = "2026-12-20 08:00") -> Due:
        return Due(key, 1, 1, key.split(":")[0], local("2026-12-13 06:30"), local(until), (),
                   urgent=urgent)

    items = ([due(f"health:{i}", False) for i in range(10_000)]
             + [due(f"repayment:{i}", True) for i in range(10_000)]
             + [due(f"meeting:{i}", True, "2026-12-13 14:00") for i in range(10_000)]
             + [due(f"digest:{i}", False, "2026-12-14 06:30") for i in range(10_000)])
    planned = plan(items, local("2026-12-13 06:30"), VN.key, Settings())
    kinds = [item.kind for item, _ in planned]
    # Urgent first (the meeting's deadline is nearer), then the others, nearest first.
    assert kinds == ["meeting"] * 10_000 + ["repayment"] * 10_000 + ["digest"] * 10_000 + [
        "health"] * 10_000
    moments = [at for _, at in planned]
    start, end = local("2026-12-13 07:00"), local("2026-12-13 11:00")
    pace = (end - start) / 40_000  # 0.36 s: the whole window, evenly
    assert moments[0] == start
    assert all(b - a == pace for a, b in itertools.pairwise(moments))
    assert start <= moments[-1] < end


async def test_what_does_not_fit_goes_on_after_the_window_never_in_the_quiet_hours():
    """Half a million at 29 a second fit neither in 07:00-11:00 nor before 12:00 (quiet)."""
    count = 500_000
    tuned = Settings(quiet_start="12:00")
    items = [Due(f"meeting:{i}", 1, i, "meeting", local("2026-12-13 08:00"),
                 local("2026-12-15 08:00"), ()) for i in range(count)]
    planned = plan(items, local("2026-12-13 08:00"), VN.key, tuned)
    moments = [at for _, at in planned]
    assert len(moments) == count
    quiet = tuned.quiet_hours()
    assert all(quiet.end_of(at) is None for at in moments)
    assert moments == sorted(moments)  # in order
    assert moments[0] == local("2026-12-13 08:00")  # after the window's start: its own moment
    gap = timedelta(seconds=1 / 29)
    evening = [at for at in moments if at.date() == date(2026, 12, 13)]
    assert local("2026-12-13 11:59") < evening[-1] < local("2026-12-13 12:00")
    nxt = moments[len(evening)]
    assert nxt == local("2026-12-14 07:00")  # resumes at the next window's start
    assert moments[len(evening) + 1] - nxt == gap


async def test_a_reminder_out_of_reach_keeps_its_last_moment_or_its_own():
    """The meeting at 07:00 starts with the window: its morning reminder keeps 06:30."""
    early = Due("meeting:early", 1, 1, "meeting", local("2026-12-15 06:30"),
                local("2026-12-15 07:00"), (), urgent=True)
    [(_, at)] = plan([early], local("2026-12-15 06:30"), VN.key, Settings())
    assert at == local("2026-12-15 06:30")
    # 200,000 for a meeting at 08:00: 104,400 fit by 08:00 at 29/s; the rest are given the
    # last moment before it, and expire if the channel is not there in time.
    many = [Due(f"meeting:{i}", 1, i, "meeting", local("2026-12-15 06:30"),
                local("2026-12-15 08:00"), (), urgent=True) for i in range(200_000)]
    moments = [at for _, at in plan(many, local("2026-12-15 06:30"), VN.key, Settings())]
    assert all(at < local("2026-12-15 08:00") for at in moments)
    last = local("2026-12-15 08:00") - timedelta(seconds=1 / 29)
    assert moments.count(last) > 90_000 and moments[0] == local("2026-12-15 07:00")


def test_a_window_in_the_quiet_hours_counts_as_none():
    """Quiet hours written straight into ``meta`` over the window: nothing is planned in them."""
    tuned = Settings(quiet_start="06:00", quiet_end="12:00")  # over 07:00-11:00
    items = [Due(f"meeting:{i}", 1, i, "meeting", local("2026-12-13 05:00"),
                 local("2026-12-15 08:00"), ()) for i in range(3)]
    moments = [at for _, at in plan(items, local("2026-12-13 05:00"), VN.key, tuned)]
    gap = timedelta(seconds=1 / 29)
    assert moments == [local("2026-12-13 05:00") + i * gap for i in range(3)]
    night = [at for _, at in plan(items, local("2026-12-13 07:00"), VN.key, tuned)]
    assert night == [local("2026-12-13 12:00") + i * gap for i in range(3)]
