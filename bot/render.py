"""Turn neutral replies into translated messages, and messages into plain numbered text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from bot.i18n import N_, gettext
from bot.messages import OutButton, OutMessage, Reply, T, decode_button, encode_button


def translate(value: Any, locale: str, typed: bool = False) -> str:
    """Translate a :class:`T` (and its nested parameters); other values become text.

    Args:
        value: A :class:`T` or a plain value.
        locale: The reader's language.
        typed: For a channel without buttons: use each message's ``typed`` form if it has
            one ("type 1" instead of "tap Done").
    """
    if isinstance(value, T):
        params = {key: translate(param, locale, typed) for key, param in value.params.items()}
        msgid = value.typed if typed and value.typed else value.msgid
        return gettext(msgid, locale, **params)
    return str(value)


def _has_typed(value: Any) -> bool:
    """Whether a :class:`T` or any message inside it has a form for typing channels."""
    return isinstance(value, T) and (
        value.typed is not None or any(_has_typed(p) for p in value.params.values())
    )


def translate_all(value: Any, locale: str) -> Any:
    """Translate every :class:`T` inside plain JSON (dicts and lists, recursively).

    Args:
        value: JSON-like data (e.g. a chart spec) whose values may be :class:`T`.
        locale: The reader's language.

    Returns:
        A copy with each :class:`T` replaced by its text (tuples become lists, dates
        ``YYYY-MM-DD`` text).
    """
    if isinstance(value, T):
        return translate(value, locale)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: translate_all(item, locale) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [translate_all(item, locale) for item in value]
    return value


def render(reply: Reply, locale: str, remove_keyboard: bool = False) -> OutMessage:
    """Translate a reply for one reader.

    Args:
        reply: What the flow said.
        locale: The reader's language.
        remove_keyboard: Hide a "share phone number" keyboard shown by the previous question.

    Returns:
        The message with its buttons; button data carries the conversation reference. A
        chart is carried along with its labels translated; a file and a progress name as
        they are. Where a part says "tap", ``typed_text`` holds the text for channels
        without buttons (see :attr:`T.typed`).
    """
    text = "\n\n".join(translate(part, locale) for part in reply.parts)
    typed_text = None
    if any(_has_typed(part) for part in reply.parts):
        typed_text = "\n\n".join(translate(part, locale, typed=True) for part in reply.parts)
    buttons = tuple(
        OutButton(number, translate(T(choice.label), locale),
                  encode_button(reply.ref or "-", reply.step or "-", choice.key))
        for number, choice in enumerate(reply.choices, 1)
    )
    contact = None
    if reply.ask_contact and not buttons:
        contact = gettext(N_("Share my phone number"), locale)
    commands = all(choice.key.startswith("/") for choice in reply.choices)
    hint = numbers_hint(len(buttons), locale) if buttons and not commands else None
    chart = note = None
    if reply.chart is not None:
        chart = translate_all(reply.chart, locale)
        note = gettext(N_("(The chart could not be attached.)"), locale)
    file_note = document = None
    if reply.document is not None:
        file_note = gettext(N_("(The file could not be sent on this channel. Please use "
                               "Telegram, or ask the bot's operator.)"), locale)
        # Where a channel sends a link instead of the file (``{url}`` is filled in there):
        hours = int(reply.document.get("hours", "168"))
        if hours % 24 or hours < 48:
            link = gettext(N_("Download the file (the link works for {hours} hours): {url}"),
                           locale, hours=hours, url="{url}")
        else:
            link = gettext(N_("Download the file (the link works for {days} days): {url}"),
                           locale, days=hours // 24, url="{url}")
        document = {**reply.document, "link_note": link}
    return OutMessage(
        text, buttons, contact, hint, remove_keyboard and contact is None, chart, note,
        document, file_note, reply.progress, reply.replaces, typed_text,
    )


def numbers_hint(count: int, locale: str) -> str:
    """The line under a numbered list, e.g. ``Trả lời 1, 2 hoặc 3``."""
    if count == 1:
        return gettext(N_("Reply {numbers}"), locale, numbers="1")
    if count > 4:
        return gettext(N_("Reply with a number from 1 to {count}"), locale, count=count)
    numbers = gettext(
        N_("{first} or {last}"),
        locale,
        first=", ".join(str(n) for n in range(1, count)),
        last=str(count),
    )
    return gettext(N_("Reply {numbers}"), locale, numbers=numbers)


def for_typing(message: OutMessage) -> OutMessage:
    """The message as said on a channel without buttons (its ``typed_text``, if any)."""
    if message.typed_text is None:
        return message
    return replace(message, text=message.typed_text, typed_text=None)


def as_text(message: OutMessage) -> str:
    """Render a message for a text-only channel: choices become a numbered list.

    The text is the one for typing (``typed_text``) where the message has one: there is
    nothing to tap.
    """
    message = for_typing(message)
    if not message.buttons:
        return message.text
    keys = [decode_button(button.data) for button in message.buttons]
    if all(key is not None and key.key.startswith("/") for key in keys):
        # Command shortcuts (e.g. in a notification): there is no question to number.
        lines = [f"- {b.label}: {k.key}" for b, k in zip(message.buttons, keys, strict=True)]
        return "\n".join([message.text, "", *lines])
    lines = [f"{button.number}. {button.label}" for button in message.buttons]
    return "\n".join([message.text, "", *lines, message.hint or ""]).rstrip()


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line breaks if possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces
