"""Registration with approval, typed the way older members type, on every channel."""

from __future__ import annotations


async def join_as_chair(chat, club):
    chair = chat.person("Vi Thị Lan")
    reply = await chair.say(f"/start {club['board_code']}")
    assert "họ và tên" in reply.text
    await chair.say("vi thi lan")
    await chair.pick("Nữ")
    await chair.say("1956")
    await chair.say("0912 000 111")
    await chair.say("Bản Lốc")
    await chair.pick("Bình thường")
    await chair.pick("Bỏ qua")
    reply = await chair.pick("Tôi đồng ý")
    assert "Bác xem lại giúp tôi" in reply.text
    reply = await chair.pick("Đúng, lưu lại")
    assert "chủ nhiệm" in reply.text
    return chair


async def test_registration_with_approval(chat):
    club = await chat.bot.new_club()
    chair = await join_as_chair(chat, club)

    hoa = chat.person("Mồng Thị Hoa")
    reply = await hoa.say("xin chao")
    assert "mã mời" in reply.text
    reply = await hoa.say(club["member_code"].lower())
    assert reply.text == "Bác cho biết họ và tên đầy đủ. Ví dụ: Nguyễn Văn An"
    reply = await hoa.say("mong thi hoa 2")
    assert "chỉ gõ chữ" in reply.text or "Nguyễn Văn An" in reply.text
    reply = await hoa.say("MỒNG THỊ HOA")
    assert reply.labels == ["Nữ", "Nam"]
    reply = await hoa.say("nu")
    assert "sinh năm nào" in reply.text
    reply = await hoa.say("sinh nam 58")
    assert "Số điện thoại" in reply.text
    reply = await hoa.say("0912 000 111")
    assert "đã đăng ký trong câu lạc bộ" in reply.text
    reply = await hoa.say("+84 912 345 678")
    assert "thôn, bản" in reply.text
    reply = await hoa.say("ban na cong")
    assert reply.labels[:2] == ["Hộ nghèo", "Hộ cận nghèo"]
    reply = await hoa.say("can ngheo")
    reply = await hoa.say("Thái")
    assert "Bác có đồng ý không?" in reply.text
    reply = await hoa.say("dong y")
    assert "Họ tên: Mồng Thị Hoa" in reply.text
    assert "Sinh: 1958" in reply.text
    assert "Điện thoại: +84912345678" in reply.text
    assert "Hoàn cảnh: Hộ cận nghèo" in reply.text
    assert await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Mồng Thị Hoa'") == []

    reply = await hoa.pick("Đúng, lưu lại")
    assert "đã được gửi tới ban chủ nhiệm" in reply.text
    rows = await chat.bot.rows(
        "SELECT full_name, sex, birth_year, phone, village, household, ethnicity, status "
        "FROM members WHERE full_name = 'Mồng Thị Hoa'"
    )
    assert rows == [{
        "full_name": "Mồng Thị Hoa", "sex": "female", "birth_year": 1958,
        "phone": "+84912345678", "village": "Ban Na Cong", "household": "near_poor",
        "ethnicity": "Thái", "status": "pending",
    }]
    consent = await chat.bot.rows("SELECT text_version, channel, message_id FROM consents")
    assert len(consent) == 2 and consent[1]["text_version"] == "2026-11-v1"
    assert consent[1]["message_id"]

    notice = chair.unread()[-1]
    assert "Mồng Thị Hoa, sinh năm 1958" in notice.text
    assert notice.labels == ["Duyệt ngay"]
    if chat.kind == "text":  # a shortcut, not a numbered question: say the command
        assert notice.text.endswith("- Duyệt ngay: /duyet")
    reply = await chair.say("/duyet")
    assert reply.labels == ["Mồng Thị Hoa (1958, Ban Na Cong)"]
    reply = await chair.pick("Mồng Thị Hoa (1958, Ban Na Cong)")
    assert "Bác có duyệt người này không?" in reply.text
    reply = await chair.pick("Duyệt")
    assert "Mồng Thị Hoa đã là thành viên." in reply.text
    told = hoa.unread()
    assert any("đã duyệt bác" in m.text for m in told)
    rows = await chat.bot.rows("SELECT status FROM members WHERE full_name = 'Mồng Thị Hoa'")
    assert rows == [{"status": "active"}]


async def test_declining_consent_saves_nothing(chat):
    club = await chat.bot.new_club()
    ba = chat.person("Bà Lò")
    await ba.say(f"/start {club['member_code']}")
    for answer in ("lo thi mai", "2", "1950", "0987654321", "Bản Lốc", "4", "bo qua"):
        await ba.say(answer)
    reply = await ba.say("khong")
    assert "chưa lưu gì" in reply.text
    assert await chat.bot.rows("SELECT * FROM members") == []


async def test_cancel_and_menu_words_work_at_every_step(chat):
    club = await chat.bot.new_club()
    ba = chat.person()
    await ba.say(f"/start {club['member_code']}")
    await ba.say("Lò Thị Mai")
    reply = await ba.say("huỷ")
    assert "Đã dừng. Chưa lưu gì cả." in reply.text
    reply = await ba.say("Lò Thị Mai")
    assert "mã mời" in reply.text  # back outside the flow: a guest sees how to join
    await ba.say(f"/start {club['member_code']}")
    reply = await ba.say("tro giup")
    assert "/huy" in reply.text and "họ và tên" in reply.text
    assert await chat.bot.rows("SELECT * FROM members") == []
