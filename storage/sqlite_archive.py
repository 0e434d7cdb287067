"""SQLite implementation of :class:`storage.archive.ArchiveStore`."""

from __future__ import annotations


class SQLiteArchive:
    """A club's records for the data export; mixed into ``SQLiteTransaction``."""
