"""Which backend a database setting names: ``ISHC_DB``.

``postgresql://user@host/db`` (or ``postgres://``) is PostgreSQL; a path, or ``sqlite:PATH``,
is a SQLite file (the embedded default, right for a club, a commune or a province).
"""

from __future__ import annotations

from storage.base import Storage

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: str) -> bool:
    """Whether ``db`` names a PostgreSQL database."""
    return db.startswith(POSTGRES_SCHEMES)


def sqlite_path(db: str) -> str:
    """The SQLite file ``db`` names (``sqlite:`` taken off)."""
    return db.removeprefix("sqlite://").removeprefix("sqlite:")


def storage_for(db: str, busy_timeout: float = 5.0, claim_lease: float | None = None) -> Storage:
    """The (unopened) storage ``db`` names.

    Args:
        db: ``ISHC_DB``: a PostgreSQL URL, or a SQLite file (``sqlite:`` optional).
        busy_timeout: Seconds a transaction waits for another's lock before giving up.
        claim_lease: PostgreSQL: seconds a dead process's unsent messages wait before
            another process sends them (default 60).

    Returns:
        A :class:`~storage.postgres.PostgresStorage` or a
        :class:`~storage.sqlite.SQLiteStorage`; call ``open()`` on it.
    """
    if is_postgres(db):
        from datetime import timedelta

        from storage.postgres import PostgresStorage

        storage = PostgresStorage(db, busy_timeout=busy_timeout)
        if claim_lease is not None:
            storage.claim_lease = timedelta(seconds=claim_lease)
        return storage
    from storage.sqlite import SQLiteStorage

    return SQLiteStorage(sqlite_path(db), busy_timeout=busy_timeout)
