"""Health by chat, on every channel: readings, urgent alerts, confirmations, home visits and
who may see what. The clock starts on 28/11/2026, 09:00 in Vietnam."""

from __future__ import annotations

import pytest

from bot.conversations.health_view import finish as show_health
from tests.test_roles import Club, approve, give_role, inbound_of, member_id, register
from tests.test_roles import club as club  # the fixture

SAVE = "Đúng, lưu lại"
REFUSAL = "Xin lỗi, bác chưa dùng được việc này."

BUTTONS = "Bác bấm một nút bên dưới, hoặc gõ câu trả lời nhé."  # a choice not understood


@pytest.fixture
async def care(chat, club: Club):
    """Mai is a volunteer caring for Hoa; Lan (the chair) is on the board."""
    mai, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(club.chair, "Lò Thị Mai (1958, Bản Na Công)")
    await give_role(club.chair, "Lò Thị Mai (1958, Bản Na Công)", "Tình nguyện viên")
    await club.chair.pick(SAVE)
    reply = await club.chair.say("/phancong")
    assert reply.labels == ["Lò Thị Mai (1958, Bản Na Công)"]
    await club.chair.pick("Lò Thị Mai (1958, Bản Na Công)")
    reply = await club.chair.say("Hoa")
    assert ("Bác Lò Thị Mai bắt đầu hay thôi chăm sóc bác Mồng Thị Hoa ạ? Ví dụ: gõ 1 là "
            "bắt đầu.") in reply.text  # both people named
    assert reply.labels == ["Bắt đầu chăm sóc", "Thôi chăm sóc"]
    reply = await club.chair.pick("Bắt đầu chăm sóc")
    assert "Bác Lò Thị Mai sẽ chăm sóc bác Mồng Thị Hoa." in reply.text
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Xong rồi ạ."
    [told] = [m for m in mai.unread() if "nhờ bác chăm sóc" in m.text]
    assert "Ban chủ nhiệm nhờ bác chăm sóc bác Mồng Thị Hoa (Bản Na Công)." in told.text
    club.chair.unread()
    club.hoa.unread()
    return club, mai


async def choose(chat, person, *labels: str):
    """Answer a "pick several" question: tap each and then Done on Telegram, else type the
    numbers at once (``1, 5``). Returns the next question."""
    if chat.kind == "telegram":
        if labels == ("Không có dấu hiệu nào",):  # exclusive: the tap finishes the question
            return await person.pick(labels[0])
        for label in labels:
            reply = await person.pick(label)
            assert "Đã chọn:" in reply.text
        return await person.pick("Xong")
    last = person.messages[-1]
    return await person.say(", ".join(str(last.labels.index(label) + 1) for label in labels))


async def readings(chat) -> list[dict]:
    return await chat.bot.rows(
        "SELECT member_id, systolic, diastolic, pulse, weight_tenths, grade, high, urgent, "
        "first_systolic, first_diastolic, symptoms, place, recorded_by FROM readings ORDER BY id"
    )


# --- readings --------------------------------------------------------------------------------


async def test_a_member_records_their_own_reading(chat, club):
    reply = await club.hoa.say("/huyetap")
    assert "Huyết áp của bác đo được bao nhiêu ạ? Ví dụ: 130/85" in reply.text
    reply = await club.hoa.say("130/85 72")
    assert "Cân nặng bao nhiêu kg ạ?" in reply.text
    assert reply.labels == ["Không cân"]
    reply = await club.hoa.say("52,5")
    assert "Huyết áp: 130/85, mạch 72\nCân nặng: 52,5 kg\nNgày đo: 28/11/2026" in reply.text
    assert await readings(chat) == []
    reply = await club.hoa.pick(SAVE)
    assert reply.text.startswith("Đã lưu: 130/85 (bình thường cao).")
    assert "Bác ăn nhạt, vận động nhẹ nhàng" in reply.text
    hoa = await member_id(chat, "Mồng Thị Hoa")
    assert await readings(chat) == [{
        "member_id": hoa, "systolic": 130, "diastolic": 85, "pulse": 72, "weight_tenths": 525,
        "grade": "high_normal", "high": 0, "urgent": 0, "first_systolic": None,
        "first_diastolic": None, "symptoms": "[]", "place": "self", "recorded_by": hoa,
    }]
    assert club.chair.unread() == []  # nobody else is told about an ordinary reading

    reply = await club.hoa.say("/suckhoe")
    assert "Các lần đo gần đây của bác:" in reply.text
    assert "28/11/2026: 130/85 (bình thường cao), mạch 72, 52,5 kg" in reply.text


