"""Health alerts: who was told about an urgent reading, who answered, and escalations.

An alert is raised once per urgent reading (its idempotency key is the reading's). The
people told are recorded per round (``alert``: the first message; ``escalation``: the whole
board, once, when nobody answered in time); each answer ("I have called / I am on my way")
is recorded with who and when. :class:`AlertStore` is mixed into
:class:`storage.base.Transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.records import Identity

REASONS = ("urgent", "not_remeasured")
"""``urgent``: the rule says help is needed now; ``not_remeasured``: a very high first
reading whose conversation ended before the second measure."""
ROUNDS = ("alert", "escalation")


@dataclass(frozen=True)
class NewAlert:
    """An alert to record; ``key`` (the reading's) makes recording it idempotent."""

    club_id: int
    member_id: int
    reading_id: int | None
    reason: str
    raised_by: int | None
    key: str


@dataclass(frozen=True)
class AlertRecipient:
    """Someone an alert was queued for: in which round, and why they were chosen."""

    member_id: int
    round: str
    role: str
    queued_at: datetime


@dataclass(frozen=True)
class AlertAck:
    """An answer to an alert."""

    member_id: int
    at: datetime


@dataclass(frozen=True)
class Alert(NewAlert):
    """A recorded alert with the people told and the answers, in order."""

    id: int = 0
    raised_at: datetime | None = None
    escalated_at: datetime | None = None
    recipients: tuple[AlertRecipient, ...] = ()
    acks: tuple[AlertAck, ...] = ()

    def told(self, round_: str = "alert") -> list[AlertRecipient]:
        """The people told in one round."""
        return [r for r in self.recipients if r.round == round_]


class AlertReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def get_alert(self, alert_id: int) -> Alert | None:
        """One alert with its recipients and answers."""

    async def alert_by_key(self, key: str) -> Alert | None:
        """The alert raised for the reading with this idempotency key, if any."""

    async def club_alerts(self, club_id: int, since: datetime) -> list[Alert]:
        """A club's alerts raised at or after ``since``, newest first."""

    async def alerts_to_answer(
        self, member_id: int, club_id: int, since: datetime, board: bool
    ) -> list[Alert]:
        """Alerts raised since ``since`` that this member may still answer, newest first.

        Those the member was told about (or, for the board, every alert of the club), not
        about the member themselves, and not yet answered by them.
        """

    async def alerts_to_escalate(self, raised_before: datetime, since: datetime) -> list[Alert]:
        """Alerts raised in ``[since, raised_before]``, unanswered and never escalated."""

    async def chat_identity(self, channel: str, chat_id: str) -> Identity | None:
        """The chat account of a chat (the most recently used, if several)."""

    async def alert_month_counts(
        self, club_ids: list[int], since: datetime, until: datetime
    ) -> dict[int, dict[str, int]]:
        """Per club: alerts raised, answered and escalated in ``[since, until)``.

        Keys ``alerts`` (raised in the window), ``alerts_answered`` (of those, answered at
        all) and ``alerts_escalated`` (of those, escalated); clubs without alerts are left
        out.
        """


class AlertStore(AlertReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def add_alert(self, alert: NewAlert, now: datetime) -> tuple[int, bool]:
        """Record an alert; ``(id, created)``. Same key: the existing id."""

    async def add_alert_recipient(
        self, alert_id: int, member_id: int, round_: str, role: str, now: datetime
    ) -> bool:
        """Record that an alert was queued for a member; ``False`` if already recorded."""

    async def acknowledge_alert(self, alert_id: int, member_id: int, now: datetime) -> bool:
        """Record an answer; ``False`` if this member had already answered it."""

    async def mark_escalated(self, alert_id: int, now: datetime) -> bool:
        """Record the escalation; ``False`` if it was already escalated (or answered)."""
