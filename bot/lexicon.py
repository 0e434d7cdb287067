"""Vietnamese as members type it: the one place that lists the words every parser shares.

Members skip accents, write shorthand (``ko``, ``dc``, ``hnay``), add polite particles
(``dạ``, ``ạ``, ``nhé``), end with emoji or ``!!`` and say numbers in words
(``mười triệu``). The parsers (:mod:`bot.parsers`) and every choice read answers through
the helpers here, so a new word is added once.

All word lists hold *folded* words (:func:`bot.text.fold`: lower case, no accents,
``đ`` as ``d``).
"""

from __future__ import annotations

import re
import unicodedata

from bot.text import fold, nfc

# --- emoji and punctuation -------------------------------------------------------------------

_INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # joiners, emoji variation, keycap
_EDGE_PUNCT = " \t.,!?;:~…*\"'“”‘’()[]"
THUMBS_UP = frozenset({"👍", "👌", "✅", "🆗", "👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿"})
THUMBS_DOWN = frozenset({"👎", "❌", "🙅", "👎🏻", "👎🏼", "👎🏽", "👎🏾", "👎🏿"})


def _is_emoji(char: str) -> bool:
    """Whether ``char`` is a pictograph, a skin tone or an invisible emoji helper."""
    if char in _INVISIBLE:
        return True
    category = unicodedata.category(char)
    return category == "So" or (category == "Sk" and 0x1F3FB <= ord(char) <= 0x1F3FF) or (
        category == "Cn" and ord(char) >= 0x1F000)


def strip_emoji(text: str) -> str:
    """``text`` without emoji (``130/85 😊`` -> ``130/85``), in NFC with single spaces."""
    return nfc("".join(" " if _is_emoji(ch) else ch for ch in nfc(text)))


def tidy(text: str) -> str:
    """``text`` without emoji and without punctuation at its ends (``1tr5!!`` -> ``1tr5``).

    Accents and case are kept: this is the text a parser reads.
    """
    return strip_emoji(text).strip(_EDGE_PUNCT)


def emoji_answer(text: str) -> bool | None:
    """A thumbs-up alone means yes, a thumbs-down alone no; anything else ``None``."""
    bare = "".join(ch for ch in text if not ch.isspace() and ch not in _INVISIBLE)
    if bare and all(ch in "".join(THUMBS_UP) for ch in bare) and bare[0] in "👍👌✅🆗":
        return True
    if bare and all(ch in "".join(THUMBS_DOWN) for ch in bare) and bare[0] in "👎❌🙅":
        return False
    return None


# --- shorthand, particles, extra words ---------------------------------------------------------

SHORTHAND = {
    "ko": "khong", "k": "khong", "kg": "khong", "kh": "khong", "khg": "khong", "hok": "khong",
    "hong": "khong", "hem": "khong", "khum": "khong", "k0": "khong", "0k": "khong",
    "dc": "duoc", "dk": "duoc", "đc": "duoc", "duoc": "duoc",
    "hnay": "hom nay", "hn": "hom nay", "hqua": "hom qua", "hkia": "hom kia",
    "bnay": "bua nay", "bqua": "bua qua",
    "r": "roi", "rui": "roi", "uh": "u", "uhm": "u", "um": "u", "uk": "u", "uki": "u",
    "oke": "ok", "oki": "ok", "okie": "ok", "okay": "ok", "okela": "ok", "okla": "ok",
    "vs": "voi", "j": "gi", "cx": "cung", "ng": "nguoi", "thg": "thang",
    "t2": "thu 2", "t3": "thu 3", "t4": "thu 4", "t5": "thu 5", "t6": "thu 6", "t7": "thu 7",
    "cn": "chu nhat", "bt": "binh thuong", "trc": "truoc", "ntn": "nhu the nao",
}  # fmt: skip
"""Folded shorthand words and what they stand for (whole words only)."""

PARTICLES = frozenset({"da", "a", "nhe", "nha", "nhen", "ah", "ha", "oi", "thua", "ak", "nhi"})
"""Polite particles dropped around an answer (``dạ có ạ`` -> ``có``)."""

PRONOUNS = frozenset({
    "toi", "em", "bac", "chau", "con", "minh", "tui", "ba", "ong", "chu", "anh", "chi",
    "di", "cau", "thim", "mo", "ban",
})  # fmt: skip
"""Words for people, allowed around a choice (``bà Biết``). Not ``cô``: it folds like ``có``."""

GLUE = frozenset({
    "cho", "vay", "mua", "nuoi", "lam", "trong", "de", "la", "chon", "cai", "so", "muc",
    "cua", "thi", "voi", "con", "tien", "ngay", "buoi", "hop",
})  # fmt: skip
"""Words allowed around a choice's own words (``cho vay mua bò`` picks "Bò")."""

FILLERS = PARTICLES | PRONOUNS | GLUE
"""Every word that may surround the words of a choice."""

NEGATIONS = frozenset({"khong", "chua", "chang"})
"""Words that turn a choice's words around (``không phải bò``)."""


def words(text: str) -> list[str]:
    """The folded words of ``text``, emoji and punctuation dropped, shorthand expanded."""
    folded = fold(strip_emoji(text))
    out: list[str] = []
    for word in re.findall(r"[0-9]+(?:[/.,:\-][0-9]+)*|[^\W_]+", folded):
        out.extend(SHORTHAND.get(word, word).split())
    return out


def phrase(text: str) -> str:
    """``text`` as one folded phrase: shorthand expanded, polite particles at the ends dropped.

    ``Dạ ko đo lại dc ạ 😊`` -> ``khong do lai duoc``.
    """
    found = words(text)
    while len(found) > 1 and found[0] in PARTICLES:
        found = found[1:]
    while len(found) > 1 and found[-1] in PARTICLES:
        found = found[:-1]
    return " ".join(found)