@pytest.mark.parametrize(("typed", "answer"), [
    ("85/130", "Số trên (tâm thu) phải lớn hơn số dưới."),
    ("310/90", "Số trên phải từ 70 đến 300"),
    ("abc", "Bác gõ huyết áp như 130/85 hoặc 130 85."),
    ("130/85 250", "Mạch phải từ 30 đến 220."),
])  # fmt: skip
async def test_bad_readings_get_a_clear_answer(chat, club, typed, answer):
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say(typed)
    assert answer in reply.text
    assert "Huyết áp của bác đo được bao nhiêu ạ?" in reply.text
    assert await readings(chat) == []


async def test_an_unusual_jump_is_confirmed_and_can_be_retyped(chat, club):
    await club.hoa.say("/huyetap")
    await club.hoa.say("120/80")
    await club.hoa.pick("Không cân")
    await club.hoa.pick(SAVE)
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("165/100")
    assert "Số đo 165/100 khác nhiều so với lần đo trước. Số này đúng chưa ạ?" in reply.text
    assert reply.labels == ["Đúng rồi", "Gõ lại"]
    reply = await club.hoa.pick("Gõ lại")
    assert "Huyết áp của bác đo được bao nhiêu ạ?" in reply.text
    reply = await club.hoa.say("125/82")
    assert "Cân nặng bao nhiêu kg ạ?" in reply.text
    await club.hoa.pick("Không cân")
    reply = await club.hoa.pick(SAVE)
    assert reply.text.startswith("Đã lưu: 125/82 (bình thường).")
    assert [(r["systolic"], r["diastolic"]) for r in await readings(chat)] == [(120, 80),
                                                                              (125, 82)]


async def test_a_confirmed_unusual_reading_is_kept_as_typed(chat, club):
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("75/50")
    assert "Số đo 75/50 khác thường. Số này đúng chưa ạ?" in reply.text
    reply = await club.hoa.pick("Đúng rồi")
    assert "Bây giờ có dấu hiệu nào dưới đây không ạ?" in reply.text  # low: the signs
    reply = await choose(chat, club.hoa, "Không có dấu hiệu nào")
    assert "Cân nặng bao nhiêu kg ạ?" in reply.text
    reply = await club.hoa.pick("Không cân")
    assert "Huyết áp: 75/50" in reply.text
    reply = await club.hoa.pick(SAVE)
    assert reply.text.startswith("Đã lưu: 75/50 (huyết áp thấp).")
    assert "Huyết áp của bác hơi thấp." in reply.text
    [row] = await readings(chat)
    assert (row["urgent"], row["symptoms"]) == (0, "[]")
    assert club.chair.unread() == []


async def test_low_blood_pressure_with_dizziness_is_urgent(chat, club):
    await club.hoa.say("/huyetap")
    await club.hoa.say("85/55")
    await choose(chat, club.hoa, "Chóng mặt hoặc ngất")
    reply = await club.hoa.pick("Không cân")
    assert "Huyết áp: 85/55" in reply.text
    reply = await club.hoa.pick(SAVE)
    assert "Bác gọi 115 hoặc đến trạm y tế xã ngay bây giờ nhé." in reply.text
    [row] = await readings(chat)
    assert (row["urgent"], row["symptoms"]) == (1, '["dizzy"]')
    [alert] = club.chair.unread()
    assert "Cần giúp ngay: bác Mồng Thị Hoa" in alert.text


async def test_an_urgent_reading_alerts_the_volunteer_and_the_chair_once(chat, care):
    club, mai = care
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("190/115")
    assert "Huyết áp này rất cao. Bác ngồi nghỉ 5 phút rồi đo lại" in reply.text
    assert reply.labels == ["Không đo lại được"]
    reply = await club.hoa.say("185/112")
    assert "Bây giờ có dấu hiệu nào dưới đây không ạ?" in reply.text
    assert "Đau đầu dữ dội" in reply.labels and reply.labels[-1] == "Xong"
    reply = await choose(chat, club.hoa, "Đau đầu dữ dội")
    assert "Huyết áp: 185/112 (lần đo đầu 190/115)" in reply.text
    await club.hoa.send("1", external_id="save")
    await club.hoa.send("1", external_id="save")  # redelivered: still one reading, one alert
    [reply] = club.hoa.unread()
    assert "Bác gọi 115 hoặc đến trạm y tế xã ngay bây giờ nhé." in reply.text
    [row] = await readings(chat)
    assert (row["systolic"], row["first_systolic"], row["urgent"]) == (185, 190, 1)
    assert row["symptoms"] == '["headache"]'
    for person in (club.chair, mai):
        [alert] = person.unread()
        assert alert.text.startswith("Cần giúp ngay: bác Mồng Thị Hoa (Bản Na Công, ĐT "
                                     "0987654321).")
        assert "Huyết áp đo hôm nay ở mức nguy hiểm." in alert.text
        assert "185" not in alert.text and "190" not in alert.text  # never the numbers


