"""What every backend's transaction shares: all the queries, and its after-commit publications.

A backend's transaction class derives from :class:`SharedTransaction` and supplies the
statement helpers (``_one``, ``_all``, ``_run``, ``_many``) and ``savepoint``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage.sql_core import CoreQueries
from storage.sqlite_alerts import SQLiteAlerts
from storage.sqlite_archive import SQLiteArchive
from storage.sqlite_bots import SQLiteBots
from storage.sqlite_deadletters import SQLiteDeadLetters
from storage.sqlite_exports import SQLiteExports
from storage.sqlite_health import SQLiteHealth
from storage.sqlite_ledger import SQLiteLedger
from storage.sqlite_media import SQLiteMedia
from storage.sqlite_meetings import SQLiteMeetings
from storage.sqlite_operators import SQLiteOperators
from storage.sqlite_reports import SQLiteReports


class SharedTransaction(
    CoreQueries,
    SQLiteLedger,
    SQLiteHealth,
    SQLiteMeetings,
    SQLiteMedia,
    SQLiteReports,
    SQLiteExports,
    SQLiteOperators,
    SQLiteArchive,
    SQLiteDeadLetters,
    SQLiteAlerts,
    SQLiteBots,
):
    """Every query of a transaction, and what it publishes once it has committed."""

    published: dict[str, list[Any]]

    def after_commit(self, topic: str, value: Any) -> None:
        """Publish ``value`` on ``topic`` once this transaction has committed."""
        self.published.setdefault(topic, []).append(value)

    @contextmanager
    def _withdrawn_on_error(self) -> Iterator[None]:
        """If the block raises, withdraw what it published (a savepoint's rollback)."""
        kept = {topic: len(values) for topic, values in self.published.items()}
        try:
            yield
        except BaseException:
            self.published = {topic: values[:kept[topic]]
                              for topic, values in self.published.items() if kept.get(topic)}
            raise
