"""SQLite implementation of :class:`storage.health.HealthStore`."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime

from storage.health import Client, MemberHealth, NewReading, NewVisit, StoredReading, StoredVisit
from storage.records import Member
from storage.sqlite_queries import SQLiteQueries, _dt, _in, _ts


class SQLiteHealth(SQLiteQueries):
    """Health queries; mixed into ``SQLiteTransaction``.

    The transaction provides ``_add_once`` (the ledger's) and ``_member``.
    """

    @staticmethod
    def _reading(row: sqlite3.Row) -> StoredReading:
        return StoredReading(
            id=row["id"],
            club_id=row["club_id"],
            member_id=row["member_id"],
            measured_at=_dt(row["measured_at"]),
            day=date.fromisoformat(row["day"]),
            systolic=row["systolic"],
            diastolic=row["diastolic"],
            pulse=row["pulse"],
            weight_tenths=row["weight_tenths"],
            grade=row["grade"],
            high=bool(row["high"]),
            urgent=bool(row["urgent"]),
            first_systolic=row["first_systolic"],
            first_diastolic=row["first_diastolic"],
            symptoms=tuple(json.loads(row["symptoms"])),
            place=row["place"],
            recorded_by=row["recorded_by"],
            key=row["idempotency_key"],
            visit_id=row["visit_id"],
            confirmed=bool(row["confirmed"]),
        )

    async def add_reading(self, reading: NewReading, now: datetime) -> tuple[int, bool]:
        """Record a reading; ``(id, created)``. Same key: the existing id."""
        r = reading
        return await self._add_once(
            "readings", r.key,
            "INSERT INTO readings (club_id, member_id, measured_at, day, systolic, diastolic, "
            "pulse, weight_tenths, grade, high, urgent, first_systolic, first_diastolic, "
            "symptoms, place, recorded_by, visit_id, idempotency_key, created_at, confirmed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.club_id, r.member_id, _ts(r.measured_at), r.day.isoformat(), r.systolic,
             r.diastolic, r.pulse, r.weight_tenths, r.grade, int(r.high), int(r.urgent),
             r.first_systolic, r.first_diastolic, json.dumps(list(r.symptoms)), r.place,
             r.recorded_by, r.visit_id, r.key, _ts(now), int(r.confirmed)),
        )

    async def confirm_reading(self, reading: NewReading, now: datetime) -> bool:
        """Turn the unconfirmed reading with ``reading.key`` into ``reading``, confirmed."""
        r = reading
        cursor = await self._run(
            "UPDATE readings SET measured_at = ?, day = ?, systolic = ?, diastolic = ?, "
            "pulse = ?, weight_tenths = ?, grade = ?, high = ?, urgent = ?, first_systolic = ?, "
            "first_diastolic = ?, symptoms = ?, place = ?, recorded_by = ?, visit_id = ?, "
            "confirmed = 1 WHERE idempotency_key = ? AND confirmed = 0 AND member_id = ?",
            (_ts(r.measured_at), r.day.isoformat(), r.systolic, r.diastolic, r.pulse,
             r.weight_tenths, r.grade, int(r.high), int(r.urgent), r.first_systolic,
             r.first_diastolic, json.dumps(list(r.symptoms)), r.place, r.recorded_by,
             r.visit_id, r.key, r.member_id),
        )
        return cursor.rowcount == 1

    async def reading_by_key(self, key: str) -> StoredReading | None:
        """The reading recorded with this idempotency key, if any."""
        row = await self._one("SELECT * FROM readings WHERE idempotency_key = ?", (key,))
        return self._reading(row) if row is not None else None

    async def readings_of(self, member_id: int, limit: int = 60) -> list[StoredReading]:
        """A member's readings, newest first."""
        rows = await self._all(
            "SELECT * FROM readings WHERE member_id = ? ORDER BY measured_at DESC, id DESC "
            "LIMIT ?",
            (member_id, limit),
        )
        return [self._reading(row) for row in rows]

    async def club_health(self, club_id: int, since: date) -> list[MemberHealth]:
        """Every active member of a club with their latest reading, by name."""
        members = await self._all(
            "SELECT * FROM members WHERE club_id = ? AND status = 'active' "
            "ORDER BY full_name, id",
            (club_id,),
        )
        latest = {
            row["member_id"]: self._reading(row)
            for row in await self._all(
                # One index lookup per member (readings_member), not a sort of the history.
                "SELECT r.* FROM members m JOIN readings r ON r.id = (SELECT id FROM readings "
                "WHERE member_id = m.id ORDER BY measured_at DESC, id DESC LIMIT 1) "
                "WHERE m.club_id = ? AND m.status = 'active'",
                (club_id,),
            )
        }
        return [
            MemberHealth(
                member=self._member(row),
                latest=latest.get(row["id"]),
                measured_since=row["id"] in latest and latest[row["id"]].day >= since,
            )
            for row in members
        ]

    async def unmeasured_members(
        self, club_ids: list[int], since: date
    ) -> dict[int, list[int]]:
        """Active members of each club with no reading on or after ``since``."""
        found: dict[int, list[int]] = {club_id: [] for club_id in club_ids}
        for start in range(0, len(club_ids), 500):
            chunk = club_ids[start:start + 500]
            rows = await self._all(
                f"SELECT m.club_id, m.id FROM members m WHERE m.status = 'active' "
                f"AND m.club_id IN ({_in(chunk)}) AND NOT EXISTS (SELECT 1 FROM readings r "
                f"WHERE r.member_id = m.id AND r.day >= ?) ORDER BY m.club_id, m.id",
                (*chunk, since.isoformat()),
            )
            for club_id, member_id in rows:
                found[club_id].append(member_id)
        return found

    async def high_last_readings(self, club_id: int) -> int:
        """How many active members' latest reading was high."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM members m JOIN readings r ON r.id = (SELECT id FROM "
            "readings WHERE member_id = m.id ORDER BY measured_at DESC, id DESC LIMIT 1) "
            "WHERE m.club_id = ? AND m.status = 'active' AND r.high = 1",
            (club_id,),
        )
        assert row is not None
        return row["n"]

    async def link_care(
        self, volunteer_id: int, client_id: int, by: int | None, now: datetime
    ) -> bool:
        """Make a volunteer care for a client; ``False`` if they already do."""
        cursor = await self._run(
            "INSERT INTO care_links (club_id, volunteer_id, client_id, assigned_by, assigned_at) "
            "SELECT club_id, ?, id, ?, ? FROM members WHERE id = ? "
            "ON CONFLICT DO NOTHING",
            (volunteer_id, by, _ts(now), client_id),
        )
        return cursor.rowcount == 1

    async def unlink_care(self, volunteer_id: int, client_id: int, now: datetime) -> bool:
        """End a care link; ``False`` if there was none."""
        cursor = await self._run(
            "UPDATE care_links SET ended_at = ? WHERE volunteer_id = ? AND client_id = ? "
            "AND ended_at IS NULL",
            (_ts(now), volunteer_id, client_id),
        )
        return cursor.rowcount == 1

    _CLIENTS = (
        "SELECT m.*, (SELECT MAX(v.day) FROM visits v WHERE v.client_id = m.id) AS last_visit, "
        "(SELECT COUNT(*) FROM care_links c WHERE c.client_id = m.id AND c.ended_at IS NULL) "
        "AS volunteers FROM members m "
    )

    def _client(self, row: sqlite3.Row) -> Client:
        last = row["last_visit"]
        return Client(self._member(row), date.fromisoformat(last) if last else None,
                      row["volunteers"])

    async def clients_of(self, volunteer_id: int) -> list[Client]:
        """A volunteer's clients, by name."""
        rows = await self._all(
            self._CLIENTS + "WHERE m.status = 'active' AND m.id IN (SELECT client_id FROM "
            "care_links WHERE volunteer_id = ? AND ended_at IS NULL) ORDER BY m.full_name, m.id",
            (volunteer_id,),
        )
        return [self._client(row) for row in rows]

    async def care_clients(self, club_id: int) -> list[Client]:
        """Every client of a club (members with at least one volunteer), by name."""
        rows = await self._all(
            self._CLIENTS + "WHERE m.club_id = ? AND m.status = 'active' AND m.id IN (SELECT "
            "client_id FROM care_links WHERE ended_at IS NULL) ORDER BY m.full_name, m.id",
            (club_id,),
        )
        return [self._client(row) for row in rows]

    async def volunteers_of(self, client_id: int) -> list[Member]:
        """The volunteers caring for a client, by name."""
        rows = await self._all(
            "SELECT m.* FROM members m JOIN care_links c ON c.volunteer_id = m.id "
            "WHERE c.client_id = ? AND c.ended_at IS NULL AND m.status = 'active' "
            "ORDER BY m.full_name, m.id",
            (client_id,),
        )
        return [self._member(row) for row in rows]

    @staticmethod
    def _visit(row: sqlite3.Row) -> StoredVisit:
        return StoredVisit(
            id=row["id"],
            club_id=row["club_id"],
            client_id=row["client_id"],
            volunteer_id=row["volunteer_id"],
            visited_at=_dt(row["visited_at"]),
            day=date.fromisoformat(row["day"]),
            services=tuple(json.loads(row["services"])),
            concern=row["concern"],
            note=row["note"],
            key=row["idempotency_key"],
        )

    async def add_visit(self, visit: NewVisit, now: datetime) -> tuple[int, bool]:
        """Record a visit; ``(id, created)``. Same key: the existing id."""
        v = visit
        return await self._add_once(
            "visits", v.key,
            "INSERT INTO visits (club_id, client_id, volunteer_id, visited_at, day, services, "
            "concern, note, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (v.club_id, v.client_id, v.volunteer_id, _ts(v.visited_at), v.day.isoformat(),
             json.dumps(list(v.services)), v.concern, v.note, v.key, _ts(now)),
        )

    async def visits_of(self, client_id: int, limit: int = 20) -> list[StoredVisit]:
        """A client's visits, newest first."""
        rows = await self._all(
            "SELECT * FROM visits WHERE client_id = ? ORDER BY visited_at DESC, id DESC LIMIT ?",
            (client_id, limit),
        )
        return [self._visit(row) for row in rows]

    async def forget_health(self, member_id: int, now: datetime) -> None:
        """Delete an erased member's readings, visits and alerts; end their care links."""
        alerts = "SELECT id FROM alerts WHERE member_id = ?"
        await self._run(f"DELETE FROM alert_acks WHERE alert_id IN ({alerts})", (member_id,))
        await self._run(f"DELETE FROM alert_recipients WHERE alert_id IN ({alerts})",
                        (member_id,))
        await self._run("DELETE FROM alerts WHERE member_id = ?", (member_id,))
        await self._run("DELETE FROM readings WHERE member_id = ?", (member_id,))
        await self._run("DELETE FROM visits WHERE client_id = ?", (member_id,))
        await self._run(
            "UPDATE care_links SET ended_at = ? "
            "WHERE (volunteer_id = ? OR client_id = ?) AND ended_at IS NULL",
            (_ts(now), member_id, member_id),
        )