async def test_a_very_high_first_reading_that_settles_does_not_alert(chat, care):
    club, mai = care
    await club.hoa.say("/huyetap")
    await club.hoa.say("182/95")
    await club.hoa.say("150/92")
    reply = await choose(chat, club.hoa, "Không có dấu hiệu nào")
    assert "Huyết áp: 150/92 (lần đo đầu 182/95)" in reply.text
    reply = await club.hoa.pick(SAVE)
    assert reply.text.startswith("Đã lưu: 150/92 (tăng huyết áp độ 1).")
    assert club.chair.unread() == [] and mai.unread() == []


async def test_a_volunteer_enters_readings_for_several_members_in_a_row(chat, care):
    club, mai = care
    reply = await mai.say("/huyetap")
    assert reply.labels == ["Của tôi", "Đo cho thành viên khác"]
    reply = await mai.pick("Đo cho thành viên khác")
    assert "Số đo của ai ạ?" in reply.text
    await mai.say("hoa")
    reply = await mai.say("120/80")
    assert "Cân nặng bao nhiêu kg ạ?" in reply.text
    reply = await mai.say("48")
    assert "Số đo của bác Mồng Thị Hoa:" in reply.text
    reply = await mai.pick(SAVE)
    assert reply.text.startswith("Đã lưu cho bác Mồng Thị Hoa: 120/80 (bình thường).")
    assert reply.labels == ["Đo cho người tiếp theo"]
    reply = await mai.pick("Đo cho người tiếp theo")
    assert "Số đo của ai ạ?" in reply.text  # straight to the next name
    await mai.say("Vi Thị Lan")
    await mai.say("145/92")
    await mai.pick("Không cân")
    reply = await mai.pick(SAVE)
    assert reply.text.startswith("Đã lưu cho bác Vi Thị Lan: 145/92 (tăng huyết áp độ 1).")
    rows = await readings(chat)
    mai_id = await member_id(chat, "Lò Thị Mai")
    assert [(r["systolic"], r["place"], r["recorded_by"]) for r in rows] == [
        (120, "meeting", mai_id), (145, "meeting", mai_id)]
    assert club.hoa.unread() == []


async def test_a_member_cannot_record_for_someone_else(chat, club):
    reply = await club.hoa.say("/huyetap")
    assert reply.labels == []  # straight to their own reading
    assert "Huyết áp của bác" in reply.text
    reply = await club.hoa.say("/huyetap tiep")
    assert "Huyết áp của bác" in reply.text


# --- home visits -----------------------------------------------------------------------------


