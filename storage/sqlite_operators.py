"""SQLite implementation of :class:`storage.operators.OperatorStore`."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.operators import Operator
from storage.sqlite_queries import SQLiteQueries, _dt, _ts

OPERATOR_FOR = (
    "SELECT o.* FROM operator_accounts a JOIN operators o ON o.id = a.operator_id "
    "WHERE a.channel = ? AND a.user_id = ? AND o.revoked_at IS NULL"
)
"""The grant in force a chat account serves: ``(channel, user_id)``."""


class SQLiteOperators(SQLiteQueries):
    """Association operators; mixed into ``SQLiteTransaction``."""


    @staticmethod
    def _operator(row: sqlite3.Row) -> Operator:
        granted = _dt(row["granted_at"])
        assert granted is not None
        return Operator(row["id"], row["role"], row["name"], row["province"], row["district"],
                        row["commune"], row["granted_by"], granted, _dt(row["revoked_at"]),
                        row["province_code"], row["commune_code"])

    async def add_operator(
        self,
        role: str,
        name: str,
        area: tuple[str, str, str],
        granted_by: str,
        now: datetime,
        codes: tuple[int | None, int | None] = (None, None),
    ) -> Operator:
        """Record a grant; ``area`` is ``(province, district, commune)``, ``''`` = all.

        ``codes`` are the official province's and commune's (``None`` commune = the whole
        province).
        """
        row = await self._one(
            "INSERT INTO operators (role, name, province, district, commune, granted_by, "
            "granted_at, province_code, commune_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING *",
            (role, name, *area, granted_by, _ts(now), *codes),
        )
        assert row is not None
        return self._operator(row)

    async def get_operator(self, operator_id: int) -> Operator | None:
        """One grant, revoked or not."""
        row = await self._one("SELECT * FROM operators WHERE id = ?", (operator_id,))
        return self._operator(row) if row else None

    async def list_operators(self) -> list[tuple[Operator, int]]:
        """Every grant with its number of linked chat accounts, oldest first."""
        rows = await self._all(
            "SELECT o.*, (SELECT COUNT(*) FROM operator_accounts a WHERE a.operator_id = o.id) "
            "AS accounts FROM operators o ORDER BY o.id"
        )
        return [(self._operator(row), row["accounts"]) for row in rows]

    async def revoke_operator(self, operator_id: int, now: datetime) -> bool:
        """Revoke a grant; ``False`` if there is none or it already was."""
        cursor = await self._run(
            "UPDATE operators SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (_ts(now), operator_id),
        )
        return cursor.rowcount == 1

    async def add_operator_code(
        self, operator_id: int, code_hash: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store a one-time code's hash for a grant."""
        await self._run(
            "INSERT INTO operator_codes (code_hash, operator_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (code_hash, operator_id, _ts(now), _ts(expires_at)),
        )

    async def use_operator_code(self, code_hash: str, now: datetime) -> Operator | None:
        """Use a code once: its grant, or ``None`` if wrong, used, expired or revoked."""
        row = await self._one(
            "UPDATE operator_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL "
            "AND expires_at > ? AND operator_id IN (SELECT id FROM operators WHERE revoked_at "
            "IS NULL) RETURNING operator_id",
            (_ts(now), code_hash, _ts(now)),
        )
        return await self.get_operator(row["operator_id"]) if row else None

    async def link_operator(
        self, channel: str, user_id: str, operator_id: int, now: datetime
    ) -> None:
        """Attach a chat account to a grant (replacing any grant it served before)."""
        await self._run(
            "INSERT INTO operator_accounts (channel, user_id, operator_id, linked_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (channel, user_id) DO UPDATE SET "
            "operator_id = excluded.operator_id, linked_at = excluded.linked_at",
            (channel, user_id, operator_id, _ts(now)),
        )

    async def operator_for(self, channel: str, user_id: str) -> Operator | None:
        """The grant in force that this chat account serves, if any."""
        row = await self._one(OPERATOR_FOR, (channel, user_id))
        return self._operator(row) if row else None
