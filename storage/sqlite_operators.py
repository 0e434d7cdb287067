"""SQLite implementation of :class:`storage.operators.OperatorStore`."""

from __future__ import annotations


class SQLiteOperators:
    """Association operators; mixed into ``SQLiteTransaction``."""
