"""Meetings by chat, on every channel: the schedule (/lichhop), changing and moving it, and
attendance (/diemdanh). The clock starts on Saturday 28/11/2026, 09:00 in Vietnam; the test
club meets on the 15th."""

from __future__ import annotations

import pytest

from bot.conversations.attendance import RecordAttendance
from bot.conversations.meeting_schedule import ChangeSchedule, MoveMeeting
from storage.meetings import MeetingMove, MeetingRule
from tests.test_health_flows import choose
from tests.test_roles import Club, approve, give_role, inbound_of, member_id, register
from tests.test_roles import club as club  # the fixture

SAVE = "Đúng, lưu lại"
REFUSAL = "Xin lỗi, bác chưa dùng được việc này."
MENU = "Bác muốn làm gì ạ?"
ACTIONS = ["Đổi lịch họp", "Dời một buổi họp", "Xong"]
RULE_15 = "Câu lạc bộ họp vào ngày 15 hằng tháng, lúc 08:00."
NEXT_15 = ("Các buổi họp tới:\n"
           "- Thứ Ba ngày 15/12/2026, lúc 08:00\n"
           "- Thứ Sáu ngày 15/01/2027, lúc 08:00\n"
           "- Thứ Hai ngày 15/02/2027, lúc 08:00")
MAI = "Lò Thị Mai (1958, Bản Na Công)"


@pytest.fixture
async def three(chat, club: Club):
    """The club with a third active member, Mai."""
    mai, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(club.chair, MAI)
    for person in (club.chair, club.hoa, mai):
        person.unread()
    # They joined in October: /diemdanh asks only about members who had joined by the
    # meeting's day (here 15/11), and the registrations above ran on 28/11.
    async with chat.bot.storage.transaction() as tx:
        await tx._run("UPDATE members SET registered_at = '2026-10-01T01:00:00+00:00', "
                      "approved_at = CASE WHEN approved_at IS NULL THEN NULL ELSE "
                      "'2026-10-01T02:00:00+00:00' END")
    return club, mai


async def rules(chat) -> list[dict]:
    return await chat.bot.rows(
        "SELECT kind, day, weekday, nth, time, place, changed_by FROM meeting_rules ORDER BY id"
    )


async def moves(chat) -> list[dict]:
    return await chat.bot.rows(
        "SELECT month, day, time, place, moved_by FROM meeting_moves ORDER BY month"
    )


async def attendance(chat) -> dict[tuple[str, str], int]:
    rows = await chat.bot.rows(
        "SELECT a.day, m.full_name, a.present FROM attendance a JOIN members m "
        "ON m.id = a.member_id ORDER BY a.day, m.full_name"
    )
    return {(r["day"], r["full_name"]): r["present"] for r in rows}


# --- seeing the schedule ---------------------------------------------------------------------


async def test_members_see_the_next_meetings(chat, club):
    reply = await club.hoa.say("/lichhop")
    assert RULE_15 in reply.text
    assert NEXT_15 in reply.text
    assert reply.labels == []  # nothing to change
    assert "Vắng hai buổi liền" not in reply.text
    reply = await club.hoa.say("lich hop")  # typed without the slash and accents
    assert NEXT_15 in reply.text


async def test_members_and_the_vice_chair_cannot_change_the_schedule(chat, three):
    club, mai = three
    await give_role(club.chair, MAI, "Phó chủ nhiệm")
    await club.chair.pick(SAVE)
    mai.unread()
    for person in (club.hoa, mai):
        reply = await person.say("/lichhop")
        assert NEXT_15 in reply.text
        assert reply.labels == []
        reply = await person.say("Đổi lịch họp")  # no conversation goes on
        assert "Họp theo ngày" not in reply.text
        assert "Câu lạc bộ họp theo ngày trong tháng" not in reply.text
    assert await rules(chat) == [] and await moves(chat) == []

    # The service checks the role again when the change is written.
    for person in (club.hoa, mai):
        inbound = await inbound_of(chat, person)
        async with chat.bot.storage.transaction() as tx:
            ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
            changed = await ChangeSchedule(MeetingRule(day=1)).apply(tx, ctx)
            moved = await MoveMeeting(
                MeetingMove("2027-01", ctx.today.replace(day=30), "08:00", ""), "2027-01-15"
            ).apply(tx, ctx)
        assert [r.parts[0].msgid for r in changed + moved] == ["Sorry, you cannot use this."] * 2
    assert await rules(chat) == [] and await moves(chat) == []
    assert club.hoa.unread() == [] and mai.unread() == []


