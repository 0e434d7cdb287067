"""The records every part of storage shares: clubs, members, chat accounts, sessions, replies.

They live apart from :mod:`storage.base` so that the stores it combines (health, the fund...)
can use them without importing the interface that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from storage.operators import Operator

BOARD_ROLES = frozenset({"chair", "vice_chair"})
ROLES = ("chair", "vice_chair", "treasurer", "volunteer", "member")


@dataclass(frozen=True)
class Club:
    """A club (CLB LTHTGN).

    Its area is an official unit since 1 July 2025 (a province and a commune, by code:
    bot/areas.py); ``None`` codes mean the club still has only its typed, old-style address
    (``ishc-bot club move-area`` converts it). Once converted, ``commune`` and ``province``
    hold the official names and ``district`` only the old district, as a historical label.
    """

    id: int
    name: str
    commune: str
    district: str
    province: str
    meeting_day: int
    created_at: datetime
    province_code: int | None = None
    commune_code: int | None = None


@dataclass(frozen=True)
class Member:
    """A member of one club. ``status`` is pending, active, rejected or erased."""

    id: int
    club_id: int
    full_name: str
    sex: str
    birth_year: int
    birth_date: date | None
    phone: str | None
    village: str
    household: str
    ethnicity: str | None
    status: str
    assisted_by: int | None
    registered_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class NewMember:
    """What registration collects; written only after the person confirms."""

    club_id: int
    full_name: str
    sex: str
    birth_year: int
    birth_date: date | None
    phone: str | None
    village: str
    household: str
    ethnicity: str | None
    status: str
    assisted_by: int | None
    registration_key: str


@dataclass(frozen=True)
class Identity:
    """A chat account on one channel, possibly linked to a member."""

    channel: str
    user_id: str
    chat_id: str
    member_id: int | None
    display_name: str
    locale: str
    unreachable: bool
    last_seen_at: datetime


@dataclass(frozen=True)
class Invite:
    """An invite code (stored hashed) that lets a person join a club as board or member."""

    id: int
    club_id: int
    role: str
    expires_at: datetime
    uses_left: int | None


@dataclass(frozen=True)
class Consent:
    """Evidence that a member agreed to the data notice of a given version."""

    member_id: int
    text_version: str
    given_at: datetime
    channel: str
    message_id: str
    assisted_by: int | None


@dataclass(frozen=True)
class Session:
    """A conversation in progress in one chat. ``data`` is plain JSON.

    ``version`` counts the saves; ``revision`` is the revision of the flow the conversation
    began in (``bot.engine.revision``; ``""`` for the menu and for sessions saved before
    revisions existed).
    """

    channel: str
    chat_id: str
    flow_id: str
    step_id: str
    session_id: str
    data: dict[str, Any]
    expires_at: datetime
    version: int = 0
    revision: str = ""


@dataclass(frozen=True)
class OutboxItem:
    """A queued message, and the promise it carries if any (reminders and digests do).

    Attributes:
        not_before: Not sent before this moment (UTC).
        expires_at: Never sent at or after this moment (UTC).
        quiet: Not sent in the quiet hours (it waits for their end).
        guard: What must still be true when it is sent (``kind`` names the check, see
            :mod:`bot.outbox.promises`).
    """

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    status: str = "pending"
    not_before: datetime | None = None
    expires_at: datetime | None = None
    quiet: bool = False
    guard: dict[str, Any] | None = None

    @property
    def promised(self) -> bool:
        """Whether it carries a promise (direct replies, alerts and notices do not)."""
        return (self.not_before is not None or self.expires_at is not None or self.quiet
                or self.guard is not None)


@dataclass(frozen=True)
class Arrival:
    """Who an update comes from, as the service looks it up before running the engine.

    Attributes:
        identity: The chat account, refreshed by the update (``touch_identity``).
        membership: Its member with their club and roles (``membership``), if linked.
        operator: The association grant in force it serves (``operator_for``), if any.
        session: The conversation in progress in the chat (``get_session``), if any.
    """

    identity: Identity
    membership: tuple[Member, Club, frozenset[str]] | None
    operator: Operator | None
    session: Session | None
