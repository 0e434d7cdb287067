"""Wording: what a person reads on each channel.

On channels without buttons (Zalo, the terminal) nobody is told to tap; a capital "Bác" only
starts a sentence; each summary's confirm button says what it does; questions name the people
they are about; no raw English or internal ids reach a person.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.engine import DONE, _picked_note
from bot.i18n import catalog
from bot.messages import Choice, OutMessage, Reply, T
from bot.render import as_text, for_typing, render

ROOT = Path(__file__).resolve().parent.parent
TAP_WORDS = re.compile(r"\b(bấm|nhấn|chạm)\b", re.IGNORECASE)


def test_a_message_with_a_typed_form_says_type_on_text_channels_and_tap_on_telegram():
    reply = Reply((T("Is this correct?"), _picked_note((DONE,), {})), (DONE,), "r", "s")
    message = render(reply, "vi")
    assert "bấm từng mục rồi bấm Xong" in message.text  # Telegram: there are buttons
    text = as_text(message)
    assert "Bác chọn được nhiều mục: gõ các số, cách nhau bằng dấu phẩy, ví dụ: 1, 3." in text
    assert not TAP_WORDS.search(text)
    assert OutMessage.from_json(message.to_json()) == message  # kept through the outbox
    assert for_typing(message).text.startswith("Thông tin trên đã đúng chưa ạ?")


def test_a_typed_form_inside_a_parameter_is_used_too():
    picked = T("Picked so far: {names}. Tap more, or Done.", names="Ngã",
               typed="Picked so far: {names}. Type more numbers, or Done.")
    message = render(Reply((T("{p0}", p0=picked),)), "vi")
    assert message.text == "Đã chọn: Ngã. Chọn thêm, hoặc bấm Xong."
    assert as_text(message) == "Đã chọn: Ngã. Gõ thêm số, hoặc gõ Xong."


def test_messages_without_a_typed_form_are_unchanged():
    message = render(Reply((T("Done."),), (Choice("a", "Done"),), "r", "s"), "vi")
    assert message.typed_text is None
    assert "typed_text" not in message.to_json()


def _tap_messages() -> dict[str, str]:
    return {msgid: text for msgid, text in catalog("vi").items() if TAP_WORDS.search(text)}


def test_every_message_that_says_tap_has_a_typed_form_in_the_code():
    """A Vietnamese text with "bấm" is only said where its code gives a form for typing."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in ROOT.glob("bot/**/*.py"))
    flat = re.sub(r'"\s*\n\s*"', "", sources)  # adjacent string literals joined
    tapping = _tap_messages()
    assert tapping, "the Telegram wording still says bấm"
    for msgid in tapping:
        at = flat.find(f'"{msgid}"')
        assert at >= 0, msgid
        assert "typed=" in flat[at: at + len(msgid) + 300], msgid
        assert not TAP_WORDS.search(catalog("vi")[_typed_of(flat, at)]), msgid


def _typed_of(flat: str, at: int) -> str:
    match = re.compile(r'typed=N_\(\s*"([^"]*)"').search(flat, at)
    assert match is not None
    return match.group(1)


SENTENCE_END = re.compile(r"(^|[.?!:…]\s+|\n\s*|[.?!:]\)\s+|\}\s+|\"\s*)$")


def test_capital_bac_only_starts_a_sentence():
    wrong = []
    for msgid, text in catalog("vi").items():
        for match in re.finditer(r"Bác\b", text):
            before = text[: match.start()]
            if before and not SENTENCE_END.search(before):
                wrong.append((msgid, text))
    assert wrong == []


def test_lower_case_bac_never_starts_a_sentence():
    # A fragment put inside a sentence ("bác {name} (chủ nhiệm)" in a list of names) may
    # start with "bác"; a whole sentence may not.
    wrong = [text for text in catalog("vi").values()
             if re.search(r"([.?!]\s+|\n)bác\b", text)
             or (text.startswith("bác") and text.rstrip().endswith((".", "?", "!")))]
    assert wrong == []


# --- flows whose wording was fixed, on every channel -------------------------------------------

from tests.test_roles import Club  # noqa: E402
from tests.test_roles import club as club  # noqa: E402  (the fixture)


