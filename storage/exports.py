"""Export jobs: files built after a conversation ends (see ``bot/exports.py``).

:class:`ExportStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ExportJob:
    """A requested file: its kind and parameters, who asked, and the chat to send it to."""

    id: int
    kind: str
    params: dict[str, Any]
    member_id: int | None
    channel: str
    chat_id: str
    locale: str
    requested_at: datetime


class ExportReads(Protocol):
    """What may be read of these records (flows and the engine get only reads): nothing."""


class ExportStore(ExportReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def unfinished_exports(self, now: datetime | None = None) -> list[ExportJob]:
        """Jobs not yet finished, oldest first: those this process may build.

        Where several processes share the database, it claims them (see ``renew_claims``).
        """

    async def add_export(
        self,
        kind: str,
        params: dict[str, Any],
        member_id: int | None,
        chat: tuple[str, str, str],
        now: datetime,
    ) -> ExportJob:
        """Record a request; ``chat`` is ``(channel, chat_id, locale)`` to answer in."""

    async def finish_export(self, job_id: int, now: datetime, error: str | None = None) -> bool:
        """Mark a job finished (with the error if it failed); ``False`` if it already was."""
