"""Backups of the database while the service runs, restoring one, and the service's lock.

``backup`` copies the live database with SQLite's online backup API, a few pages at a time,
into a temporary file next to the target; the copy is checked (``PRAGMA integrity_check``)
and renamed into place, so the target is either the old file or a whole, checked copy.

``restore`` puts a backup in place of the database. It refuses while the service runs: the
service holds an advisory lock (:class:`ServiceLock`, ``flock`` on ``<db>.lock``) for as long
as it is open, and restore takes the same lock for its whole run, so a service cannot start
half-way either. The database it replaces is kept beside it, copied consistently (its WAL
included), and its ``-wal`` and ``-shm`` files are removed before the restored file is renamed
in: SQLite would otherwise apply the old WAL to the restored database.

All of this is plain ``sqlite3`` (no event loop): these are operator commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.sqlite import migrations

STEP_PAGES = 1024  # pages copied per step (4 MiB at SQLite's default 4 KiB page)
STEP_PAUSE = 0.005  # seconds between steps
MAX_RESTARTS = 3  # copies restarted by the service's writes before finishing in one step
SIDECARS = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup, restore or lock could not be done; the message says why."""


class ServiceRunning(BackupError):
    """Another process (the service) holds the database's lock."""


class _Restarted(Exception):
    """The page-by-page copy started over too often (the service kept writing)."""


def latest_schema() -> int:
    """The schema version of the code's latest migration."""
    known = migrations()
    return known[-1][0] if known else 0


