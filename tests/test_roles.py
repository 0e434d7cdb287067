"""Who may do what: role checks in the service layer, through the text channel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from bot.conversations.approval import Decide
from bot.conversations.roles import SetRole
from bot.messages import Inbound

REFUSAL = "Xin lỗi, bác chưa dùng được việc này."
MENU = "Bác muốn làm gì ạ?"
BOARD_TASKS = [
    "Duyệt thành viên mới",
    "Danh sách thành viên",
    "Đăng ký hộ người không có điện thoại",
    "Tạo mã mời mới",
]
MEMBER_MENU = [
    "Huyết áp và cân nặng",
    "Sổ sức khỏe",
    "Lịch họp",
    "Khoản vay của tôi",
    "Báo đã trả nợ",
    "Xin vay vốn",
    "Nhắc nhở của tôi",
    "Xem dữ liệu của tôi",
    "Đề nghị xóa dữ liệu của tôi",
]
PENDING_MENU = ["Xem dữ liệu của tôi", "Đề nghị xóa dữ liệu của tôi"]

BUTTONS = "Bác bấm một nút bên dưới, hoặc gõ câu trả lời nhé."  # a choice not understood


async def register(chat, code, name, phone, *, birth="1958", village="Bản Na Công", sex="Nữ"):
    """A person registers with ``code``; returns the person and the last reply."""
    person = chat.person(name)
    reply = await person.say(f"/start {code}")
    assert "họ và tên" in reply.text, reply.text
    await person.say(name)
    await person.pick(sex)
    await person.say(birth)
    await person.say(phone)
    await person.say(village)
    await person.pick("Bình thường")
    await person.pick("Bỏ qua")
    reply = await person.pick("Tôi đồng ý")
    assert "Bác xem lại giúp tôi" in reply.text, reply.text
    reply = await person.pick("Đúng, lưu lại")
    return person, reply


async def join_as_chair(chat, club, name="Vi Thị Lan", phone="0912 000 111"):
    chair, reply = await register(chat, club["board_code"], name, phone, birth="1956",
                                  village="Bản Lốc")
    assert "chủ nhiệm" in reply.text
    return chair


async def approve(chair, label):
    reply = await chair.say("/duyet")
    assert label in reply.labels, reply.labels
    await chair.pick(label)
    reply = await chair.pick("Duyệt")
    assert "đã là thành viên" in reply.text, reply.text
    return reply


async def member_id(chat, name) -> int:
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = ?", name)
    return row["id"]


@dataclass
class Club:
    info: dict[str, Any]
    chair: Any
    hoa: Any


@pytest.fixture
async def club(chat) -> Club:
    info = await chat.bot.new_club()
    chair = await join_as_chair(chat, info)
    hoa, reply = await register(chat, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    assert "đã được gửi tới ban chủ nhiệm" in reply.text
    await approve(chair, "Mồng Thị Hoa (1958, Bản Na Công)")
    chair.unread()
    hoa.unread()
    return Club(info, chair, hoa)


# --- ordinary members ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/thanhvien", "/duyet", "/vaitro", "/dangkyho", "/mamoi"])
async def test_member_is_refused_board_commands(chat, club, command):
    sessions_before = await chat.bot.rows("SELECT flow_id FROM sessions WHERE chat_id = ?",
                                          club.hoa.user_id)
    invites_before = await chat.bot.rows("SELECT id FROM invites")
    reply = await club.hoa.say(command)
    assert reply.text.startswith(REFUSAL)
    assert MENU in reply.text
    assert reply.labels == MEMBER_MENU
    for secret in ("Vi Thị Lan", "912000111", "0912", "Bản Lốc"):
        assert secret not in reply.text
    assert await chat.bot.rows("SELECT id FROM invites") == invites_before
    sessions = await chat.bot.rows("SELECT flow_id FROM sessions WHERE chat_id = ?",
                                   club.hoa.user_id)
    assert sessions in (sessions_before, [{"flow_id": "_menu"}])


@pytest.mark.parametrize("typed", ["thanh vien", "mamoi", "duyet"])
async def test_member_is_refused_board_words_without_slash(chat, club, typed):
    reply = await club.hoa.say(typed)
    assert REFUSAL in reply.text or MENU in reply.text
    assert "Vi Thị Lan" not in reply.text
    assert reply.labels == MEMBER_MENU


async def test_member_menu_lists_no_board_tasks_and_chair_menu_does(chat, club):
    reply = await club.hoa.say("/menu")
    assert reply.labels == MEMBER_MENU
    assert not set(BOARD_TASKS) & set(reply.labels)
    reply = await club.chair.say("menu")
    assert set(BOARD_TASKS) <= set(reply.labels)
    assert "Giao hoặc thôi giao vai trò" in reply.labels
    assert "Đăng ký tham gia câu lạc bộ" not in reply.labels


async def test_my_data_shows_only_my_own_record(chat, club):
    reply = await club.hoa.say("/dulieu")
    assert "Thông tin CLB LTHTGN bản Lốc đang lưu về bác:" in reply.text
    assert "Họ tên: Mồng Thị Hoa" in reply.text
    assert "Điện thoại: +84987654321" in reply.text
    assert "Tình trạng: thành viên" in reply.text
    assert "Vai trò: Thành viên" in reply.text
    assert "Vi Thị Lan" not in reply.text
    assert "912000111" not in reply.text
    reply = await club.chair.say("du lieu")
    assert "Họ tên: Vi Thị Lan" in reply.text
    assert "Chủ nhiệm" in reply.text
    assert "Mồng Thị Hoa" not in reply.text and "987654321" not in reply.text


async def test_pending_member_waits_but_can_see_own_data(chat, club):
    lo, reply = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    assert "đã được gửi tới ban chủ nhiệm" in reply.text
    reply = await lo.say("/menu")
    assert "Đăng ký của bác đang chờ ban chủ nhiệm duyệt." in reply.text
    assert reply.labels == PENDING_MENU  # no loans before approval
    reply = await lo.say("/thanhvien")
    assert reply.text.startswith(REFUSAL)
    assert "chờ ban chủ nhiệm duyệt" in reply.text
    assert "Mồng Thị Hoa" not in reply.text and "Vi Thị Lan" not in reply.text
    reply = await lo.say("/duyet")
    assert reply.text.startswith(REFUSAL)
    reply = await lo.say("/dulieu")
    assert "Họ tên: Lò Thị Mai" in reply.text
    assert "Tình trạng: đang chờ duyệt" in reply.text
    assert "Mồng Thị Hoa" not in reply.text


async def test_rejected_person_is_a_guest_again(chat, club):
    lo, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await club.chair.say("/duyet")
    await club.chair.pick("Lò Thị Mai (1958, Bản Na Công)")
    reply = await club.chair.pick("Từ chối")
    assert "Đã không duyệt Lò Thị Mai." in reply.text
    assert any("chưa duyệt đăng ký của bác" in m.text for m in lo.unread())
    reply = await lo.say("/dulieu")
    assert "Họ tên" not in reply.text
    assert "mã mời" in reply.text


# --- roles -----------------------------------------------------------------------------------


async def give_role(chair, who, role):
    reply = await chair.say("/vaitro")
    assert "Bác muốn đổi vai trò của ai?" in reply.text
    await chair.pick(who)
    reply = await chair.pick(role)
    assert f"Giao vai trò {role} cho bác {who.split(' (')[0]}, hay thôi giao ạ?" in reply.text
    reply = await chair.pick("Giao vai trò này")
    assert "Thông tin trên đã đúng chưa ạ?" in reply.text
    return reply


async def test_chair_gives_the_treasurer_role(chat, club):
    reply = await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Thủ quỹ")
    assert "Giao cho Mồng Thị Hoa vai trò Thủ quỹ." in reply.text
    assert await chat.bot.rows("SELECT * FROM member_roles WHERE role = 'treasurer'") == []
    reply = await club.chair.pick("Đúng, lưu lại")
    assert reply.text == "Xong rồi ạ."
    hoa_id = await member_id(chat, "Mồng Thị Hoa")
    chair_id = await member_id(chat, "Vi Thị Lan")
    rows = await chat.bot.rows(
        "SELECT member_id, granted_by FROM member_roles WHERE role = 'treasurer'"
    )
    assert rows == [{"member_id": hoa_id, "granted_by": chair_id}]
    [told] = club.hoa.unread()
    assert "Chủ nhiệm đã giao cho bác vai trò Thủ quỹ." in told.text
    reply = await club.hoa.say("/dulieu")
    assert "Thủ quỹ" in reply.text
    reply = await club.hoa.say("/duyet")  # a treasurer is not on the board
    assert reply.text.startswith(REFUSAL)

    await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Thủ quỹ")
    reply = await club.chair.pick("Đúng, lưu lại")
    assert "Không cần thay đổi" in reply.text
    assert club.hoa.unread() == []


async def test_chair_takes_a_role_away(chat, club):
    await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Tình nguyện viên")
    await club.chair.pick("Đúng, lưu lại")
    club.hoa.unread()
    await club.chair.say("/vaitro")
    await club.chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await club.chair.pick("Tình nguyện viên")
    reply = await club.chair.pick("Thôi giao vai trò này")
    assert "Thôi giao vai trò Tình nguyện viên cho Mồng Thị Hoa." in reply.text
    await club.chair.pick("Đúng, lưu lại")
    assert await chat.bot.rows("SELECT * FROM member_roles WHERE role = 'volunteer'") == []
    [told] = club.hoa.unread()
    assert "Vai trò Tình nguyện viên của bác đã kết thúc." in told.text


async def test_vice_chair_approves_but_cannot_give_roles(chat, club):
    await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Phó chủ nhiệm")
    await club.chair.pick("Đúng, lưu lại")
    club.hoa.unread()
    reply = await club.hoa.say("/menu")
    assert "Duyệt thành viên mới" in reply.labels
    assert "Giao hoặc thôi giao vai trò" not in reply.labels

    await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    notices = club.hoa.unread()
    assert any("Lò Thị Mai, sinh năm 1958" in m.text for m in notices)
    await approve(club.hoa, "Lò Thị Mai (1958, Bản Na Công)")
    rows = await chat.bot.rows("SELECT status, decided_by FROM members WHERE full_name = ?",
                               "Lò Thị Mai")
    assert rows == [{"status": "active", "decided_by": await member_id(chat, "Mồng Thị Hoa")}]

    reply = await club.hoa.say("/vaitro")
    assert reply.text.startswith(REFUSAL)
    roles_before = await chat.bot.rows("SELECT * FROM member_roles ORDER BY member_id, role")
    lo_id = await member_id(chat, "Lò Thị Mai")
    inbound = await inbound_of(chat, club.hoa)
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        assert ctx.roles == {"member", "vice_chair"}
        replies = await SetRole(lo_id, "treasurer", True).apply(tx, ctx)
    assert [r.parts[0].msgid for r in replies] == ["Sorry, you cannot use this."]
    after = await chat.bot.rows("SELECT * FROM member_roles ORDER BY member_id, role")
    assert after == roles_before


async def test_chair_cannot_give_the_chair_role(chat, club):
    reply = await club.chair.say("/vaitro")
    await club.chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    reply = await club.chair.say("Chủ nhiệm")
    assert "Chủ nhiệm" not in reply.labels
    assert (BUTTONS if chat.kind == "telegram" else "Bác gõ một số từ 1 đến 3") in reply.text


# --- two clubs -------------------------------------------------------------------------------


async def inbound_of(chat, person, text="") -> Inbound:
    """An update as ``person`` would send it on this harness's channel."""
    [row] = await chat.bot.rows(
        "SELECT channel, user_id, chat_id FROM identities WHERE user_id = ?", str(person.user_id)
    )
    return Inbound(channel=row["channel"], user_id=row["user_id"], chat_id=row["chat_id"],
                   external_id=f"direct-{uuid.uuid4().hex}", text=text, locale="vi")


