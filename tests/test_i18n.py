"""Every user-facing message has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n import catalog, format_day, format_money, gettext

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), keywords={"N_": None, "_": None, "gettext": None}
    ):
        found.add(message)
    return found


def test_source_has_messages():
    messages = source_messages()
    assert "Is this correct?" in messages
    assert len(messages) > 100


def test_every_message_has_a_vietnamese_translation():
    vi = catalog("vi")
    missing = sorted(m for m in source_messages() if not vi.get(m))
    assert missing == []


def test_translations_keep_placeholders():
    vi = catalog("vi")
    for message in source_messages():
        wanted = set(PLACEHOLDER.findall(message))
        assert set(PLACEHOLDER.findall(vi[message])) == wanted, message


def test_english_falls_back_to_source_and_vietnamese_is_default():
    assert gettext("Is this correct?", "en") == "Is this correct?"
    assert gettext("Is this correct?") == "Thông tin trên đã đúng chưa ạ?"
    assert gettext("Is this correct?", "fr") == "Thông tin trên đã đúng chưa ạ?"


def test_money_and_dates():
    from datetime import date

    assert format_money(10_000_000) == "10.000.000\xa0₫"
    assert format_day(date(2025, 3, 5)) == "05/03/2025"
