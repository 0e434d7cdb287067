"""Fault injectors of the chaos suite (``tests/chaos.py``): small, one fault each.

- :class:`DatabaseLock`: another process holds ``BEGIN EXCLUSIVE`` on the SQLite file.
- :class:`FullDisk`: the service process may not write past where its files end now
  (``RLIMIT_FSIZE`` lowered with ``prlimit``; Python ignores SIGXFSZ, so writes fail with
  EFBIG, which SQLite reports as an I/O error).
- :func:`telegram_malformed` and :func:`zalo_malformed`: updates a platform (or something
  pretending to be one) could send that the bot cannot read, with what must become of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sqlite3
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the parent closes stdin (or dies)
conn.execute("ROLLBACK")
"""


class DatabaseLock:
    """Another process holds the database's write lock until :meth:`release`."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.process: asyncio.subprocess.Process | None = None

    async def take(self) -> None:
        """Start the locker and wait until it holds the lock."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(self.db),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if line.strip() != b"locked":
            raise RuntimeError(f"the locker did not get the lock: {line!r}")

    async def release(self) -> None:
        """Roll back and end the locker."""
        if self.process is None:
            return
        process, self.process = self.process, None
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


def next_wal_offset(db: Path) -> int:
    """Where SQLite appends the next WAL frame: 32 + mxFrame * (page size + 24).

    Read from the wal-index header at the start of the ``-shm`` file (native byte order);
    the WAL file's size if that cannot be read.
    """
    wal = Path(f"{db}-wal")
    try:
        header = Path(f"{db}-shm").read_bytes()[:48]
        page_size, max_frame = struct.unpack_from("=HI", header, 14)
        page_size = 65536 if page_size == 1 else page_size
        if page_size:
            return 32 + max_frame * (page_size + 24)
    except (OSError, struct.error):
        pass
    return wal.stat().st_size if wal.exists() else db.stat().st_size


class FullDisk:
    """The disk is full for one process: its files cannot grow past where they end now.

    ``RLIMIT_FSIZE`` is an offset limit, so the limit is the offset of the next WAL frame
    (about the current database + WAL size: what is written is never rewritten). A reader
    holds a snapshot meanwhile (as Litestream does), so SQLite appends to the WAL instead of
    rewinding it to its start, where writes would still fit.
    """

    def __init__(self, db: Path) -> None:
        self.db = db
        self.pid: int | None = None
        self.before: tuple[int, int] | None = None
        self.limit = 0
        self._reader: sqlite3.Connection | None = None

    def fill(self, pid: int) -> int:
        """Lower the process's limit; returns the limit in bytes."""
        self._reader = sqlite3.connect(self.db, isolation_level=None)
        self._reader.execute("BEGIN")
        self._reader.execute("SELECT count(*) FROM meta").fetchone()
        self.limit = next_wal_offset(self.db)
        self.pid = pid
        self.before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (self.limit, self.before[1]))
        return self.limit

    def free(self) -> None:
        """Give the space back (if the process still lives) and drop the snapshot."""
        if self.pid is not None and self.before is not None:
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(self.pid, resource.RLIMIT_FSIZE, self.before)
        self.pid = self.before = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


# --- malformed updates -----------------------------------------------------------------------

DEAD = "dead"  # kept as a dead letter, acknowledged
IGNORED = "ignored"  # nothing to do with it (no sender, not private): acknowledged, no letter
REFUSED = "refused"  # the webhook answers 400 and keeps nothing (not JSON, absurdly deep)


@dataclass(frozen=True)
class Malformed:
    """A malformed update and what must become of it."""

    kind: str
    body: Any  # a dict for Telegram updates and JSON webhook bodies, bytes for raw bodies
    outcome: str


def _nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = {"message": value}
    return value


MALFORMED_KINDS = ("message_is_a_string", "chat_is_a_string", "missing_fields",
                   "no_message_id", "deep_nesting", "not_json")


def telegram_malformed(index: int, user_id: int) -> Malformed:
    """The ``index``-th malformed Telegram update (kinds in turn)."""
    sender = {"id": user_id, "is_bot": False, "first_name": "Bác"}
    chat = {"id": user_id, "type": "private"}
    kind = MALFORMED_KINDS[index % (len(MALFORMED_KINDS) - 1)]  # no raw bodies when polling
    message_id = 900_000 + index
    if kind == "message_is_a_string":
        return Malformed(kind, {"message": "xin chao"}, DEAD)
    if kind == "chat_is_a_string":
        body = {"message": {"message_id": message_id, "from": sender, "chat": "private",
                            "text": "xin chao"}}
        return Malformed(kind, body, DEAD)
    if kind == "missing_fields":
        return Malformed(kind, {"message": {"message_id": message_id, "chat": chat}}, IGNORED)
    if kind == "no_message_id":
        return Malformed(kind, {"message": {"from": sender, "chat": chat, "text": "1"}}, DEAD)
    return Malformed(kind, {"message": _nested(200)}, IGNORED)


def zalo_malformed(index: int, user_id: str) -> Malformed:
    """The ``index``-th malformed Zalo webhook body (kinds in turn)."""
    kind = MALFORMED_KINDS[index % len(MALFORMED_KINDS)]
    sender = {"id": user_id, "display_name": "Bác", "is_bot": False}
    message_id = f"{0xBAD0000 + index:020x}"

    def wrapped(event: Any) -> dict:
        return {"ok": True, "result": event}

    if kind == "message_is_a_string":
        body = wrapped({"event_name": "message.text.received", "message": "xin chao"})
        return Malformed(kind, body, DEAD)
    if kind == "chat_is_a_string":
        message = {"from": sender, "chat": "PRIVATE", "message_id": message_id, "text": "1"}
        return Malformed(kind, wrapped({"event_name": "message.text.received",
                                        "message": message}), DEAD)
    if kind == "missing_fields":
        message = {"chat": {"id": user_id, "chat_type": "PRIVATE"}, "text": "1"}
        return Malformed(kind, wrapped({"event_name": "message.text.received",
                                        "message": message}), IGNORED)
    if kind == "no_message_id":
        message = {"from": sender, "chat": {"id": user_id, "chat_type": "PRIVATE"}, "text": "1"}
        return Malformed(kind, wrapped({"event_name": "message.text.received",
                                        "message": message}), IGNORED)
    if kind == "deep_nesting":
        # Deeper than any JSON parser here follows: refused as not JSON.
        body = ("[" * 100_000 + "]" * 100_000).encode()
        return Malformed(kind, body, REFUSED)
    return Malformed(kind, b"{this is not json", REFUSED)


def as_body(value: Any) -> bytes:
    """A JSON body's bytes."""
    return json.dumps(value).encode()


def rlimit_supported() -> bool:
    """Whether this system can change another process's ``RLIMIT_FSIZE``."""
    return hasattr(resource, "prlimit") and os.name == "posix"
