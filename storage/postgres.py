"""PostgreSQL backend (asyncpg) behind the same storage interface as SQLite.

Every query is the SQLite backend's own (the mixins of ``storage/sql_core.py`` and
``storage/sqlite_*.py``), rewritten where the dialects differ by
:func:`storage.postgres_dialect.translate`; only the connection handling lives here. The
schema is ``storage/migrations/postgres/`` (the SQLite schema's equivalent: the same tables,
constraints, indexes and append-only triggers), versioned in the table ``schema_version``.

Within one process, write transactions take turns behind one lock, as on SQLite, so the
code's read-then-write steps see what they expect; ``reading`` runs on a REPEATABLE READ
snapshot of its own connection and does not wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from storage.base import Arrival, OutboxItem
from storage.errors import IntegrityError, StorageUnavailable, describe, is_transient
from storage.exports import ExportJob
from storage.postgres_dialect import translate
from storage.sql_core import MEMBERSHIP, OUTBOX_COLUMNS, SESSION, TOUCH_IDENTITY
from storage.sql_shared import SharedTransaction
from storage.sqlite_operators import OPERATOR_FOR
from storage.sqlite_queries import _ts

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "postgres"
CLAIM_LEASE = timedelta(seconds=60)  # a dead process's messages go out this much later
PROBE_KEY = "ready_probe"
PRESENCE = 7362002  # advisory-lock class of the processes' presence slots (see ``peers``)
SLOTS = 1024
R = TypeVar("R")

# One round trip for what the service does at the start of every update (the shared SQL,
# rewritten; see PostgresTransaction.begin_update, arrival and enqueue_below).
BEGIN_UPDATE = (
    "WITH held AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) "
    "INSERT INTO inbox (channel, external_id, received_at) SELECT $2, $3, $4 FROM held "
    "ON CONFLICT DO NOTHING"
)
ARRIVAL = translate(
    f"WITH i AS ({TOUCH_IDENTITY}) SELECT i.*, "
    f"(SELECT row_to_json(s)::text FROM ({SESSION}) s) AS session_row, "
    f"(SELECT row_to_json(o)::text FROM ({OPERATOR_FOR}) o) AS operator_row, "
    f"(SELECT row_to_json(m)::text FROM ({MEMBERSHIP} WHERE members.id = i.member_id) m) "
    "AS membership_row FROM i"
)
ENQUEUE_BELOW = (
    "WITH waiting AS (SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' "
    "AND channel = $1 AND chat_id = $2), "
    f"queued AS (INSERT INTO outbox ({OUTBOX_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, "
    "$9::bigint, $10, $11, $12 FROM waiting WHERE waiting.n < $13 "
    "ON CONFLICT DO NOTHING RETURNING id) "
    "SELECT waiting.n, (SELECT id FROM queued) AS id FROM waiting"
)

def migrations() -> list[tuple[int, Path]]:
    """The PostgreSQL migration files as ``(version, path)``, in order."""
    return sorted((int(path.name.split("_", 1)[0]), path) for path in MIGRATIONS.glob("*.sql"))


def _number(text: str) -> int | float:
    """A NUMERIC (what SUM and AVG of integers give) as SQLite gives it: int when whole."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog",
                              format="text")


async def _reset(conn: asyncpg.Connection) -> None:
    """Ready a connection going back to the pool: end a transaction left open, nothing else.

    asyncpg's own reset (release session advisory locks, close cursors, ``RESET ALL``,
    ``UNLISTEN *``) is one more round trip per transaction; the pool's connections never
    hold any of those (the leaders' locks and the probe use connections of their own, the
    only setting made is ``SET LOCAL``).
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class _Done:
    """What ``_run`` returns: how many rows the statement changed."""

    __slots__ = ("rowcount",)

    def __init__(self, status: str) -> None:
        last = status.rsplit(" ", 1)[-1]
        self.rowcount = int(last) if last.isdigit() else -1


def _integrity(error: asyncpg.IntegrityConstraintViolationError) -> IntegrityError:
    """PostgreSQL's refusal, worded as SQLite words it (the rule, then the details)."""
    detail = f"{error.constraint_name or ''}: {error}".lstrip(": ")
    if isinstance(error, asyncpg.CheckViolationError):
        return IntegrityError(f"CHECK constraint failed: {detail}")
    if isinstance(error, asyncpg.UniqueViolationError):
        return IntegrityError(f"UNIQUE constraint failed: {detail}")
    if isinstance(error, asyncpg.NotNullViolationError):
        return IntegrityError(f"NOT NULL constraint failed: {error.column_name}: {error}")
    if isinstance(error, asyncpg.ForeignKeyViolationError):
        return IntegrityError(f"FOREIGN KEY constraint failed: {detail}")
    return IntegrityError(str(error))  # a trigger's own message


