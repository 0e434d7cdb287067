"""The SQL of :class:`storage.bots.BotStore` (shared by SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.bots import BotArea, RegisteredBot
from storage.sqlite_queries import SQLiteQueries, _dt, _ts


class SQLiteBots(SQLiteQueries):
    """Registered bots and their areas; mixed into every backend's transaction."""

    @staticmethod
    def _bot(row: sqlite3.Row) -> RegisteredBot:
        created = _dt(row["created_at"])
        assert created is not None
        return RegisteredBot(row["id"], row["name"], row["platform"], row["token_env"],
                             row["username"], float(row["rate"]), row["webhook_url"], created,
                             _dt(row["disabled_at"]))

    async def add_bot(
        self,
        name: str,
        platform: str,
        token_env: str,
        username: str,
        rate: float,
        webhook_url: str,
        now: datetime,
    ) -> RegisteredBot:
        """Register a bot (the name of its token's variable, never the token)."""
        row = await self._one(
            "INSERT INTO bots (name, platform, token_env, username, rate, webhook_url, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (name, platform, token_env, username, float(rate), webhook_url, _ts(now)),
        )
        assert row is not None
        return self._bot(row)

    async def get_bot(self, name: str) -> RegisteredBot | None:
        """One bot by name, disabled or not."""
        row = await self._one("SELECT * FROM bots WHERE name = ?", (name,))
        return self._bot(row) if row else None

    async def list_bots(self) -> list[tuple[RegisteredBot, list[BotArea]]]:
        """Every bot with its areas (provinces first, then communes), oldest first."""
        bots = [self._bot(row) for row in await self._all("SELECT * FROM bots ORDER BY id")]
        areas: dict[int, list[BotArea]] = {bot.id: [] for bot in bots}
        for row in await self._all(
            "SELECT bot_id, province_code, commune_code FROM bot_areas "
            "ORDER BY bot_id, province_code, commune_code IS NOT NULL, commune_code"
        ):
            areas[row["bot_id"]].append(
                BotArea(row["bot_id"], row["province_code"], row["commune_code"])
            )
        return [(bot, areas[bot.id]) for bot in bots]

    async def bot_for_area(
        self, platform: str, province_code: int | None, commune_code: int | None
    ) -> RegisteredBot | None:
        """The enabled bot of ``platform`` for the commune, else for the province."""
        if province_code is None:
            return None
        row = await self._one(
            "SELECT b.* FROM bot_areas a JOIN bots b ON b.id = a.bot_id "
            "WHERE b.platform = ? AND b.disabled_at IS NULL AND a.province_code = ? "
            "AND (a.commune_code IS NULL OR a.commune_code = ?) "
            "ORDER BY a.commune_code IS NULL, b.id LIMIT 1",
            (platform, province_code, commune_code),
        )
        return self._bot(row) if row else None

    async def assign_bot(
        self, bot_id: int, province_code: int, commune_code: int | None, now: datetime
    ) -> list[str]:
        """Make the bot serve the area, taking it from the other bots of its platform."""
        same = "a.commune_code IS NULL" if commune_code is None else "a.commune_code = ?"
        area: tuple[int, ...] = (province_code,) if commune_code is None else (
            province_code, commune_code)
        rows = await self._all(
            "SELECT a.bot_id, b.name FROM bot_areas a JOIN bots b ON b.id = a.bot_id "
            f"WHERE a.province_code = ? AND {same} AND b.platform = "
            "(SELECT platform FROM bots WHERE id = ?) ORDER BY b.id",
            (*area, bot_id),
        )
        if any(row["bot_id"] == bot_id for row in rows):
            return []
        for row in rows:
            await self._run(
                f"DELETE FROM bot_areas WHERE bot_id = ? AND province_code = ? AND "
                f"{same.replace('a.', '')}",
                (row["bot_id"], *area),
            )
        await self._run(
            "INSERT INTO bot_areas (bot_id, province_code, commune_code, assigned_at) "
            "VALUES (?, ?, ?, ?)",
            (bot_id, province_code, commune_code, _ts(now)),
        )
        return [row["name"] for row in rows]

    async def disable_bot(self, bot_id: int, now: datetime) -> bool:
        """Disable a bot; ``False`` if there is none or it already was."""
        cursor = await self._run(
            "UPDATE bots SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
            (_ts(now), bot_id),
        )
        return cursor.rowcount == 1
