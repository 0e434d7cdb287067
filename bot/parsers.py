"""Forgiving parsers for what club members type: money, dates, birth years, phones, answers.

Members are mostly over 60: they skip accents, add spaces, and write money the way they say it
(``1tr5``, ``500 nghìn``, ``1 triệu rưỡi``). Every parser here is pure (the caller passes
``today``) and raises :class:`ParseError` with a polite message that shows an example.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from bot import lexicon
from bot.i18n import DEFAULT_LOCALE, N_, gettext
from bot.text import fold, nfc

MAX_AMOUNT = 10_000_000_000  # 10 tỷ đồng
_MAX_INPUT = 100  # longer input is never one of our answers

MSG_AMOUNT = N_("Please type the amount like 500k, 1tr5 or 1.500.000.")
MSG_AMOUNT_UNIT = N_("Please add the unit, like {number}k or {number} nghìn.")
MSG_AMOUNT_DECIMAL = N_("Please add the unit, like {number} triệu or {number} nghìn.")
MSG_AMOUNT_ZERO = N_("The amount must be more than 0, for example 500k.")
MSG_AMOUNT_TOO_BIG = N_("The amount cannot be more than 10 tỷ. Please check it, for example 1tr5.")
MSG_DATE = N_("Please type the date like 15/12 or hôm nay.")
MSG_DATE_INVALID = N_("That day does not exist. Please type the date like 15/12 or hôm nay.")
MSG_BIRTH = N_("Please type the year of birth like 1958, or the date of birth like 15/03/1958.")
MSG_BIRTH_INVALID = N_("That day does not exist. Please type the date of birth like 15/03/1958.")
MSG_BIRTH_FUTURE = N_(
    "That date of birth is in the future. Please type it like 1958 or 15/03/1958."
)
MSG_BIRTH_TOO_OLD = N_("That would be over 120 years old. Please check the year, like 1958.")
MSG_PHONE = N_("Please type the phone number like 0912 345 678.")
MSG_YES_NO = N_("Please answer có or không, or 1 / 2.")
MSG_CHOICE = N_("Please reply with a number from 1 to {count}, or type the answer.")
MSG_CHOICE_ONE = N_("Please reply 1, or type the answer.")
MSG_CHOICE_AMBIGUOUS = N_(
    "That could mean more than one of these. Please type the number of the one you mean, "
    "from 1 to {count}."
)
MSG_NAME = N_("Please type the full name in letters only, like Nguyễn Văn An.")
MSG_NAME_TOO_LONG = N_(
    "The name is too long. Please use at most {max_len} characters, like Nguyễn Văn An."
)
MSG_TEXT_TOO_SHORT = N_("Please type at least {min_len} characters, for example Thôn Trung.")
MSG_TEXT_TOO_LONG = N_("Please type at most {max_len} characters, for example Thôn Trung.")


class ParseError(ValueError):
    """Input not understood.

    Attributes:
        message: An English msgid marked with ``N_()``, translated when shown.
        params: Values for the message's ``{named}`` placeholders.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def text(self, locale: str = DEFAULT_LOCALE) -> str:
        """Return the message translated into ``locale`` with its placeholders filled.

        Args:
            locale: The reader's language.

        Returns:
            The text to show to the person.
        """
        return gettext(self.message, locale, **self.params)


