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
    wrong = [text for text in catalog("vi").values()
             if re.search(r"(^|[.?!]\s+|\n)bác\b", text)]
    assert wrong == []
