"""Moving a province's SQLite database to PostgreSQL: ``ishc-bot db migrate`` and ``db copy``.

``copy`` reads every table of the SQLite file (its schema must be this code's) and writes it
into an empty PostgreSQL database in one transaction, parents before children, ids kept. The
balance tables are not copied: the target's triggers rebuild them from the ledger as the
entries go in, and the copy is kept only if they then equal the source's, row for row, and
every table has as many rows as the source. Nothing is written to a target that already holds
data, and a copy that fails leaves the target as it was.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from storage.backends import is_postgres, storage_for
from storage.postgres import PostgresStorage
from storage.sqlite import migrations as sqlite_migrations

DERIVED = ("loan_balances", "fund_balances")  # kept by triggers from the ledger
SKIPPED = ("schema_version",)  # each database's own bookkeeping


class CopyError(Exception):
    """The copy was refused or did not verify; the target was left as it was."""


@dataclass
class CopyReport:
    """What was copied: rows per table, and the balances checked."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    balances_checked: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (the target's password left out)."""
        return {"source": self.source, "target": safe_dsn(self.target), "rows": self.rows,
                "balances_checked": self.balances_checked}


def safe_dsn(dsn: str) -> str:
    """A connection string without its password, for printing."""
    scheme, _, rest = dsn.partition("://")
    if "@" in rest:
        who, _, where = rest.rpartition("@")
        return f"{scheme}://{who.split(':', 1)[0]}@{where}"
    return dsn


async def migrate(db: str) -> int:
    """Apply pending migrations to ``db`` (either backend); return its schema version."""
    storage = storage_for(db)
    await storage.open()  # migrates
    await storage.close()
    if is_postgres(db):
        conn = await asyncpg.connect(db)
        try:
            return int(await conn.fetchval("SELECT max(version) FROM schema_version") or 0)
        finally:
            await conn.close()
    with sqlite3.connect(db) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _tables_in_order(source: sqlite3.Connection) -> list[str]:
    """The source's tables, each after the tables its foreign keys point to."""
    names = [row[0] for row in source.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    parents = {name: {row[2] for row in source.execute(f"PRAGMA foreign_key_list('{name}')")
                      if row[2] != name} for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise CopyError(f"foreign keys form a cycle among {sorted(set(names) - set(ordered))}")
        ordered.extend(ready)
    return ordered


async def copy(source_path: str, target: str) -> CopyReport:
    """Copy the SQLite database at ``source_path`` into the empty PostgreSQL ``target``.

    Raises:
        CopyError: The source is missing or of another schema version, the target is not
            PostgreSQL or not empty, or the copy did not verify (nothing was kept).
    """
    path = Path(source_path)
    if not path.is_file():
        raise CopyError(f"{source_path}: no such database file")
    if not is_postgres(target):
        raise CopyError(f"{safe_dsn(target)}: the target must be a postgresql:// database")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = source.execute("PRAGMA user_version").fetchone()[0]
        latest = sqlite_migrations()[-1][0]
        if version != latest:
            raise CopyError(f"{source_path} has schema version {version}, this code {latest}: "
                            "run the service (or 'ishc-bot db migrate') on it first")
        storage = PostgresStorage(target)
        await storage.open()  # creates or migrates the target's schema
        await storage.close()
        report = CopyReport(str(path), target)
        conn = await asyncpg.connect(target)
        try:
            async with conn.transaction():
                await _refuse_if_not_empty(conn, _tables_in_order(source))
                await _copy_tables(source, conn, report)
                await _verify(source, conn, report)
        finally:
            await conn.close()
        return report
    finally:
        source.close()


async def _refuse_if_not_empty(conn: asyncpg.Connection, tables: list[str]) -> None:
    for table in tables:
        if table not in SKIPPED and await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise CopyError(f"the target already holds data (table {table}): nothing copied")


async def _copy_tables(source: sqlite3.Connection, conn: asyncpg.Connection,
                       report: CopyReport) -> None:
    for table in _tables_in_order(source):
        if table in SKIPPED or table in DERIVED:
            continue
        info = source.execute(f"PRAGMA table_info('{table}')").fetchall()
        columns = [row[1] for row in info]
        key = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]] or columns
        listed = ", ".join(columns)
        rows = source.execute(
            f"SELECT {listed} FROM {table} ORDER BY {', '.join(key)}").fetchall()
        if rows:
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        report.rows[table] = len(rows)
        if "id" in columns:  # the next id after the copied ones
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false) "
                f"WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL")


async def _verify(source: sqlite3.Connection, conn: asyncpg.Connection,
                  report: CopyReport) -> None:
    for table, expected in report.rows.items():
        got = await conn.fetchval(f"SELECT count(*) FROM {table}")
        if got != expected:
            raise CopyError(f"table {table}: {got} rows in the target, {expected} in the source")
    for table in DERIVED:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info('{table}')")]
        listed = ", ".join(columns)
        theirs = [tuple(row) for row in source.execute(
            f"SELECT {listed} FROM {table} ORDER BY 1")]
        ours = [tuple(row) for row in await conn.fetch(f"SELECT {listed} FROM {table} ORDER BY 1")]
        if ours != theirs:
            first = next((a, b) for a, b in zip(theirs + [None] * len(ours),
                                               ours + [None] * len(theirs), strict=False)
                         if a != b)
            raise CopyError(f"{table} differ after the copy (source {first[0]}, target "
                            f"{first[1]}): nothing copied")
        report.balances_checked[table] = len(ours)
