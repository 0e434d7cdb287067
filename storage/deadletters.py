"""Dead letters: updates that could not be handled, kept with their error to be retried.

An update that fails for a reason other than the database being unavailable (a bug, content
the bot cannot read) is tried a few times, then kept here and acknowledged to the platform,
so it never stalls its chat or a poller. ``ishc-bot deadletter list|retry`` shows and
replays them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

RAW_LIMIT = 10_000  # characters of the raw update kept


@dataclass(frozen=True)
class NewDeadLetter:
    """An update given up on: where it came from, what it was and why it failed."""

    channel: str
    external_id: str | None
    chat_id: str | None
    inbound: dict[str, Any] | None
    raw: str
    error: str
    attempts: int


@dataclass(frozen=True)
class DeadLetter(NewDeadLetter):
    """A stored dead letter. ``status`` is ``dead`` or ``retried``."""

    id: int = 0
    status: str = "dead"
    created_at: datetime | None = None
    retried_at: datetime | None = None


class DeadLetterReads(Protocol):
    """Reading the dead letters."""

    async def dead_letters(self, status: str | None, limit: int) -> list[DeadLetter]:
        """The newest dead letters (of one status, or all), newest first."""

    async def get_dead_letter(self, letter_id: int) -> DeadLetter | None:
        """One dead letter."""


class DeadLetterStore(DeadLetterReads, Protocol):
    """Reading and writing the dead letters (part of every transaction)."""

    async def add_dead_letter(self, letter: NewDeadLetter, now: datetime) -> int:
        """Keep an update given up on; return its id."""

    async def dead_letter_retried(
        self, letter_id: int, now: datetime, error: str | None
    ) -> None:
        """Record a retry: done (``error`` None) or failed again with ``error``."""
