"""The export-job part of the storage contract (:class:`storage.exports.ExportStore`) and
``Storage.reading``, on every backend of ``tests.test_storage_contract.BACKENDS``."""

from __future__ import annotations

from storage.base import Storage, Transaction
from tests import test_storage_contract as storage_contract
from tests.test_storage_contract import MINUTE, NOW

backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx

CHAT = ("telegram", "5001", "vi")


async def test_a_job_is_kept_with_its_parameters_until_finished(tx: Transaction) -> None:
    job = await tx.add_export("report", {"club_id": 3, "month": "2026-10"}, 7, CHAT, NOW)
    other = await tx.add_export("data", {"format": "csv"}, None, ("zalo", "ab", "en"),
                                NOW + MINUTE)
    assert (job.kind, job.params, job.member_id) == ("report", {"club_id": 3, "month": "2026-10"},
                                                     7)
    assert (job.channel, job.chat_id, job.locale, job.requested_at) == (*CHAT, NOW)
    assert await tx.unfinished_exports() == [job, other]
    assert await tx.finish_export(job.id, NOW + MINUTE) is True
    assert await tx.finish_export(job.id, NOW + MINUTE) is False  # only once
    assert await tx.unfinished_exports() == [other]
    assert await tx.finish_export(other.id, NOW, "RuntimeError('disk full')") is True
    assert await tx.unfinished_exports() == []


async def test_reading_sees_committed_data_and_cannot_write(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.set_meta("k", "v1")

    async def read(tx: Transaction) -> str | None:
        return await tx.get_meta("k")

    assert await storage.reading(read) == "v1"


async def test_reading_is_one_snapshot(storage: Storage, backend) -> None:
    """A write committed while ``work`` runs is not seen by it (file databases)."""
    async with storage.transaction() as tx:
        await tx.set_meta("k", "v1")
    seen: list[str | None] = []

    async def read(tx: Transaction) -> None:
        seen.append(await tx.get_meta("k"))
        if backend.sqlite_file is not None:  # SQLite reads in a thread: write from it
            import sqlite3

            writer = sqlite3.connect(storage.path, isolation_level=None)  # type: ignore[attr-defined]
            writer.execute("UPDATE meta SET value = 'v2' WHERE key = 'k'")
            writer.close()
        elif backend.persistent:  # a write committed meanwhile, by another transaction
            async with storage.transaction() as other:
                await other.set_meta("k", "v2")
        seen.append(await tx.get_meta("k"))

    await storage.reading(read)
    assert seen == ["v1", "v1"]
    async with storage.transaction() as tx:
        assert await tx.get_meta("k") == ("v2" if backend.persistent else "v1")
