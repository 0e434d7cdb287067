"""Translations and formatting: Babel gettext catalogs in ``locales/``, Vietnamese first.

Message ids are English source sentences. Every ``*.po`` file under
``locales/<lang>/LC_MESSAGES/`` is read and merged, so each part of the bot can own its own
catalog file. Money is shown as ``10.000.000 ₫`` and dates as ``dd/MM/yyyy``.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LOCALE = "vi"
SUPPORTED_LOCALES = ("vi", "en")


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now.

    Args:
        message: The English source sentence (the message id).

    Returns:
        ``message`` unchanged; it is translated when it is shown to a person.
    """
    return message


@cache
def catalog(locale: str) -> dict[str, str]:
    """Return the merged ``msgid -> msgstr`` table for ``locale`` (empty for unknown locales).

    Args:
        locale: A language code such as ``"vi"``.

    Returns:
        A dict of every translated, non-fuzzy message of that language.
    """
    table: dict[str, str] = {}
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and message.string and not message.fuzzy:
                    table[str(message.id)] = str(message.string)
    return table


def gettext(message: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """Translate ``message`` into ``locale`` and fill in its ``{named}`` parameters.

    Args:
        message: The English message id.
        locale: The reader's language; unknown languages fall back to Vietnamese.
        **params: Values for the message's placeholders, already formatted.

    Returns:
        The text to show.
    """
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    text = catalog(locale).get(message, message)
    return text.format(**params) if params else text


@cache  # reminders format the same few amounts and days many thousands of times
def format_money(amount: int, locale: str = DEFAULT_LOCALE) -> str:
    """Format an amount of đồng, e.g. ``10.000.000 ₫`` (a no-break space before ``₫``).

    Args:
        amount: Whole đồng.
        locale: The reader's language.

    Returns:
        The amount as people in Vietnam write it.
    """
    return format_currency(amount, "VND", locale="vi_VN")


@cache
def format_day(day: date, locale: str = DEFAULT_LOCALE) -> str:
    """Format a calendar day as ``dd/MM/yyyy``.

    Args:
        day: The date.
        locale: The reader's language.

    Returns:
        The date, e.g. ``05/03/2025``.
    """
    return _babel_format_date(day, "dd/MM/yyyy", locale="vi_VN")


def format_moment(moment: datetime, tz: str, locale: str = DEFAULT_LOCALE) -> str:
    """Format a UTC timestamp in the club's time zone as ``HH:mm dd/MM/yyyy``.

    Args:
        moment: An aware datetime (stored in UTC).
        tz: The time zone to show it in, e.g. ``Asia/Ho_Chi_Minh``.
        locale: The reader's language.

    Returns:
        The local time and date.
    """
    return _babel_format_datetime(moment, "HH:mm dd/MM/yyyy", tzinfo=ZoneInfo(tz), locale="vi_VN")
