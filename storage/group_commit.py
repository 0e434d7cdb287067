"""Group commit: updates that are ready together become durable with one COMMIT.

A commit waits for the disk (``synchronous=FULL``: an fsync), and that wait, not the work, is
most of an update's time. So the updates that arrive while one commit is under way (a polling
batch, webhook requests a few milliseconds apart) are applied together in the next
transaction, each inside its own SAVEPOINT, and one COMMIT makes them all durable. As in
PostgreSQL's group commit, nobody waits on purpose: a lone update starts at once, and a batch
is whatever came during the previous commit, at most :data:`MAX_UPDATES`.

Each caller gets its own outcome, and only after the COMMIT, so an update is acknowledged (and
its replies released to the sender) only once it is durable:

- its work raised an ordinary error: only its SAVEPOINT is rolled back; the others commit, and
  the caller gets the error (the service retries it, then makes it a dead letter);
- the database cannot be written (locked, full, I/O error): the whole batch is rolled back,
  every caller gets :class:`~storage.errors.StorageUnavailable`, and nothing is acknowledged;
- the caller gave up before its work began (cancelled): its work is not run.

The first piece of work a transaction runs needs no SAVEPOINT (one round trip fewer to a
database server, two for a lone update): nothing of the batch came before it, so if it fails
the whole transaction is rolled back, its caller gets the error, and the rest of the batch
runs in a new transaction, each of them in a SAVEPOINT as usual.

Order: work runs in the order it was handed in. Callers that need an order between their
pieces of work (one chat's updates) hand in the next only after the previous one returned,
as the service's per-chat lock does; so a chat's next update always sees the last one
committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from storage.base import Storage, Transaction
from storage.errors import is_transient

log = logging.getLogger(__name__)

R = TypeVar("R")
MAX_UPDATES = 64  # updates in one transaction at most

Work = Callable[[Transaction], Awaitable[Any]]


@dataclass
class _Pending(Generic[R]):
    work: Callable[[Transaction], Awaitable[R]]
    done: asyncio.Future[R]
    context: contextvars.Context  # the caller's (its log context follows its work)


class GroupCommit:
    """Runs pieces of work in shared transactions, one SAVEPOINT each.

    Args:
        storage: The open storage.
        max_updates: The most pieces of work in one transaction.
        on_batch: Called after each COMMIT with the number of pieces it made durable
            (metrics).
    """

    def __init__(
        self,
        storage: Storage,
        max_updates: int = MAX_UPDATES,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.storage = storage
        self.max_updates = max_updates
        self.on_batch = on_batch
        self._pending: list[_Pending[Any]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Transaction], Awaitable[R]]) -> R:
        """Run ``work`` in the next batch's transaction and return its result after COMMIT.

        Raises:
            StorageUnavailable: The batch could not be written; nothing of it was kept.
            Exception: What ``work`` raised (its writes were undone, the batch's others kept).
        """
        loop = asyncio.get_running_loop()
        pending: _Pending[R] = _Pending(work, loop.create_future(), contextvars.copy_context())
        self._pending.append(pending)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        return await pending.done

    async def _drain(self) -> None:
        """Commit batches until nothing is waiting."""
        try:
            while self._pending:
                batch = [p for p in self._pending[: self.max_updates] if not p.done.done()]
                del self._pending[: self.max_updates]
                if batch:
                    await self._commit(batch)
        except BaseException:  # cancelled (shutting down): nobody is left waiting forever
            for pending in self._pending:
                pending.done.cancel()
            self._pending.clear()
            raise

    async def _commit(self, batch: list[_Pending[Any]]) -> None:
        """Apply ``batch``; settle each caller after the COMMIT of its transaction.

        One transaction, unless the first piece of work fails (see the module): then it is
        rolled back alone and the rest get a transaction of their own.
        """
        while batch:
            batch = await self._transaction(batch)

    async def _transaction(self, batch: list[_Pending[Any]]) -> list[_Pending[Any]]:
        """Apply ``batch`` in one transaction; settle each caller after the COMMIT.

        Returns:
            The pieces not run yet because the first one failed (its transaction rolled
            back, its caller told): they need a transaction of their own.
        """
        outcomes: list[tuple[bool, Any]] = []
        first: _FirstFailed | None = None
        try:
            async with self.storage.transaction() as tx:
                for index, pending in enumerate(batch):
                    if pending.done.done():  # cancelled meanwhile: not run
                        outcomes.append((False, None))
                        continue
                    if not any(ok for ok, _ in outcomes):  # nothing of the batch before it
                        try:
                            value = await asyncio.create_task(pending.work(tx),
                                                              context=pending.context)
                        except Exception as error:
                            if is_transient(error):
                                raise
                            first = _FirstFailed(index, error)
                            raise first from error  # rolls the transaction back
                        outcomes.append((True, value))
                        continue
                    try:
                        async with tx.savepoint():
                            value = await asyncio.create_task(pending.work(tx),
                                                              context=pending.context)
                        outcomes.append((True, value))
                    except Exception as error:
                        if is_transient(error):
                            raise  # the database's trouble: nothing of the batch is kept
                        outcomes.append((False, error))
        except _FirstFailed as failed:
            if failed is not first:
                raise
            pending = batch[failed.index]
            if not pending.done.done():
                pending.done.set_exception(failed.error)
            return batch[failed.index + 1:]
        except Exception as error:
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(error)
            return []
        except BaseException:  # cancelled (shutting down): nothing was committed
            for pending in batch:
                pending.done.cancel()
            raise
        for pending, (ok, value) in zip(batch, outcomes, strict=True):
            if pending.done.done():
                continue
            if ok:
                pending.done.set_result(value)
            else:
                pending.done.set_exception(value)
        if self.on_batch is not None:
            try:
                self.on_batch(sum(1 for ok, _ in outcomes if ok))
            except Exception:
                log.exception("group commit: the batch callback failed")
        return []


class _FirstFailed(Exception):
    """The first piece of work of a transaction failed: roll the transaction back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error