async def test_the_chair_can_stop_without_changing_anything(chat, club):
    reply = await club.chair.say("/lichhop")
    assert RULE_15 in reply.text and NEXT_15 in reply.text
    assert "Bác muốn làm gì ạ?" in reply.text
    assert reply.labels == ACTIONS
    reply = await club.chair.pick("Xong")
    assert reply.text == "Vâng ạ. Bác gõ /menu để xem các việc khác."
    assert await rules(chat) == [] and await moves(chat) == []


# --- changing the rule -----------------------------------------------------------------------


async def test_the_chair_changes_the_rule_and_everyone_is_told(chat, three):
    club, mai = three
    await club.chair.say("/lichhop")
    reply = await club.chair.pick("Đổi lịch họp")
    assert "Câu lạc bộ họp theo ngày trong tháng (ví dụ ngày 15) hay theo thứ" in reply.text
    assert reply.labels == ["Theo ngày trong tháng", "Theo thứ trong tuần"]
    reply = await club.chair.pick("Theo thứ trong tuần")
    assert "Họp vào thứ mấy ạ? Ví dụ: Chủ nhật." in reply.text
    assert reply.labels == ["Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu",
                            "Thứ Bảy"]
    reply = await club.chair.pick("Chủ nhật")
    assert "Họp vào Chủ nhật nào trong tháng ạ? Ví dụ: đầu tiên." in reply.text
    reply = await club.chair.pick("Đầu tiên")
    assert "Họp lúc mấy giờ ạ? Ví dụ: 8h, 8 giờ 30 hoặc 14:00. Hiện nay: 08:00." in reply.text
    assert reply.labels == ["08:00"]
    reply = await club.chair.say("8 giờ 30")
    assert "Họp ở đâu ạ? Ví dụ: Nhà văn hóa bản." in reply.text
    assert reply.labels == ["Không ghi chỗ họp"]
    reply = await club.chair.say("Nhà văn hóa bản")
    assert ("Lịch họp mới: Câu lạc bộ họp vào Chủ nhật đầu tiên của tháng, lúc 08:30, tại Nhà "
            "văn hóa bản.\nCác buổi họp tới:\n"
            "- Chủ nhật ngày 06/12/2026, lúc 08:30, tại Nhà văn hóa bản\n"
            "- Chủ nhật ngày 03/01/2027, lúc 08:30, tại Nhà văn hóa bản\n"
            "- Chủ nhật ngày 07/02/2027, lúc 08:30, tại Nhà văn hóa bản\n"
            "Tôi sẽ báo cho tất cả thành viên.") in reply.text
    assert reply.labels == [SAVE, "Hủy"]
    assert await rules(chat) == []  # nothing saved before the chair confirms
    assert club.hoa.unread() == []

    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu. Tôi đã báo cho 2 thành viên."
    chair_id = await member_id(chat, "Vi Thị Lan")
    assert await rules(chat) == [{"kind": "weekday", "day": None, "weekday": 6, "nth": 1,
                                  "time": "08:30", "place": "Nhà văn hóa bản",
                                  "changed_by": chair_id}]
    [row] = await chat.bot.rows("SELECT changed_at FROM meeting_rules")
    assert row["changed_at"].startswith("2026-11-28")
    told = ("Thông báo đổi lịch họp: Câu lạc bộ họp vào Chủ nhật đầu tiên của tháng, lúc 08:30, "
            "tại Nhà văn hóa bản. Buổi họp tới: Chủ nhật ngày 06/12/2026, lúc 08:30, tại Nhà "
            "văn hóa bản.")
    for person in (club.hoa, mai):
        [notice] = person.unread()
        assert notice.text == told
    assert club.chair.unread() == []  # the chair is not told about their own change

    reply = await club.hoa.say("/lichhop")
    assert "Câu lạc bộ họp vào Chủ nhật đầu tiên của tháng, lúc 08:30, tại Nhà văn hóa bản." \
        in reply.text
    assert "- Chủ nhật ngày 06/12/2026, lúc 08:30, tại Nhà văn hóa bản" in reply.text

    # A second change keeps the first in the history; the place is kept with one tap.
    await club.chair.say("/lichhop")
    await club.chair.pick("Đổi lịch họp")
    await club.chair.pick("Theo ngày trong tháng")
    reply = await club.chair.say("ngày 31")
    assert "Hiện nay: 08:30." in reply.text
    await club.chair.pick("08:30")
    reply = await club.chair.pick("Giữ chỗ cũ")
    assert ("Câu lạc bộ họp vào ngày 31 hằng tháng (tháng nào ít ngày hơn thì họp ngày cuối "
            "tháng), lúc 08:30, tại Nhà văn hóa bản.") in reply.text
    assert "- Thứ Hai ngày 30/11/2026, lúc 08:30" in reply.text  # November has 30 days
    assert "- Thứ Năm ngày 31/12/2026, lúc 08:30" in reply.text
    await club.chair.pick(SAVE)
    assert [(r["kind"], r["day"], r["place"]) for r in await rules(chat)] == [
        ("weekday", None, "Nhà văn hóa bản"), ("day", 31, "Nhà văn hóa bản")]


