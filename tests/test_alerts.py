"""Urgent readings are never dropped, alerts name who was told, are answered and escalate.

On every channel (text, Telegram, Zalo). The clock starts on 28/11/2026, 09:00 in Vietnam.
Hoa is a member; Lan the chair; in ``care`` Mai is Hoa's volunteer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import alerts, report
from bot.conversations.monthly_report import sections
from bot.render import translate
from tests.test_health_flows import care as care  # the fixture
from tests.test_health_flows import choose
from tests.test_roles import approve, give_role, member_id, register
from tests.test_roles import club as club  # the fixture

ADVICE = "Bác gọi 115 hoặc đến trạm y tế xã ngay bây giờ nhé."
TOLD_BOTH = "Tôi đã báo cho bác Lò Thị Mai (tình nguyện viên), bác Vi Thị Lan (chủ nhiệm)."
ALERT = ("Cần giúp ngay: bác Mồng Thị Hoa (Bản Na Công, ĐT 0987654321). Huyết áp đo hôm nay ở "
         "mức nguy hiểm. Bác gọi điện hoặc đến xem bác ấy ngay nhé.")
NOT_REMEASURED_ALERT = (
    "Cần giúp ngay: bác Mồng Thị Hoa (Bản Na Công, ĐT 0987654321). Huyết áp đo hôm nay rất cao "
    "và chưa được đo lại. Bác gọi điện hoặc đến xem bác ấy ngay nhé.")
ACK = "Tôi đã gọi / đang đến"
KEPT = ("Số đo đã được giữ lại (chưa xác nhận) để ban chủ nhiệm xem được. Nếu chưa gọi, bác gọi "
        "115 hoặc đến trạm y tế xã ngay nhé.")
AGAIN = "Huyết áp này rất cao. Bác ngồi nghỉ 5 phút rồi đo lại"
SAVE = "Đúng, lưu lại"


async def deliver(chat) -> None:
    """Send what background work (the sweeper, the escalation) queued."""
    if chat.kind == "text":
        await chat.bot.outbox.drain()
    else:
        await chat.settle()


async def readings(chat) -> list[dict]:
    return await chat.bot.rows("SELECT member_id, systolic, diastolic, first_systolic, urgent, "
                               "confirmed, symptoms, idempotency_key FROM readings ORDER BY id")


async def alert_rows(chat) -> list[dict]:
    return await chat.bot.rows("SELECT member_id, reason, raised_by, escalated_at, "
                               "idempotency_key FROM alerts ORDER BY id")


async def told_rows(chat) -> list[tuple[int, str, str]]:
    rows = await chat.bot.rows("SELECT member_id, round, role FROM alert_recipients "
                               "ORDER BY rowid")
    return [(r["member_id"], r["round"], r["role"]) for r in rows]


def alert_of(messages) -> object:
    [alert] = messages
    assert alert.text.startswith(ALERT), alert.text
    assert alert.labels == [ACK]
    return alert


async def urgent_typed(chat, club, mai):
    """Hoa types a crisis reading: the advice and the alerts go out at once."""
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("210/125")
    assert AGAIN in reply.text  # the next question is still asked
    advice = club.hoa.messages[-2]
    assert advice.text == f"{ADVICE}\n\n{TOLD_BOTH}"
    alert_of(mai.unread())
    alert_of(club.chair.unread())
    [row] = await readings(chat)
    assert (row["systolic"], row["urgent"], row["confirmed"]) == (210, 1, 0)
    return row


# --- urgent the moment it is known ----------------------------------------------------------


@pytest.mark.parametrize("end", ["Hủy", "/huy", "/menu", "/vay"])
async def test_a_cancelled_urgent_reading_is_kept_and_was_alerted(chat, care, end):
    club, mai = care
    await urgent_typed(chat, club, mai)
    await club.hoa.pick("Không đo lại được")
    reply = await choose(chat, club.hoa, "Không có dấu hiệu nào")
    assert ("Huyết áp: 210/125 (không đo lại được)\nDấu hiệu: Không có dấu hiệu nào\n"
            "Ngày đo: 28/11/2026") in reply.text
    assert club.hoa.unread()[:-1] == []  # no second advice
    count = len(club.hoa.messages)
    if end == "Hủy":
        await club.hoa.pick("Hủy")
    else:
        await club.hoa.send(end)
    kept, after = club.hoa.messages[count:]
    assert kept.text == KEPT
    if end == "/vay":
        assert "Đã dừng" not in after.text
    else:
        assert after.text.startswith("Đã dừng.\n\nBác muốn làm gì ạ?")
        assert "Chưa lưu gì" not in after.text
    [row] = await readings(chat)
    assert (row["systolic"], row["urgent"], row["confirmed"]) == (210, 1, 0)
    [alert] = await alert_rows(chat)
    assert (alert["reason"], alert["member_id"]) == ("urgent", await member_id(chat,
                                                                            "Mồng Thị Hoa"))
    assert mai.unread() == [] and club.chair.unread() == []  # alerted once, at the reading


async def test_a_confirmed_urgent_reading_is_the_same_row_and_alerts_once(chat, care):
    club, mai = care
    first = await urgent_typed(chat, club, mai)
    reply = await club.hoa.say("205/122")
    assert "Bây giờ có dấu hiệu nào dưới đây không ạ?" in reply.text
    assert club.hoa.unread()[:-1] == []  # already advised
    reply = await choose(chat, club.hoa, "Đau đầu dữ dội", "Nhìn mờ")
    assert ("Huyết áp: 205/122 (lần đo đầu 210/125)\nDấu hiệu: Đau đầu dữ dội, Nhìn mờ"
            in reply.text)
    reply = await club.hoa.pick(SAVE)
    assert reply.text == f"Đã lưu: 205/122 (tăng huyết áp độ 3).\n\n{ADVICE}\n\n{TOLD_BOTH}"
    [row] = await readings(chat)
    assert row["idempotency_key"] == first["idempotency_key"]
    assert (row["systolic"], row["first_systolic"], row["confirmed"]) == (205, 210, 1)
    assert row["symptoms"] == '["headache", "vision"]'
    assert len(await alert_rows(chat)) == 1
    assert mai.unread() == [] and club.chair.unread() == []


async def test_a_timed_out_urgent_reading_stays_for_the_board_sweeper(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    chat.bot.clock.advance(hours=3)
    assert await chat.bot.service.sweep() == 1
    await deliver(chat)
    kept, note = club.hoa.unread()
    assert kept.text == KEPT
    assert note.text == "Lâu rồi bác chưa trả lời nên tôi đã dừng. Bác gõ /menu để làm lại nhé."
    [row] = await readings(chat)
    assert row["confirmed"] == 0
    assert mai.unread() == [] and club.chair.unread() == []


async def test_a_timed_out_urgent_reading_stays_for_the_board_next_message(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    chat.bot.clock.advance(hours=3)
    await club.hoa.send("xin chào")
    kept, menu = club.hoa.unread()
    assert kept.text == KEPT
    assert menu.text.startswith("Việc lúc trước đã quá giờ nên đã dừng.\n\nBác muốn làm gì ạ?")
    [row] = await readings(chat)
    assert row["confirmed"] == 0
    assert len(await alert_rows(chat)) == 1


@pytest.mark.parametrize("how", ["/huy", "sweeper", "/suckhoe"])
async def test_a_very_high_reading_abandoned_before_the_second_measure_alerts(chat, care, how):
    club, mai = care
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("185/112")
    assert AGAIN in reply.text
    assert club.hoa.unread() == [] and mai.unread() == [] and club.chair.unread() == []
    assert await readings(chat) == []  # not yet urgent: it may settle after rest
    if how == "sweeper":
        chat.bot.clock.advance(hours=3)
        await chat.bot.service.sweep()
        await deliver(chat)
    else:
        await club.hoa.send(how)
    advice = club.hoa.unread()[0]
    assert advice.text == (
        "Huyết áp này rất cao và chưa được đo lại, nên tôi đã giữ số đo (chưa xác nhận). Bác "
        f"gọi 115 hoặc đến trạm y tế xã ngay nhé.\n\n{TOLD_BOTH}")
    for person in (mai, club.chair):
        [alert] = person.unread()
        assert alert.text.startswith(NOT_REMEASURED_ALERT) and alert.labels == [ACK]
    [row] = await readings(chat)
    assert (row["systolic"], row["urgent"], row["confirmed"]) == (185, 1, 0)
    [alert] = await alert_rows(chat)
    assert alert["reason"] == "not_remeasured"


async def test_silence_at_the_second_measure_alerts_after_20_minutes_not_hours(chat, care):
    club, mai = care
    await club.hoa.say("/huyetap")
    await club.hoa.say("185/112")
    chat.bot.clock.advance(minutes=19)
    assert await chat.bot.service.sweep() == 0  # still resting and measuring
    assert mai.unread() == [] and club.chair.unread() == []
    chat.bot.clock.advance(minutes=2)
    assert await chat.bot.service.sweep() == 1
    await deliver(chat)
    for person in (mai, club.chair):
        [alert] = person.unread()
        assert alert.text.startswith(NOT_REMEASURED_ALERT)
    [alert] = await alert_rows(chat)
    assert alert["reason"] == "not_remeasured"


async def test_a_reading_that_settles_before_being_abandoned_alerts_nobody(chat, care):
    club, mai = care
    await club.hoa.say("/huyetap")
    await club.hoa.say("185/112")
    await club.hoa.say("150/92")
    reply = await club.hoa.say("/huy")
    assert reply.text.startswith("Đã dừng. Chưa lưu gì cả.")
    assert await readings(chat) == [] and await alert_rows(chat) == []
    assert mai.unread() == [] and club.chair.unread() == []


# --- who is told ----------------------------------------------------------------------------


async def test_without_a_volunteer_the_chair_and_vice_chair_are_told(chat, club):
    mai, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(club.chair, "Lò Thị Mai (1958, Bản Na Công)")
    await give_role(club.chair, "Lò Thị Mai (1958, Bản Na Công)", "Phó chủ nhiệm")
    await club.chair.pick(SAVE)
    club.chair.unread()
    mai.unread()
    await club.hoa.say("/huyetap")
    await club.hoa.say("210/125")
    advice = club.hoa.messages[-2]
    assert advice.text == (f"{ADVICE}\n\nTôi đã báo cho bác Vi Thị Lan (chủ nhiệm), bác Lò Thị "
                           "Mai (phó chủ nhiệm).")
    alert_of(club.chair.unread())
    alert_of(mai.unread())
    lan, mai_id = await member_id(chat, "Vi Thị Lan"), await member_id(chat, "Lò Thị Mai")
    assert await told_rows(chat) == [(lan, "alert", "chair"), (mai_id, "alert", "vice_chair")]


async def test_nobody_reachable_is_said_honestly(chat, club):
    lan = await member_id(chat, "Vi Thị Lan")
    async with chat.bot.storage.transaction() as tx:
        await tx._run("UPDATE identities SET unreachable = 1 WHERE member_id = ?", (lan,))
    await club.hoa.say("/huyetap")
    await club.hoa.say("210/125")
    advice = club.hoa.messages[-2]
    assert advice.text == (f"{ADVICE}\n\nTôi chưa báo được cho ai trong câu lạc bộ. Bác tự gọi "
                           "115, hoặc nhờ người ở gần giúp ngay nhé.")
    assert "Tôi đã báo" not in advice.text
    assert await told_rows(chat) == []
    assert len(await alert_rows(chat)) == 1  # recorded all the same
    assert club.chair.unread() == []


async def test_a_volunteer_at_the_meeting_is_told_who_was_alerted(chat, care):
    club, mai = care
    await mai.say("/huyetap")
    await mai.pick("Đo cho thành viên khác")
    await mai.say("hoa")
    await mai.say("210/125")
    advice = mai.messages[-2]
    assert advice.text == ("Bác Mồng Thị Hoa cần được giúp ngay: gọi 115 hoặc đưa bác ấy đến "
                           "trạm y tế xã.\n\nTôi đã báo cho bác Vi Thị Lan (chủ nhiệm).")
    [told] = club.hoa.unread()
    assert told.text == ("Huyết áp của bác đo hôm nay ở mức nguy hiểm. Bác gọi 115 hoặc đến "
                         "trạm y tế xã ngay nhé.")
    alert_of(club.chair.unread())


# --- answers and escalation -----------------------------------------------------------------


async def test_an_alert_is_answered_with_the_button(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    reply = await mai.pick(ACK)  # the alert is Mai's last message
    assert reply.text == "Cảm ơn bác. Tôi đã báo cho bác Mồng Thị Hoa là đang có người đến giúp."
    [told] = club.hoa.unread()
    assert told.text == ("Bác Lò Thị Mai đã nhận tin: đang có người đến giúp bác. Bác ấy đã gọi "
                         "giúp hoặc đang trên đường đến.")
    [others] = club.chair.unread()
    assert others.text == ("Bác Lò Thị Mai đã nhận tin báo về bác Mồng Thị Hoa: bác ấy đã gọi "
                           "giúp hoặc đang đến.")
    rows = await chat.bot.rows("SELECT member_id, acknowledged_at FROM alert_acks")
    assert rows == [{"member_id": await member_id(chat, "Lò Thị Mai"),
                     "acknowledged_at": chat.bot.clock().isoformat()}]
    chat.bot.clock.advance(minutes=30)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 0  # answered


@pytest.mark.parametrize("typed", ["đã gọi", "da goi", "dang den", "tôi đang đến"])
async def test_an_alert_is_answered_by_typing(chat, care, typed):
    club, mai = care
    await urgent_typed(chat, club, mai)
    reply = await club.chair.say(typed)
    assert reply.text == "Cảm ơn bác. Tôi đã báo cho bác Mồng Thị Hoa là đang có người đến giúp."
    [told] = club.hoa.unread()
    assert told.text.startswith("Bác Vi Thị Lan đã nhận tin: đang có người đến giúp bác.")
    [others] = mai.unread()
    assert others.text.startswith("Bác Vi Thị Lan đã nhận tin báo về bác Mồng Thị Hoa")
    reply = await club.chair.say(typed)
    assert reply.text == "Không có tin báo nào đang chờ bác trả lời."
    assert len(await chat.bot.rows("SELECT * FROM alert_acks")) == 1


async def test_only_people_alerted_or_the_board_may_answer(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    [alert] = await chat.bot.rows("SELECT id FROM alerts")
    reply = await club.hoa.say(f"/dagoi {alert['id']}")  # about herself: not hers to answer
    assert reply.text == "Xin lỗi, bác chưa dùng được việc này."
    reply = await club.hoa.say("đã gọi")
    assert reply.text == "Không có tin báo nào đang chờ bác trả lời."
    assert await chat.bot.rows("SELECT * FROM alert_acks") == []


async def test_an_unanswered_alert_goes_to_the_whole_board_after_15_minutes(chat, care):
    club, mai = care
    await give_role(club.chair, "Lò Thị Mai (1958, Bản Na Công)", "Phó chủ nhiệm")
    await club.chair.pick(SAVE)
    club.chair.unread()
    mai.unread()
    await club.hoa.say("/huyetap")
    await club.hoa.say("210/125")
    alert_of(mai.unread())
    alert_of(club.chair.unread())
    chat.bot.clock.advance(minutes=14, seconds=59)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 0  # not before
    chat.bot.clock.advance(seconds=1)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 1
    await deliver(chat)
    for person in (club.chair, mai):
        [again] = person.unread()
        assert again.text.startswith("Đã 15 phút mà chưa ai trả lời tin báo này.\n\n" + ALERT)
        assert again.labels == [ACK]
    chat.bot.clock.advance(minutes=15)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 0  # once only
    [row] = await alert_rows(chat)
    assert row["escalated_at"] == datetime(2026, 11, 28, 2, 15, tzinfo=UTC).isoformat()
    lan, mai_id = await member_id(chat, "Vi Thị Lan"), await member_id(chat, "Lò Thị Mai")
    assert await told_rows(chat) == [(mai_id, "alert", "volunteer"), (lan, "alert", "chair"),
                                     (lan, "escalation", "chair"),
                                     (mai_id, "escalation", "vice_chair")]
    reply = await club.chair.pick(ACK)  # still answerable
    assert reply.text.startswith("Cảm ơn bác.")


async def test_an_alert_is_sent_in_the_quiet_hours(chat, care):
    club, mai = care
    chat.bot.clock.now = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)  # 22:30 in the club
    await club.hoa.say("/huyetap")
    await club.hoa.say("210/125")
    alert_of(club.chair.unread())  # delivered now, not at 06:30
    alert_of(mai.unread())
    rows = await chat.bot.rows("SELECT status, not_before, quiet, guard FROM outbox "
                               "WHERE payload LIKE '%Cần giúp ngay%'")
    assert rows == [{"status": "sent", "not_before": None, "quiet": 0, "guard": None}] * 2
    chat.bot.clock.advance(minutes=15)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 1
    await deliver(chat)
    [again] = club.chair.unread()  # the escalation too
    assert again.text.startswith("Đã 15 phút mà chưa ai trả lời tin báo này.")


# --- the board sees them ----------------------------------------------------------------------


async def test_suckhoe_shows_alerts_to_the_board_only(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    await club.hoa.say("/huy")
    chat.bot.clock.advance(minutes=5)
    await mai.say("đã gọi")
    await club.chair.say("/suckhoe")
    reply = await club.chair.pick("Cả câu lạc bộ")
    assert ("Tin báo khẩn trong 30 ngày qua (1):\n- 09:00 28/11/2026, bác Mồng Thị Hoa: đã báo "
            "cho Lò Thị Mai, Vi Thị Lan. Bác Lò Thị Mai đã trả lời lúc 09:05 28/11/2026. Số đo "
            "chưa xác nhận.") in reply.text
    reply = await club.hoa.say("/suckhoe")
    assert "Tin báo khẩn" not in reply.text
    assert "28/11/2026: 210/125 (tăng huyết áp độ 3) (chưa xác nhận)" in reply.text
    await mai.say("/suckhoe")
    assert "Cả câu lạc bộ" not in mai.messages[-1].labels


async def test_the_monthly_report_counts_alerts(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)  # answered
    await club.chair.say("đã gọi")
    chat.bot.clock.advance(hours=1)
    await club.hoa.say("/huy")
    await club.hoa.say("/huyetap")
    await club.hoa.say("185/112")
    await club.hoa.say("/huy")  # not measured again: alerted, then escalated
    chat.bot.clock.advance(minutes=15)
    assert await alerts.escalate(chat.bot.storage, chat.bot.clock()) == 1
    club_id = club.info["club_id"]
    async with chat.bot.storage.transaction() as tx:
        figures = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-11")}
        december = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-12")}
        [text, _] = sections(await report.monthly(tx, club_id, "2026-11"))
    assert (figures["alerts"], figures["alerts_answered"], figures["alerts_escalated"]) == (
        2, 1, 1)
    assert (figures["urgent_readings"], figures["referred"]) == (2, 1)
    assert (december["alerts"], december["alerts_escalated"]) == (0, 0)
    assert ("Tin báo khẩn: 2; 1 được trả lời, 1 phải gửi lại cả ban chủ nhiệm."
            in translate(text, "vi"))


async def test_erasing_a_member_removes_their_alerts(chat, care):
    club, mai = care
    await urgent_typed(chat, club, mai)
    await mai.say("đã gọi")
    hoa = await member_id(chat, "Mồng Thị Hoa")
    async with chat.bot.storage.transaction() as tx:
        await tx.erase_member(hoa, None, chat.bot.clock())
        await tx.forget_health(hoa, chat.bot.clock())
    assert await alert_rows(chat) == [] and await readings(chat) == []
    assert await chat.bot.rows("SELECT * FROM alert_acks") == []


def test_the_escalation_delay_is_a_setting():
    from bot.config import Settings

    assert Settings.from_env({}).alert_escalate == timedelta(minutes=15)
    assert Settings.from_env({"ISHC_ALERT_ESCALATE_MINUTES": "5"}).alert_escalate == timedelta(
        minutes=5)


async def test_a_home_visit_cancelled_after_an_urgent_reading_keeps_it(chat, care):
    club, mai = care
    await mai.say("/thamnom")
    await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await mai.pick("Hôm nay")
    await choose(chat, mai, "Đo huyết áp")
    reply = await mai.say("205/125")
    assert "Huyết áp này rất cao." in reply.text
    assert mai.messages[-2].text == ("Bác Mồng Thị Hoa cần được giúp ngay: gọi 115 hoặc đưa "
                                     "bác ấy đến trạm y tế xã.\n\nTôi đã báo cho bác Vi Thị Lan "
                                     "(chủ nhiệm).")
    alert_of(club.chair.unread())
    [told] = club.hoa.unread()
    assert "Huyết áp của bác đo hôm nay ở mức nguy hiểm." in told.text
    reply = await mai.say("/huy")
    assert reply.text.startswith("Đã dừng.\n\n")
    assert mai.messages[-2].text.startswith("Số đo của bác Mồng Thị Hoa đã được giữ lại (chưa "
                                            "xác nhận)")
    rows = await chat.bot.rows("SELECT place, confirmed, urgent, visit_id FROM readings")
    assert rows == [{"place": "home", "confirmed": 0, "urgent": 1, "visit_id": None}]
    assert await chat.bot.rows("SELECT * FROM visits") == []


async def test_storage_keeps_readings_and_alerts_as_recorded(text_chat):
    from dataclasses import replace
    from datetime import date

    from storage.alerts import NewAlert
    from storage.base import NewMember
    from storage.health import NewReading

    bot = text_chat.bot
    club = await bot.new_club()
    now = bot.clock()
    async with bot.storage.transaction() as tx:
        member_id_, _ = await tx.add_member(NewMember(
            club_id=club["club_id"], full_name="A", sex="female", birth_year=1950,
            birth_date=None, phone=None, village="V", household="ordinary", ethnicity=None,
            status="active", assisted_by=None, registration_key="k"), now)
        row = NewReading(club["club_id"], member_id_, now, date(2026, 11, 28), 210, 125, None,
                         None, "grade_3", True, True, None, None, (), "self", member_id_, "r1",
                         confirmed=False)
        reading_id, created = await tx.add_reading(row, now)
        assert created and not (await tx.reading_by_key("r1")).confirmed
        assert await tx.confirm_reading(replace(row, systolic=200), now)
        assert not await tx.confirm_reading(replace(row, systolic=190), now)  # once
        assert (await tx.reading_by_key("r1")).systolic == 200
        alert_id, created = await tx.add_alert(
            NewAlert(club["club_id"], member_id_, reading_id, "urgent", None, "r1"), now)
        again = NewAlert(club["club_id"], member_id_, reading_id, "urgent", None, "r1")
        assert created and (await tx.add_alert(again, now)) == (alert_id, False)
        assert await tx.mark_escalated(alert_id, now)
        assert not await tx.mark_escalated(alert_id, now)
    with pytest.raises(Exception, match="kept as measured"):
        async with bot.storage.transaction() as tx:
            await tx._run("UPDATE readings SET systolic = 150 WHERE id = ?", (reading_id,))


async def test_the_service_runs_the_escalation_as_a_supervised_task(tmp_path):
    from bot.app import open_app
    from bot.config import Settings

    async with open_app(Settings(db=str(tmp_path / "ishc.sqlite3"), reminders=False),
                        []) as app:
        task = app.supervisor.tasks["alerts"]  # its heartbeat is what /readyz checks
        assert task.stale_after == 180
