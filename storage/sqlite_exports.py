"""SQLite implementation of :class:`storage.exports.ExportStore`."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from storage.exports import ExportJob
from storage.sqlite_queries import SQLiteQueries, _dt, _ts


class SQLiteExports(SQLiteQueries):
    """Export job queries; mixed into ``SQLiteTransaction``."""


    @staticmethod
    def _export(row: sqlite3.Row) -> ExportJob:
        requested = _dt(row["requested_at"])
        assert requested is not None
        return ExportJob(row["id"], row["kind"], json.loads(row["params"]), row["member_id"],
                         row["channel"], row["chat_id"], row["locale"], requested)

    async def add_export(
        self,
        kind: str,
        params: dict[str, Any],
        member_id: int | None,
        chat: tuple[str, str, str],
        now: datetime,
    ) -> ExportJob:
        """Record a request; ``chat`` is ``(channel, chat_id, locale)`` to answer in."""
        claimer, until = self._claim(now)
        row = await self._one(
            "INSERT INTO exports (kind, params, member_id, channel, chat_id, locale, "
            "requested_at, claimed_by, claimed_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING *",
            (kind, json.dumps(params, sort_keys=True), member_id, *chat, _ts(now), claimer,
             until),
        )
        assert row is not None
        return self._export(row)


    async def unfinished_exports(self, now: datetime | None = None) -> list[ExportJob]:
        """Jobs not yet finished, oldest first (several processes: those this one may build)."""
        rows = await self._all("SELECT * FROM exports WHERE finished_at IS NULL ORDER BY id")
        return [self._export(row) for row in rows]

    async def finish_export(self, job_id: int, now: datetime, error: str | None = None) -> bool:
        """Mark a job finished (with the error if it failed); ``False`` if it already was."""
        cursor = await self._run(
            "UPDATE exports SET finished_at = ?, error = ? WHERE id = ? AND finished_at IS NULL",
            (_ts(now), error, job_id),
        )
        return cursor.rowcount == 1