async def test_a_home_visit_with_services_and_a_concern(chat, care):
    club, mai = care
    reply = await mai.say("/thamnom")
    assert reply.labels == ["Mồng Thị Hoa (1958, Bản Na Công)"]
    await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    reply = await mai.pick("Hôm nay")
    assert "Bác đã giúp những việc gì ạ?" in reply.text
    assert reply.labels[0] == "Nấu bữa ăn" and reply.labels[-1] == "Xong"
    reply = await choose(chat, mai, "Nấu bữa ăn", "Nhắc uống thuốc")
    assert "Huyết áp đo được bao nhiêu ạ?" in reply.text
    assert reply.labels == ["Không đo"]
    reply = await mai.pick("Không đo")
    assert "Có điều gì đáng lo không ạ?" in reply.text
    await mai.pick("Bị ngã")
    reply = await mai.say("ngã ở sân, đau chân")
    assert "Thăm bác Mồng Thị Hoa ngày 28/11/2026." in reply.text
    assert "Việc đã giúp: Nấu bữa ăn, Nhắc uống thuốc" in reply.text
    assert "Điều đáng lo: Bị ngã\nGhi chú: ngã ở sân, đau chân" in reply.text
    reply = await mai.pick(SAVE)
    assert reply.text == "Đã lưu lần thăm. Cảm ơn bác!"
    [visit] = await chat.bot.rows("SELECT client_id, volunteer_id, day, services, concern, note "
                                  "FROM visits")
    assert visit == {
        "client_id": await member_id(chat, "Mồng Thị Hoa"),
        "volunteer_id": await member_id(chat, "Lò Thị Mai"), "day": "2026-11-28",
        "services": '["meal", "medicine_reminder"]', "concern": "fall",
        "note": "ngã ở sân, đau chân",
    }
    [alert] = club.chair.unread()
    assert alert.text.startswith("Cần quan tâm bác Mồng Thị Hoa (Bản Na Công, ĐT 0987654321):")
    assert ("Tình nguyện viên Lò Thị Mai báo sau lần thăm: Bị ngã. ngã ở sân, đau chân"
            in alert.text)
    assert await readings(chat) == []

    reply = await mai.say("/khachhang")
    assert "- Mồng Thị Hoa (1958, Bản Na Công): thăm lần cuối 28/11/2026" in reply.text


async def test_a_visit_with_an_urgent_reading_alerts_the_chair(chat, care):
    club, mai = care
    await mai.say("/thamnom")
    await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await mai.pick("Hôm nay")
    await choose(chat, mai, "Đo huyết áp")
    reply = await mai.say("205/125")
    assert "Huyết áp này rất cao." in reply.text
    await mai.pick("Không đo lại được")
    await choose(chat, mai, "Không có dấu hiệu nào")
    reply = await mai.pick("Không có gì đáng lo")
    assert "Huyết áp: 205/125" in reply.text
    reply = await mai.pick(SAVE)
    assert "Bác Mồng Thị Hoa cần được giúp ngay: gọi 115" in reply.text
    assert "Đã lưu lần thăm. Cảm ơn bác!" in mai.messages[-2].text
    [alert] = club.chair.unread()
    assert "Cần giúp ngay: bác Mồng Thị Hoa" in alert.text and "205" not in alert.text
    [row] = await readings(chat)
    assert (row["place"], row["urgent"]) == ("home", 1)
    [told] = club.hoa.unread()
    assert "Huyết áp của bác đo hôm nay ở mức nguy hiểm." in told.text


async def test_the_board_sees_clients_without_a_recent_visit(chat, care):
    club, mai = care
    reply = await club.chair.say("/khachhang")
    assert "Quá 7 ngày chưa được thăm (1):" in reply.text
    assert "- Mồng Thị Hoa (1958, Bản Na Công): chưa có lần thăm nào" in reply.text
    await mai.say("/thamnom")
    await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await mai.pick("Hôm nay")
    await choose(chat, mai, "Trò chuyện")
    await mai.pick("Không đo")
    await mai.pick("Không có gì đáng lo")
    await mai.pick(SAVE)
    reply = await club.chair.say("/khachhang")
    assert "Mọi người được chăm sóc đều đã được thăm trong 7 ngày qua." in reply.text
    chat.bot.clock.advance(days=8)
    reply = await club.chair.say("/khachhang")
    assert "- Mồng Thị Hoa (1958, Bản Na Công): thăm lần cuối 28/11/2026" in reply.text


async def test_a_volunteer_without_clients_and_a_member_cannot_record_visits(chat, club):
    reply = await club.hoa.say("/thamnom")
    assert reply.text.startswith(REFUSAL)
    reply = await club.chair.say("/phancong")
    assert "Câu lạc bộ chưa có tình nguyện viên." in reply.text


# --- who sees what ---------------------------------------------------------------------------


async def test_a_volunteer_sees_only_their_clients_readings(chat, care):
    club, mai = care
    await club.hoa.say("/huyetap")
    await club.hoa.say("128/84")
    await club.hoa.pick("Không cân")
    await club.hoa.pick(SAVE)
    await club.chair.say("/huyetap")
    await club.chair.pick("Của tôi")
    await club.chair.say("150/95")
    await club.chair.pick("Không cân")
    await club.chair.pick(SAVE)

    reply = await mai.say("/suckhoe")
    assert reply.labels == ["Của tôi", "Mồng Thị Hoa (1958, Bản Na Công)"]
    reply = await mai.say("Vi Thị Lan")  # not a client: not offered, not found
    assert (BUTTONS if chat.kind == "telegram" else "Bác gõ một số từ 1 đến 2") in reply.text
    reply = await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    assert "Các lần đo gần đây của bác Mồng Thị Hoa:" in reply.text
    assert "128/84" in reply.text and "150/95" not in reply.text

    # Even a crafted answer is refused when the result is computed.
    inbound = await inbound_of(chat, mai)
    lan = await member_id(chat, "Vi Thị Lan")
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        done = await show_health(ctx, {"whose": str(lan)}, "x")
    assert [r.parts[0].msgid for r in done.replies] == ["Sorry, you cannot use this."]


