"""Vietnamese text helpers: NFC normalisation for storage and accent folding for matching.

Vietnamese arrives composed (NFC) or decomposed (NFD), and older people often type without
accents. We store NFC and compare folded text, so ``hủy``, ``huỷ``, ``HUY`` and ``huy`` match.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC with runs of whitespace collapsed and ends trimmed.

    Args:
        text: Any text a person typed.

    Returns:
        The cleaned, composed text, suitable for storage.
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without accents, and with ``đ`` as ``d``.

    Args:
        text: Any text a person typed.

    Returns:
        A folded form for matching words, never for storage.
    """
    decomposed = unicodedata.normalize("NFD", nfc(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")
