"""SQLite implementation of :class:`storage.deadletters.DeadLetterStore` (0014)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from storage.deadletters import RAW_LIMIT, DeadLetter, NewDeadLetter
from storage.sqlite_queries import SQLiteQueries, _dt, _ts


def _letter(row: sqlite3.Row) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        chat_id=row["chat_id"],
        inbound=json.loads(row["inbound"]) if row["inbound"] else None,
        raw=row["raw"],
        error=row["error"],
        attempts=row["attempts"],
        status=row["status"],
        created_at=_dt(row["created_at"]),
        retried_at=_dt(row["retried_at"]),
    )


class SQLiteDeadLetters(SQLiteQueries):
    """Dead letters; mixed into ``SQLiteTransaction``."""

    async def add_dead_letter(self, letter: NewDeadLetter, now: datetime) -> int:
        """Keep an update given up on; return its id."""
        row = await self._one(
            "INSERT INTO dead_letters (channel, external_id, chat_id, inbound, raw, error, "
            "attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (letter.channel, letter.external_id, letter.chat_id,
             json.dumps(letter.inbound, ensure_ascii=False) if letter.inbound else None,
             letter.raw[:RAW_LIMIT], letter.error[:RAW_LIMIT], letter.attempts, _ts(now)),
        )
        return row["id"]

    async def dead_letters(self, status: str | None, limit: int) -> list[DeadLetter]:
        """The newest dead letters (of one status, or all), newest first."""
        rows = await self._all(
            "SELECT * FROM dead_letters WHERE CAST(? AS TEXT) IS NULL OR status = ? "
            "ORDER BY id DESC LIMIT ?",
            (status, status, limit),
        )
        return [_letter(row) for row in rows]

    async def get_dead_letter(self, letter_id: int) -> DeadLetter | None:
        """One dead letter."""
        row = await self._one("SELECT * FROM dead_letters WHERE id = ?", (letter_id,))
        return _letter(row) if row else None

    async def dead_letter_retried(
        self, letter_id: int, now: datetime, error: str | None
    ) -> None:
        """Record a retry: done (``error`` None) or failed again with ``error``."""
        if error is None:
            await self._run(
                "UPDATE dead_letters SET status = 'retried', retried_at = ?, "
                "attempts = attempts + 1 WHERE id = ?", (_ts(now), letter_id))
        else:
            await self._run(
                "UPDATE dead_letters SET error = ?, retried_at = ?, attempts = attempts + 1 "
                "WHERE id = ?", (error[:RAW_LIMIT], _ts(now), letter_id))