# --- moving one meeting ----------------------------------------------------------------------


async def test_the_chair_moves_the_january_meeting(chat, three):
    club, mai = three
    await club.chair.say("/lichhop")
    reply = await club.chair.pick("Dời một buổi họp")
    assert "Bác muốn dời buổi họp nào ạ?" in reply.text
    assert reply.labels == ["15/12/2026 08:00", "15/01/2027 08:00", "15/02/2027 08:00"]
    reply = await club.chair.pick("15/01/2027 08:00")
    assert "Buổi họp Thứ Sáu ngày 15/01/2027 dời sang ngày nào ạ? Ví dụ: 13/01." in reply.text
    reply = await club.chair.say("10/01")  # no year: the one near the meeting, 2027
    if chat.kind == "telegram":
        assert "Giữ 08:00 thì bấm Giữ nguyên giờ" in reply.text
    else:  # nothing to tap on Zalo and in the terminal
        assert "Giữ 08:00 thì gõ 1; đổi thì gõ giờ mới" in reply.text
        assert "bấm" not in reply.text
    assert reply.labels == ["Giữ nguyên giờ"]
    reply = await club.chair.pick("Giữ nguyên giờ")
    assert ("Buổi họp Thứ Sáu ngày 15/01/2027 dời sang Chủ nhật ngày 10/01/2027, lúc 08:00. "
            "Lịch họp hằng tháng giữ nguyên.") in reply.text
    assert await moves(chat) == []
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu. Tôi đã báo cho 2 thành viên."
    chair_id = await member_id(chat, "Vi Thị Lan")
    assert await moves(chat) == [{"month": "2027-01", "day": "2027-01-10", "time": "08:00",
                                  "place": "", "moved_by": chair_id}]
    assert await rules(chat) == []  # the rule is unchanged
    for person in (club.hoa, mai):
        [notice] = person.unread()
        assert notice.text == ("Thông báo: buổi họp Thứ Sáu ngày 15/01/2027 dời sang Chủ nhật "
                               "ngày 10/01/2027, lúc 08:00.")

    reply = await club.hoa.say("/lichhop")
    assert RULE_15 in reply.text
    assert ("Các buổi họp tới:\n"
            "- Thứ Ba ngày 15/12/2026, lúc 08:00\n"
            "- Chủ nhật ngày 10/01/2027, lúc 08:00 (dời lịch)\n"
            "- Thứ Hai ngày 15/02/2027, lúc 08:00") in reply.text

    # Moved again, with another time: the same month's move is replaced.
    await club.chair.say("/lichhop")
    await club.chair.pick("Dời một buổi họp")
    reply = await club.chair.pick("10/01/2027 08:00")
    assert "Buổi họp Chủ nhật ngày 10/01/2027 dời sang ngày nào ạ?" in reply.text
    await club.chair.say("17/1/2027")
    reply = await club.chair.say("14h")
    assert "dời sang Chủ nhật ngày 17/01/2027, lúc 14:00." in reply.text
    await club.chair.pick(SAVE)
    assert await moves(chat) == [{"month": "2027-01", "day": "2027-01-17", "time": "14:00",
                                  "place": "", "moved_by": chair_id}]
    reply = await club.hoa.say("/lichhop")
    assert "- Chủ nhật ngày 17/01/2027, lúc 14:00 (dời lịch)" in reply.text


# --- bad answers -----------------------------------------------------------------------------


