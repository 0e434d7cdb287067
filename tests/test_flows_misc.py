"""The other flows and the service's promises: assisted registration, erasure requests, invite
codes, duplicates, unsupported messages, timeouts and editing, on every channel."""

from __future__ import annotations

import re
import uuid

import pytest

from bot.messages import Inbound
from tests.test_roles import approve, join_as_chair, member_id, register

MENU = "Bác muốn làm gì ạ?"
CODE_INVALID = "Mã này không đúng hoặc đã hết hạn"


async def flush(chat) -> None:
    """Deliver every queued reply (the Telegram harness sends in the background)."""
    if chat.kind == "telegram":
        await chat.settle()
    else:
        await chat.bot.outbox.drain()


async def fill(person, code, name, phone, *, village="Bản Na Công"):
    """Answer every registration question; return the summary."""
    reply = await person.say(f"/start {code}")
    assert "họ và tên" in reply.text, reply.text
    await person.say(name)
    await person.pick("Nữ")
    await person.say("1958")
    reply = await person.say(phone)
    assert "thôn, bản" in reply.text, reply.text
    await person.say(village)
    await person.pick("Bình thường")
    await person.pick("Bỏ qua")
    reply = await person.pick("Tôi đồng ý")
    assert "Bác xem lại giúp tôi" in reply.text, reply.text
    return reply


async def session_of(chat, person) -> list[dict]:
    return await chat.bot.rows(
        "SELECT s.flow_id, s.step_id FROM sessions s JOIN identities i "
        "ON i.channel = s.channel AND i.chat_id = s.chat_id WHERE i.user_id = ?",
        str(person.user_id),
    )


@pytest.fixture
async def club(chat):
    info = await chat.bot.new_club()
    chair = await join_as_chair(chat, info)
    return info, chair