class PostgresQueries:
    """The statement helpers of the shared mixins, on an asyncpg connection."""

    _pg: asyncpg.Connection

    async def _one(self, sql: str, args: Iterable[Any] = ()) -> asyncpg.Record | None:
        try:
            return await self._pg.fetchrow(translate(sql), *args)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error

    async def _all(self, sql: str, args: Iterable[Any] = ()) -> list[asyncpg.Record]:
        return await self._pg.fetch(translate(sql), *args)

    async def _run(self, sql: str, args: Iterable[Any] = ()) -> _Done:
        try:
            return _Done(await self._pg.execute(translate(sql), *args))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._pg.executemany(translate(sql), [tuple(row) for row in rows])
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error


class PostgresTransaction(PostgresQueries, SharedTransaction):
    """Reads and writes inside one PostgreSQL transaction.

    Args:
        conn: The transaction's connection.
        claimer: This process (several may share the database): what it queues, it sends.
        lease: How long a claim holds unless renewed (a dead process's lapses).
    """

    def __init__(self, conn: asyncpg.Connection, claimer: str = "",
                 lease: timedelta = CLAIM_LEASE) -> None:
        self._pg = conn
        self._claimer = claimer
        self._lease = lease
        self.published: dict[str, list[Any]] = {}
        self._savepoints = 0

    shares_promises = True  # several processes: every one sends a share of the reminders

    def _claim(self, now: datetime) -> tuple[str | None, str | None]:
        return self._claimer, _ts(now + self._lease)

    async def renew_claims(self, now: datetime) -> None:
        """Extend this process's claims on what it still has to send or build."""
        until = _ts(now + self._lease)
        await self._pg.execute(
            "UPDATE outbox SET claimed_until = $1 WHERE claimed_by = $2 AND status = 'pending'",
            until, self._claimer)
        await self._pg.execute(
            "UPDATE exports SET claimed_until = $1 WHERE claimed_by = $2 "
            "AND finished_at IS NULL", until, self._claimer)

    async def unfinished_exports(self, now: datetime | None = None) -> list[ExportJob]:
        """Unfinished jobs this process may build, claimed for it, oldest first.

        Its own, and those whose claim lapsed (their process died); not another live one's.
        """
        moment = now or datetime.now(UTC)
        rows = await self._pg.fetch(
            "UPDATE exports SET claimed_by = $1, claimed_until = $2 WHERE id IN ("
            "SELECT id FROM exports WHERE finished_at IS NULL AND (claimed_by IS NULL OR "
            "claimed_by = $1 OR claimed_until < $3) ORDER BY id FOR UPDATE SKIP LOCKED) "
            "RETURNING *", self._claimer, _ts(moment + self._lease), _ts(moment))
        return sorted((self._export(row) for row in rows), key=lambda job: job.id)

    async def pending_outbox(
        self, limit: int, now: datetime | None = None, *, skip_mine: bool = False
    ) -> list[OutboxItem]:
        """Pending messages this process may send, claimed for it, oldest first.

        Its own (unless ``skip_mine``), those nobody claimed (promises, see
        ``shares_promises``), and those whose claim lapsed (their process died); rows another
        process is claiming right now are skipped, not waited for. With ``now``, promises
        not yet due are left out.
        """
        moment = now or datetime.now(UTC)
        due = ("AND (next_attempt_at <= $3 OR (not_before IS NULL AND expires_at IS NULL "
               "AND quiet = 0 AND guard IS NULL)) " if now is not None else "")
        mine = "" if skip_mine else "claimed_by = $1 OR "
        rows = await self._pg.fetch(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN ("
            "SELECT id FROM outbox WHERE status = 'pending' AND (claimed_by IS NULL OR "
            f"{mine}claimed_until < $3) {due}ORDER BY id LIMIT $4 "
            "FOR UPDATE SKIP LOCKED) RETURNING *",
            self._claimer, _ts(moment + self._lease), _ts(moment), limit)
        return sorted((self._outbox(row) for row in rows), key=lambda item: item.id)

    async def begin_update(
        self, channel: str, chat_id: str, external_id: str, now: datetime
    ) -> bool:
        """A transaction-scoped advisory lock on the chat and ``record_inbound``, at once.

        The inbox row is inserted from the lock's result, so only once the lock is held; the
        reads of the update come in later statements, whose snapshots see what the chat's
        previous update committed.
        """
        status = await self._pg.execute(BEGIN_UPDATE, f"chat:{channel}:{chat_id}", channel,
                                        external_id, _ts(now))
        return _Done(status).rowcount == 1

    async def arrival(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        locale: str | None,
        now: datetime,
    ) -> Arrival:
        """The chat account refreshed, its membership, grant and session: one statement.

        The same queries as ``touch_identity``, ``membership``, ``operator_for`` and
        ``get_session``, the last three as JSON rows beside the account's.
        """
        try:
            row = await self._pg.fetchrow(
                ARRIVAL, channel, user_id, chat_id, display_name, locale or "vi", _ts(now),
                channel, chat_id, channel, user_id)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error
        assert row is not None
        member = row["membership_row"]
        operator = row["operator_row"]
        session = row["session_row"]
        return Arrival(
            identity=self._identity(row),
            membership=self._membership(json.loads(member)) if member else None,
            operator=self._operator(json.loads(operator)) if operator else None,
            session=self._session(json.loads(session)) if session else None,
        )

    async def enqueue_below(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
        backlog: int,
        dedupe_key: str | None = None,
        *,
        not_before: datetime | None = None,
        expires_at: datetime | None = None,
        quiet: bool = False,
        guard: dict[str, Any] | None = None,
    ) -> tuple[int, int | None]:
        """``waiting_for_chat`` and ``enqueue`` below ``backlog`` in one statement."""
        values = self._outbox_values(channel, chat_id, payload, now, dedupe_key, not_before,
                                     expires_at, quiet, guard)
        try:
            row = await self._pg.fetchrow(ENQUEUE_BELOW, *values, backlog)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise _integrity(error) from error
        assert row is not None
        return int(row["n"]), row["id"]

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run a block inside a SAVEPOINT: an error undoes the block's writes only.

        The savepoint is not released afterwards (one round trip fewer per update): the
        COMMIT keeps it with the rest of the transaction, and the next block's SAVEPOINT,
        nested in it, is undone alone if that block fails.
        """
        self._savepoints += 1
        name = f"update_{self._savepoints}"
        await self._pg.execute(f"SAVEPOINT {name}")
        with self._withdrawn_on_error():
            try:
                yield
            except BaseException:
                if not self._pg.is_closed():
                    await self._pg.execute(f"ROLLBACK TO SAVEPOINT {name}")
                raise


class PostgresStorage:
    """The PostgreSQL implementation of :class:`storage.base.Storage`.

    Args:
        dsn: ``postgresql://user@host:port/database``.
        busy_timeout: Seconds a statement waits for a lock before the transaction fails with
            :class:`StorageUnavailable`.
        pool_size: Connections kept open (writes take turns on one; snapshots and the
            readiness probe use the others).
    """

    def __init__(self, dsn: str, busy_timeout: float = 5.0, pool_size: int = 4) -> None:
        self.dsn = dsn
        self.busy_timeout = busy_timeout
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._lock: asyncio.Lock | None = None
        self._listeners: dict[str, list[Callable[[list[Any]], None]]] = {}
        self._observers: list[Callable[[float], None]] = []
        self.failure: str | None = None
        self._held: set[str] = set()  # the tasks this process leads
        self._presence: asyncpg.Connection | None = None  # holds this process's session locks
        self._locks_lock = asyncio.Lock()  # one question at a time on that connection
        # This process, as the claimer of what it queues (see PostgresTransaction).
        self.claimer = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.claim_lease = CLAIM_LEASE

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        self._lock = asyncio.Lock()
        self._locks_lock = asyncio.Lock()
        settings = {"lock_timeout": f"{int(self.busy_timeout * 1000)}ms"}
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self.pool_size, init=_setup, reset=_reset,
                server_settings=settings,
            )
        except (OSError, asyncpg.PostgresError) as error:
            raise StorageUnavailable(describe(error)) from error
        await self._migrate()

    async def _migrate(self) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7362001)")  # one migrator
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
            )
            current = await conn.fetchval("SELECT max(version) FROM schema_version") or 0
            known = migrations()
            latest = known[-1][0] if known else 0
            if current > latest:
                raise RuntimeError(
                    f"database schema version {current} is newer than this code ({latest})"
                )
            for version, path in known:
                if version > current:
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)",
                                       version)

    async def lead(self, name: str) -> bool:
        """Whether this process leads ``name``: it holds a session advisory lock on it.

        Every lock of this process (one per task it leads, and its presence for
        :meth:`peers`) lives on one connection of its own, so a process holds one extra
        connection however many bots it polls for. PostgreSQL releases the locks when that
        connection drops (the process died), and another process, trying on its own
        connection, takes them at its next try.

        Raises:
            StorageUnavailable: The database cannot be reached (so nobody here leads).
        """
        async with self._locks_lock:
            try:
                conn = await self._locks()
                if name in self._held:
                    await conn.fetchval("SELECT 1", timeout=5)  # still connected: still held
                    return True
                if await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                                       f"leader:{name}", timeout=5):
                    self._held.add(name)
                    return True
                return False
            except (OSError, TimeoutError, asyncpg.PostgresError,
                    asyncpg.InterfaceError) as error:
                self._drop_locks()
                raise self._unavailable(error) from error

    async def _locks(self) -> asyncpg.Connection:
        """The connection holding this process's session locks, connected (and present)."""
        if self._presence is None or self._presence.is_closed():
            self._held.clear()  # a new connection holds nothing yet
            conn = await asyncpg.connect(self.dsn, timeout=5)
            for slot in range(SLOTS):
                if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", PRESENCE, slot,
                                       timeout=5):
                    break
            self._presence = conn
        return self._presence

    def _drop_locks(self) -> None:
        """Forget a broken lock connection: its locks are gone (or will be when it closes)."""
        self._held.clear()
        if self._presence is not None:
            self._presence.terminate()
            self._presence = None

    async def peers(self) -> int:
        """How many processes hold a presence slot on this database, this one included.

        Each process holds one session advisory lock of class :data:`PRESENCE` on its lock
        connection (see :meth:`lead`); PostgreSQL drops it when the process dies, so the count
        is exact without heartbeats.

        Raises:
            StorageUnavailable: The database cannot be reached.
        """
        async with self._locks_lock:
            try:
                conn = await self._locks()
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = $1 AND objsubid = 2 AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())",
                    PRESENCE, timeout=5)
                return max(1, int(count))
            except (OSError, TimeoutError, asyncpg.PostgresError,
                    asyncpg.InterfaceError) as error:
                self._drop_locks()
                raise self._unavailable(error) from error

    async def close(self) -> None:
        """Close every connection (and give up every task led here)."""
        if self._presence is not None:
            with contextlib.suppress(Exception):
                await self._presence.close()
            self._presence = None
        self._held.clear()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def on_commit(self, topic: str, listener: Callable[[list[Any]], None]) -> None:
        """Call ``listener`` with the values a committed transaction published on ``topic``."""
        self._listeners.setdefault(topic, []).append(listener)

    def on_transaction(self, observer: Callable[[float], None]) -> None:
        """Call ``observer`` with the seconds each committed transaction took (metrics)."""
        self._observers.append(observer)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """Run a block in one transaction; commit on success, roll back on error.

        Raises:
            StorageUnavailable: The database cannot be written just now; nothing was kept.
        """
        assert self._pool is not None and self._lock is not None, "storage is not open"
        async with self._lock:
            started = time.perf_counter()
            try:
                conn = await self._pool.acquire()
            except Exception as error:
                if is_transient(error):
                    raise self._unavailable(error) from error
                raise
            try:
                tx = PostgresTransaction(conn, self.claimer, self.claim_lease)
                outer = conn.transaction()
                try:
                    await outer.start()
                    yield tx
                    await outer.commit()
                except BaseException as error:
                    if not conn.is_closed():
                        with contextlib.suppress(Exception):
                            await outer.rollback()
                    if isinstance(error, Exception) and is_transient(error):
                        raise self._unavailable(error) from error
                    raise
            finally:
                await self._pool.release(conn)
            self.failure = None
            elapsed = time.perf_counter() - started
            for observer in self._observers:
                observer(elapsed)
        for topic, values in tx.published.items():
            for listener in self._listeners.get(topic, ()):
                try:
                    listener(values)
                except Exception:
                    log.exception("after-commit listener of %r failed", topic)

    def _unavailable(self, error: BaseException) -> StorageUnavailable:
        self.failure = describe(error)
        return StorageUnavailable(self.failure)

    async def probe(self, timeout: float = 1.0) -> str | None:
        """Write to the database for real, on a connection of its own: ``None`` if it worked."""
        try:
            conn = await asyncpg.connect(self.dsn, timeout=timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            return describe(error)
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'")
                await conn.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, now()::text) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", PROBE_KEY)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            return describe(error)
        finally:
            await conn.close()
        return None

    async def reading(self, work: Callable[[PostgresTransaction], Awaitable[R]]) -> R:
        """Run ``work`` on a read-only REPEATABLE READ snapshot, without the writer's turn."""
        assert self._pool is not None, "storage is not open"
        async with self._pool.acquire() as conn, conn.transaction(
            isolation="repeatable_read", readonly=True
        ):
            return await work(PostgresTransaction(conn))