async def test_bad_day_and_time_get_a_clear_answer_and_the_question_again(chat, club):
    await club.chair.say("/lichhop")
    await club.chair.pick("Đổi lịch họp")
    await club.chair.pick("Theo ngày trong tháng")
    reply = await club.chair.say("32")
    assert "Bác gõ một ngày trong tháng, từ 1 đến 31, ví dụ: 15." in reply.text
    assert "Họp ngày nào hằng tháng ạ? Ví dụ: 15." in reply.text
    reply = await club.chair.say("20")
    assert "Họp lúc mấy giờ ạ?" in reply.text
    reply = await club.chair.say("25:00")
    assert "Giờ phải từ 0 đến 23, phút từ 0 đến 59. Ví dụ: 8h hoặc 14:30." in reply.text
    assert "Họp lúc mấy giờ ạ?" in reply.text
    reply = await club.chair.say("sáng sớm")
    assert "Bác gõ giờ họp như 8h, 8 giờ 30 hoặc 14:00." in reply.text
    reply = await club.chair.say("2 giờ chiều")
    assert "Họp ở đâu ạ?" in reply.text
    reply = await club.chair.pick("Không ghi chỗ họp")
    assert "Câu lạc bộ họp vào ngày 20 hằng tháng, lúc 14:00." in reply.text
    reply = await club.chair.pick("Hủy")
    assert "Đã dừng. Chưa lưu gì cả." in reply.text
    assert await rules(chat) == []


@pytest.mark.parametrize(("typed", "answer"), [
    ("20/11", "Ngày 20/11/2026 đã qua rồi. Bác gõ hôm nay hoặc một ngày sau đó, ví dụ: 13/01."),
    ("hôm qua", "Ngày 27/11/2026 đã qua rồi."),
    ("01/04/2027", "Buổi họp chỉ dời được trong vòng 45 ngày quanh ngày 15/01/2027."),
    ("14/12", "Ngày đó trùng hoặc vượt qua buổi họp ngày 15/12/2026."),
    ("16/02", "Ngày đó trùng hoặc vượt qua buổi họp ngày 15/02/2027."),
    ("31/02", "Không có ngày này."),
    ("mai mốt", "Bác gõ ngày như 15/12 hoặc hôm nay nhé."),
])  # fmt: skip
async def test_a_bad_new_day_is_explained_and_asked_again(chat, club, typed, answer):
    await club.chair.say("/lichhop")
    await club.chair.pick("Dời một buổi họp")
    await club.chair.pick("15/01/2027 08:00")
    reply = await club.chair.say(typed)
    assert answer in reply.text, reply.text
    assert "Buổi họp Thứ Sáu ngày 15/01/2027 dời sang ngày nào ạ?" in reply.text
    reply = await club.chair.say("20/12")  # after December's meeting: allowed
    assert reply.labels == ["Giữ nguyên giờ"]
    assert await moves(chat) == []


# --- attendance ------------------------------------------------------------------------------


async def test_attendance_recorded_twice_replaces_the_first(chat, three):
    club, mai = three
    reply = await club.chair.say("/diemdanh")
    assert ("Buổi họp Chủ nhật ngày 15/11/2026, những ai đã đến ạ? Bác chọn tất cả những người "
            "có mặt.") in reply.text
    assert reply.labels[:4] == ["Mọi người đều đến", "Lò Thị Mai", "Mồng Thị Hoa", "Vi Thị Lan"]
    reply = await choose(chat, club.chair, "Vi Thị Lan", "Lò Thị Mai")
    assert ("Điểm danh buổi họp Chủ nhật ngày 15/11/2026:\nCó mặt 2 / vắng 1.\n"
            "Vắng: Mồng Thị Hoa.") in reply.text
    assert await attendance(chat) == {}
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu điểm danh: có mặt 2 / vắng 1."
    assert await attendance(chat) == {
        ("2026-11-15", "Lò Thị Mai"): 1, ("2026-11-15", "Mồng Thị Hoa"): 0,
        ("2026-11-15", "Vi Thị Lan"): 1,
    }
    chair_id = await member_id(chat, "Vi Thị Lan")
    rows = await chat.bot.rows("SELECT DISTINCT recorded_by FROM attendance")
    assert rows == [{"recorded_by": chair_id}]

    reply = await club.chair.say("/diemdanh")
    assert ("Buổi này đã điểm danh rồi (có mặt 2 / vắng 1). Lưu lần này sẽ thay lần trước."
            in reply.text)
    reply = await choose(chat, club.chair, "Mọi người đều đến")
    assert "Có mặt 3 / vắng 0.\nKhông ai vắng." in reply.text
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu điểm danh: có mặt 3 / vắng 0."
    assert await attendance(chat) == {
        ("2026-11-15", "Lò Thị Mai"): 1, ("2026-11-15", "Mồng Thị Hoa"): 1,
        ("2026-11-15", "Vi Thị Lan"): 1,
    }
    assert club.hoa.unread() == [] and mai.unread() == []  # members are not told


