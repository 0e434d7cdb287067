"""SQLite implementation of :class:`storage.alerts.AlertStore`."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.alerts import Alert, AlertAck, AlertRecipient, NewAlert
from storage.records import Identity
from storage.sqlite_queries import SQLiteQueries, _dt, _in, _ts


class SQLiteAlerts(SQLiteQueries):
    """Alert queries; mixed into ``SQLiteTransaction``.

    The transaction provides ``_add_once`` (the ledger's) and ``_identity``.
    """

    async def _alerts(self, rows: list[sqlite3.Row]) -> list[Alert]:
        """Alerts of ``rows`` with their recipients and answers (two more queries)."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        told: dict[int, list[AlertRecipient]] = {i: [] for i in ids}
        for row in await self._all(
            f"SELECT * FROM alert_recipients WHERE alert_id IN ({_in(ids)}) "
            "ORDER BY queued_at, rowid", ids,
        ):
            told[row["alert_id"]].append(AlertRecipient(
                row["member_id"], row["round"], row["role"], _dt(row["queued_at"])))
        acks: dict[int, list[AlertAck]] = {i: [] for i in ids}
        for row in await self._all(
            f"SELECT * FROM alert_acks WHERE alert_id IN ({_in(ids)}) "
            "ORDER BY acknowledged_at, rowid", ids,
        ):
            acks[row["alert_id"]].append(AlertAck(row["member_id"],
                                                  _dt(row["acknowledged_at"])))
        return [
            Alert(
                id=row["id"], club_id=row["club_id"], member_id=row["member_id"],
                reading_id=row["reading_id"], reason=row["reason"],
                raised_by=row["raised_by"], key=row["idempotency_key"],
                raised_at=_dt(row["raised_at"]), escalated_at=_dt(row["escalated_at"]),
                recipients=tuple(told[row["id"]]), acks=tuple(acks[row["id"]]),
            )
            for row in rows
        ]

    async def get_alert(self, alert_id: int) -> Alert | None:
        """One alert with its recipients and answers."""
        found = await self._alerts(await self._all("SELECT * FROM alerts WHERE id = ?",
                                                   (alert_id,)))
        return found[0] if found else None

    async def alert_by_key(self, key: str) -> Alert | None:
        """The alert raised for the reading with this idempotency key, if any."""
        found = await self._alerts(await self._all(
            "SELECT * FROM alerts WHERE idempotency_key = ?", (key,)))
        return found[0] if found else None

    async def club_alerts(self, club_id: int, since: datetime) -> list[Alert]:
        """A club's alerts raised at or after ``since``, newest first."""
        return await self._alerts(await self._all(
            "SELECT * FROM alerts WHERE club_id = ? AND raised_at >= ? "
            "ORDER BY raised_at DESC, id DESC", (club_id, _ts(since))))

    async def alerts_to_answer(
        self, member_id: int, club_id: int, since: datetime, board: bool
    ) -> list[Alert]:
        """Alerts raised since ``since`` that this member may still answer, newest first."""
        return await self._alerts(await self._all(
            "SELECT * FROM alerts a WHERE a.club_id = ? AND a.raised_at >= ? "
            "AND a.member_id != ? AND (? = 1 OR EXISTS (SELECT 1 FROM alert_recipients r "
            "WHERE r.alert_id = a.id AND r.member_id = ?)) AND NOT EXISTS (SELECT 1 FROM "
            "alert_acks k WHERE k.alert_id = a.id AND k.member_id = ?) "
            "ORDER BY a.raised_at DESC, a.id DESC",
            (club_id, _ts(since), member_id, int(board), member_id, member_id)))

    async def alerts_to_escalate(self, raised_before: datetime, since: datetime) -> list[Alert]:
        """Alerts raised in ``[since, raised_before]``, unanswered and never escalated."""
        return await self._alerts(await self._all(
            "SELECT * FROM alerts a WHERE a.escalated_at IS NULL AND a.raised_at <= ? "
            "AND a.raised_at >= ? AND NOT EXISTS (SELECT 1 FROM alert_acks k "
            "WHERE k.alert_id = a.id) ORDER BY a.raised_at, a.id",
            (_ts(raised_before), _ts(since))))

    async def chat_identity(self, channel: str, chat_id: str) -> Identity | None:
        """The chat account of a chat (the most recently used, if several)."""
        row = await self._one(
            "SELECT * FROM identities WHERE channel = ? AND chat_id = ? "
            "ORDER BY last_seen_at DESC, rowid DESC LIMIT 1", (channel, chat_id))
        return self._identity(row) if row is not None else None

    async def alert_month_counts(
        self, club_ids: list[int], since: datetime, until: datetime
    ) -> dict[int, dict[str, int]]:
        """Per club: alerts raised, answered and escalated in ``[since, until)``."""
        found: dict[int, dict[str, int]] = {}
        for start in range(0, len(club_ids), 500):
            chunk = club_ids[start:start + 500]
            for row in await self._all(
                "SELECT club_id, COUNT(*) AS alerts, SUM(CASE WHEN EXISTS (SELECT 1 FROM "
                "alert_acks k WHERE k.alert_id = a.id) THEN 1 ELSE 0 END) AS alerts_answered, "
                "COUNT(escalated_at) AS alerts_escalated FROM alerts a "
                f"WHERE club_id IN ({_in(chunk)}) AND raised_at >= ? AND raised_at < ? "
                "GROUP BY club_id",
                (*chunk, _ts(since), _ts(until)),
            ):
                found[row["club_id"]] = {key: int(row[key] or 0) for key in (
                    "alerts", "alerts_answered", "alerts_escalated")}
        return found

    async def add_alert(self, alert: NewAlert, now: datetime) -> tuple[int, bool]:
        """Record an alert; ``(id, created)``. Same key: the existing id."""
        a = alert
        return await self._add_once(
            "alerts", a.key,
            "INSERT INTO alerts (club_id, member_id, reading_id, reason, raised_by, raised_at, "
            "idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (a.club_id, a.member_id, a.reading_id, a.reason, a.raised_by, _ts(now), a.key),
        )

    async def add_alert_recipient(
        self, alert_id: int, member_id: int, round_: str, role: str, now: datetime
    ) -> bool:
        """Record that an alert was queued for a member; ``False`` if already recorded."""
        cursor = await self._run(
            "INSERT INTO alert_recipients (alert_id, member_id, round, role, queued_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (alert_id, member_id, round_, role, _ts(now)),
        )
        return cursor.rowcount == 1

    async def acknowledge_alert(self, alert_id: int, member_id: int, now: datetime) -> bool:
        """Record an answer; ``False`` if this member had already answered it."""
        cursor = await self._run(
            "INSERT INTO alert_acks (alert_id, member_id, acknowledged_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (alert_id, member_id, _ts(now)),
        )
        return cursor.rowcount == 1

    async def mark_escalated(self, alert_id: int, now: datetime) -> bool:
        """Record the escalation; ``False`` if it was already escalated (or answered)."""
        cursor = await self._run(
            "UPDATE alerts SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM alert_acks WHERE alert_id = ?)",
            (_ts(now), alert_id, alert_id),
        )
        return cursor.rowcount == 1
