"""SQLite implementation of :class:`storage.archive.ArchiveStore`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

from storage.archive import Row
from storage.sqlite_queries import SQLiteQueries, _dt

_NAME = "(SELECT full_name FROM members n WHERE n.id = {})"


def _rows(
    rows: Iterable[sqlite3.Row],
    days: tuple[str, ...] = (),
    moments: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    lists: tuple[str, ...] = (),
) -> list[Row]:
    """Plain dicts, with days, moments, yes/no flags and JSON lists decoded."""
    found = []
    for row in rows:
        values: dict[str, Any] = dict(row)
        for key in days:
            values[key] = date.fromisoformat(values[key]) if values[key] else None
        for key in moments:
            values[key] = _dt(values[key])
        for key in flags:
            values[key] = bool(values[key])
        for key in lists:
            values[key] = json.loads(values[key]) if values[key] else []
        found.append(values)
    return found


class SQLiteArchive(SQLiteQueries):
    """A club's records for the data export; mixed into ``SQLiteTransaction``.

    The transaction provides ``_all`` (from ``SQLiteLedger``).
    """

    async def archive_members(self, club_id: int) -> list[Row]:
        """Every member row of the club; an erased one keeps only its number and dates."""
        kept = "CASE WHEN m.status = 'erased' THEN NULL ELSE m.{0} END AS {0}"
        rows = await self._all(
            "SELECT m.id, m.full_name, "
            + ", ".join(kept.format(column) for column in (
                "sex", "birth_year", "birth_date", "phone", "village", "household", "ethnicity"))
            + ", m.status, m.registered_at, m.decided_at, "
            "(SELECT group_concat(role) FROM member_roles r WHERE r.member_id = m.id) AS roles "
            "FROM members m WHERE m.club_id = ? ORDER BY m.id",
            (club_id,),
        )
        found = _rows(rows, days=("birth_date",), moments=("registered_at", "decided_at"))
        for values in found:
            values["roles"] = sorted(values["roles"].split(",")) if values["roles"] else []
        return found

    async def archive_loans(self, club_id: int) -> list[Row]:
        """Every loan of the club, with what has been repaid and what is still owed."""
        rows = await self._all(
            "SELECT l.id, l.member_id, " + _NAME.format("l.member_id") + " AS member_name, "
            "l.principal, l.purpose, l.rate_bp, l.term_months, l.schedule, l.start_date, "
            "l.first_due, l.due_day, l.carried_over, "
            "COALESCE(b.principal_paid, 0) AS principal_paid, "
            "COALESCE(b.interest_paid, 0) AS interest_paid, "
            "COALESCE(b.outstanding, 0) AS outstanding, "
            + _NAME.format("l.created_by") + " AS created_by_name, l.created_at "
            "FROM loans l LEFT JOIN loan_balances b ON b.loan_id = l.id "
            "WHERE l.club_id = ? ORDER BY l.id",
            (club_id,),
        )
        return _rows(rows, days=("start_date", "first_due"), moments=("created_at",),
                     flags=("carried_over",))

    async def archive_ledger(self, club_id: int) -> list[Row]:
        """Every ledger entry of the club, reversals included."""
        rows = await self._all(
            "SELECT e.id, e.day, e.kind, e.member_id, " + _NAME.format("e.member_id")
            + " AS member_name, e.loan_id, e.principal, e.interest, e.cash, e.reverses, "
            "(SELECT r.id FROM ledger r WHERE r.reverses = e.id) AS reversed_by, e.note, "
            + _NAME.format("e.recorded_by") + " AS recorded_by_name, "
            + _NAME.format("e.confirmed_by") + " AS confirmed_by_name, e.created_at "
            "FROM ledger e WHERE e.club_id = ? ORDER BY e.id",
            (club_id,),
        )
        return _rows(rows, days=("day",), moments=("created_at",))

    async def archive_readings(self, club_id: int) -> list[Row]:
        """Every blood-pressure and weight reading of the club's members."""
        rows = await self._all(
            "SELECT r.id, r.day, r.measured_at, r.member_id, " + _NAME.format("r.member_id")
            + " AS member_name, r.systolic, r.diastolic, r.pulse, r.weight_tenths, r.grade, "
            "r.high, r.urgent, r.first_systolic, r.first_diastolic, r.symptoms, r.place, "
            + _NAME.format("r.recorded_by") + " AS recorded_by_name "
            "FROM readings r WHERE r.club_id = ? ORDER BY r.measured_at, r.id",
            (club_id,),
        )
        return _rows(rows, days=("day",), moments=("measured_at",), flags=("high", "urgent"),
                     lists=("symptoms",))

    async def archive_visits(self, club_id: int) -> list[Row]:
        """Every home visit of the club."""
        rows = await self._all(
            "SELECT v.id, v.day, v.visited_at, v.client_id, " + _NAME.format("v.client_id")
            + " AS client_name, v.volunteer_id, " + _NAME.format("v.volunteer_id")
            + " AS volunteer_name, v.services, v.concern, v.note "
            "FROM visits v WHERE v.club_id = ? ORDER BY v.visited_at, v.id",
            (club_id,),
        )
        return _rows(rows, days=("day",), moments=("visited_at",), lists=("services",))

    async def archive_attendance(self, club_id: int) -> list[Row]:
        """Every attendance mark of the club's meetings."""
        rows = await self._all(
            "SELECT a.day, a.member_id, " + _NAME.format("a.member_id") + " AS member_name, "
            "a.present, " + _NAME.format("a.recorded_by") + " AS recorded_by_name, "
            "a.recorded_at FROM attendance a WHERE a.club_id = ? "
            "ORDER BY a.day, member_name, a.member_id",
            (club_id,),
        )
        return _rows(rows, days=("day",), moments=("recorded_at",), flags=("present",))
