"""The media part of the storage contract (:class:`storage.media.MediaStore`).

Tests run on every backend of ``tests.test_storage_contract.BACKENDS``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage.base import Storage, Transaction
from tests import test_storage_contract as storage_contract
from tests.test_storage_contract import HOUR, MINUTE, NOW, Backend

# The storage contract's fixtures: every backend of its ``BACKENDS`` list runs these tests too.
backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # binary, with NUL bytes, ~10 kB
WEEK = timedelta(days=7)


async def test_put_then_get_returns_type_and_exact_bytes(tx: Transaction) -> None:
    await tx.put_media("tok-1", "image/png", PNG, NOW, NOW + WEEK)
    assert await tx.get_media("tok-1", NOW) == ("image/png", PNG)
    assert await tx.get_media("tok-1", NOW + WEEK - MINUTE) == ("image/png", PNG)


async def test_unknown_token_is_none(tx: Transaction) -> None:
    assert await tx.get_media("nope", NOW) is None
    await tx.put_media("tok-1", "image/png", PNG, NOW, NOW + WEEK)
    assert await tx.get_media("TOK-1", NOW) is None  # tokens are case-sensitive


async def test_expired_media_is_not_returned(tx: Transaction) -> None:
    await tx.put_media("tok-1", "image/png", PNG, NOW, NOW + HOUR)
    assert await tx.get_media("tok-1", NOW + HOUR) is None  # expiry is exclusive
    assert await tx.get_media("tok-1", NOW + 2 * HOUR) is None


async def test_prune_forgets_only_expired_media(tx: Transaction) -> None:
    await tx.put_media("old", "image/png", b"old", NOW, NOW + HOUR)
    await tx.put_media("new", "image/png", b"new", NOW, NOW + WEEK)
    assert await tx.prune_media(NOW) == 0
    assert await tx.prune_media(NOW + HOUR) == 1
    assert await tx.prune_media(NOW + HOUR) == 0
    assert await tx.get_media("new", NOW + HOUR) == ("image/png", b"new")
    # Pruned for good: a clock moved back does not bring it back.
    assert await tx.get_media("old", NOW) is None


async def test_same_token_replaces_the_image(tx: Transaction) -> None:
    await tx.put_media("tok", "image/png", b"first", NOW, NOW + HOUR)
    await tx.put_media("tok", "image/jpeg", b"second", NOW, NOW + WEEK)
    assert await tx.get_media("tok", NOW + 2 * HOUR) == ("image/jpeg", b"second")


async def test_media_is_committed_with_its_transaction(storage: Storage) -> None:
    async with storage.transaction() as tx:
        await tx.put_media("kept", "image/png", PNG, NOW, NOW + WEEK)
    with pytest.raises(RuntimeError):
        async with storage.transaction() as tx:
            await tx.put_media("lost", "image/png", PNG, NOW, NOW + WEEK)
            raise RuntimeError("rolled back")
    async with storage.transaction() as tx:
        assert await tx.get_media("kept", NOW) == ("image/png", PNG)
        assert await tx.get_media("lost", NOW) is None


async def test_media_survives_reopening(backend: Backend, tmp_path: Path) -> None:
    if not backend.persistent:
        pytest.skip("this backend does not keep data between connections")
    for round_ in range(2):
        store = backend.make(tmp_path)
        await store.open()
        try:
            async with store.transaction() as tx:
                if round_ == 0:
                    await tx.put_media("tok", "image/png", PNG, NOW, NOW + WEEK)
                assert await tx.get_media("tok", NOW) == ("image/png", PNG)
        finally:
            await store.close()