def _clean(text: str) -> str:
    """Fold ``text``, drop emoji, and punctuation and spaces around it (``" Có! "`` -> ``co``)."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", fold(lexicon.strip_emoji(text)))


# --- money -------------------------------------------------------------------------------------

_UNITS = lexicon.MONEY_UNITS
_HALF = lexicon.HALF  # "1 triệu rưỡi" = 1.500.000
_CURRENCY = re.compile(r"\s*(?:vnd|dong|d|₫)$")
_GROUPED = re.compile(r"[0-9]{1,3}(?:([., ])[0-9]{3})(?:\1[0-9]{3})*")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+")
_PIECE = re.compile(r"([0-9]+(?:[.,][0-9]+)*)\s*([a-z]+)\s*")  # "1tr", "500 nghin "


def _number(token: str) -> Decimal:
    """Read ``2.500`` (grouped thousands), ``1,5``/``1.5`` (decimal) or ``15``."""
    if _GROUPED.fullmatch(token):
        return Decimal(re.sub(r"[., ]", "", token))
    if _DIGITS.fullmatch(token) or _DECIMAL.fullmatch(token):
        return Decimal(token.replace(",", "."))
    raise ParseError(MSG_AMOUNT)


def _spoken_amount(text: str) -> Decimal:
    """Add up ``<number> <unit>`` pieces, then an optional tail: ``1tr5``, ``1 triệu rưỡi``."""
    total, unit, position = Decimal(0), 0, 0
    while (piece := _PIECE.match(text, position)) and piece[2] in _UNITS:
        if unit and _UNITS[piece[2]] >= unit:  # "500 nghìn 2 triệu" is not a number
            raise ParseError(MSG_AMOUNT)
        unit = _UNITS[piece[2]]
        total += _number(piece[1]) * unit
        position = piece.end()
    tail = text[position:]
    if not unit:
        raise ParseError(MSG_AMOUNT)
    if tail in _HALF:
        return total + Decimal(unit) / 2
    if _DIGITS.fullmatch(tail) and len(tail) <= 3:  # "1tr5" = 1.5 tr, "1tr250" = 1.25 tr
        return total + Decimal("0." + tail) * unit
    if tail:
        raise ParseError(MSG_AMOUNT)
    return total


def _number_words(folded: str) -> str:
    """``folded`` with numbers said in words written in digits, as people mean them.

    ``mười triệu`` -> ``10 trieu``; ``hai triệu rưỡi`` -> ``2 trieu ruoi``; ``năm trăm
    nghìn`` -> ``500 nghin``; ``5 trăm`` alone means 500 nghìn (``500 nghin``), and ``2 triệu 5
    trăm`` means 2.500.000 (``2 trieu 500``). ``nửa triệu`` is half a million.
    """
    tokens = re.findall(r"[0-9]+(?:[.,][0-9]+)*|[a-z]+|\S", folded)
    out: list[str] = []
    i, hundreds_alone = 0, False
    while i < len(tokens):
        if tokens[i] == "nua" and i + 1 < len(tokens) and tokens[i + 1] in _UNITS and not out:
            out.append("0.5")
            i += 1
            continue
        for j in range(len(tokens), i, -1):  # the longest run that is one number
            value = lexicon.small_number(tokens[i:j])
            if value is not None:
                hundreds_alone = lexicon.HUNDRED in tokens[i:j] and not out and j == len(tokens)
                out.append(str(value))
                i = j
                break
        else:
            out.append(tokens[i])
            i += 1
    if hundreds_alone:  # "5 trăm" said of money is 500 nghìn
        out.append("nghin")
    return " ".join(out)


def parse_amount(text: str) -> int:
    """Read an amount of Vietnamese đồng.

    Accepts ``500k``, ``500 nghìn``, ``1tr5``, ``1,5 triệu``, ``1 triệu rưỡi``,
    ``2 triệu 500 nghìn``, ``1.500.000``, ``1 500 000``, ``500.000đ``, ``1 tỷ`` and similar,
    and numbers in words (:func:`_number_words`): ``mười triệu``, ``muoi trieu``,
    ``hai triệu rưỡi``, ``5 trăm`` (500 nghìn). Emoji and trailing punctuation are ignored.

    Args:
        text: What the person typed.

    Returns:
        The amount in whole đồng, from 1 to 10 tỷ.

    Raises:
        ParseError: If the text is not an amount, is 0, above 10 tỷ, or a bare number
            below 1000 / a bare decimal such as ``1.5`` (the unit is unclear).
    """
    if len(text) > _MAX_INPUT:
        raise ParseError(MSG_AMOUNT)
    folded = fold(lexicon.tidy(text)).strip(" .,!?;:")
    folded = _CURRENCY.sub("", folded).strip()
    if not folded:
        raise ParseError(MSG_AMOUNT)
    if re.search(r"[a-z]", folded):
        folded = re.sub(r"\s+", " ", _number_words(folded))
    if _DIGITS.fullmatch(folded) or _GROUPED.fullmatch(folded):
        amount = _number(folded)
        if 0 < amount < 1000:
            raise ParseError(MSG_AMOUNT_UNIT, number=folded)
    elif _DECIMAL.fullmatch(folded):
        raise ParseError(MSG_AMOUNT_DECIMAL, number=folded)
    else:
        amount = _spoken_amount(folded)
    if amount != amount.to_integral_value():
        raise ParseError(MSG_AMOUNT)
    if amount <= 0:
        raise ParseError(MSG_AMOUNT_ZERO)
    if amount > MAX_AMOUNT:
        raise ParseError(MSG_AMOUNT_TOO_BIG)
    return int(amount)


# --- dates -------------------------------------------------------------------------------------

_SEP = r"(?:\s*(?:[/.\-]|thang|nam)\s*|\s+)"
_DMY = re.compile(rf"([0-9]{{1,2}}){_SEP}([0-9]{{1,2}})(?:{_SEP}([0-9]{{4}}|[0-9]{{2}}))?")
_WEEKDAY = re.compile(r"(?:thu\s*(hai|ba|tu|nam|sau|bay|[2-7])|(chu nhat))"
                      r"(?:\s+(?:(tuan)\s+)?(nay|sau|toi|truoc|qua))?")


def _split_date(folded: str) -> tuple[int, int, str | None] | None:
    """Return ``(day, month, year or None)`` for ``15/12``, ``15-12-26``, ``15 thang 12``."""
    match = _DMY.fullmatch(folded)
    if not match:
        return None
    return int(match[1]), int(match[2]), match[3]


def relative_day(text: str, today: date, *, ahead: bool = False) -> date | None:
    """A day said in words: ``hôm nay``, ``hnay``, ``hôm qua``, ``mai``, ``thứ 2 tuần sau``.

    Args:
        text: What the person typed.
        today: The current day in the club's time zone.
        ahead: What a weekday without a week (``thứ 6``) means: the latest one on or before
            ``today`` (``False``, for things that happened) or the next one on or after it
            (``True``, for plans). ``thứ 6 tuần này/sau/trước`` and ``thứ 6 tới`` (the next
            one after today) are the same either way.

    Returns:
        The day, or ``None`` if the text is not a day in words.
    """
    said = re.sub(r"^(?:vao\s+)?(?:ngay\s+)?(?=thu|chu)", "", lexicon.phrase(text))
    if said in lexicon.RELATIVE_DAYS or said.replace(" ", "") in lexicon.RELATIVE_DAYS:
        return today + timedelta(days=lexicon.RELATIVE_DAYS.get(
            said, lexicon.RELATIVE_DAYS.get(said.replace(" ", ""), 0)))
    match = _WEEKDAY.fullmatch(said)
    if not match:
        return None
    weekday = 6 if match[2] else lexicon.WEEKDAYS[match[1]]
    monday = today - timedelta(days=today.weekday())
    if match[3] or match[4] in ("nay", "sau", "truoc", "qua"):
        return monday + timedelta(weeks=lexicon.WEEKS[match[4]], days=weekday)
    if match[4] == "toi" or ahead:
        days = (weekday - today.weekday()) % 7
        return today + timedelta(days=days or (7 if match[4] == "toi" else 0))
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def parse_date(text: str, today: date, *, ahead: bool = False) -> date:
    """Read a day: ``hôm nay``, ``hnay``, ``hôm qua``, ``mai``, ``thứ 2 tuần sau``, ``15/12``.

    Args:
        text: What the person typed (emoji and punctuation around it are ignored).
        today: The current day in the club's time zone.
        ahead: How to read a weekday without a week (see :func:`relative_day`): by default
            the latest one on or before today.

    Returns:
        The day. Without a year, the year of ``today``; a two-digit year means 20xx.

    Raises:
        ParseError: If the text is not a date or the day does not exist (``31/02``).
    """
    said = relative_day(text[:_MAX_INPUT], today, ahead=ahead)
    if said is not None:
        return said
    folded = _clean(text)
    parts = _split_date(re.sub(r"^ngay\s*", "", folded))
    if parts is None:
        raise ParseError(MSG_DATE)
    day, month, year = parts
    full_year = today.year if year is None else int(year) + (2000 if len(year) == 2 else 0)
    try:
        return date(full_year, month, day)
    except ValueError:
        raise ParseError(MSG_DATE_INVALID) from None


def _age(born: date, today: date) -> int:
    """Return the age in whole years on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def parse_birth(text: str, today: date) -> tuple[int, date | None]:
    """Read a year of birth (``1958``, ``58``, ``sinh năm 58``) or a date (``15/3/1958``).

    A two-digit year means 19xx when that gives an age of 0..120 not in the future, else 20xx
    (in 2026, ``58`` is 1958 and ``05`` is 2005).

    Args:
        text: What the person typed.
        today: The current day in the club's time zone.

    Returns:
        ``(year, date of birth)``; the date is ``None`` when only the year was given.

    Raises:
        ParseError: If the text is not a birth year/date, the day does not exist, it is in
            the future, or the age would be over 120.
    """
    folded = re.sub(r"^(?:(?:ngay|nam|sinh)\s*:?\s*)+", "", _clean(text))
    parts = _split_date(folded)
    if parts is not None and parts[2] is not None:
        day, month, year = parts
        day_month: tuple[int, int] | None = (day, month)
    elif re.fullmatch(r"[0-9]{2}|[0-9]{4}", folded):
        year, day_month = folded, None
    else:
        raise ParseError(MSG_BIRTH)
    error = MSG_BIRTH
    for century in (1900, 2000) if len(year) == 2 else (0,):
        full_year = century + int(year)
        if day_month is None:
            born, future, age = None, full_year > today.year, today.year - full_year
        else:
            try:
                born = date(full_year, day_month[1], day_month[0])
            except ValueError:  # 29/02/00 is fine in 2000 but not in 1900
                error = MSG_BIRTH_INVALID
                continue
            future, age = born > today, _age(born, today)
        if future:
            error = MSG_BIRTH_FUTURE
        elif age > 120:
            error = MSG_BIRTH_TOO_OLD
        else:
            return full_year, born
    raise ParseError(error)