async def test_the_board_sees_who_was_not_measured_and_who_is_high(chat, care):
    club, _ = care
    await club.chair.say("/huyetap")
    await club.chair.pick("Đo cho thành viên khác")
    await club.chair.say("hoa")
    await club.chair.say("150/95")
    await club.chair.pick("Không cân")
    await club.chair.pick(SAVE)
    reply = await club.chair.say("/suckhoe")
    assert reply.labels == ["Của tôi", "Thành viên khác", "Cả câu lạc bộ"]
    reply = await club.chair.pick("Cả câu lạc bộ")
    assert "Tháng này chưa đo (2):\n- Lò Thị Mai (1958, Bản Na Công)\n- Vi Thị Lan" in reply.text
    assert "Lần đo gần nhất bị cao (1):\n- Mồng Thị Hoa: tăng huyết áp độ 1, 28/11/2026" in (
        reply.text)
    reply = await club.hoa.say("/suckhoe")  # a member sees their own at once
    assert "Các lần đo gần đây của bác:" in reply.text


async def test_the_trend_chart_arrives_as_a_picture(chat, care):
    club, mai = care
    for month, typed in enumerate(("140/90", "135/88", "128/84")):
        chat.bot.clock.advance(days=30 * (month > 0))
        await club.hoa.say("/huyetap")
        await club.hoa.say(typed)
        await club.hoa.say("55")
        await club.hoa.pick(SAVE)
    reply = await club.hoa.say("/suckhoe")
    assert "Các lần đo gần đây của bác:" in reply.text
    assert reply.photo is not None and reply.photo.startswith(b"\x89PNG")
    # The volunteer gets the same chart for their client.
    await mai.say("/suckhoe")
    reply = await mai.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    assert "Các lần đo gần đây của bác Mồng Thị Hoa:" in reply.text
    assert reply.photo is not None and reply.photo.startswith(b"\x89PNG")
    spec = reply.raw.chart if chat.kind == "text" else None
    if spec is not None:
        assert [p[1:3] for p in spec["points"]] == [[140, 90], [135, 88], [128, 84]]
        assert spec["title"] == "Huyết áp của Mồng Thị Hoa"


async def test_an_unusual_weight_is_confirmed(chat, club):
    await club.hoa.say("/huyetap")
    await club.hoa.say("120/80")
    await club.hoa.say("52")
    await club.hoa.pick(SAVE)
    await club.hoa.say("/huyetap")
    await club.hoa.say("121/80")
    reply = await club.hoa.say("62")
    assert "Cân nặng 62 kg khác thường hoặc khác nhiều so với lần trước." in reply.text
    reply = await club.hoa.pick("Gõ lại")
    assert "Cân nặng bao nhiêu kg ạ?" in reply.text
    reply = await club.hoa.say("52,5")
    assert "Cân nặng: 52,5 kg" in reply.text


async def test_the_health_station_can_lower_the_urgent_threshold(chat, club):
    from bot.health import TRIAGE_KEY, Triage

    async with chat.bot.storage.transaction() as tx:
        await tx.set_meta(TRIAGE_KEY, Triage(urgent_systolic=170).to_json())
    await club.hoa.say("/huyetap")
    reply = await club.hoa.say("172/95")
    assert "Huyết áp này rất cao. Bác ngồi nghỉ 5 phút rồi đo lại" in reply.text


async def test_my_data_mentions_health_and_loan_records(chat, club):
    await club.hoa.say("/huyetap")
    await club.hoa.say("120/80")
    await club.hoa.pick("Không cân")
    await club.hoa.pick(SAVE)
    reply = await club.hoa.say("/dulieu")
    assert "Sức khỏe: 1 lần đo (xem /suckhoe). Khoản vay: 0 (xem /vay)." in reply.text
