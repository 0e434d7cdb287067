"""What every part of the SQLite transaction shares: the query helpers, times, lists.

The connection's three statement helpers, and how times and lists are written in SQL.

The mixins (``SQLiteLedger``, ``SQLiteHealth``, ...) derive from :class:`SQLiteQueries`;
``SQLiteTransaction`` combines them over one connection whose transaction is open and whose
writer lock the caller holds (see ``storage/sqlite.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.errors import IntegrityError

Row = Any
"""A result row: read by column name (``row["id"]``) or position; ``dict(row)`` works.

sqlite3's ``Row`` and asyncpg's ``Record`` both are one."""


IDENTITY_ORDER = "{t}preferred DESC, {t}last_seen_at DESC, {t}rowid DESC"
"""A member's chat accounts in the order a message picks them (the first reachable one):
the chosen one first, then the most recently used. ``{t}`` is the table's alias and a dot."""


def _ts(moment: datetime | None) -> str | None:
    """Store times as UTC ISO text, so text order is time order."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _in(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class SQLiteQueries:
    """Statements on the transaction's connection."""

    _conn: sqlite3.Connection

    shares_promises = False  # one service process per file: it sends everything

    def _claim(self, now: datetime) -> tuple[str | None, str | None]:
        """Who sends (or builds) what this transaction queues, and until when.

        ``None``: the database has one service process, which never claims; PostgreSQL's
        transaction claims for its process (``storage/postgres.py``).
        """
        return None, None

    async def _one(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Row | None:
        try:
            return self._conn.execute(sql, tuple(args)).fetchone()
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def _all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    async def _run(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run a statement; the result's ``rowcount`` says how many rows it changed."""
        try:
            return self._conn.execute(sql, tuple(args))
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each of ``rows``."""
        try:
            self._conn.executemany(sql, [tuple(row) for row in rows])
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error
