"""SQLite implementation of :class:`storage.reports.ReportStore`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.reports import CLUB_TZ
from storage.sqlite_queries import SQLiteQueries, _ts


class SQLiteReports(SQLiteQueries):
    """Monthly report queries; mixed into ``SQLiteTransaction``."""

    async def month_figures(
        self, club_id: int, start: date, end: date, tz: str = CLUB_TZ, today: date | None = None
    ) -> dict[str, int]:
        """Every figure of the club's month ``start``..``end`` (inclusive), by key.

        One club is an area of one: the same queries as :meth:`area_month_figures`.
        """
        return (await self.area_month_figures([club_id], start, end, tz, today))[club_id]

    async def month_series(
        self, club_id: int, start: date, end: date
    ) -> list[dict[str, int | str]]:
        """Cash, principal owed, members measured (high) and visits of each month, oldest first.

        Four queries whatever the number of months: the ledger's sums before the first month
        and by month (running totals are added up here), the last reading of each member in
        each month, and the visits by month.
        """
        first, last = start.replace(day=1).isoformat(), end.isoformat()
        months: list[str] = []
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        series: dict[str, dict[str, int | str]] = {
            m: {"month": m, "closing_cash": 0, "outstanding": 0, "measured": 0,
                "measured_high": 0, "visits": 0} for m in months
        }
        moved = {
            row["month"]: (row["cash"], row["principal"]) for row in await self._all(
                "SELECT CASE WHEN day < ? THEN '' ELSE substr(day, 1, 7) END AS month, "
                "SUM(cash) AS cash, SUM(principal) AS principal FROM ledger "
                "WHERE club_id = ? AND day <= ? GROUP BY 1",
                (first, club_id, last),
            )
        }
        cash, owed = moved.get("", (0, 0))
        for m in months:
            cash_moved, principal_moved = moved.get(m, (0, 0))
            cash, owed = cash + cash_moved, owed + principal_moved
            series[m].update(closing_cash=cash, outstanding=owed)
        for row in await self._all(
            # Each member's last reading of each month (as month_figures' measured_high).
            "SELECT month, COUNT(*) AS measured, SUM(high) AS measured_high FROM ("
            "SELECT substr(day, 1, 7) AS month, high, ROW_NUMBER() OVER (PARTITION BY "
            "member_id, substr(day, 1, 7) ORDER BY measured_at DESC, id DESC) AS n "
            "FROM readings WHERE club_id = ? AND day BETWEEN ? AND ?) AS r WHERE n = 1 "
            "GROUP BY month",
            (club_id, first, last),
        ):
            series[row["month"]].update(measured=row["measured"],
                                        measured_high=row["measured_high"])
        for row in await self._all(
            "SELECT substr(day, 1, 7) AS month, COUNT(*) AS visits FROM visits "
            "WHERE club_id = ? AND day BETWEEN ? AND ? GROUP BY month",
            (club_id, first, last),
        ):
            series[row["month"]]["visits"] = row["visits"]
        return [series[m] for m in months]

    async def area_month_figures(
        self, club_ids: list[int], start: date, end: date, tz: str = CLUB_TZ,
        today: date | None = None,
    ) -> dict[int, dict[str, int]]:
        """Every figure of the month for many clubs at once, by club (see ``ReportStore``).

        The definitions of ``bot.report.FIGURES``, grouped by club (:meth:`month_figures` is
        this for one club). ``meeting_day`` is the last meeting's day as ``YYYYMMDD``.
        Balances at the end of a past month are the balances kept by the ledger's triggers
        (``fund_balances``, ``loan_balances``) less the entries dated after it, so only the
        month and what followed it are read (index ``ledger_club_day``), not every year of the
        ledger. What is measured at a day (overdue loans, clients without a visit) is measured
        at the month's end, or at ``today`` for the month still running.
        """
        first, last = start.isoformat(), end.isoformat()  # for days
        at = min(end, today) if today is not None else end
        as_of = at.isoformat()
        # For moments (stored in UTC): the month runs from midnight to midnight, club time.
        zone = ZoneInfo(tz)
        since = _ts(datetime.combine(start, time(), zone))
        until = _ts(datetime.combine(end + timedelta(days=1), time(), zone))
        ids = "[" + ",".join(str(int(club_id)) for club_id in club_ids) + "]"
        clubs = "club_id IN (SELECT value FROM json_each(?))"
        keys = ("members", "women", "age_under_60", "age_60_69", "age_70_79", "age_80_up",
                "poor_near_poor", "joined", "left_club", "meetings", "meeting_day", "attended",
                "opening_cash", "closing_cash", "outstanding", "disbursed", "loans_given",
                "repaid", "interest", "contributions", "borrowers", "overdue_loans",
                "overdue_amount", "measured", "urgent_readings", "referred", "measured_high",
                "clients", "volunteers", "visits", "clients_unvisited", "reminders",
                "ledger_entries", "alerts", "alerts_answered", "alerts_escalated")
        figures = {club_id: dict.fromkeys(keys, 0) for club_id in club_ids}

        async def put(sql: str, *args: object) -> None:
            for row in await self._all(sql, args):
                values = dict(row)
                club = figures.get(values.pop("club_id"))
                if club is not None:
                    club.update({key: int(value or 0) for key, value in values.items()})

        await put(
            "SELECT club_id, SUM(a) AS members, "
            "SUM(CASE WHEN a = 1 AND sex = 'female' THEN 1 ELSE 0 END) AS women, "
            "SUM(CASE WHEN a = 1 AND ? - birth_year < 60 THEN 1 ELSE 0 END) AS age_under_60, "
            "SUM(CASE WHEN a = 1 AND ? - birth_year BETWEEN 60 AND 69 THEN 1 ELSE 0 END) "
            "AS age_60_69, "
            "SUM(CASE WHEN a = 1 AND ? - birth_year BETWEEN 70 AND 79 THEN 1 ELSE 0 END) "
            "AS age_70_79, "
            "SUM(CASE WHEN a = 1 AND ? - birth_year >= 80 THEN 1 ELSE 0 END) AS age_80_up, "
            "SUM(CASE WHEN a = 1 AND household IN ('poor', 'near_poor') THEN 1 ELSE 0 END) "
            "AS poor_near_poor, "
            "SUM(CASE WHEN approved_at >= ? AND approved_at < ? THEN 1 ELSE 0 END) AS joined, "
            "SUM(CASE WHEN status = 'erased' AND decided_at >= ? AND decided_at < ? THEN 1 "
            "ELSE 0 END) AS left_club "
            # A member at the month's end: approved by then (the board, set up with the club,
            # has no approval: its registration counts), and active, or erased since then
            # (erasure keeps sex, birth year, household and approval), so a past month stays.
            "FROM (SELECT club_id, sex, birth_year, household, status, decided_at, approved_at, "
            "CASE WHEN COALESCE(approved_at, registered_at) < ? AND (status = 'active' OR "
            "(status = 'erased' AND decided_at >= ?)) THEN 1 ELSE 0 END AS a "
            f"FROM members WHERE {clubs}) AS m GROUP BY club_id",
            end.year, end.year, end.year, end.year, since, until, since, until, until, until,
            ids,
        )
        await put(
            "SELECT d.club_id, d.meetings, CAST(REPLACE(d.last_day, '-', '') AS INTEGER) "
            "AS meeting_day, (SELECT SUM(present) FROM attendance a "
            "WHERE a.club_id = d.club_id AND a.day = d.last_day) AS attended "
            "FROM (SELECT club_id, COUNT(DISTINCT day) AS meetings, MAX(day) AS last_day "
            f"FROM attendance WHERE {clubs} AND day BETWEEN ? AND ? GROUP BY club_id) d",
            ids, first, last,
        )
        balances = {row["club_id"]: (row["cash"], row["lent_out"]) for row in await self._all(
            f"SELECT club_id, cash, lent_out FROM fund_balances WHERE {clubs}", (ids,))}
        for club_id, club in figures.items():
            cash, lent_out = balances.get(club_id, (0, 0))
            club.update(opening_cash=cash, closing_cash=cash, outstanding=lent_out)
        for row in await self._all(
            "SELECT club_id, SUM(cash) AS cash_from_first, "
            "SUM(CASE WHEN day > ? THEN cash ELSE 0 END) AS cash_after, "
            "SUM(CASE WHEN day > ? THEN principal ELSE 0 END) AS principal_after, "
            "SUM(CASE WHEN day <= ? THEN 1 ELSE 0 END) AS ledger_entries, "
            "SUM(CASE WHEN kind = 'disbursement' AND day <= ? THEN principal ELSE 0 END) "
            "AS disbursed, "
            "SUM(CASE WHEN kind = 'disbursement' AND reverses IS NULL AND day <= ? AND id "
            "NOT IN (SELECT reverses FROM ledger WHERE reverses IS NOT NULL) THEN 1 ELSE 0 END) "
            "AS loans_given, "
            "SUM(CASE WHEN kind = 'repayment' AND day <= ? THEN -principal ELSE 0 END) "
            "AS repaid, "
            "SUM(CASE WHEN day <= ? THEN interest ELSE 0 END) AS interest, "
            "SUM(CASE WHEN kind = 'contribution' AND day <= ? THEN cash ELSE 0 END) "
            f"AS contributions FROM ledger WHERE {clubs} AND day >= ? GROUP BY club_id",
            (last, last, last, last, last, last, last, last, ids, first),
        ):
            club = figures.get(row["club_id"])
            if club is None:
                continue
            club.update({key: int(row[key] or 0) for key in (
                "ledger_entries", "disbursed", "loans_given", "repaid", "interest",
                "contributions")})
            club["opening_cash"] -= int(row["cash_from_first"] or 0)
            club["closing_cash"] -= int(row["cash_after"] or 0)
            club["outstanding"] -= int(row["principal_after"] or 0)
        await put(
            # A loan's principal owed at the end of the month is its balance now less what
            # moved after; only loans open now or moved since can owe anything then.
            "WITH moved AS (SELECT loan_id, SUM(principal) AS principal FROM ledger WHERE "
            f"{clubs} AND day > ? AND loan_id IS NOT NULL GROUP BY loan_id), "
            "owed AS (SELECT b.club_id, b.member_id, b.outstanding - COALESCE(m.principal, 0) "
            "AS owed FROM loan_balances b LEFT JOIN moved m ON m.loan_id = b.loan_id "
            f"WHERE b.{clubs} AND b.outstanding > 0 "
            "UNION ALL SELECT b.club_id, b.member_id, b.outstanding - m.principal FROM moved m "
            "JOIN loan_balances b ON b.loan_id = m.loan_id WHERE b.outstanding = 0) "
            "SELECT club_id, COUNT(DISTINCT member_id) AS borrowers FROM owed WHERE owed > 0 "
            "GROUP BY club_id",
            ids, last, ids,
        )
        await put(
            # Overdue at the month's end (or today): a loan still owing principal then whose
            # instalments due by then (principal and interest, ``cum_total``) exceed what it
            # had paid.
            "WITH moved AS (SELECT loan_id, SUM(principal) AS principal, SUM(CASE WHEN "
            "kind = 'repayment' THEN interest - principal ELSE 0 END) AS paid FROM ledger "
            f"WHERE {clubs} AND day > ? AND loan_id IS NOT NULL GROUP BY loan_id), "
            # (open loans through the index of open loans, and those moved since)
            "at_end AS (SELECT b.club_id, b.loan_id, b.outstanding - COALESCE(m.principal, 0) "
            "AS owed, b.principal_paid + b.interest_paid - COALESCE(m.paid, 0) AS paid "
            "FROM loan_balances b LEFT JOIN moved m ON m.loan_id = b.loan_id "
            f"WHERE b.{clubs} AND b.outstanding > 0 "
            "UNION ALL SELECT b.club_id, b.loan_id, b.outstanding - m.principal, "
            "b.principal_paid + b.interest_paid - m.paid FROM moved m "
            "JOIN loan_balances b ON b.loan_id = m.loan_id WHERE b.outstanding = 0), "
            "late AS (SELECT e.club_id, MAX(i.cum_total) - e.paid AS amount FROM at_end e "
            "JOIN installments i ON i.loan_id = e.loan_id AND i.due <= ? WHERE e.owed > 0 "
            "GROUP BY e.loan_id, e.club_id, e.paid) "
            "SELECT club_id, COUNT(*) AS overdue_loans, SUM(amount) AS overdue_amount "
            "FROM late WHERE amount > 0 GROUP BY club_id",
            ids, as_of, ids, as_of,
        )
        await put(
            # Each member's last reading of the month (as month_figures' measured_high).
            "SELECT club_id, SUM(CASE WHEN n = 1 THEN 1 ELSE 0 END) AS measured, "
            "SUM(urgent) AS urgent_readings, "
            "COUNT(DISTINCT CASE WHEN urgent = 1 THEN member_id END) AS referred, "
            "SUM(CASE WHEN n = 1 AND high = 1 THEN 1 ELSE 0 END) AS measured_high "
            "FROM (SELECT club_id, member_id, "
            "high, urgent, ROW_NUMBER() OVER (PARTITION BY club_id, member_id ORDER BY "
            f"measured_at DESC, id DESC) AS n FROM readings WHERE {clubs} AND day BETWEEN ? "
            "AND ?) AS r GROUP BY club_id",
            ids, first, last,
        )
        await put(
            "SELECT club_id, COUNT(DISTINCT client_id) AS clients, COUNT(DISTINCT volunteer_id) "
            f"AS volunteers FROM care_links WHERE {clubs} AND assigned_at < ? AND (ended_at IS "
            "NULL OR ended_at >= ?) GROUP BY club_id",
            ids, until, until,
        )
        await put(
            f"SELECT club_id, COUNT(*) AS visits FROM visits WHERE {clubs} AND day BETWEEN ? "
            "AND ? GROUP BY club_id",
            ids, first, last,
        )
        await put(
            "SELECT club_id, COUNT(*) AS clients_unvisited FROM (SELECT DISTINCT club_id, "
            f"client_id FROM care_links WHERE {clubs} AND assigned_at < ? AND (ended_at IS NULL "
            "OR ended_at >= ?)) c WHERE NOT EXISTS (SELECT 1 FROM visits v WHERE v.client_id = "
            "c.client_id AND v.day BETWEEN ? AND ?) GROUP BY club_id",
            ids, until, until, (at - timedelta(days=13)).isoformat(), as_of,
        )
        await put(
            f"SELECT club_id, COUNT(*) AS reminders FROM reminders WHERE {clubs} AND "
            "queued_at >= ? AND queued_at < ? GROUP BY club_id",
            ids, since, until,
        )
        alerts = await self.alert_month_counts(  # of SQLiteAlerts, in the same transaction
            club_ids, datetime.fromisoformat(since), datetime.fromisoformat(until))
        for club_id, counts in alerts.items():
            figures[club_id].update(counts)
        return figures