# --- phone -------------------------------------------------------------------------------------

_PHONE_CHARS = re.compile(r"[0-9 .\-()+]+")
_NATIONAL = re.compile(r"0[35789][0-9]{8}|02[0-9]{9}")


def parse_phone(text: str) -> str:
    """Read a Vietnamese phone number such as ``0912 345 678`` or ``+84 912 345 678``.

    Mobiles have 10 digits starting 03, 05, 07, 08 or 09; landlines 11 digits starting 02.

    Args:
        text: What the person typed.

    Returns:
        The number in E.164 form, e.g. ``+84912345678``.

    Raises:
        ParseError: If the text is not a Vietnamese phone number.
    """
    cleaned = lexicon.strip_emoji(text[:_MAX_INPUT]).strip(" .")
    if (
        len(text) > _MAX_INPUT
        or not _PHONE_CHARS.fullmatch(cleaned)
        or cleaned.count("+") > 1
        or "+" in cleaned[2:]
    ):
        raise ParseError(MSG_PHONE)
    digits = re.sub(r"[^0-9]", "", cleaned)
    international = (
        "+" in cleaned
        or digits.startswith("00")
        or (digits.startswith("84") and len(digits) in (11, 12))
    )
    if international:
        digits = digits.removeprefix("00")
        if not digits.startswith("84"):
            raise ParseError(MSG_PHONE)
        digits = "0" + digits[2:].removeprefix("0")  # "+84 0912..." happens too
    if not _NATIONAL.fullmatch(digits):
        raise ParseError(MSG_PHONE)
    return "+84" + digits[1:]


