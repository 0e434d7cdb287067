"""One supervisor for every background task: nothing fails silently, nothing stops for good.

A task is either a *loop* that runs until the service stops (the outbox sender, each poller)
or a *periodic* job (the reminder scan, the timeout sweep, the export runner). Any exception
is logged with the task's name and retried after a capped backoff (1 s, 2 s, 4 s ... at most
:data:`MAX_BACKOFF`); a task never ends because of one. Each task reports a heartbeat when it
has done its work (a poll answered and committed, a scan finished), so ``/readyz`` can say
which one is stale and since when.

Only :class:`Fatal` stops the service (a revoked token, another process on the same bot):
the supervisor then sets :attr:`Supervisor.fatal` and the ``stopping`` event, and the
process exits non-zero so that its manager restarts it or an operator looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import metrics
from storage.errors import describe, is_transient

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
LEAD_EVERY = 2.0  # seconds between checks that this process leads a leader-only task

Beat = Callable[[], None]
Lead = Callable[[str], Awaitable[bool]]
"""``lead(name)``: whether this process runs the task ``name`` (one process of several does)."""
"""A task calls its beat when it has done its work (``/readyz`` then knows it is alive)."""


class Fatal(Exception):
    """The service cannot go on (e.g. the bot's token was revoked): stop, exit non-zero."""


@dataclass
class Task:
    """What the supervisor knows about one task."""

    name: str
    stale_after: float | None
    started: float = field(default_factory=time.monotonic)
    last_ok: float | None = None
    failures: int = 0  # in a row
    last_error: str | None = None
    handle: asyncio.Task[None] | None = None

    def age(self, now: float) -> float:
        """Seconds since the task last did its work (or since it started)."""
        return now - (self.last_ok if self.last_ok is not None else self.started)

    def stale(self, now: float) -> bool:
        """Whether the task has not done its work for longer than it should."""
        return self.stale_after is not None and self.age(now) > self.stale_after


class Supervisor:
    """Starts background tasks, restarts them after failures and keeps their heartbeats.

    Args:
        stopping: Set when the service should stop (also set on :class:`Fatal`).
        max_backoff: The longest wait before a failed task runs again.
    """

    def __init__(self, stopping: asyncio.Event | None = None,
                 max_backoff: float = MAX_BACKOFF) -> None:
        self.stopping = stopping or asyncio.Event()
        self.max_backoff = max_backoff
        self.tasks: dict[str, Task] = {}
        self.fatal: BaseException | None = None

    def loop(
        self,
        name: str,
        run: Callable[[Beat], Awaitable[Any]],
        *,
        stale_after: float | None = None,
        lead: Lead | None = None,
    ) -> None:
        """Run ``run(beat)`` until the service stops, restarting it whenever it ends.

        Args:
            name: The task's name in logs, metrics and ``/readyz``.
            run: The loop; it calls ``beat()`` each time it has done its work.
            stale_after: Seconds without a beat after which ``/readyz`` calls it stale.
            lead: For a task only one process may run (a poller, the reminder scan): it runs
                here only while ``lead(name)`` says so, checked every :data:`LEAD_EVERY`
                seconds; meanwhile the process stands by (and counts as healthy), and it
                takes over within seconds when the leader dies.
        """
        task = self.tasks[name] = Task(name, stale_after)
        if lead is not None:
            run = self._led(name, run, lead)

        async def forever() -> None:
            while not self.stopping.is_set():
                try:
                    await run(lambda: self._beat(task))
                except asyncio.CancelledError:
                    raise
                except Fatal as error:
                    self._fatal(task, error)
                    return
                except Exception as error:
                    await self._failed(task, error)
                else:
                    if not self.stopping.is_set():
                        log.warning("task %s ended; starting it again", name)
                        await self._sleep(1.0)

        task.handle = asyncio.create_task(forever(), name=name)

    def every(
        self,
        name: str,
        seconds: float,
        job: Callable[[], Awaitable[Any]],
        *,
        stale_after: float | None = None,
        lead: Lead | None = None,
    ) -> None:
        """Run ``job()`` now and then every ``seconds``; after a failure, again sooner.

        Args:
            name: The task's name in logs, metrics and ``/readyz``.
            seconds: The interval between runs.
            job: One run; it succeeded if it returns.
            stale_after: Seconds without a successful run after which ``/readyz`` calls it
                stale (default: three intervals).
            lead: Run it only in the process that leads it (see :meth:`loop`).
        """
        async def periodic(beat: Beat) -> None:
            while not self.stopping.is_set():
                await job()
                beat()
                await self._sleep(seconds)

        self.loop(name, periodic, stale_after=stale_after or 3 * seconds, lead=lead)

    def _led(self, name: str, run: Callable[[Beat], Awaitable[Any]],
             lead: Lead) -> Callable[[Beat], Awaitable[Any]]:
        """``run``, only while this process leads ``name``.

        It stops when this process no longer leads; a failure to find out is the task's
        failure (retried with backoff), and the work stops meanwhile.
        """

        async def led(beat: Beat) -> Any:
            while not self.stopping.is_set():
                if not await lead(name):
                    beat()  # standing by is this process's share of the work
                    await self._sleep(LEAD_EVERY)
                    continue
                log.info("task %s: this process leads it now", name, extra={"task": name})
                work = asyncio.create_task(run(beat), name=f"{name} (leader)")
                try:
                    while not (await asyncio.wait({work}, timeout=LEAD_EVERY))[0]:
                        if not await lead(name):
                            log.warning("task %s: another process leads it now; standing by",
                                        name, extra={"task": name})
                            break
                    else:
                        return work.result()
                finally:
                    if not work.done():
                        work.cancel()
                        await asyncio.gather(work, return_exceptions=True)
            return None

        return led

    def _beat(self, task: Task) -> None:
        if task.failures:
            log.info("task %s works again after %d failure(s)", task.name, task.failures)
        task.last_ok = time.monotonic()
        task.failures = 0
        task.last_error = None

    async def _failed(self, task: Task, error: Exception) -> None:
        task.failures += 1
        task.last_error = describe(error) if is_transient(error) else repr(error)
        metrics.TASK_FAILURES.labels(task.name).inc()
        wait = min(self.max_backoff, 2.0 ** (task.failures - 1))
        if is_transient(error):  # the database: say it once a while, not every retry
            if task.failures in (1, 10) or task.failures % 60 == 0:
                log.warning("task %s: database unavailable (%s); retrying every %.0fs",
                            task.name, task.last_error, wait, extra={"task": task.name})
        else:
            log.exception("task %s failed (%d in a row); retrying in %.0fs", task.name,
                          task.failures, wait, extra={"task": task.name})
        await self._sleep(wait)

    def _fatal(self, task: Task, error: BaseException) -> None:
        log.critical("task %s cannot go on: %s; stopping the service", task.name, error,
                     extra={"task": task.name})
        task.last_error = str(error)
        self.fatal = error
        self.stopping.set()

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the service is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    def stale(self) -> dict[str, dict[str, Any]]:
        """The tasks that have not done their work recently: age, failures, last error."""
        now = time.monotonic()
        for task in self.tasks.values():
            metrics.TASK_AGE.labels(task.name).set(round(task.age(now), 1))
        return {task.name: {"seconds_since_ok": round(task.age(now), 1),
                            "failures": task.failures, "error": task.last_error}
                for task in self.tasks.values() if task.stale(now)}

    async def stop(self) -> None:
        """Stop every task (it is cancelled where it waits) and wait for them.

        A cancellation can be lost when it meets a wake-up in ``asyncio.wait_for`` (Python
        3.11), so a task still running a moment later is cancelled again.
        """
        self.stopping.set()
        pending = {t.handle for t in self.tasks.values() if t.handle is not None}
        while pending:
            for handle in pending:
                handle.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
