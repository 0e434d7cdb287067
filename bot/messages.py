"""Channel-neutral message types: what a person sent, and what the bot answers.

Channel adapters turn platform updates into :class:`Inbound` and render :class:`OutMessage`
(buttons on Telegram, a numbered list on text-only channels). Flows speak in :class:`T`
(a message id and its parameters), translated only when a reply is queued for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BUTTON_PREFIX = "v1"


@dataclass(frozen=True)
class T:
    """A translatable message: an English message id and its ``{named}`` parameters.

    Parameter values may themselves be :class:`T` (translated with the message) or plain
    values (shown as they are).

    ``typed`` is the message id said instead on a channel without buttons (Zalo, the
    terminal), where a person types and cannot tap: "type 1" rather than "tap Done". It
    takes the same parameters.
    """

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    typed: str | None = None

    def __init__(self, msgid: str, *, typed: str | None = None, **params: Any) -> None:
        object.__setattr__(self, "msgid", msgid)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "typed", typed)


def joined(items: Sequence[Any], sep: str = "\n") -> T:
    """Messages (or plain strings) shown one after another, with ``sep`` between them."""
    pattern = sep.join(f"{{p{i}}}" for i in range(len(items)))
    return T(pattern, **{f"p{i}": item for i, item in enumerate(items)})


@dataclass(frozen=True)
class Choice:
    """One answer a person can pick: a stable key and a label (a message id).

    ``exclusive`` marks an answer of a pick-several question that excludes every other
    (e.g. "None of these"): picking it ends the question with it alone.
    """

    key: str
    label: str
    aliases: tuple[str, ...] = ()
    exclusive: bool = False


@dataclass(frozen=True)
class Button:
    """A button press decoded from a channel: which conversation, step and answer it was for."""

    ref: str
    step: str
    key: str


@dataclass(frozen=True)
class Inbound:
    """One update from a person, in channel-neutral form."""

    channel: str
    user_id: str
    chat_id: str
    external_id: str
    text: str = ""
    button: Button | None = None
    contact_phone: str | None = None
    message_id: str = ""
    display_name: str = ""
    locale: str | None = None
    supported: bool = True

    def to_json(self) -> dict[str, Any]:
        """The update as plain JSON (kept with a dead letter, to be retried)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.button is not None:
            data["button"] = [self.button.ref, self.button.step, self.button.key]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        """Rebuild an update stored by :meth:`to_json`."""
        button = data.get("button")
        return cls(**{**data, "button": Button(*button) if button else None})


@dataclass(frozen=True)
class Recipient:
    """Someone other than the sender: a member (reached on the channel they used last)."""

    member_id: int


@dataclass(frozen=True)
class Chat:
    """One particular chat (when a member's accounts are about to be unlinked)."""

    channel: str
    chat_id: str
    locale: str = "vi"


@dataclass(frozen=True)
class Reply:
    """A message the bot sends: text parts (joined by a blank line), choices and options.

    ``chart`` is a chart to draw and send as a picture with the text (see ``bot/charts.py``):
    plain JSON whose label values may be :class:`T`, translated for the reader.
    ``document`` is a file kept in the media store (``token``, ``filename``, ``content_type``),
    sent with the text as its caption (see ``bot/exports.py``). ``progress`` names a progress
    message; a later reply with the same name and ``replaces`` set updates it in place where
    the channel can edit messages, and is left out where it cannot.
    """

    parts: tuple[T, ...]
    choices: tuple[Choice, ...] = ()
    ref: str = ""
    step: str = ""
    ask_contact: bool = False
    to: Recipient | Chat | None = None
    locale: str | None = None
    chart: dict[str, Any] | None = None
    document: dict[str, str] | None = None
    progress: str = ""
    replaces: bool = False


@dataclass(frozen=True)
class OutButton:
    """A rendered choice: its position, translated label and the data a button carries."""

    number: int
    label: str
    data: str


@dataclass(frozen=True)
class OutMessage:
    """A translated reply ready for a channel to render and send.

    ``chart`` is the reply's chart spec with its labels translated (drawn by the channel
    when it sends, see ``bot/charts.py``); ``chart_note`` is the translated line a channel
    adds to the text when it cannot attach the picture. ``document``, ``document_note``,
    ``progress`` and ``replaces`` are the same for a file (see :class:`Reply`).
    ``typed_text`` is the text for a channel without buttons when it differs from ``text``
    (see :attr:`T.typed`); :func:`bot.render.as_text` picks it.
    """

    text: str
    buttons: tuple[OutButton, ...] = ()
    ask_contact: str | None = None
    hint: str | None = None
    remove_keyboard: bool = False
    chart: dict[str, Any] | None = None
    chart_note: str | None = None
    document: dict[str, str] | None = None
    document_note: str | None = None
    progress: str = ""
    replaces: bool = False
    typed_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the message as plain JSON for the outbox."""
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [[b.number, b.label, b.data] for b in self.buttons],
            "ask_contact": self.ask_contact,
            "hint": self.hint,
            "remove_keyboard": self.remove_keyboard,
        }
        if self.chart is not None:
            data["chart"] = self.chart
            data["chart_note"] = self.chart_note
        if self.document is not None:
            data["document"] = self.document
            data["document_note"] = self.document_note
        if self.progress:
            data["progress"] = self.progress
            data["replaces"] = self.replaces
        if self.typed_text is not None:
            data["typed_text"] = self.typed_text
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutMessage:
        """Rebuild a message stored by :meth:`to_json`."""
        return cls(
            text=data["text"],
            buttons=tuple(OutButton(*b) for b in data.get("buttons", ())),
            ask_contact=data.get("ask_contact"),
            hint=data.get("hint"),
            remove_keyboard=data.get("remove_keyboard", False),
            chart=data.get("chart"),
            chart_note=data.get("chart_note"),
            document=data.get("document"),
            document_note=data.get("document_note"),
            progress=data.get("progress", ""),
            replaces=data.get("replaces", False),
            typed_text=data.get("typed_text"),
        )


def encode_button(ref: str, step: str, key: str) -> str:
    """Encode a button press as short ASCII data (at most 64 bytes for Telegram).

    Args:
        ref: The conversation reference (first characters of the session id), or ``-``.
        step: The step id the button answers, or ``-``.
        key: The choice key.

    Returns:
        A string such as ``v1|3f9a1c2e|sex|female``.
    """
    data = f"{BUTTON_PREFIX}|{ref}|{step}|{key}"
    if len(data.encode()) > 64:
        raise ValueError(f"button data too long: {data!r}")
    return data


def decode_button(data: str) -> Button | None:
    """Decode data made by :func:`encode_button`; ``None`` if it is not ours."""
    parts = data.split("|")
    if len(parts) != 4 or parts[0] != BUTTON_PREFIX:
        return None
    return Button(ref=parts[1], step=parts[2], key=parts[3])