# --- answers -----------------------------------------------------------------------------------

YES_WORDS = lexicon.YES_WORDS
"""Folded answers meaning "yes" (kept in :mod:`bot.lexicon`)."""
NO_WORDS = lexicon.NO_WORDS
"""Folded answers meaning "no" (kept in :mod:`bot.lexicon`)."""


def parse_yes_no(text: str) -> bool:
    """Read a yes/no answer: ``có``, ``ừ``, ``ok``, ``dc``, ``1`` / ``không``, ``ko``, ``2``.

    Case, accents, shorthand, punctuation and emoji around the word and polite particles
    (``dạ có ạ 👍``) are ignored; see :func:`bot.lexicon.yes_no`.

    Args:
        text: What the person typed.

    Returns:
        ``True`` for yes, ``False`` for no.

    Raises:
        ParseError: If the answer is neither.
    """
    answer = lexicon.yes_no(text[:_MAX_INPUT])
    if answer is None:
        raise ParseError(MSG_YES_NO)
    return answer


_LISTED_DATE = re.compile(
    r"(?<![0-9])([0-9]{1,2})[/.\-]([0-9]{1,2})(?:[/.\-]([0-9]{2,4}))?(?![0-9])"
)
_TYPED_DATE = re.compile(r"(?:ngay\s*)?([0-9]{1,2})\s*(?:[/.\-]|thang)\s*([0-9]{1,2})"
                         r"(?:\s*(?:[/.\-]|nam)\s*([0-9]{4}|[0-9]{2}))?")
