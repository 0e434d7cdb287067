"""A club's records read in full, for the board's data export (/xuatdulieu).

:class:`ArchiveStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from typing import Protocol


class ArchiveStore(Protocol):
    """A club's records for the data export (part of every transaction)."""
