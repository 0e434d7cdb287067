"""Files built after a conversation ends: a report's spreadsheet, the club's data export.

A flow asks for a file with the :class:`RequestExport` effect. In the update's transaction
it records the job and answers with a short "đang xuất..." (a progress message). After the
commit the job is handed (after-commit topic ``"export"``) to :class:`Exports`, which builds
the file from a read-only snapshot (``Storage.reading``) on a worker thread, so neither the
writer nor the event loop waits. As sheets are written it updates the progress message (at
most once a second; on Telegram the message changes in place, text-only channels skip the
updates). Then one transaction keeps the file in the media store, queues it in the outbox
and marks the job finished. A job a restart interrupted is picked up again by
:meth:`Exports.resume`, which the service's supervisor runs at start and every minute.

A kind of file is a builder registered with :func:`builder`. It is given the transaction,
the job and a progress callback; it checks again that the asker may have the file (roles are
checked in the service layer at every step) and returns the file, or a message saying why
not.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.engine import Ctx
from bot.i18n import N_
from bot.messages import Reply, T
from bot.outbox import queue
from bot.text import fold
from storage.base import Storage, Transaction
from storage.exports import ExportJob

log = logging.getLogger(__name__)

FILE_KEEP = timedelta(days=7)  # how long a file's download link works
PROGRESS_EVERY = 1.0  # seconds between progress updates
EXPORT = "export"
"""The after-commit topic of requested files (the export runner listens to it)."""


@dataclass(frozen=True)
class ExportFile:
    """A built file: its name, type, bytes and caption.

    ``before`` are messages sent just before the file (e.g. a summary too long for a caption);
    ``keep`` is how long the file (and a download link to it) lasts.
    """

    filename: str
    content_type: str
    data: bytes
    caption: T
    before: tuple[T, ...] = ()
    keep: timedelta = FILE_KEEP


Progress = Callable[[int, int, T], None]
"""``progress(done, total, what)``: the builder is writing part ``done`` of ``total``."""

Builder = Callable[[Transaction, ExportJob, Progress], Awaitable["ExportFile | T"]]
BUILDERS: dict[str, Builder] = {}


def builder(kind: str) -> Callable[[Builder], Builder]:
    """Register the builder of one kind of file (a decorator)."""

    def register(build: Builder) -> Builder:
        BUILDERS[kind] = build
        return build

    return register


def file_name(*parts: str, ext: str) -> str:
    """A plain ASCII file name, e.g. ``bao-cao_clb-ban-loc_2026-10.xlsx``."""
    words = ("-".join(re.findall(r"[a-z0-9]+", fold(part).replace("đ", "d"))) for part in parts)
    return "_".join(w for w in words if w) + "." + ext


def progress_name(job_id: int) -> str:
    """The name of a job's progress message."""
    return f"export:{job_id}"


@dataclass(frozen=True)
class RequestExport:
    """Effect: record an export job; it is built after the commit.

    Args:
        kind: A registered builder's kind.
        params: Plain JSON the builder needs (club, month, format...).
        note: The first progress message, e.g. "Đang xuất báo cáo...".
    """

    kind: str
    params: dict[str, Any]
    note: T

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Record the job, and say that the file is being made."""
        chat = (ctx.inbound.channel, ctx.inbound.chat_id, ctx.locale)
        member_id = ctx.member.id if ctx.member is not None else None
        job = await tx.add_export(self.kind, self.params, member_id, chat, ctx.now)
        tx.after_commit(EXPORT, job)
        return [Reply((self.note,), progress=progress_name(job.id))]


class Exports:
    """Builds requested files in the background and sends them.

    It takes the jobs of each committed transaction (after-commit topic ``"export"``).

    Args:
        storage: The open storage backend.
        clock: Current UTC time.
    """

    def __init__(self, storage: Storage, clock: Callable[[], datetime]) -> None:
        self.storage = storage
        self.clock = clock
        self._running: dict[int, asyncio.Task[None]] = {}
        storage.on_commit(EXPORT, self.start)

    def start(self, jobs: list[ExportJob]) -> None:
        """Build these jobs now (after the commit that recorded them), unless running."""
        for job in jobs:
            if job.id not in self._running:
                task = asyncio.create_task(self.run(job))
                self._running[job.id] = task
                task.add_done_callback(lambda _, job_id=job.id: self._running.pop(job_id, None))

    async def resume(self) -> None:
        """Start every unfinished job not running (after a restart)."""
        async with self.storage.transaction() as tx:
            self.start(await tx.unfinished_exports(self.clock()))

    def busy(self) -> bool:
        """Whether a job is being built."""
        return bool(self._running)

    async def wait(self) -> None:
        """Wait until every running job has finished."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def run(self, job: ExportJob) -> None:
        """Build one job's file and queue it (or a message saying why there is none)."""
        here = (job.channel, job.chat_id, job.locale)
        name = progress_name(job.id)
        loop = asyncio.get_running_loop()
        updates: list[asyncio.Task[None]] = []
        last = [time.monotonic()]

        def progress(done: int, total: int, what: T) -> None:
            def later() -> None:
                if time.monotonic() - last[0] >= PROGRESS_EVERY:
                    last[0] = time.monotonic()
                    note = T(N_("Writing {what} ({done}/{total})..."), what=what, done=done,
                             total=total)
                    updates.append(asyncio.create_task(self._say(here, Reply(
                        (note,), progress=name, replaces=True))))

            loop.call_soon_threadsafe(later)

        build = BUILDERS.get(job.kind)
        error = None
        try:
            if build is None:
                raise LookupError(f"no builder for {job.kind!r}")
            result = await self.storage.reading(lambda tx: build(tx, job, progress))
        except Exception as failure:
            log.exception("export %s (%s) failed", job.id, job.kind)
            error = repr(failure)
            result = T(N_("Sorry, the file could not be made. Please try again later."))
        await asyncio.sleep(0)  # let the last progress callbacks run
        await asyncio.gather(*updates, return_exceptions=True)
        now = self.clock()
        async with self.storage.transaction() as tx:
            if not await tx.finish_export(job.id, now, error):
                return  # finished by another run
            if isinstance(result, ExportFile):
                token = secrets.token_urlsafe(24)
                await tx.put_media(token, result.content_type, result.data, now,
                                   now + result.keep)
                document = {"token": token, "filename": result.filename,
                            "content_type": result.content_type,
                            "hours": str(int(result.keep.total_seconds()) // 3600)}
                replies = [Reply((T(N_("The file is ready.")),), progress=name, replaces=True),
                           *(Reply((text,)) for text in result.before),
                           Reply((result.caption,), document=document)]
            else:
                replies = [Reply((result,))]
            await queue(tx, here, replies, now)

    async def _say(self, here: tuple[str, str, str], reply: Reply) -> None:
        async with self.storage.transaction() as tx:
            await queue(tx, here, [reply], self.clock())