_LISTED_MONEY = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:\s*(?:₫|đ|đồng))?|[0-9]+\s*(?:₫|đ)")


def _same_day(typed: re.Match[str], listed: re.Match[str]) -> bool:
    if (int(typed[1]), int(typed[2])) != (int(listed[1]), int(listed[2])):
        return False
    return typed[3] is None or listed[3] is None or int(typed[3]) % 100 == int(listed[3]) % 100


def _listed(answer: str, text: str) -> Callable[[str], bool] | None:
    """A test "this label shows the date or amount typed", if ``text`` is one (``15/2``)."""
    typed = _TYPED_DATE.fullmatch(answer)
    if typed:
        return lambda word: any(_same_day(typed, m) for m in _LISTED_DATE.finditer(word))
    if re.fullmatch(r"[0-9 ]+", answer):
        return None
    try:
        amount = parse_amount(text)
    except ParseError:
        return None

    def shows(word: str) -> bool:
        for found in _LISTED_MONEY.finditer(word):
            try:
                if parse_amount(found[0]) == amount:
                    return True
            except ParseError:
                continue
        return False

    return shows


def _name_like(label: str) -> bool:
    """Whether ``label`` reads as a person's name (``Hà Thị Biết (1950, Bản Lốc)``)."""
    head = re.split(r"[(:,]", nfc(label))[0].split()
    return len(head) >= 2 and all(word[:1].isupper() for word in head)


def _within(answer: list[str], label: list[str], name: bool = True) -> bool:
    """Whether the words of ``answer`` name ``label``.

    Either the label's words appear together inside the answer and every other word is one
    that may surround a choice (``cho vay mua bò`` names ``Bò``), or the answer's own words
    are whole words or beginnings (3+ letters) of the label's words, in order (``biet``
    names ``Hà Thị Biết``). Words of the label may be skipped only in a name (``name``):
    ``chủ nhiệm`` does not name ``Phó chủ nhiệm``. A negation the label does not have
    (``không phải bò``) names nothing.
    """
    if not label or not answer:
        return False
    size = len(label)
    for start in range(len(answer) - size + 1):
        if answer[start:start + size] == label:
            rest = answer[:start] + answer[start + size:]
            if all(word in lexicon.FILLERS for word in rest):
                return True
    if any(word in lexicon.NEGATIONS and word not in label for word in answer):
        return False
    own = [word for word in answer if word not in lexicon.FILLERS or word in label]
    position = expected = 0
    for word in own:
        while position < len(label) and not (
            label[position] == word
            or (len(word) >= 3 and word.isalpha() and label[position].startswith(word))
        ):
            position += 1
        if position == len(label) or (not name and position != expected):
            return False
        position += 1
        expected = position
    return bool(own)


