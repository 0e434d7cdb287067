"""Meetings and reminders: rules, moves, attendance, pauses and what was queued.

The club's meeting rule and one-off moves, attendance, members' reminder pauses, and the
record of reminders queued (each key once, ever).

:class:`MeetingStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from storage.records import Member

REMINDER_KINDS = ("meeting", "repayment", "health", "digest")


@dataclass(frozen=True)
class MeetingRule:
    """When a club meets.

    Either the ``day`` of each month, or the ``nth`` ``weekday`` (0 = Monday; ``nth`` -1 =
    the last), at ``time`` (``HH:MM``, club time) in ``place``.
    """

    kind: str = "day"
    day: int | None = 15
    weekday: int | None = None
    nth: int | None = None
    time: str = "08:00"
    place: str = ""
    changed_by: int | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True)
class MeetingMove:
    """The meeting the rule puts in ``month`` (``YYYY-MM``) happens on ``day`` instead."""

    month: str
    day: date
    time: str
    place: str


@dataclass(frozen=True)
class DueInstalment:
    """An open loan's next unpaid instalment: its due day and what is left to pay by then."""

    club_id: int
    loan_id: int
    member_id: int
    due: date
    amount: int


class MeetingReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def meeting_rule(self, club_id: int) -> MeetingRule | None:
        """The rule in force, or ``None`` until the chair sets one."""

    async def meeting_moves(self, club_id: int) -> list[MeetingMove]:
        """The club's moved meetings."""

    async def meeting_rules(self, club_ids: Sequence[int]) -> dict[int, MeetingRule]:
        """The rule in force of each of these clubs that has one (one query per 500 clubs)."""

    async def meeting_moves_of(self, club_ids: Sequence[int]) -> dict[int, list[MeetingMove]]:
        """The moved meetings of each of these clubs (each club present, maybe empty)."""

    async def attendance(self, club_id: int, limit: int = 2) -> list[tuple[date, dict[int, bool]]]:
        """The last ``limit`` meetings with attendance, newest first.

        Returns:
            ``(day, {member id: present})`` pairs.
        """

    async def members_joined_before(self, club_id: int, until: datetime) -> list[Member]:
        """Active members who had joined before ``until``, by name.

        Joined: approved by the board, or, for those set up without an approval (the board
        of a new club), registered. Those who joined later were not members at a meeting
        held before ``until``.
        """

    async def paused_kinds(self, member_id: int) -> frozenset[str]:
        """The kinds of reminders a member has paused."""

    async def paused_members(self, kind: str, member_ids: Sequence[int] | None) -> set[int]:
        """Which of ``member_ids`` have paused ``kind`` (``None``: every member who has)."""

    async def new_reminder_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` were never queued."""

    async def due_instalments(self, club_ids: Sequence[int] | None) -> list[DueInstalment]:
        """Each open loan's next unpaid instalment (all clubs when ``club_ids`` is None)."""

    async def active_member_ids(self, club_ids: Sequence[int]) -> dict[int, list[int]]:
        """Active members of each club."""

    async def member_channels(self, club_ids: Sequence[int]) -> dict[int, str]:
        """The channel each member of these clubs is written to (member id -> channel).

        That of the account a message to the member goes to (see ``identities_of``: the
        chosen one first, then the most recently used), among the reachable ones; members
        without one are left out.
        """


class MeetingStore(MeetingReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def set_meeting_rule(
        self, club_id: int, rule: MeetingRule, by: int | None, now: datetime
    ) -> None:
        """Put a new rule in force (the old ones stay as history)."""

    async def move_meeting(
        self, club_id: int, move: MeetingMove, by: int | None, now: datetime
    ) -> None:
        """Move one meeting (replacing an earlier move of the same month)."""

    async def record_attendance(
        self, club_id: int, day: date, present: Iterable[int], absent: Iterable[int],
        by: int | None, now: datetime,
    ) -> None:
        """Record who came to the meeting of ``day`` (replacing an earlier record of it)."""

    async def set_reminder_pause(
        self, member_id: int, kind: str, paused: bool, now: datetime
    ) -> None:
        """Pause or restart a member's reminders of one kind (kept with the time)."""

    async def record_reminder(
        self, key: str, club_id: int, member_id: int, kind: str, due_at: datetime,
        now: datetime, outbox_id: int | None,
    ) -> bool:
        """Remember a queued reminder; ``False`` if its key was queued before."""
