"""Images the bot sends (charts), kept for a while so a channel can fetch them by URL.

Zalo's ``sendPhoto`` takes an image URL, not the bytes: the image is stored under a random
token and served at ``<ISHC_PUBLIC_URL>/media/<token>.png`` until it expires.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class MediaReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def get_media(self, token: str, now: datetime) -> tuple[str, bytes] | None:
        """``(content type, bytes)`` of an unexpired image, else ``None``."""


class MediaStore(MediaReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def put_media(
        self, token: str, content_type: str, data: bytes, now: datetime, expires_at: datetime
    ) -> None:
        """Keep an image under ``token`` until ``expires_at``."""

    async def prune_media(self, now: datetime) -> int:
        """Forget expired images; return how many."""
