"""Group commit: updates ready together share one COMMIT, each in its own SAVEPOINT.

The storage part runs on every backend of the storage contract (``BACKENDS``); the service
part checks that a polling batch of many chats is one transaction and that a poison update in
it costs the others nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot import metrics
from bot.messages import Inbound
from storage.base import Storage, Transaction
from storage.errors import StorageUnavailable
from storage.group_commit import GroupCommit
from tests.test_storage_contract import Boom, backend, storage  # noqa: F401

# Savepoints (part of the storage contract)


async def test_a_failed_savepoint_undoes_only_its_own_writes_and_publications(
    storage: Storage,  # noqa: F811
) -> None:
    published: list[object] = []
    storage.on_commit("test", published.extend)
    async with storage.transaction() as tx:
        await tx.set_meta("kept", "1")
        tx.after_commit("test", "before")
        with pytest.raises(Boom):
            async with tx.savepoint():
                await tx.set_meta("undone", "1")
                await tx.set_meta("kept", "2")
                tx.after_commit("test", "undone")
                tx.after_commit("other", "undone")
                raise Boom
        async with tx.savepoint():
            await tx.set_meta("after", "1")
            tx.after_commit("test", "after")
    async with storage.transaction() as tx:
        assert await tx.get_meta("kept") == "1"
        assert await tx.get_meta("undone") is None
        assert await tx.get_meta("after") == "1"
    assert published == ["before", "after"]


# Group commit


async def _count(tx: Transaction, key: str) -> int:
    value = int(await tx.get_meta(key) or "0") + 1
    await tx.set_meta(key, str(value))
    return value


async def test_work_ready_together_commits_once_in_order(storage: Storage) -> None:  # noqa: F811
    batches: list[int] = []
    commits = GroupCommit(storage, on_batch=batches.append)
    order: list[int] = []

    async def work(tx: Transaction, n: int) -> int:
        order.append(n)
        await tx.set_meta(f"chat-{n}", str(n))
        return await _count(tx, "total")

    results = await asyncio.gather(*(commits.run(lambda tx, n=n: work(tx, n)) for n in range(10)))
    assert results == list(range(1, 11))
    assert order == list(range(10))
    assert batches == [10]
    async with storage.transaction() as tx:
        assert await tx.get_meta("total") == "10"
        assert [await tx.get_meta(f"chat-{n}") for n in range(10)] == [str(n) for n in range(10)]


async def test_a_lone_piece_of_work_commits_alone_and_batches_are_bounded(
    storage: Storage,  # noqa: F811
) -> None:
    batches: list[int] = []
    commits = GroupCommit(storage, max_updates=4, on_batch=batches.append)
    assert await commits.run(lambda tx: _count(tx, "n")) == 1
    assert batches == [1]
    await asyncio.gather(*(commits.run(lambda tx: _count(tx, "n")) for _ in range(10)))
    assert batches == [1, 4, 4, 2]


async def test_a_failing_piece_rolls_back_alone_and_the_others_commit(
    storage: Storage,  # noqa: F811
) -> None:
    batches: list[int] = []
    published: list[object] = []
    storage.on_commit("replies", published.extend)
    commits = GroupCommit(storage, on_batch=batches.append)

    async def work(tx: Transaction, n: int) -> int:
        await tx.set_meta(f"chat-{n}", "written")
        tx.after_commit("replies", n)
        if n == 2:
            raise Boom("poison")
        return n

    results = await asyncio.gather(
        *(commits.run(lambda tx, n=n: work(tx, n)) for n in range(4)), return_exceptions=True
    )
    assert results[:2] == [0, 1] and results[3] == 3
    assert isinstance(results[2], Boom)
    assert batches == [3]
    assert published == [0, 1, 3]
    async with storage.transaction() as tx:
        assert [await tx.get_meta(f"chat-{n}") for n in range(4)] == [
            "written", "written", None, "written"
        ]


async def test_a_failing_first_piece_rolls_back_alone_and_the_rest_commit_after_it(
    storage: Storage,  # noqa: F811
) -> None:
    """The first piece runs without a SAVEPOINT: its failure ends its transaction alone."""
    batches: list[int] = []
    transactions: list[float] = []
    published: list[object] = []
    storage.on_commit("replies", published.extend)
    storage.on_transaction(transactions.append)
    commits = GroupCommit(storage, on_batch=batches.append)

    async def work(tx: Transaction, n: int) -> int:
        await tx.set_meta(f"chat-{n}", "written")
        tx.after_commit("replies", n)
        if n in (0, 2):
            raise Boom("poison")
        return n

    results = await asyncio.gather(
        *(commits.run(lambda tx, n=n: work(tx, n)) for n in range(4)), return_exceptions=True
    )
    assert isinstance(results[0], Boom) and isinstance(results[2], Boom)
    assert (results[1], results[3]) == (1, 3)
    assert batches == [2] and len(transactions) == 1  # the first one's was rolled back
    assert published == [1, 3]
    async with storage.transaction() as tx:
        assert [await tx.get_meta(f"chat-{n}") for n in range(4)] == [
            None, "written", None, "written"
        ]
    with pytest.raises(Boom):
        await commits.run(lambda tx: work(tx, 0))  # a lone piece: nothing kept, no COMMIT
    assert batches == [2] and len(transactions) == 2  # the read above; none here
    assert await commits.run(lambda tx: _count(tx, "after")) == 1  # and it goes on


async def test_a_database_error_fails_the_whole_batch_and_keeps_nothing(
    storage: Storage,  # noqa: F811
) -> None:
    published: list[object] = []
    storage.on_commit("replies", published.extend)
    commits = GroupCommit(storage)

    async def work(tx: Transaction, n: int) -> int:
        await tx.set_meta(f"chat-{n}", "written")
        tx.after_commit("replies", n)
        if n == 1:
            raise sqlite3.OperationalError("database is locked")
        return n

    results = await asyncio.gather(
        *(commits.run(lambda tx, n=n: work(tx, n)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert published == []
    async with storage.transaction() as tx:
        assert [await tx.get_meta(f"chat-{n}") for n in range(3)] == [None, None, None]
    assert await commits.run(lambda tx: _count(tx, "after")) == 1  # and it goes on


async def test_results_arrive_only_after_the_commit(storage: Storage) -> None:  # noqa: F811
    committed: list[object] = []
    storage.on_commit("replies", committed.extend)
    commits = GroupCommit(storage)
    seen: list[list[object]] = []

    async def caller(n: int) -> None:
        async def work(tx: Transaction) -> None:
            tx.after_commit("replies", n)

        await commits.run(work)
        seen.append(list(committed))

    await asyncio.gather(*(caller(n) for n in range(5)))
    assert all(snapshot == [0, 1, 2, 3, 4] for snapshot in seen)


async def test_work_whose_caller_gave_up_before_it_began_is_not_run(
    storage: Storage,  # noqa: F811
) -> None:
    commits = GroupCommit(storage)
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(tx: Transaction) -> None:
        started.set()
        await release.wait()
        await tx.set_meta("slow", "done")

    first = asyncio.create_task(commits.run(slow))
    await started.wait()
    waiting = asyncio.create_task(commits.run(lambda tx: tx.set_meta("given_up", "ran")))
    await asyncio.sleep(0)
    waiting.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with storage.transaction() as tx:
        assert await tx.get_meta("slow") == "done"
        assert await tx.get_meta("given_up") is None


# The service


def _inbound(n: int, text: str = "xin chào") -> Inbound:
    return Inbound(channel="telegram", user_id=str(1000 + n), chat_id=str(1000 + n),
                   external_id=f"m:{n}", text=text)


@pytest.fixture
async def service(tmp_path: Path):
    from tests.harness import Bot

    bot = Bot(tmp_path / "bot.sqlite3")
    await bot.open()
    try:
        yield bot
    finally:
        await bot.close()


async def test_a_polling_batch_of_many_chats_is_one_transaction(service) -> None:
    transactions: list[float] = []
    service.storage.on_transaction(transactions.append)
    before = metrics.BATCH_UPDATES._sum.get()
    results = await service.service.handle_batch([_inbound(n) for n in range(12)])
    assert all(not isinstance(r, BaseException) and r.queued for r in results)
    assert len(transactions) == 1
    assert metrics.BATCH_UPDATES._sum.get() - before == 12
    rows = await service.rows("SELECT count(*) AS n FROM outbox")
    assert rows == [{"n": 12}]


async def test_a_poison_update_in_a_batch_costs_the_others_nothing(service, monkeypatch) -> None:
    engine = service.service.engine
    advance = engine.advance

    async def poisoned(session, ctx):
        if ctx.inbound.text == "poison":
            raise ValueError("cannot read this")
        return await advance(session, ctx)

    monkeypatch.setattr(engine, "advance", poisoned)
    monkeypatch.setattr("bot.service.RETRY_PAUSE", 0.001)
    updates = [_inbound(n, "poison" if n == 3 else "xin chào") for n in range(6)]
    results = await service.service.handle_batch(updates)
    assert [r.dead_letter is not None for r in results] == [False, False, False, True, False,
                                                             False]
    inbox = await service.rows("SELECT external_id FROM inbox ORDER BY external_id")
    assert [r["external_id"] for r in inbox] == [f"m:{n}" for n in range(6)]
    letters = await service.rows("SELECT external_id FROM dead_letters")
    assert letters == [{"external_id": "m:3"}]


async def test_shutting_down_mid_batch_keeps_nothing_and_leaves_nobody_waiting(
    storage: Storage,  # noqa: F811
) -> None:
    commits = GroupCommit(storage)
    started = asyncio.Event()

    async def slow(tx: Transaction) -> None:
        await tx.set_meta("slow", "written")
        started.set()
        await asyncio.Event().wait()  # never ends by itself

    first = asyncio.create_task(commits.run(slow))
    await started.wait()
    queued = asyncio.create_task(commits.run(lambda tx: tx.set_meta("queued", "written")))
    await asyncio.sleep(0)
    assert commits._runner is not None
    commits._runner.cancel()
    for caller in (first, queued):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(caller, 5)
    async with storage.transaction() as tx:
        assert await tx.get_meta("slow") is None and await tx.get_meta("queued") is None