@pytest.fixture
async def member(chat, club):
    info, chair = club
    hoa, _ = await register(chat, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    await approve(chair, "Mồng Thị Hoa (1958, Bản Na Công)")
    chair.unread()
    hoa.unread()
    return hoa


# --- assisted registration -------------------------------------------------------------------


async def test_chair_registers_someone_without_a_phone(chat, club):
    info, chair = club
    reply = await chair.say("/dangkyho")
    assert reply.text == "Họ và tên đầy đủ của người được đăng ký? Ví dụ: Nguyễn Thị Bé"
    await chair.say("Lò Văn Páo")
    reply = await chair.pick("Nam")
    assert "Người được đăng ký sinh năm nào?" in reply.text
    reply = await chair.say("1948")
    assert "Số điện thoại của người được đăng ký?" in reply.text
    assert reply.labels == ["Không có điện thoại"]
    reply = await chair.pick("Không có điện thoại")
    assert "Người được đăng ký ở thôn, bản nào?" in reply.text
    reply = await chair.say("ban loc")
    assert "Gia đình người được đăng ký thuộc diện nào?" in reply.text
    await chair.pick("Hộ nghèo")
    reply = await chair.pick("Bỏ qua")
    assert reply.text.startswith("Bác đọc thông báo này cho người được đăng ký nghe")
    assert "Trước khi lưu, xin bác đọc kỹ" in reply.text
    assert "Người đó có đồng ý không?" in reply.text
    assert "Bác có đồng ý không?" not in reply.text
    assert reply.labels == ["Người đó đồng ý", "Người đó không đồng ý"]
    reply = await chair.pick("Người đó đồng ý")
    assert "Họ tên: Lò Văn Páo" in reply.text
    assert "Điện thoại: không có" in reply.text
    assert await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Lò Văn Páo'") == []
    reply = await chair.pick("Đúng, lưu lại")
    assert reply.text == "Lò Văn Páo đã là thành viên của CLB LTHTGN bản Lốc."

    chair_id = await member_id(chat, "Vi Thị Lan")
    rows = await chat.bot.rows(
        "SELECT id, club_id, phone, village, household, status, assisted_by, decided_by "
        "FROM members WHERE full_name = 'Lò Văn Páo'"
    )
    pao_id = rows[0].pop("id")
    assert rows == [{
        "club_id": info["club_id"], "phone": None, "village": "Ban Loc", "household": "poor",
        "status": "active", "assisted_by": chair_id, "decided_by": chair_id,
    }]
    consents = await chat.bot.rows(
        "SELECT text_version, assisted_by FROM consents WHERE member_id = ?", pao_id
    )
    assert consents == [{"text_version": "2026-11-v1", "assisted_by": chair_id}]
    roles = await chat.bot.rows("SELECT role, granted_by FROM member_roles WHERE member_id = ?",
                                pao_id)
    assert roles == [{"role": "member", "granted_by": chair_id}]
    # No chat account was moved to the new member: the chair is still the chair.
    assert await chat.bot.rows("SELECT * FROM identities WHERE member_id = ?", pao_id) == []
    reply = await chair.say("/thanhvien")
    assert "Lò Văn Páo (1948, Ban Loc)" in reply.text
    assert "Vi Thị Lan (1956, Bản Lốc) - Chủ nhiệm" in reply.text


async def test_assisted_registration_declined_saves_nothing(chat, club):
    _, chair = club
    await chair.say("/dangkyho")
    for answer in ("Lò Văn Páo", "nam", "1948", "khong co", "Bản Lốc", "ho ngheo", "bo qua"):
        await chair.say(answer)
    reply = await chair.pick("Người đó không đồng ý")
    assert "chưa lưu gì" in reply.text
    assert await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Lò Văn Páo'") == []


# --- erasure requests ------------------------------------------------------------------------


async def test_erasure_request_reaches_the_board_once(chat, club, member):
    _, chair = club
    reply = await member.say("/xoadulieu")
    assert "Bác đề nghị câu lạc bộ xóa họ tên" in reply.text
    assert "Sổ vay và trả nợ vẫn được giữ" in reply.text
    assert reply.labels == ["Đúng, gửi yêu cầu", "Hủy"]
    assert await chat.bot.rows("SELECT * FROM erasure_requests") == []
    reply = await member.pick("Đúng, gửi yêu cầu")
    assert reply.text == "Đã gửi đề nghị của bác tới ban chủ nhiệm."
    hoa_id = await member_id(chat, "Mồng Thị Hoa")
    rows = await chat.bot.rows("SELECT member_id, status FROM erasure_requests")
    assert rows == [{"member_id": hoa_id, "status": "open"}]
    [notice] = chair.unread()
    assert notice.text.startswith(
        "Mồng Thị Hoa (1958, Bản Na Công) đề nghị xóa dữ liệu cá nhân. "
        "Ban chủ nhiệm xin xử lý trong 2 ngày làm việc."
    )
    assert notice.labels == ["Xử lý ngay"]

    reply = await member.say("xoa du lieu")  # answered at once, no second confirmation
    assert "đã được gửi ban chủ nhiệm từ trước" in reply.text
    assert reply.labels == []
    assert len(await chat.bot.rows("SELECT * FROM erasure_requests")) == 1
    assert chair.unread() == []

    reply = await chair.say("/thanhvien")
    assert "Đề nghị xóa dữ liệu (1):\n- Mồng Thị Hoa (1958, Bản Na Công)" in reply.text
    rows = await chat.bot.rows("SELECT full_name, status FROM members WHERE id = ?", hoa_id)
    assert rows == [{"full_name": "Mồng Thị Hoa", "status": "active"}]  # the board decides
    assert reply.labels == ["Xử lý ngay"]

    reply = await chair.pick("Xử lý ngay")
    assert reply.text.startswith("Bác muốn xóa dữ liệu của ai?")
    reply = await chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    assert "Việc này không hoàn tác được." in reply.text
    assert reply.labels == ["Đúng, xóa", "Hủy"]
    reply = await chair.pick("Đúng, xóa")
    assert reply.text == f"Đã xóa. Sổ vay của người này vẫn giữ dưới số #{hoa_id}."
    told = member.unread()
    assert [m.text for m in told] == [
        "Theo đề nghị của bác, câu lạc bộ đã xóa dữ liệu cá nhân của bác. Cảm ơn bác."
    ]
    rows = await chat.bot.rows(
        "SELECT full_name, phone, birth_date, village, status FROM members WHERE id = ?", hoa_id
    )
    assert rows == [{"full_name": f"#{hoa_id}", "phone": None, "birth_date": None,
                     "village": "", "status": "erased"}]
    assert await chat.bot.rows("SELECT status FROM erasure_requests") == [{"status": "done"}]
    assert await chat.bot.rows("SELECT * FROM identities WHERE member_id = ?", hoa_id) == []
    reply = await member.say("/dulieu")  # the chat account is now a stranger's
    assert "mã mời" in reply.text and "Mồng" not in reply.text
    reply = await chair.say("/xoa")
    assert reply.text.startswith("Không có ai đang chờ xóa dữ liệu.")


async def test_erasure_request_cancelled_at_confirm(chat, club, member):
    _, chair = club
    await member.say("/xoadulieu")
    reply = await member.pick("Hủy")
    assert "Đã dừng. Chưa lưu gì cả." in reply.text
    assert await chat.bot.rows("SELECT * FROM erasure_requests") == []
    assert chair.unread() == []


async def test_guest_cannot_ask_for_erasure(chat, club):
    guest = chat.person("Khách")
    reply = await guest.say("/xoadulieu")
    assert "Xin lỗi, bác chưa dùng được việc này." in reply.text
    assert await chat.bot.rows("SELECT * FROM erasure_requests") == []


# --- invite codes ----------------------------------------------------------------------------


async def test_new_invite_code_lets_a_new_person_register(chat, club):
    info, chair = club
    reply = await chair.say("/mamoi")
    found = re.search(r"Mã mời thành viên mới: ([A-Z0-9]{8})\n", reply.text)
    assert found, reply.text
    code = found[1]
    assert code not in (info["member_code"], info["board_code"])
    assert "Dùng được đến 26/02/2027" in reply.text
    assert f"/start {code}" in reply.text
    invites = await chat.bot.rows("SELECT club_id, role, uses_left FROM invites ORDER BY id")
    assert invites[-1] == {"club_id": info["club_id"], "role": "member", "uses_left": None}
    assert code not in str(await chat.bot.rows("SELECT * FROM invites"))  # only its hash

    bao = chat.person("Bảo")
    await fill(bao, code, "Hà Văn Bảo", "0933 444 555")
    reply = await bao.pick("Đúng, lưu lại")
    assert "đã được gửi tới ban chủ nhiệm CLB LTHTGN bản Lốc" in reply.text
    rows = await chat.bot.rows("SELECT club_id, status FROM members WHERE full_name = ?",
                               "Hà Văn Bảo")
    assert rows == [{"club_id": info["club_id"], "status": "pending"}]

    other = chat.person("Khác")
    reply = await other.say(code.lower()[:4] + " " + code.lower()[4:])  # typed, with a space
    assert "họ và tên" in reply.text


async def test_expired_member_code_is_refused(chat, club):
    info, _ = club
    early = chat.person("Sớm")
    chat.bot.clock.advance(days=89)
    reply = await early.say(f"/start {info['member_code']}")
    assert "họ và tên" in reply.text
    await early.say("/huy")

    chat.bot.clock.advance(days=2)
    late = chat.person("Muộn")
    reply = await late.say(f"/start {info['member_code']}")
    assert CODE_INVALID in reply.text
    assert "Bác gõ /dangky để thử lại." in reply.text
    reply = await late.say(info["member_code"])
    assert CODE_INVALID in reply.text
    assert await session_of(chat, late) == []
    assert len(await chat.bot.rows("SELECT * FROM members")) == 1


async def test_expired_board_code_is_refused(chat):
    info = await chat.bot.new_club()
    chat.bot.clock.advance(days=31)
    late = chat.person("Muộn")
    reply = await late.say(f"/start {info['board_code']}")
    assert CODE_INVALID in reply.text
    assert await chat.bot.rows("SELECT * FROM members") == []


async def test_board_code_works_only_once(chat, club):
    info, _ = club
    second = chat.person("Người thứ hai")
    reply = await second.say(f"/start {info['board_code']}")
    assert CODE_INVALID in reply.text
    chairs = await chat.bot.rows("SELECT member_id FROM member_roles WHERE role = 'chair'")
    assert len(chairs) == 1


async def test_board_code_used_by_two_at_once_makes_one_chair(chat):
    info = await chat.bot.new_club()
    first, second = chat.person("Một"), chat.person("Hai")
    await fill(first, info["board_code"], "Vi Thị Lan", "0912 000 111", village="Bản Lốc")
    await fill(second, info["board_code"], "Lương Văn Tâm", "0911 222 333", village="Bản Lốc")
    reply = await first.pick("Đúng, lưu lại")
    assert "Bác đã là chủ nhiệm" in reply.text
    reply = await second.pick("Đúng, lưu lại")
    assert "Mã này đã được dùng rồi" in reply.text
    assert await chat.bot.rows("SELECT full_name FROM members") == [{"full_name": "Vi Thị Lan"}]
    chairs = await chat.bot.rows("SELECT member_id FROM member_roles WHERE role = 'chair'")
    assert len(chairs) == 1
    reply = await second.say("/menu")
    assert "mã mời" in reply.text  # still a guest


# --- duplicates ------------------------------------------------------------------------------


async def test_same_phone_cannot_register_twice_in_one_club(chat, club):
    info, _ = club
    twin = chat.person("Trùng")
    await twin.say(f"/start {info['member_code']}")
    await twin.say("Mồng Thị Hoa")
    await twin.pick("Nữ")
    await twin.say("1958")
    reply = await twin.say("0912.000.111")  # the chair's phone, typed differently
    assert "Số điện thoại này đã đăng ký trong câu lạc bộ rồi ạ." in reply.text
    assert "Số điện thoại của bác là gì?" in reply.text
    assert await session_of(chat, twin) == [{"flow_id": "register", "step_id": "phone"}]


async def test_same_phone_typed_by_two_at_once_is_saved_once(chat, club):
    info, _ = club
    one, two = chat.person("Một"), chat.person("Hai")
    await fill(one, info["member_code"], "Mồng Thị Hoa", "0977 111 222")
    await fill(two, info["member_code"], "Mồng Thị Hòa", "0977 111 222")
    await one.pick("Đúng, lưu lại")
    reply = await two.pick("Đúng, lưu lại")
    assert "Số điện thoại này đã đăng ký trong câu lạc bộ rồi ạ." in reply.text
    rows = await chat.bot.rows("SELECT full_name FROM members WHERE phone = '+84977111222'")
    assert rows == [{"full_name": "Mồng Thị Hoa"}]


async def test_same_phone_may_join_another_club(chat, club):
    other = await chat.bot.new_club(name="CLB LTHTGN bản Na")
    person = chat.person("Lan")
    await fill(person, other["member_code"], "Vi Thị Lan", "0912 000 111")
    reply = await person.pick("Đúng, lưu lại")
    assert "CLB LTHTGN bản Na" in reply.text
    rows = await chat.bot.rows("SELECT club_id FROM members WHERE phone = '+84912000111' "
                               "ORDER BY club_id")
    assert [r["club_id"] for r in rows] == [1, other["club_id"]]


async def test_redelivered_update_is_applied_once(chat, club):
    info, chair = club
    chair.unread()
    hoa = chat.person("Hoa")
    await fill(hoa, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    await hoa.send("1", external_id="same")
    await hoa.send("1", external_id="same")
    [reply] = hoa.unread()
    assert "đã được gửi tới ban chủ nhiệm" in reply.text
    assert len(await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Mồng Thị Hoa'")) == 1
    assert len(chair.unread()) == 1  # the board is told once


async def test_redelivered_answer_does_not_skip_a_question(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    await hoa.send("Mồng Thị Hoa", external_id="name")
    await hoa.send("Mồng Thị Hoa", external_id="name")
    [reply] = hoa.unread()
    assert "Bác là nam hay nữ?" in reply.text
    assert await session_of(chat, hoa) == [{"flow_id": "register", "step_id": "sex"}]


# --- unsupported messages, timeouts ----------------------------------------------------------


async def unsupported(chat, person) -> None:
    [row] = await chat.bot.rows(
        "SELECT channel, user_id, chat_id FROM identities WHERE user_id = ?", str(person.user_id)
    )
    inbound = Inbound(channel=row["channel"], user_id=row["user_id"], chat_id=row["chat_id"],
                      external_id=f"photo-{uuid.uuid4().hex}", supported=False, locale="vi")
    result = await chat.bot.service.handle(inbound)
    assert not result.duplicate and len(result.queued) == 1
    await flush(chat)


async def test_photo_gets_a_polite_note_and_the_question_again(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    await hoa.say("Mồng Thị Hoa")
    await unsupported(chat, hoa)
    [reply] = hoa.unread()
    assert "Xin lỗi, tôi chỉ đọc được chữ." in reply.text
    assert "Bác là nam hay nữ?" in reply.text
    assert reply.labels == ["Nữ", "Nam"]
    reply = await hoa.pick("Nữ")
    assert "sinh năm nào" in reply.text


async def test_photo_outside_a_flow_shows_the_menu(chat, club, member):
    await unsupported(chat, member)
    [reply] = member.unread()
    assert "chỉ đọc được chữ" in reply.text and MENU in reply.text


async def test_photo_on_telegram(telegram_chat):
    chat = telegram_chat
    info = await chat.bot.new_club()
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    chat.fake.push_photo(hoa.user_id)
    await chat.settle()
    reply = hoa.last_new()
    assert "chỉ đọc được chữ" in reply.text
    assert "họ và tên" in reply.text


async def test_sweep_ends_a_forgotten_conversation(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    await hoa.say("Mồng Thị Hoa")
    chat.bot.clock.advance(hours=1)
    await chat.bot.service.sweep()  # not yet
    assert await session_of(chat, hoa) == [{"flow_id": "register", "step_id": "sex"}]
    chat.bot.clock.advance(hours=2)
    assert await chat.bot.service.sweep() >= 1
    await flush(chat)
    [reply] = hoa.unread()
    assert reply.text == (
        "Lâu rồi bác chưa trả lời nên tôi đã dừng. Chưa lưu gì cả. Bác gõ /menu để làm lại nhé."
    )
    assert await session_of(chat, hoa) == []
    reply = await hoa.say("nu")  # too late: the answer is not taken as the old question's
    assert "mã mời" in reply.text
    assert await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Mồng Thị Hoa'") == []


async def test_sweep_ends_idle_menus_silently(chat, club, member):
    await member.say("/menu")
    chat.bot.clock.advance(hours=3)
    assert await chat.bot.service.sweep() >= 1
    await flush(chat)
    assert member.unread() == []
    assert await session_of(chat, member) == []


async def test_late_answer_without_sweep_says_the_task_timed_out(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    await hoa.say("Mồng Thị Hoa")
    chat.bot.clock.advance(hours=3)
    await hoa.send("nu")
    [menu] = hoa.unread()  # one message: the note, then the menu
    assert menu.text.startswith("Việc lúc trước đã quá giờ nên đã dừng; chưa lưu gì.")
    assert "mã mời" in menu.text and MENU in menu.text
    assert await session_of(chat, hoa) == [{"flow_id": "_menu", "step_id": "pick"}]
    assert await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Mồng Thị Hoa'") == []


async def test_late_answer_to_the_menu_has_no_timed_out_note(chat, club, member):
    await member.say("/menu")
    chat.bot.clock.advance(hours=3)
    await member.send("1")
    [reply] = member.unread()
    assert "quá giờ" not in reply.text
    assert MENU in reply.text


async def test_each_answer_extends_the_time(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await hoa.say(f"/start {info['member_code']}")
    for answer in ("Mồng Thị Hoa", "nu", "1958"):
        chat.bot.clock.advance(minutes=100)
        reply = await hoa.say(answer)
        assert "quá giờ" not in reply.text
    assert "thôn, bản" in (await hoa.say("0987654321")).text


# --- editing from the summary ----------------------------------------------------------------


async def test_edit_the_phone_from_the_summary(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    reply = await fill(hoa, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    assert "Điện thoại: +84987654321" in reply.text
    reply = await hoa.pick("Sửa lại")
    assert "Bác muốn sửa mục nào?" in reply.text
    assert reply.labels == ["Họ tên", "Giới tính", "Ngày sinh", "Số điện thoại", "Thôn/bản",
                            "Hoàn cảnh gia đình", "Dân tộc", "Không sửa, quay lại"]
    reply = await hoa.pick("Số điện thoại")
    assert "Số điện thoại của bác là gì?" in reply.text
    reply = await hoa.say("0912 000 111")  # the chair's: still checked while editing
    assert "đã đăng ký trong câu lạc bộ" in reply.text
    reply = await hoa.say("0988 777 666")
    assert "Bác xem lại giúp tôi" in reply.text
    assert "Điện thoại: +84988777666" in reply.text
    assert "Họ tên: Mồng Thị Hoa" in reply.text and "Sinh: 1958" in reply.text
    assert "+84987654321" not in reply.text
    reply = await hoa.pick("Đúng, lưu lại")
    assert "đã được gửi tới ban chủ nhiệm" in reply.text
    rows = await chat.bot.rows("SELECT phone FROM members WHERE full_name = 'Mồng Thị Hoa'")
    assert rows == [{"phone": "+84988777666"}]


async def test_edit_nothing_and_go_back(chat, club):
    info, _ = club
    hoa = chat.person("Hoa")
    await fill(hoa, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    await hoa.pick("Sửa lại")
    reply = await hoa.pick("Không sửa, quay lại")
    assert "Bác xem lại giúp tôi" in reply.text and "+84987654321" in reply.text


async def test_language_can_be_switched_to_english_and_back(chat):
    person = chat.person("Lan")
    reply = await person.say("/ngonngu")
    assert reply.text.startswith("Bác muốn đọc bằng tiếng nào?")
    reply = await person.pick("Tiếng Anh (English)")
    assert reply.text == "Done."
    reply = await person.say("/menu")
    assert "What would you like to do?" in reply.text
    assert reply.labels == ["Join the club"]
    reply = await person.say("ngon ngu")
    reply = await person.pick("Tiếng Việt")
    assert reply.text == "Xong rồi ạ."
    rows = await chat.bot.rows("SELECT locale FROM identities")
    assert rows == [{"locale": "vi"}]