class ServiceLock:
    """An advisory lock on ``<db>.lock``: one service (or one restore) per database file.

    ``fcntl.flock`` locks belong to the open file, so the kernel drops the lock when the
    process ends, however it ends: a killed service never leaves a stale lock. The lock file
    is opened read-only (flock needs no write access), so a restore run by root does not stop
    a service running as another user from taking it later.

    Args:
        db: The database file (``:memory:`` needs no lock).
    """

    def __init__(self, db: str | Path) -> None:
        self.db = str(db)
        self.path = Path(f"{self.db}.lock")
        self._fd: int | None = None
        self._closer: weakref.finalize | None = None

    def acquire(self) -> ServiceLock:
        """Take the lock without waiting.

        Returns:
            The lock itself, held.

        Raises:
            ServiceRunning: Another process holds it.
        """
        if self.db == ":memory:" or self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServiceRunning(
                f"another process is using {self.db}: it holds {self.path} (is the service "
                "running? two services must never share one database file)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # A lock taken by a caller that then failed is released when it is collected.
        self._closer = weakref.finalize(self, os.close, fd)
        return self

    def release(self) -> None:
        """Let the lock go (closing the file releases it)."""
        if self._closer is not None:
            self._closer()
        self._fd = self._closer = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> ServiceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def service_running(db: str | Path) -> bool:
    """Whether another process holds the database's lock (the service runs)."""
    try:
        ServiceLock(db).acquire().release()
    except ServiceRunning:
        return True
    return False


@dataclass(frozen=True)
class Summary:
    """What a copy holds (read from the copy itself)."""

    path: str
    bytes: int
    schema_version: int
    members: int
    loans: int
    ledger_entries: int
    seconds: float

    def to_json(self) -> dict[str, object]:
        """The summary as plain JSON data."""
        return asdict(self)


@dataclass(frozen=True)
class Restored:
    """What ``restore`` did."""

    db: str
    restored_from: str
    kept_aside: str | None  # the replaced database, or None if there was none
    kept_aside_how: str | None  # 'backup' (SQLite's backup API) or 'files' (a raw copy)
    schema_version: int
    code_schema_version: int
    members: int
    loans: int
    ledger_entries: int
    litestream_meta: str | None  # Litestream's local state for the old file: reset it

    def to_json(self) -> dict[str, object]:
        """The result as plain JSON data."""
        return asdict(self)


def _connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection (never creates the file, never writes the database)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _count(conn: sqlite3.Connection, table: str) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else 0


def integrity_errors(conn: sqlite3.Connection, limit: int = 100) -> list[str]:
    """``PRAGMA integrity_check``'s findings; empty when the database is sound."""
    try:
        rows = [row[0] for row in conn.execute(f"PRAGMA integrity_check({limit:d})")]
    except sqlite3.DatabaseError as error:  # e.g. 'file is not a database'
        return [str(error)]
    return [] if rows == ["ok"] else rows


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Remove a file and any journal SQLite left beside it."""
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDECARS)):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _temporary(beside: Path) -> Path:
    """An empty new file in ``beside``'s folder (so a rename into place is atomic)."""
    fd, name = tempfile.mkstemp(dir=beside.parent, prefix=f".{beside.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def _copy(
    source: Path,
    target: Path,
    step_pages: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Copy ``source`` (live or not) into ``target`` with the backup API; checked, synced.

    The copy runs in steps of ``step_pages`` pages, so no read transaction lasts long. A
    write by another connection between steps makes SQLite start the copy again; if the
    service writes so often that it starts again ``MAX_RESTARTS`` times, the rest is copied
    in one step (one read transaction: under WAL the writer still goes on meanwhile). The
    copy is switched to a rollback journal, so it is one self-contained file.
    """
    src = _connect_ro(source)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            restarts, last = 0, None

            def step(status: int, remaining: int, total: int) -> None:
                nonlocal restarts, last
                if last is not None and remaining >= last:  # the copy started over
                    restarts += 1
                    if restarts >= MAX_RESTARTS:
                        raise _Restarted
                last = remaining
                if progress is not None:
                    progress(remaining, total)

            try:
                src.backup(dst, pages=step_pages, progress=step, sleep=STEP_PAUSE)
            except _Restarted:
                src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
            errors = integrity_errors(dst)
            if errors:
                raise BackupError(f"the copy of {source} failed its integrity check: "
                                  + "; ".join(errors[:5]))
        finally:
            dst.close()
    finally:
        src.close()
    _fsync(target)


def _summary(path: Path, started: float) -> Summary:
    conn = _connect_ro(path)
    try:
        return Summary(
            path=str(path.resolve()),
            bytes=path.stat().st_size,
            schema_version=conn.execute("PRAGMA user_version").fetchone()[0],
            members=_count(conn, "members"),
            loans=_count(conn, "loans"),
            ledger_entries=_count(conn, "ledger"),
            seconds=round(time.monotonic() - started, 3),
        )
    finally:
        conn.close()


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))


def backup(
    db: str | Path,
    path: str | Path,
    *,
    force: bool = False,
    step_pages: int = STEP_PAGES,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Copy the database to ``path``, safely while the service runs.

    Args:
        db: The live database.
        path: Where the backup goes (its folder must exist).
        force: Replace an existing file at ``path``.
        step_pages: Pages copied per step of the backup API.
        progress: Called after each step with ``(pages remaining, total pages)``.

    Returns:
        What the backup holds, read from the backup.

    Raises:
        BackupError: Nothing was written to ``path``; the message says why.
    """
    started = time.monotonic()
    db, path = Path(db), Path(path)
    if not db.is_file():
        raise BackupError(f"no database at {db}")
    if _same_file(db, path):
        raise BackupError(f"{path} is the database itself")
    if not path.parent.is_dir():
        raise BackupError(f"folder {path.parent} does not exist")
    if path.exists() and not force:
        raise BackupError(f"{path} exists (add --force to replace it)")
    live = [f"{path}{suffix}" for suffix in ("-wal", "-shm") if Path(f"{path}{suffix}").exists()]
    if live:
        raise BackupError(f"{live[0]} exists: {path} looks like a database in use, not a backup")
    temporary = _temporary(path)
    try:
        _copy(db, temporary, step_pages, progress)
        os.replace(temporary, path)
    except sqlite3.Error as error:
        _remove(temporary)
        raise BackupError(f"backup of {db} failed: {error}") from error
    except BaseException:
        _remove(temporary)
        raise
    _fsync(path.parent)
    return _summary(path, started)


def check_backup(path: str | Path) -> int:
    """Check that a file can be restored: sound, ishc's, not newer than the code.

    Args:
        path: The backup.

    Returns:
        Its schema version.

    Raises:
        BackupError: It cannot be restored; the message says why.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    try:
        conn = _connect_ro(path)
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be opened: {error}") from error
    try:
        errors = integrity_errors(conn)
        if errors:
            raise BackupError(f"{path} failed its integrity check: " + "; ".join(errors[:5]))
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        members = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'members'"
        ).fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable database: {error}") from error
    finally:
        conn.close()
    latest = latest_schema()
    if version == 0 or members is None:
        raise BackupError(f"{path} is not an ishc-bot database (schema version {version})")
    if version > latest:
        raise BackupError(f"{path} has schema version {version}, newer than this code's "
                          f"{latest}: restore it with the newer code")
    return version


def _utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _keep_aside(db: Path, aside: Path) -> str:
    """Copy the current database (with what its WAL holds) to ``aside``; says how.

    The backup API gives one consistent file. A database too damaged for it is copied as it
    is, main file and WAL together (nothing writes to it: the caller holds the lock).
    """
    try:
        _copy(db, aside, -1, None)
        return "backup"
    except (sqlite3.Error, BackupError):
        _remove(aside)
    shutil.copy2(db, aside)
    wal = Path(f"{db}-wal")
    if wal.exists():
        shutil.copy2(wal, f"{aside}-wal")
        _fsync(Path(f"{aside}-wal"))
    _fsync(aside)
    return "files"


def _same_owner(path: Path, like: Path) -> None:
    """Give ``path`` the mode and (when allowed) the owner of ``like``."""
    info = like.stat()
    os.chmod(path, info.st_mode & 0o777)
    with contextlib.suppress(PermissionError):
        os.chown(path, info.st_uid, info.st_gid)


def restore(
    path: str | Path, db: str | Path, *, now: datetime | None = None
) -> Restored:
    """Put the backup at ``path`` in place of the database ``db``.

    Args:
        path: The backup.
        db: The database to replace (``ISHC_DB``); it need not exist.
        now: The time in the name of the copy kept aside (default: now).

    Returns:
        What was done.

    Raises:
        ServiceRunning: The service is running on ``db``.
        BackupError: Nothing was changed; the message says why.
    """
    path, db = Path(path), Path(db)
    if _same_file(path, db):
        raise BackupError(f"{path} is the database itself")
    with ServiceLock(db):
        check_backup(path)
        temporary = _temporary(db)
        aside: Path | None = None
        how: str | None = None
        try:
            _copy(path, temporary, STEP_PAGES, None)
            if db.exists():
                aside = db.with_name(f"{db.name}.before-restore-{_utc_stamp(now)}")
                how = _keep_aside(db, aside)
                _same_owner(temporary, db)
                _same_owner(aside, db)
            # The old WAL must not be applied to the restored file: it goes first.
            for suffix in SIDECARS:
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{db}{suffix}").unlink()
            os.replace(temporary, db)
        except sqlite3.Error as error:
            _remove(temporary)
            raise BackupError(f"restore of {path} failed: {error}") from error
        except BaseException:
            _remove(temporary)
            raise
        _fsync(db.parent)
    summary = _summary(db, time.monotonic())
    meta = db.with_name(f".{db.name}-litestream")
    return Restored(
        db=str(db.resolve()),
        restored_from=str(path.resolve()),
        kept_aside=str(aside.resolve()) if aside else None,
        kept_aside_how=how,
        schema_version=summary.schema_version,
        code_schema_version=latest_schema(),
        members=summary.members,
        loans=summary.loans,
        ledger_entries=summary.ledger_entries,
        litestream_meta=str(meta.resolve()) if meta.exists() else None,
    )
