"""SQLite implementation of :class:`storage.reports.ReportStore`."""

from __future__ import annotations

from datetime import date, timedelta


class SQLiteReports:
    """Monthly report queries; mixed into ``SQLiteTransaction``."""

    async def month_figures(self, club_id: int, start: date, end: date) -> dict[str, int]:
        """Every figure of the club's month ``start``..``end`` (inclusive), by key."""
        first, last = start.isoformat(), end.isoformat()
        after = (end + timedelta(days=1)).isoformat()  # timestamps before this are in the month
        figures: dict[str, int] = {}

        async def put(sql: str, *args: object) -> None:
            row = await self._one(sql, args)
            assert row is not None
            figures.update({key: int(value or 0) for key, value in dict(row).items()})

        await put(
            "SELECT COUNT(*) AS members, SUM(sex = 'female') AS women, "
            "SUM(? - birth_year < 60) AS age_under_60, "
            "SUM(? - birth_year BETWEEN 60 AND 69) AS age_60_69, "
            "SUM(? - birth_year BETWEEN 70 AND 79) AS age_70_79, "
            "SUM(? - birth_year >= 80) AS age_80_up, "
            "SUM(household IN ('poor', 'near_poor')) AS poor_near_poor "
            "FROM members WHERE club_id = ? AND status = 'active' AND registered_at < ?",
            end.year, end.year, end.year, end.year, club_id, after,
        )
        await put(
            "SELECT SUM(status = 'active' AND decided_at >= ? AND decided_at < ?) AS joined, "
            "SUM(status = 'erased' AND decided_at >= ? AND decided_at < ?) AS left_club "
            "FROM members WHERE club_id = ?",
            first, after, first, after, club_id,
        )
        await put(
            "SELECT COUNT(DISTINCT day) AS meetings, "
            "COALESCE((SELECT SUM(present) FROM attendance a2 WHERE a2.club_id = ? AND a2.day = "
            "(SELECT MAX(day) FROM attendance a3 WHERE a3.club_id = ? AND a3.day BETWEEN ? AND ?)"
            "), 0) AS attended FROM attendance WHERE club_id = ? AND day BETWEEN ? AND ?",
            club_id, club_id, first, last, club_id, first, last,
        )
        await put(
            "SELECT SUM(CASE WHEN day < ? THEN cash ELSE 0 END) AS opening_cash, "
            "SUM(CASE WHEN day <= ? THEN cash ELSE 0 END) AS closing_cash, "
            "SUM(CASE WHEN day <= ? THEN principal ELSE 0 END) AS outstanding, "
            "SUM(CASE WHEN kind = 'disbursement' AND day BETWEEN ? AND ? THEN principal "
            "ELSE 0 END) AS disbursed, "
            "SUM(kind = 'disbursement' AND reverses IS NULL AND day BETWEEN ? AND ? AND id NOT IN "
            "(SELECT reverses FROM ledger WHERE reverses IS NOT NULL)) AS loans_given, "
            "SUM(CASE WHEN kind = 'repayment' AND day BETWEEN ? AND ? THEN -principal "
            "ELSE 0 END) AS repaid, "
            "SUM(CASE WHEN day BETWEEN ? AND ? THEN interest ELSE 0 END) AS interest, "
            "SUM(CASE WHEN kind = 'contribution' AND day BETWEEN ? AND ? THEN cash "
            "ELSE 0 END) AS contributions "
            "FROM ledger WHERE club_id = ?",
            first, last, last, first, last, first, last, first, last, first, last, first, last,
            club_id,
        )
        await put(
            "SELECT COUNT(DISTINCT member_id) AS borrowers FROM (SELECT member_id, loan_id, "
            "SUM(principal) AS owed FROM ledger WHERE club_id = ? AND loan_id IS NOT NULL "
            "AND day <= ? GROUP BY loan_id HAVING owed > 0)",
            club_id, last,
        )
        await put(
            "SELECT COUNT(DISTINCT member_id) AS measured, "
            "SUM(urgent) AS urgent_readings FROM readings WHERE club_id = ? AND day BETWEEN ? "
            "AND ?",
            club_id, first, last,
        )
        await put(
            "SELECT COUNT(*) AS measured_high FROM readings r WHERE r.club_id = ? AND r.high = 1 "
            "AND r.id = (SELECT id FROM readings WHERE member_id = r.member_id AND day BETWEEN "
            "? AND ? ORDER BY measured_at DESC, id DESC LIMIT 1)",
            club_id, first, last,
        )
        await put(
            "SELECT COUNT(DISTINCT client_id) AS clients, COUNT(DISTINCT volunteer_id) AS "
            "volunteers FROM care_links WHERE club_id = ? AND assigned_at < ? AND (ended_at IS "
            "NULL OR ended_at >= ?)",
            club_id, after, after,
        )
        await put(
            "SELECT COUNT(*) AS visits FROM visits WHERE club_id = ? AND day BETWEEN ? AND ?",
            club_id, first, last,
        )
        await put(
            "SELECT COUNT(*) AS clients_unvisited FROM (SELECT DISTINCT client_id FROM "
            "care_links WHERE club_id = ? AND assigned_at < ? AND (ended_at IS NULL OR "
            "ended_at >= ?)) c WHERE NOT EXISTS (SELECT 1 FROM visits v WHERE v.client_id = "
            "c.client_id AND v.day BETWEEN ? AND ?)",
            club_id, after, after, (end - timedelta(days=13)).isoformat(), last,
        )
        await put(
            "SELECT COUNT(*) AS reminders FROM reminders WHERE club_id = ? AND queued_at >= ? "
            "AND queued_at < ?",
            club_id, first, after,
        )
        return figures