@dataclass
class Other:
    """A second club: its chair, a pending member there, and a pending member of the first."""

    info: dict[str, Any]
    chair: Any
    bich: Any
    lo: Any


@pytest.fixture
async def two_clubs(chat, club) -> Other:
    info_b = await chat.bot.new_club(name="CLB LTHTGN bản Na", commune="Châu Kim")
    chair_b = await join_as_chair(chat, info_b, name="Lương Văn Tâm", phone="0911 222 333")
    bich, _ = await register(chat, info_b["member_code"], "Hà Thị Bích", "0966 555 444",
                             village="Bản Na")
    lo, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    return Other(info_b, chair_b, bich, lo)


async def test_board_of_one_club_cannot_approve_another_clubs_member(chat, club, two_clubs):
    club.chair.unread()
    reply = await club.chair.say("/duyet")
    assert reply.labels == ["Lò Thị Mai (1958, Bản Na Công)"]
    assert "Hà Thị Bích" not in reply.text
    reply = await club.chair.say("Hà Thị Bích (1958, Bản Na)")  # typed from elsewhere
    one = "Bác bấm nút bên dưới, hoặc gõ câu trả lời nhé."
    assert (one if chat.kind == "telegram" else "Bác gõ 1 hoặc gõ câu trả lời nhé.") in reply.text
    await club.chair.say("/huy")

    bich_id = await member_id(chat, "Hà Thị Bích")
    inbound = await inbound_of(chat, club.chair)
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        assert "chair" in ctx.roles
        replies = await Decide(bich_id, approve=True).apply(tx, ctx)
        assert [r.parts[0].msgid for r in replies] == ["This person is no longer waiting."]
        assert all(r.to is None for r in replies)
        replies = await SetRole(bich_id, "treasurer", True).apply(tx, ctx)
        assert all(r.to is None for r in replies)
    rows = await chat.bot.rows("SELECT status, decided_by, decided_at FROM members WHERE id = ?",
                               bich_id)
    assert rows == [{"status": "pending", "decided_by": None, "decided_at": None}]
    assert await chat.bot.rows("SELECT * FROM member_roles WHERE member_id = ? AND role != "
                               "'member'", bich_id) == []
    assert two_clubs.bich.unread() == []  # not told anything

    reply = await two_clubs.chair.say("/duyet")
    assert reply.labels == ["Hà Thị Bích (1958, Bản Na)"]


