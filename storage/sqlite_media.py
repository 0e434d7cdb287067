"""SQLite implementation of :class:`storage.media.MediaStore` (table ``media``, 0007)."""

from __future__ import annotations

from datetime import datetime

from storage.sqlite_queries import SQLiteQueries, _ts


class SQLiteMedia(SQLiteQueries):
    """Stored images; mixed into ``SQLiteTransaction``."""


    async def put_media(
        self, token: str, content_type: str, data: bytes, now: datetime, expires_at: datetime
    ) -> None:
        """Keep an image under ``token`` until ``expires_at`` (replacing one of that token)."""
        await self._run(
            "INSERT INTO media (token, content_type, data, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (token) DO UPDATE SET "
            "content_type = excluded.content_type, data = excluded.data, "
            "created_at = excluded.created_at, expires_at = excluded.expires_at",
            (token, content_type, bytes(data), _ts(now), _ts(expires_at)),
        )

    async def get_media(self, token: str, now: datetime) -> tuple[str, bytes] | None:
        """``(content type, bytes)`` of an unexpired image, else ``None``."""
        row = await self._one(
            "SELECT content_type, data FROM media WHERE token = ? AND expires_at > ?",
            (token, _ts(now)),
        )
        return (row["content_type"], bytes(row["data"])) if row else None

    async def prune_media(self, now: datetime) -> int:
        """Forget expired images; return how many."""
        cursor = await self._run("DELETE FROM media WHERE expires_at <= ?", (_ts(now),))
        return cursor.rowcount