async def test_reminders_can_be_left_without_changing_anything(chat, club: Club):
    reply = await club.hoa.say("/nhacnho")
    assert "Ví dụ: 1. Không đổi gì thì chọn Xong." in reply.text
    assert reply.labels[-1] == "Xong, không đổi gì"
    reply = await club.hoa.pick("Xong, không đổi gì")
    assert reply.text == "Không đổi gì ạ: nhắc nhở của bác vẫn như cũ."
    assert await chat.bot.rows("SELECT * FROM reminder_pauses") == []
    assert await chat.bot.rows("SELECT * FROM sessions WHERE flow_id = 'reminder_pause'") == []
    await club.hoa.say("/nhacnho")
    reply = await club.hoa.say("xong")  # typed, the way members type
    assert reply.text == "Không đổi gì ạ: nhắc nhở của bác vẫn như cũ."


async def test_a_loan_for_another_purpose_asks_what_it_is_shows_it_and_keeps_it(chat, club):
    hoa = club.hoa
    await hoa.say("/vayvon")
    await hoa.say("8tr")
    reply = await hoa.pick("Khác")
    assert reply.text == ("Bác vay để làm việc gì ạ? Bác gõ ra, ví dụ: mua máy khâu hoặc sửa "
                          "chuồng trại.")
    reply = await hoa.say("x")
    assert "ví dụ: mua máy khâu" in reply.text  # too short: asked again, with the example
    reply = await hoa.say("mua máy khâu")
    assert "Bác xin vay 8.000.000\xa0₫, mục đích: mua máy khâu." in reply.text
    assert reply.labels == ["Đúng, gửi yêu cầu", "Sửa lại", "Hủy"]
    club.chair.unread()
    reply = await hoa.pick("Đúng, gửi yêu cầu")
    assert await chat.bot.rows("SELECT amount, purpose FROM loan_requests") == [
        {"amount": 8_000_000, "purpose": "mua máy khâu"}]
    [notice] = club.chair.unread()
    assert "mua máy khâu" in notice.text


async def test_changing_the_purpose_from_other_to_a_listed_one_forgets_the_words(chat, club):
    hoa = club.hoa
    await hoa.say("/vayvon")
    await hoa.say("8tr")
    await hoa.pick("Khác")
    await hoa.say("mua máy khâu")
    await hoa.pick("Sửa lại")
    await hoa.pick("Mục đích vay")
    reply = await hoa.pick("Lợn")
    assert "mục đích: Lợn." in reply.text
    await hoa.pick("Đúng, gửi yêu cầu")
    assert await chat.bot.rows("SELECT purpose FROM loan_requests") == [{"purpose": "pig"}]


async def test_my_data_names_the_chat_apps_in_vietnamese(chat, club):
    reply = await club.hoa.say("/dulieu")
    shown = {"telegram": "Telegram", "zalo": "Zalo", "text": "ứng dụng nhắn tin khác"}
    assert f"Tài khoản nhắn tin: {shown[chat.kind]}" in reply.text
    assert "None" not in reply.text and "True" not in reply.text


def test_the_terminal_chat_is_named_not_its_id():
    from bot.conversations.my_data import CHANNEL_NAMES
    from bot.i18n import gettext

    assert gettext(CHANNEL_NAMES["local"], "vi") == "trò chuyện trên máy"


def test_every_summary_confirms_with_what_it_does():
    from bot.conversations.registry import FLOWS
    from bot.i18n import gettext

    labels = {flow.command: gettext(flow.confirm, "vi") for flow in FLOWS if flow.summary}
    assert labels["xoadulieu"] == "Đúng, gửi yêu cầu"
    assert labels["vayvon"] == "Đúng, gửi yêu cầu"
    assert labels["xoa"] == "Đúng, xóa"
    assert labels["giaingan"] == "Đúng, lưu lại"


RAW = re.compile(r"\b(None|True|False|null|local|telegram|zalo|text)\b|\{\w+\}|\b[a-z]+_[a-z_]+\b")
ENGLISH = re.compile(r"\b(the|Please|you|your|Type|Pick|tap)\b")


async def test_no_flow_shows_english_or_raw_ids_to_the_chair(chat, club: Club):
    """Every command in the chair's menu (the most there are) answers in Vietnamese only."""
    from bot.conversations.registry import FLOWS

    commands = [flow.command for flow in FLOWS if flow.in_menu and "association" not in flow.roles]
    for command in commands:
        reply = await club.chair.say(f"/{command}")
        for text in (reply.text, *reply.labels):
            assert not RAW.search(text), (command, text)
            assert not ENGLISH.search(text), (command, text)
        await club.chair.say("/huy")