async def test_member_list_shows_only_own_club(chat, club, two_clubs):
    reply = await club.chair.say("/thanhvien")
    assert "CLB LTHTGN bản Lốc: 2 thành viên" in reply.text
    assert "Lò Thị Mai" in reply.text
    assert "Hà Thị Bích" not in reply.text and "Lương Văn Tâm" not in reply.text
    assert "Vi Thị Lan (1956, Bản Lốc) - Chủ nhiệm" in reply.text


async def test_only_own_clubs_board_is_notified(chat, club, two_clubs):
    texts = [m.text for m in club.chair.unread()]
    assert any("Lò Thị Mai" in t for t in texts)
    assert not any("Hà Thị Bích" in t for t in texts)
    texts = [m.text for m in two_clubs.chair.unread()]
    assert any("Hà Thị Bích" in t for t in texts)
    assert not any("Lò Thị Mai" in t for t in texts)


@pytest.mark.parametrize("how", ["{code}", "/start {code}", "/dangky {code}", "dang ky"])
async def test_another_clubs_code_does_not_move_a_member(chat, club, two_clubs, how):
    info_b = two_clubs.info
    hoa_id = await member_id(chat, "Mồng Thị Hoa")
    reply = await club.hoa.say(how.format(code=info_b["member_code"]))
    assert "họ và tên" not in reply.text
    assert MENU in reply.text
    reply = await club.hoa.say("Mồng Thị Hoa")  # no registration is waiting for a name
    assert MENU in reply.text and "giới tính" not in reply.text.lower()
    rows = await chat.bot.rows("SELECT club_id, status FROM members WHERE full_name = ?",
                               "Mồng Thị Hoa")
    assert rows == [{"club_id": club.info["club_id"], "status": "active"}]
    identities = await chat.bot.rows("SELECT member_id FROM identities WHERE user_id = ?",
                                     club.hoa.user_id)
    assert identities == [{"member_id": hoa_id}]
    count = await chat.bot.rows("SELECT COUNT(*) AS n FROM members WHERE club_id = ?",
                                info_b["club_id"])
    assert count == [{"n": 2}]