async def test_members_who_missed_two_meetings_in_a_row_are_listed(chat, three):
    club, mai = three
    await give_role(club.chair, MAI, "Phó chủ nhiệm")
    await club.chair.pick(SAVE)
    await club.chair.say("/diemdanh")
    await choose(chat, club.chair, "Vi Thị Lan", "Lò Thị Mai")
    reply = await club.chair.pick(SAVE)
    assert "Vắng hai buổi liền" not in reply.text  # only one meeting recorded yet

    chat.bot.clock.advance(days=17)  # Tuesday 15/12/2026, 09:00: a meeting day
    reply = await mai.say("/diemdanh")  # the vice chair records it
    assert "Buổi họp Thứ Ba ngày 15/12/2026, những ai đã đến ạ?" in reply.text
    reply = await choose(chat, mai, "Vi Thị Lan", "Lò Thị Mai")
    assert "Vắng: Mồng Thị Hoa." in reply.text
    reply = await mai.pick(SAVE)
    assert reply.text == ("Đã lưu điểm danh: có mặt 2 / vắng 1.\n\n"
                          "Vắng hai buổi liền: Mồng Thị Hoa.")

    reply = await club.chair.say("/diemdanh")
    assert reply.text.startswith("Vắng hai buổi liền: Mồng Thị Hoa.")
    await club.chair.say("/huy")
    reply = await club.chair.say("/lichhop")
    assert "Vắng hai buổi liền: Mồng Thị Hoa." in reply.text
    reply = await mai.say("/lichhop")
    assert "Vắng hai buổi liền: Mồng Thị Hoa." in reply.text
    reply = await club.hoa.say("/lichhop")
    assert "Vắng hai buổi liền" not in reply.text  # members do not see it
    assert "- Thứ Ba ngày 15/12/2026, lúc 08:00" in reply.text  # today's meeting is still next

    reply = await club.hoa.say("/diemdanh")
    assert reply.text.startswith(REFUSAL)
    assert await chat.bot.rows("SELECT COUNT(*) AS n FROM attendance") == [{"n": 6}]
    inbound = await inbound_of(chat, club.hoa)
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        replies = await RecordAttendance(ctx.today, (ctx.member.id,), ()).apply(tx, ctx)
    assert [r.parts[0].msgid for r in replies] == ["Sorry, you cannot use this."]
    assert await chat.bot.rows("SELECT COUNT(*) AS n FROM attendance") == [{"n": 6}]

    # Hoa came after all: recorded again, she is off the list.
    await club.chair.say("/diemdanh")
    await choose(chat, club.chair, "Mọi người đều đến")
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu điểm danh: có mặt 3 / vắng 0."
    reply = await club.chair.say("/lichhop")
    assert "Vắng hai buổi liền" not in reply.text


async def test_attendance_follows_a_moved_meeting(chat, three):
    club, _ = three
    await club.chair.say("/lichhop")
    await club.chair.pick("Dời một buổi họp")
    await club.chair.pick("15/12/2026 08:00")
    await club.chair.say("hôm nay")  # Saturday 28/11
    await club.chair.pick("Giữ nguyên giờ")
    await club.chair.pick(SAVE)
    reply = await club.chair.say("/diemdanh")
    assert "Buổi họp Thứ Bảy ngày 28/11/2026, những ai đã đến ạ?" in reply.text
    reply = await choose(chat, club.chair, "Mọi người đều đến", "Mồng Thị Hoa")
    assert "Điểm danh buổi họp Thứ Bảy ngày 28/11/2026:\nCó mặt 3 / vắng 0." in reply.text
    await club.chair.pick(SAVE)
    days = {day for day, _ in await attendance(chat)}
    assert days == {"2026-11-28"}
