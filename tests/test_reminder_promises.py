"""Reminders keep their promises when they are sent, not only when they are queued.

The sender may get to a reminder long after the scan queued it (a late scan, a backlog, an
outage): it is never delivered in the quiet hours (21:00-06:30), never after its time, never
once the loan is paid, the meeting moved or the member measured. Replies to the person and
urgent health alerts are not reminders: they go at once, also at 23:00.

As in ``test_reminders``, the club meets on 15/12/2026 at 08:00; times are club time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from bot import reminders
from bot.metrics import REGISTRY
from bot.outbox.promises import Keeper, QuietHours
from storage.meetings import MeetingMove
from storage.sqlite import SQLiteStorage
from tests.test_health_flows import choose
from tests.test_reminders import MEETING, SAVE, VN, at, owed, texts
from tests.test_reminders import borrower as borrower  # the fixtures
from tests.test_reminders import chat as chat
from tests.test_reminders import members as members
from tests.test_roles import club as club
from tests.test_roles import register

HEALTH = "Tháng này bác chưa đo huyết áp."


def moment(local: str) -> datetime:
    """``YYYY-MM-DD HH:MM`` club time, in UTC."""
    return datetime.fromisoformat(local).replace(tzinfo=VN).astimezone(UTC)


async def queued_at(chat, local: str) -> list:
    """The scan at ``local`` queues; the sender does not get to it yet (a backlog)."""
    chat.bot.clock.now = moment(local)
    return await reminders.scan(chat.bot.storage, VN.key, chat.bot.clock())


async def sender_at(chat, local: str) -> None:
    """The sender gets to what is queued at ``local`` (no scan)."""
    chat.bot.clock.now = moment(local)
    await chat.bot.outbox.drain()


async def outbox(chat, kind: str) -> list[dict]:
    """The outbox rows of the reminders of ``kind``."""
    return await chat.bot.rows(
        "SELECT o.status, o.attempts, o.next_attempt_at, o.last_error FROM reminders r "
        "JOIN outbox o ON o.id = r.outbox_id WHERE r.kind = ? ORDER BY r.key", kind)


def counted(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("ishc_reminders_total",
                                     {"kind": kind, "outcome": outcome}) or 0.0


async def test_a_backlog_does_not_carry_reminders_into_the_night(members):
    chat, club = members
    sent, postponed = counted("meeting", "sent"), counted("meeting", "postponed")
    found = await queued_at(chat, "2026-12-13 20:59")  # not in the quiet hours yet
    assert sorted(d.kind for d in found) == ["health", "health", "meeting", "meeting"]
    await sender_at(chat, "2026-12-13 21:00")  # ... but the sender gets to them in them
    assert texts(club.hoa) == [] and texts(club.chair) == []
    morning = moment("2026-12-14 06:30").isoformat()
    assert await outbox(chat, "meeting") == [
        {"status": "pending", "attempts": 0, "next_attempt_at": morning,
         "last_error": "postponed: quiet hours"}] * 2
    await sender_at(chat, "2026-12-14 06:29")
    assert texts(club.hoa, MEETING) == []
    await sender_at(chat, "2026-12-14 06:30")
    assert len(texts(club.hoa, MEETING)) == 1 and len(texts(club.chair, MEETING)) == 1
    assert [r["status"] for r in await outbox(chat, "meeting")] == ["sent", "sent"]
    assert counted("meeting", "postponed") - postponed == 2
    assert counted("meeting", "sent") - sent == 2


async def test_replies_and_health_alerts_go_at_night_while_reminders_wait(members):
    chat, club = members
    await at(chat, "2026-12-13 23:00")  # the first scan after an outage: queued for 07:00
    # Hoa measures a low pressure with dizziness at 23:00: her answers and the chair's
    # alert go at once, though a reminder waits for each of them.
    await club.hoa.say("/huyetap")
    await club.hoa.say("85/55")
    await choose(chat, club.hoa, "Chóng mặt hoặc ngất")
    await club.hoa.pick("Không cân")
    reply = await club.hoa.pick(SAVE)
    assert "Bác gọi 115 hoặc đến trạm y tế xã ngay bây giờ nhé." in reply.text
    [alert] = club.chair.unread()
    assert "Cần giúp ngay: bác Mồng Thị Hoa" in alert.text
    # She pauses meeting reminders in the night: the one waiting for her is not sent.
    await club.hoa.say("/nhacnho")
    reply = await club.hoa.pick("Nhắc lịch họp")
    assert reply.text.startswith("Đã tạm dừng: Nhắc lịch họp.")
    club.hoa.unread()
    await at(chat, "2026-12-14 07:00")
    assert texts(club.hoa) == []
    assert len(texts(club.chair, MEETING)) == 1
    rows = await outbox(chat, "meeting")
    assert sorted(r["status"] for r in rows) == ["expired", "sent"]


async def test_no_reminder_once_the_meeting_began(members):
    chat, club = members
    expired = counted("meeting", "expired")
    await queued_at(chat, "2026-12-13 08:00")
    await sender_at(chat, "2026-12-15 08:00")  # the sender was stuck until the meeting began
    assert texts(club.hoa) == [] and texts(club.chair) == []
    rows = await outbox(chat, "meeting")
    assert [(r["status"], r["attempts"]) for r in rows] == [("expired", 0)] * 2
    assert rows[0]["last_error"] == "expired at 2026-12-15T01:00:00+00:00"
    assert counted("meeting", "expired") - expired == 2


async def test_no_reminder_of_a_meeting_moved_meanwhile(members):
    chat, club = members
    await at(chat, "2026-12-13 23:00")
    async with chat.bot.storage.transaction() as tx:  # the chair moves it, late at night
        await tx.move_meeting(1, MeetingMove("2026-12", date(2026, 12, 20), "08:00", ""),
                              None, moment("2026-12-13 23:30"))
    await at(chat, "2026-12-14 07:00")
    assert texts(club.hoa) == []
    rows = await outbox(chat, "meeting")
    assert [r["status"] for r in rows] == ["expired", "expired"]
    assert rows[0]["last_error"].startswith('no longer true: {"club": 1, "day": "2026-12-15"')
    assert [r["status"] for r in await outbox(chat, "health")] == ["expired", "expired"]
    await at(chat, "2026-12-18 08:00")  # two days before the new day
    [text] = texts(club.hoa, MEETING)
    assert "20/12/2026" in text


async def test_no_repayment_reminder_once_the_loan_is_paid(borrower):
    chat, club = borrower
    assert [d.kind for d in await at(chat, "2026-12-12 23:00", "repayment")] == ["repayment"]
    assert owed(club.hoa) == []  # queued for 07:00 (the send window)
    chat.bot.clock.now = moment("2026-12-13 06:00")  # the treasurer records the payment
    await club.chair.say("/thutien")
    await club.chair.say("hoa")
    await club.chair.say("1.120.000")
    await club.chair.pick("Hôm nay")
    reply = await club.chair.pick(SAVE)
    assert reply.text.startswith("Đã ghi")  # answered at 06:00, in the quiet hours
    club.hoa.unread()
    await at(chat, "2026-12-13 07:00", None)
    assert owed(club.hoa) == []
    [row] = await outbox(chat, "repayment")
    assert row["status"] == "expired"
    assert row["last_error"].startswith('no longer true: {"club": 1, "due": "2026-12-15"')


async def test_no_health_reminder_once_the_member_is_measured(members):
    chat, club = members
    found = await at(chat, "2026-12-12 23:00", "health")
    assert sorted(d.member_id for d in found) == [1, 2]
    chat.bot.clock.now = moment("2026-12-13 06:00")
    await club.hoa.say("/huyetap")
    await club.hoa.say("120/80")
    await club.hoa.pick("Không cân")
    await club.hoa.pick(SAVE)
    club.hoa.unread()
    await at(chat, "2026-12-13 07:00", None)
    assert [t for t in texts(club.hoa) if HEALTH in t] == []
    assert len([t for t in texts(club.chair) if HEALTH in t]) == 1
    rows = await outbox(chat, "health")
    assert sorted(r["status"] for r in rows) == ["expired", "sent"]


async def test_no_weekly_digest_a_day_late(members):
    chat, club = members
    await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    club.chair.unread()
    assert [d.kind for d in await queued_at(chat, "2026-11-30 07:30")] == ["digest"]  # Monday
    await sender_at(chat, "2026-12-01 07:30")  # the sender was stuck for a day
    assert texts(club.chair) == []
    [row] = await outbox(chat, "digest")
    assert row["status"] == "expired"
    assert row["last_error"] == "expired at 2026-12-01T00:30:00+00:00"  # Tuesday 07:30


async def test_sends_asking_at_once_both_get_the_quiet_hours_of_the_database(tmp_path):
    """Two send slots read the quiet hours together: neither gets the default meanwhile.

    Found by ``bench.reminders``: with the quiet hours turned off (00:00-00:00), the second of
    two concurrent sends got the default 21:00-06:30 while the first was reading, and its
    reminder waited for the morning.
    """
    storage = SQLiteStorage(tmp_path / "quiet.sqlite3")
    await storage.open()
    try:
        async with storage.transaction() as tx:
            await tx.set_meta(reminders.SETTINGS_KEY, reminders.Settings(
                quiet_start="00:00", quiet_end="00:00").to_json())
        keeper = Keeper(storage, "Asia/Ho_Chi_Minh")
        first, second = await asyncio.gather(keeper.quiet_hours(), keeper.quiet_hours())
        none = QuietHours(start=first.start, end=first.start)
        assert first == second == none
        assert first.end_of(datetime(2026, 12, 5, 18, 0, tzinfo=UTC)) is None  # 01:00 there
    finally:
        await storage.close()
