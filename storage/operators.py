"""Association operators (area roles given from the command line).

:class:`OperatorStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from typing import Protocol


class OperatorStore(Protocol):
    """Association operators (part of every transaction)."""