def parse_choice(text: str, options: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Read the choice among numbered ``options``, strictly where a guess would be dangerous.

    Tried from the strictest reading to the loosest; the first that names any option
    decides, and if it names two the answer is refused as ambiguous:

    1. the option's number (``2``, ``số 2``, ``2.``, ``2 ạ 👍``);
    2. a label with its accents (``Cô`` is not ``Có``);
    3. a label, alias or key without accents (``nu`` is ``Nữ``);
    4. the same with shorthand expanded and polite particles dropped
       (``ko do lai dc`` is ``Không đo lại được``);
    5. a unique beginning (3+ letters) of a label (``fem``);
    6. yes or no (``ok``, ``ko``) onto the one option whose label or alias means it;
    7. a label's words among extra words, or part of a name (``cho vay mua bò``, ``biet``);
    8. a date or amount shown in exactly one label (``15/2``, ``500k``).

    Args:
        text: What the person typed.
        options: ``(key, labels)`` pairs in the order shown, labels already translated.

    Returns:
        The key of the chosen option.

    Raises:
        ParseError: :data:`MSG_CHOICE_AMBIGUOUS` (with ``count``) if the answer could mean
            two options; otherwise :data:`MSG_CHOICE` (or :data:`MSG_CHOICE_ONE` when there
            is one option) if nothing matches.
    """
    count = len(options)
    nothing = ParseError(MSG_CHOICE_ONE if count == 1 else MSG_CHOICE, count=count)
    text = text[:_MAX_INPUT * 2]
    thumbs = lexicon.emoji_answer(text)
    if thumbs is not None:  # a thumbs-up alone is "ok"
        text = "ok" if thumbs else "không"
    answer = _clean(text)
    said = lexicon.phrase(text)
    if not answer or not said:
        raise nothing
    number = re.fullmatch(r"(?:(?:so|cau|muc)\s*)?([0-9]{1,3})", said)
    if number:
        if 1 <= int(number[1]) <= count:
            return options[int(number[1]) - 1][0]
        raise nothing
    exact = nfc(lexicon.tidy(text)).casefold()
    said_words = said.split()
    meaning = lexicon.yes_no(text)
    listed = _listed(answer, text)
    tiers: list[Callable[[str], bool]] = [
        lambda word: nfc(word).casefold() == exact,  # "Cô" and "Có" are different words
        lambda word: _clean(word) == answer,  # "nu" is "Nữ"
        lambda word: lexicon.phrase(word) == said,  # "ko do lai dc"
        lambda word: len(answer) >= 3 and _clean(word).startswith(answer),  # "fem"
        lambda word: meaning is not None and lexicon.yes_no(word) is meaning,  # "ok", "ko"
        lambda word: _within(said_words, lexicon.words(word), _name_like(word)),  # "biet"
    ]
    if listed is not None:
        tiers.append(listed)
    for matches in tiers:
        keys = [key for key, words in options if any(matches(w) for w in (key, *words))]
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            raise ParseError(MSG_CHOICE_AMBIGUOUS, count=count)
    raise nothing


# --- names and free text -----------------------------------------------------------------------


def _is_letter(char: str) -> bool:
    """Return whether ``char`` is a Latin letter (Vietnamese letters included)."""
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN")


def parse_name(text: str) -> str:
    """Read a person's full name and capitalise each word (``nguyễn văn an`` -> ``Nguyễn Văn An``).

    Args:
        text: What the person typed: letters, spaces, apostrophes and hyphens (``H'Hen Niê``).

    Returns:
        The name in NFC with single spaces and each word (and part after ``-``/``'``)
        capitalised.

    Raises:
        ParseError: If the name has digits or symbols, or is shorter than 2 or longer than 80
            characters.
    """
    name = lexicon.tidy(text).replace("’", "'")
    if len(name) > 80:
        raise ParseError(MSG_NAME_TOO_LONG, max_len=80)
    parts = re.split(r"([ '\-])", name)
    if len(name) < 2 or not all(_is_letter(ch) for part in parts[::2] for ch in part or "-"):
        raise ParseError(MSG_NAME)
    return "".join(part[:1].upper() + part[1:].lower() for part in parts)


def parse_text(text: str, *, min_len: int = 2, max_len: int = 80) -> str:
    """Read free text such as a village name: NFC, single spaces, trimmed, length-checked.

    Args:
        text: What the person typed.
        min_len: The fewest characters accepted.
        max_len: The most characters accepted.

    Returns:
        The cleaned text.

    Raises:
        ParseError: With ``min_len`` or ``max_len`` if the text is too short or too long.
    """
    cleaned = nfc("".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch.isspace()))
    if len(cleaned) < min_len:
        raise ParseError(MSG_TEXT_TOO_SHORT, min_len=min_len)
    if len(cleaned) > max_len:
        raise ParseError(MSG_TEXT_TOO_LONG, max_len=max_len)
    return cleaned


# --- loan terms --------------------------------------------------------------------------------

MSG_RATE = N_("Please type the interest in percent a month, like 1 or 1,5, or 0 for none.")
MSG_RATE_HIGH = N_("That is more than 5% a month. Please check it, for example 1,5.")
MSG_MONTHS = N_("Please type the number of months, like 12 or 1 năm.")
MSG_MONTHS_RANGE = N_("The term must be from 1 to 60 months, for example 12.")
MSG_DAY_OF_MONTH = N_("Please type a day of the month from 1 to 31, like 15.")
_RATE = re.compile(
    r"([0-9]{1,2}(?:[.,][0-9]{1,2})?)\s*(?:%|phan tram)?(?:\s*(?:/|mot|1)?\s*thang)?"
)
_MONTHS = re.compile(r"([0-9]{1,3})\s*(thang|nam)?")


def _spoken_rate(folded: str) -> str:
    """``một phần trăm`` -> ``1 phan tram``, ``một rưỡi`` -> ``1,5``: a rate said in words."""
    words = folded.split()
    for count in range(len(words), 0, -1):
        value = lexicon.small_number(words[:count])
        if value is not None:
            rest = words[count:]
            half = bool(rest) and rest[0] in lexicon.HALF
            return " ".join([f"{value},5" if half else str(value), *rest[int(half):]])
    return folded


def parse_rate(text: str) -> int:
    """Read a monthly interest rate: ``1``, ``1,5%``, ``0.8 %/tháng``, ``0`` or ``không``.

    Args:
        text: What the person typed.

    Returns:
        The rate in basis points a month (``1,5`` -> 150), from 0 to 500.

    Raises:
        ParseError: If the text is not a rate or is over 5 % a month.
    """
    folded = _spoken_rate(_clean(text[:_MAX_INPUT]))
    if folded in ("khong", "ko", "khong lai", "mien lai"):
        return 0
    match = _RATE.fullmatch(folded)
    if not match:
        raise ParseError(MSG_RATE)
    rate = int(Decimal(match[1].replace(",", ".")) * 100)
    if rate > 500:
        raise ParseError(MSG_RATE_HIGH)
    return rate


def parse_months(text: str) -> int:
    """Read a loan term: ``12``, ``12 tháng``, ``1 năm``, ``2 nam``.

    Args:
        text: What the person typed.

    Returns:
        The number of months, from 1 to 60.

    Raises:
        ParseError: If the text is not a term or is outside 1..60 months.
    """
    match = _MONTHS.fullmatch(_clean(text[:_MAX_INPUT]))
    if not match:
        raise ParseError(MSG_MONTHS)
    months = int(match[1]) * (12 if match[2] == "nam" else 1)
    if not 1 <= months <= 60:
        raise ParseError(MSG_MONTHS_RANGE)
    return months


def parse_day_of_month(text: str) -> int:
    """Read a day of the month: ``15``, ``ngày 15``, ``mùng 5``.

    Raises:
        ParseError: If the text is not a day from 1 to 31.
    """
    match = re.fullmatch(r"(?:ngay|mung|mong)?\s*([0-9]{1,2})", _clean(text[:_MAX_INPUT]))
    if not match or not 1 <= int(match[1]) <= 31:
        raise ParseError(MSG_DAY_OF_MONTH)
    return int(match[1])