# --- decisions race and roles change mid-way ------------------------------------------------


async def make_vice_chair(club):
    await give_role(club.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Phó chủ nhiệm")
    await club.chair.pick("Đúng, lưu lại")
    club.hoa.unread()


async def test_two_board_members_deciding_at_once_decide_once(chat, club):
    await make_vice_chair(club)
    await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    label = "Lò Thị Mai (1958, Bản Na Công)"
    await club.hoa.say("/duyet")
    reply = await club.hoa.pick(label)
    assert "Bác có duyệt người này không?" in reply.text
    await approve(club.chair, label)
    reply = await club.hoa.pick("Từ chối")
    assert "Người này không còn chờ duyệt nữa." in reply.text
    rows = await chat.bot.rows("SELECT status, decided_by FROM members WHERE full_name = ?",
                               "Lò Thị Mai")
    assert rows == [{"status": "active", "decided_by": await member_id(chat, "Vi Thị Lan")}]


async def test_role_taken_away_mid_task_stops_the_task(chat, club):
    await make_vice_chair(club)
    await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    reply = await club.hoa.say("/duyet")
    assert reply.labels == ["Lò Thị Mai (1958, Bản Na Công)"]

    await club.chair.say("/vaitro")
    await club.chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await club.chair.pick("Phó chủ nhiệm")
    await club.chair.pick("Thôi giao vai trò này")
    await club.chair.pick("Đúng, lưu lại")
    club.hoa.unread()

    reply = await club.hoa.say("1")
    assert reply.text.startswith(REFUSAL)
    assert reply.labels == MEMBER_MENU
    rows = await chat.bot.rows("SELECT status FROM members WHERE full_name = ?", "Lò Thị Mai")
    assert rows == [{"status": "pending"}]