# --- yes and no --------------------------------------------------------------------------------

YES_WORDS = frozenset(phrase(word) for word in (
    "có", "ừ", "ừm", "uh", "uk", "đồng ý", "đúng", "đúng rồi", "vâng", "dạ", "được", "đc",
    "ok", "oke", "okay", "oki", "yes", "y", "1", "rồi", "phải", "chính xác", "chuẩn",
    "chuẩn rồi", "ok rồi", "được rồi", "có chứ", "đúng vậy", "vâng đúng", "dạ vâng", "ờ",
    "có nha", "đồng ý rồi", "chắc chắn", "yep",
))  # fmt: skip
"""Folded answers meaning "yes"."""
NO_WORDS = frozenset(phrase(word) for word in (
    "không", "ko", "k", "kg", "kh", "khg", "hông", "hok", "không đồng ý", "không phải",
    "không đúng", "không có", "sai", "sai rồi", "no", "n", "2", "thôi", "chưa", "không ạ",
    "không được", "chưa có", "không muốn", "nope",
))  # fmt: skip
"""Folded answers meaning "no"."""


def yes_no(text: str) -> bool | None:
    """What ``text`` means as an answer to a yes/no question: ``True``, ``False`` or ``None``.

    Shorthand (``ko``, ``dc``), polite particles (``dạ có ạ``), emoji and punctuation are
    understood; ``không`` before a yes word means no (``ko đồng ý``). Anything else, or a
    mix of both (``có không``), is ``None``.
    """
    by_emoji = emoji_answer(text)
    if by_emoji is not None:
        return by_emoji
    answer = phrase(text)
    if answer in YES_WORDS:
        return True
    if answer in NO_WORDS:
        return False
    head, _, tail = answer.partition(" ")
    if head in NEGATIONS and tail in YES_WORDS and tail not in NO_WORDS:
        return False
    if answer.endswith(" roi") and answer[:-4] in YES_WORDS:
        return True
    return None


# --- days --------------------------------------------------------------------------------------

RELATIVE_DAYS = {
    "hom nay": 0, "nay": 0, "bua nay": 0, "homnay": 0, "ngay hom nay": 0,
    "hom qua": -1, "bua qua": -1, "homqua": -1, "ngay hom qua": -1,
    "hom kia": -2, "bua kia": -2, "homkia": -2,
    "mai": 1, "ngay mai": 1, "mai nhe": 1, "sang mai": 1, "chieu mai": 1, "toi mai": 1,
    "ngay kia": 2, "ngay mot": 2,
}  # fmt: skip
"""Days counted from today (folded, shorthand already expanded)."""

WEEKDAYS = {
    "hai": 0, "2": 0, "ba": 1, "3": 1, "tu": 2, "4": 2, "nam": 3, "5": 3,
    "sau": 4, "6": 4, "bay": 5, "7": 5,
}  # fmt: skip
"""``thứ <word>`` -> Python's weekday (0 = Monday); Sunday is ``chủ nhật``."""

WEEKS = {"nay": 0, "sau": 1, "toi": 1, "truoc": -1, "qua": -1}
"""``tuần <word>`` -> weeks from this one."""

# --- numbers -----------------------------------------------------------------------------------

ONES = {
    "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6, "bay": 7,
    "tam": 8, "chin": 9,
}  # fmt: skip
"""Digits in words (``mốt``, ``tư``, ``lăm`` after ``mươi`` fold to these too)."""
TENS = frozenset({"muoi", "chuc"})  # mười / mươi / chục
HUNDRED = "tram"
ZERO_TENS = frozenset({"le", "linh"})  # "một trăm linh năm" = 105
HALF = frozenset({"ruoi", "nua"})  # "1 triệu rưỡi", "nửa"
MONEY_UNITS = {
    "k": 1_000, "ng": 1_000, "nghin": 1_000, "ngan": 1_000,
    "tr": 1_000_000, "trieu": 1_000_000, "cu": 1_000_000,
    "ty": 1_000_000_000, "ti": 1_000_000_000,
}  # fmt: skip
"""Money units as typed."""


def small_number(tokens: list[str]) -> int | None:
    """The number below 1000 said by ``tokens`` (``năm trăm``, ``hai mươi lăm``, ``5 trăm``).

    Returns:
        The number, or ``None`` when the tokens are not one.
    """
    value, i = 0, 0

    def digit(index: int) -> int | None:
        if index >= len(tokens):
            return None
        token = tokens[index]
        if re.fullmatch(r"[0-9]{1,2}", token):
            return int(token)
        return ONES.get(token)

    first = digit(0)
    if first is not None and len(tokens) > 1 and tokens[1] == HUNDRED:
        value, i = first * 100, 2
    elif tokens[:1] == [HUNDRED]:
        value, i = 100, 1
    if i and i < len(tokens) and tokens[i] in HALF:
        return value + 50 if i + 1 == len(tokens) else None
    if i and i < len(tokens) and tokens[i] in ZERO_TENS:
        i += 1
        one = digit(i)
        return value + one if one is not None and one < 10 and i + 1 == len(tokens) else None
    tens = digit(i)
    if tens is not None and tens < 10 and i + 1 < len(tokens) and tokens[i + 1] in TENS:
        value, i = value + tens * 10, i + 2
    elif i < len(tokens) and tokens[i] in TENS:
        value, i = value + 10, i + 1
    one = digit(i)
    if one is not None and (one < 10 or i == 0):
        value, i = value + one, i + 1
    if i != len(tokens) or not tokens:
        return None
    if all(re.fullmatch(r"[0-9]+", t) for t in tokens):
        return None  # plain digits are read by the caller
    return value
