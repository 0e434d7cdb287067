"""Reminders with a controllable clock: the right local time, once, quiet hours, cancellation
by a payment, overdue follow-ups, pauses and the board's digest.

The test club meets on the 15th at 08:00 (its registered meeting day; no rule set). The clock
starts on 28/11/2026 at 09:00 in Vietnam (UTC+7).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import reminders
from bot.reminders import SETTINGS_KEY, Settings
from tests.test_fund_flows import put_in, set_rate
from tests.test_roles import approve, give_role, register
from tests.test_roles import club as club  # the fixture

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SAVE = "Đúng, lưu lại"
MEETING = "Nhắc lịch: câu lạc bộ họp"


async def at(chat, local: str, kind: str | None = "meeting") -> list:
    """Move the clock to ``local`` (club time, ``YYYY-MM-DD HH:MM``), scan, deliver what is due
    within the minute; return the reminders queued (of ``kind``, if given)."""
    chat.bot.clock.now = datetime.fromisoformat(local).replace(tzinfo=VN).astimezone(UTC)
    found = await reminders.scan(chat.bot.storage, "Asia/Ho_Chi_Minh", chat.bot.clock())
    chat.bot.clock.now += timedelta(minutes=1)  # a batch is spread: a few go a second apart
    await chat.bot.outbox.drain()
    chat.bot.clock.now -= timedelta(minutes=1)
    return [d for d in found if kind is None or d.kind == kind]


def texts(person, start: str = "") -> list[str]:
    """What ``person`` received since last asked (starting with ``start``)."""
    return [m.text for m in person.unread() if m.text.startswith(start)]


def owed(person) -> list[str]:
    """The repayment reminders ``person`` received since last asked."""
    return [m.text for m in person.unread() if "₫" in m.text]


@pytest.fixture
async def members(text_chat, club):
    chat = text_chat
    club.chair.unread()
    club.hoa.unread()
    return chat, club


@pytest.fixture
def chat(text_chat):
    """Reminders are channel-neutral: the text channel is enough (delivery is tested apart)."""
    return text_chat


async def test_a_meeting_reminder_goes_out_at_the_right_time_and_once(members):
    chat, club = members
    assert await at(chat, "2026-12-13 07:59") == []
    found = await at(chat, "2026-12-13 08:00")
    assert sorted(d.kind for d in found) == ["meeting", "meeting"]
    [text] = texts(club.hoa, MEETING)
    assert text == ("Nhắc lịch: câu lạc bộ họp Thứ Ba ngày 15/12/2026 lúc 08:00. Mời bác đến "
                    "dự và mang theo sổ sức khỏe nhé.")
    assert len(texts(club.chair, MEETING)) == 1
    # A second scan, a late scan, and a restarted service send nothing again.
    assert await at(chat, "2026-12-13 08:01") == []
    assert await at(chat, "2026-12-14 10:00") == []
    # The scan keeps nothing in memory: a restarted service is a scan at the same moment.
    assert await reminders.scan(chat.bot.storage, "Asia/Ho_Chi_Minh", chat.bot.clock()) == []
    assert texts(club.hoa, MEETING) == []
    rows = await chat.bot.rows("SELECT key FROM reminders WHERE kind = 'meeting' ORDER BY key")
    assert [r["key"] for r in rows] == ["meeting:1:2026-12-15:2:1", "meeting:1:2026-12-15:2:2"]
    # On the morning of the meeting: queued at the end of the quiet hours, sent from the
    # start of the send window (07:00-11:00 by default).
    assert await at(chat, "2026-12-15 06:29") == []
    assert len(await at(chat, "2026-12-15 06:30")) == 2
    assert texts(club.hoa, MEETING) == []
    await at(chat, "2026-12-15 07:00")
    [text] = texts(club.hoa, MEETING)
    assert text.startswith(f"{MEETING} hôm nay lúc 08:00.")


async def test_a_reminder_missed_while_down_goes_out_at_start_if_still_relevant(members):
    chat, club = members
    await at(chat, "2026-12-13 10:00")  # the service was down at 08:00
    assert len(texts(club.hoa, MEETING)) == 1
    await at(chat, "2026-12-15 09:00")  # after the meeting began: no longer relevant
    assert texts(club.hoa, MEETING) == []


async def test_quiet_hours_move_a_reminder_to_the_morning(members):
    chat, club = members
    async with chat.bot.storage.transaction() as tx:
        await tx.set_meta(SETTINGS_KEY, Settings(send_at="22:00", meeting_days=(2,)).to_json())
    assert await at(chat, "2026-12-13 22:00") == []  # in the quiet hours
    assert await at(chat, "2026-12-14 06:29") == []
    found = await at(chat, "2026-12-14 06:30")
    assert len(found) == 2
    await at(chat, "2026-12-14 07:00")  # the send window's start
    [text] = texts(club.hoa, MEETING)
    assert text.startswith(MEETING)


async def test_a_paused_kind_is_not_sent_and_the_choice_is_kept(members):
    chat, club = members
    reply = await club.hoa.say("/nhacnho")
    assert "Nhắc lịch họp: đang bật" in reply.text
    assert reply.labels == ["Nhắc lịch họp", "Nhắc trả nợ", "Nhắc đo huyết áp",
                            "Xong, không đổi gì"]
    reply = await club.hoa.pick("Nhắc lịch họp")
    assert reply.text == "Đã tạm dừng: Nhắc lịch họp. Muốn nhận lại, bác gõ /nhacnho."
    rows = await chat.bot.rows("SELECT kind, paused, changed_at FROM reminder_pauses")
    assert rows == [{"kind": "meeting", "paused": 1, "changed_at": "2026-11-28T02:00:00+00:00"}]
    await at(chat, "2026-12-13 08:00")
    assert texts(club.hoa, MEETING) == []
    assert len(texts(club.chair, MEETING)) == 1
    reply = await club.hoa.say("/nhacnho")
    assert "Nhắc lịch họp: đang tạm dừng" in reply.text
    reply = await club.hoa.pick("Nhắc lịch họp")
    assert reply.text == "Đã bật lại: Nhắc lịch họp."


@pytest.fixture
async def borrower(members):
    """Hoa borrowed 12tr today at 1 %: 1.120.000 ₫ due on 15/12/2026."""
    chat, club = members
    await set_rate(club.chair)
    await put_in(club.chair)
    await club.chair.say("/giaingan")
    await club.chair.say("hoa")
    await club.chair.say("12tr")
    await club.chair.pick("Bò")
    await club.chair.pick("Hôm nay")
    await club.chair.pick("12 tháng")
    await club.chair.pick(SAVE)
    club.chair.unread()
    club.hoa.unread()
    return chat, club


async def test_repayment_reminders_before_and_on_the_day(borrower):
    chat, club = borrower
    assert await at(chat, kind=None, local="2026-12-12 07:59") == []
    await at(chat, kind=None, local="2026-12-12 08:00")
    assert owed(club.hoa) == ["Nhắc trả nợ: kỳ trả 1.120.000\xa0₫ đến hạn ngày 15/12/2026.\n\n"
                               "- Báo đã trả nợ: /trano\n- Khoản vay của tôi: /vay"]
    await at(chat, kind=None, local="2026-12-15 07:00")
    [text] = owed(club.hoa)
    assert text.startswith("Nhắc trả nợ: hôm nay là hạn trả 1.120.000\xa0₫.")


async def test_a_payment_before_the_reminder_cancels_it(borrower):
    chat, club = borrower
    await at(chat, kind=None, local="2026-12-12 08:00")
    assert len(owed(club.hoa)) == 1
    chat.bot.clock.now = datetime(2026, 12, 13, 3, 0, tzinfo=UTC)
    await club.chair.say("/thutien")
    await club.chair.say("hoa")
    await club.chair.say("1.120.000")
    await club.chair.pick("Hôm nay")
    await club.chair.pick(SAVE)
    club.hoa.unread()
    for moment in ("2026-12-15 07:00", "2026-12-16 08:00", "2026-12-23 08:00"):
        await at(chat, kind=None, local=moment)
        assert owed(club.hoa) == [], moment
    keys = [r["key"] for r in await chat.bot.rows(
        "SELECT key FROM reminders WHERE kind = 'repayment'")]
    assert keys == ["repayment:1:2026-12-15:-3"]  # only the one sent before the payment


async def test_an_overdue_loan_gets_follow_ups(borrower):
    chat, club = borrower
    await at(chat, kind=None, local="2026-12-15 07:00")
    [today] = owed(club.hoa)
    assert "hôm nay là hạn" in today
    await at(chat, kind=None, local="2026-12-16 07:59")
    assert owed(club.hoa) == []
    await at(chat, kind=None, local="2026-12-16 08:00")
    [text] = owed(club.hoa)
    assert text.startswith("Kỳ trả 1.120.000\xa0₫ đến hạn ngày 15/12/2026 mà bác chưa trả.")
    await at(chat, kind=None, local="2026-12-20 08:00")
    assert owed(club.hoa) == []  # weekly, not daily
    await at(chat, kind=None, local="2026-12-23 08:00")
    assert len(owed(club.hoa)) == 1
    # The service was down for two weeks: one reminder, not the ones it missed.
    await at(chat, kind=None, local="2027-01-10 09:00")
    assert len(owed(club.hoa)) == 1


async def test_the_board_digest_says_what_needs_attention(members):
    chat, club = members
    await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Thủ quỹ")
    await club.chair.pick(SAVE)
    club.chair.unread()
    club.hoa.unread()
    await at(chat, "2026-11-30 07:30")  # Monday
    [digest] = texts(club.chair)
    assert digest.startswith("Tuần này ở câu lạc bộ:")
    assert "- Người chờ duyệt vào câu lạc bộ: 1, xem /duyet" in digest
    [same] = texts(club.hoa)  # the treasurer gets it too
    assert same == digest
    await at(chat, "2026-11-30 12:00")
    assert texts(club.chair) == []  # once a week


async def test_no_digest_when_there_is_nothing_to_say(members):
    chat, club = members
    await at(chat, "2026-11-30 07:30")
    assert texts(club.chair) == []
    assert await chat.bot.rows("SELECT key FROM reminders WHERE kind = 'digest'") == []


async def test_members_not_measured_are_reminded_before_the_meeting(members):
    chat, club = members
    await club.hoa.say("/huyetap")
    await club.hoa.say("120/80")
    await club.hoa.pick("Không cân")
    await club.hoa.pick(SAVE)
    chat.bot.clock.advance(days=4)  # December: Hoa's November reading does not count
    club.hoa.unread()
    club.chair.unread()
    await at(chat, "2026-12-12 08:00")
    health = [t for t in texts(club.hoa) if "huyết áp" in t]
    assert health and health[0].startswith("Tháng này bác chưa đo huyết áp.")
    assert any("Tháng này bác chưa đo huyết áp." in t for t in texts(club.chair))


async def test_approved_members_only(members):
    chat, club = members
    pending, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    pending.unread()
    await at(chat, "2026-12-13 08:00")
    assert texts(pending) == []
    await approve(club.chair, "Lò Thị Mai (1958, Bản Na Công)")


async def test_a_late_scan_in_the_quiet_hours_waits_for_the_morning(members):
    """The first scan after an outage is at 23:00: the 08:00 reminder waits for the morning's
    send window (07:00)."""
    chat, club = members
    found = await at(chat, "2026-12-13 23:00")
    assert len(found) == 2
    assert texts(club.hoa, MEETING) == []
    assert await at(chat, "2026-12-14 06:29") == []
    assert texts(club.hoa, MEETING) == []
    await at(chat, "2026-12-14 06:59")
    assert texts(club.hoa, MEETING) == []
    await at(chat, "2026-12-14 07:00")
    assert len(texts(club.hoa, MEETING)) == 1
