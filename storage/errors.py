"""Storage errors every backend raises the same way.

A write that fails because the database cannot take it *just now* — locked or busy beyond the
busy timeout, a disk I/O error, a full disk, a read-only file — raises
:class:`StorageUnavailable`. Nothing of the transaction was kept, and the same work succeeds
once the database recovers, so callers leave it to be retried (an update stays
unacknowledged, an outbox item pending) instead of consuming it. Any other error is a fault
of the work itself (a bug, a constraint refusing bad data).
"""

from __future__ import annotations

import errno
import sqlite3
import sys


class StorageUnavailable(Exception):
    """The database cannot be written just now; nothing was kept. Try again later."""


class IntegrityError(Exception):
    """The data broke a rule of the schema: a bug or bad data, never transient.

    The rules: a CHECK, a UNIQUE key, a foreign key, a record that is append-only.

    The message names the rule as SQLite does ("CHECK constraint failed: ...", "UNIQUE
    constraint failed: ...", or the trigger's own text), on every backend.
    """


# SQLite primary result codes of a database that cannot be written for now.
_TRANSIENT_SQLITE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
}
_TRANSIENT_ERRNO = {errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EIO, errno.EDQUOT,
                    errno.EACCES, errno.EPERM}


# PostgreSQL SQLSTATEs of a database that cannot be written for now: connection trouble (08),
# insufficient resources (53: disk full, out of memory, too many connections), operator
# intervention (57: shutting down), system errors (58), serialization failures, deadlocks and
# lock timeouts (40001, 40P01, 55P03), a read-only transaction or standby (25006).
_TRANSIENT_PG_CLASSES = ("08", "53", "57", "58")
_TRANSIENT_PG_STATES = {"40001", "40P01", "55P03", "25006"}


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` means "the database cannot be written just now".

    Args:
        error: An exception raised while working with the database.

    Returns:
        ``True`` for locked, busy, I/O, full-disk and read-only errors (SQLite's result codes,
        PostgreSQL's SQLSTATEs, or the operating system's for files), ``False`` for anything
        else.
    """
    if isinstance(error, StorageUnavailable):
        return True
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _TRANSIENT_SQLITE
        text = str(error).lower()  # errors raised before SQLite gave a code
        return any(word in text for word in ("locked", "busy", "disk", "readonly", "read-only"))
    if isinstance(error, OSError):
        return error.errno in _TRANSIENT_ERRNO
    asyncpg = sys.modules.get("asyncpg")  # not imported: no PostgreSQL error can exist
    if asyncpg is None:
        return False
    if isinstance(error, (asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)):
        return True  # PostgreSQL: the connection went away
    state = getattr(error, "sqlstate", None)
    if isinstance(error, asyncpg.PostgresError) and isinstance(state, str):
        return state[:2] in _TRANSIENT_PG_CLASSES or state in _TRANSIENT_PG_STATES
    return False


def describe(error: BaseException) -> str:
    """A short text for logs and ``/readyz``: SQLite's error name and message."""
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    return f"{name}: {error}"
