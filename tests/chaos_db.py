"""The chaos suite's own look at the database, the same SQL on either backend.

The checks of ``tests/chaos.py`` read the inbox, the dead letters, the members, the ledger,
the readings and the outbox directly, not through the service's storage interface (they must
see what is really there). The queries are written once in the shared dialect (``?``
parameters); on PostgreSQL they go through the service's own rewrite
(:func:`storage.postgres_dialect.translate`).

- SQLite: a read-only ``sqlite3`` connection per query (it never holds a lock while the
  service runs, and a fault that locks the file only delays it);
- PostgreSQL: one ``asyncpg`` connection, opened on first use.

A PostgreSQL database for a run comes from the test run's throwaway cluster
(:func:`tests.postgres.shared`): :func:`fresh_postgres` makes one, :func:`drop_postgres`
removes it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from pathlib import Path
from typing import Any

from storage.backends import is_postgres, sqlite_path

_numbers = itertools.count(1)


class ChaosDatabase:
    """Read-only queries on the run's database (a SQLite path or a PostgreSQL URL).

    Args:
        db: ``ISHC_DB`` as the service gets it.
    """

    def __init__(self, db: str) -> None:
        self.db = db
        self.postgres = is_postgres(db)
        self._conn: Any = None

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Every row of ``sql`` (shared dialect, ``?`` parameters) as tuples."""
        if not self.postgres:
            uri = f"file:{sqlite_path(self.db)}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
                return [tuple(row) for row in conn.execute(sql, args).fetchall()]
        import asyncpg

        from storage.postgres_dialect import translate

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.db, timeout=10)
        records = await self._conn.fetch(translate(sql), *args, timeout=30)
        return [tuple(record.values()) for record in records]

    async def value(self, sql: str, *args: Any) -> Any:
        """The first column of the first row (None: no row)."""
        found = await self.rows(sql, *args)
        return found[0][0] if found else None

    async def close(self) -> None:
        """Close the PostgreSQL connection (nothing for SQLite)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()


def fresh_postgres(label: str) -> str:
    """A new empty database in the test run's PostgreSQL cluster (started on first use).

    Args:
        label: A word for its name (the scenario).

    Returns:
        Its URL, for ``ISHC_DB``.

    Raises:
        RuntimeError: PostgreSQL cannot be run here (why).
    """
    from tests import postgres

    missing = postgres.available()
    if missing:
        raise RuntimeError(f"the PostgreSQL chaos runs need a server: {missing}")
    name = f"chaos_{label}_{os.getpid()}_{next(_numbers)}".replace("-", "_")
    return postgres.shared().create_database(name)


def drop_postgres(db: str) -> None:
    """Drop a database :func:`fresh_postgres` made (closing its connections)."""
    from tests import postgres

    postgres.shared().drop_database(db.rsplit("/", 1)[-1])


def describe(db: str) -> str:
    """Where the run's database is, for the report."""
    return db if is_postgres(db) else str(Path(sqlite_path(db)))
