"""SQLite implementation of :class:`storage.meetings.MeetingStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from storage.meetings import DueInstalment, MeetingMove, MeetingRule
from storage.records import Member
from storage.sqlite_queries import IDENTITY_ORDER, SQLiteQueries, _dt, _in, _ts


class SQLiteMeetings(SQLiteQueries):
    """Meeting and reminder queries; mixed into ``SQLiteTransaction``."""

    @staticmethod
    def _rule(row: sqlite3.Row) -> MeetingRule:
        return MeetingRule(
            kind=row["kind"], day=row["day"], weekday=row["weekday"], nth=row["nth"],
            time=row["time"], place=row["place"], changed_by=row["changed_by"],
            changed_at=_dt(row["changed_at"]),
        )

    async def meeting_rule(self, club_id: int) -> MeetingRule | None:
        """The rule in force, or ``None`` until the chair sets one."""
        row = await self._one(
            "SELECT * FROM meeting_rules WHERE club_id = ? ORDER BY id DESC LIMIT 1", (club_id,)
        )
        return self._rule(row) if row else None

    async def meeting_rules(self, club_ids: Sequence[int]) -> dict[int, MeetingRule]:
        """The rule in force of each of these clubs that has one (one query per 500 clubs)."""
        found: dict[int, MeetingRule] = {}
        for start in range(0, len(club_ids), 500):
            chunk = list(club_ids[start:start + 500])
            rows = await self._all(
                f"SELECT * FROM meeting_rules WHERE club_id IN ({_in(chunk)}) "
                "ORDER BY club_id, id",
                chunk,
            )
            for row in rows:  # the latest of each club is the last
                found[row["club_id"]] = self._rule(row)
        return found

    async def meeting_moves_of(self, club_ids: Sequence[int]) -> dict[int, list[MeetingMove]]:
        """The moved meetings of each of these clubs (each club present, maybe empty)."""
        found: dict[int, list[MeetingMove]] = {club_id: [] for club_id in club_ids}
        for start in range(0, len(club_ids), 500):
            chunk = list(club_ids[start:start + 500])
            rows = await self._all(
                f"SELECT * FROM meeting_moves WHERE club_id IN ({_in(chunk)}) "
                "ORDER BY club_id, month",
                chunk,
            )
            for r in rows:
                found[r["club_id"]].append(MeetingMove(
                    r["month"], date.fromisoformat(r["day"]), r["time"], r["place"]))
        return found

    async def set_meeting_rule(
        self, club_id: int, rule: MeetingRule, by: int | None, now: datetime
    ) -> None:
        """Put a new rule in force (the old ones stay as history)."""
        await self._run(
            "INSERT INTO meeting_rules (club_id, kind, day, weekday, nth, time, place, "
            "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (club_id, rule.kind, rule.day, rule.weekday, rule.nth, rule.time, rule.place, by,
             _ts(now)),
        )

    async def meeting_moves(self, club_id: int) -> list[MeetingMove]:
        """The club's moved meetings."""
        rows = await self._all(
            "SELECT * FROM meeting_moves WHERE club_id = ? ORDER BY month", (club_id,)
        )
        return [MeetingMove(r["month"], date.fromisoformat(r["day"]), r["time"], r["place"])
                for r in rows]

    async def move_meeting(
        self, club_id: int, move: MeetingMove, by: int | None, now: datetime
    ) -> None:
        """Move one meeting (replacing an earlier move of the same month)."""
        await self._run(
            "INSERT INTO meeting_moves (club_id, month, day, time, place, moved_by, moved_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (club_id, month) DO UPDATE SET "
            "day = excluded.day, time = excluded.time, place = excluded.place, "
            "moved_by = excluded.moved_by, moved_at = excluded.moved_at",
            (club_id, move.month, move.day.isoformat(), move.time, move.place, by, _ts(now)),
        )

    async def record_attendance(
        self, club_id: int, day: date, present: Iterable[int], absent: Iterable[int],
        by: int | None, now: datetime,
    ) -> None:
        """Record who came to the meeting of ``day`` (replacing an earlier record of it)."""
        await self._run("DELETE FROM attendance WHERE club_id = ? AND day = ?",
                        (club_id, day.isoformat()))
        rows = [(club_id, day.isoformat(), m, came, by, _ts(now))
                for came, members in ((1, present), (0, absent)) for m in members]
        await self._many(
            "INSERT INTO attendance (club_id, day, member_id, present, recorded_by, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def attendance(self, club_id: int, limit: int = 2) -> list[tuple[date, dict[int, bool]]]:
        """The last ``limit`` meetings with attendance, newest first."""
        days = [r["day"] for r in await self._all(
            "SELECT DISTINCT day FROM attendance WHERE club_id = ? ORDER BY day DESC LIMIT ?",
            (club_id, limit),
        )]
        result = []
        for day in days:
            rows = await self._all(
                "SELECT member_id, present FROM attendance WHERE club_id = ? AND day = ?",
                (club_id, day),
            )
            result.append((date.fromisoformat(day),
                           {r["member_id"]: bool(r["present"]) for r in rows}))
        return result

    async def members_joined_before(self, club_id: int, until: datetime) -> list[Member]:
        """Active members who had joined (approved, else registered) before ``until``."""
        rows = await self._all(
            "SELECT * FROM members WHERE club_id = ? AND status = 'active' "
            "AND COALESCE(approved_at, registered_at) < ? ORDER BY full_name COLLATE NOCASE, id",
            (club_id, _ts(until)),
        )
        return [self._member(row) for row in rows]

    async def set_reminder_pause(
        self, member_id: int, kind: str, paused: bool, now: datetime
    ) -> None:
        """Pause or restart a member's reminders of one kind (kept with the time)."""
        await self._run(
            "INSERT INTO reminder_pauses (member_id, kind, paused, changed_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (member_id, kind) DO UPDATE SET "
            "paused = excluded.paused, changed_at = excluded.changed_at",
            (member_id, kind, int(paused), _ts(now)),
        )

    async def paused_kinds(self, member_id: int) -> frozenset[str]:
        """The kinds of reminders a member has paused."""
        rows = await self._all(
            "SELECT kind FROM reminder_pauses WHERE member_id = ? AND paused = 1", (member_id,)
        )
        return frozenset(r["kind"] for r in rows)

    async def paused_members(self, kind: str, member_ids: Sequence[int] | None) -> set[int]:
        """Which of ``member_ids`` have paused ``kind`` (``None``: every member who has)."""
        if member_ids is None:
            rows = await self._all(
                "SELECT member_id FROM reminder_pauses WHERE kind = ? AND paused = 1", (kind,)
            )
            return {r[0] for r in rows}
        found: set[int] = set()
        for start in range(0, len(member_ids), 500):
            chunk = list(member_ids[start:start + 500])
            rows = await self._all(
                f"SELECT member_id FROM reminder_pauses WHERE kind = ? AND paused = 1 "
                f"AND member_id IN ({_in(chunk)})",
                (kind, *chunk),
            )
            found.update(r["member_id"] for r in rows)
        return found

    async def new_reminder_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` were never queued."""
        known: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            rows = await self._all(f"SELECT key FROM reminders WHERE key IN ({_in(chunk)})",
                                   chunk)
            known.update(r["key"] for r in rows)
        return set(keys) - known

    async def record_reminder(
        self, key: str, club_id: int, member_id: int, kind: str, due_at: datetime,
        now: datetime, outbox_id: int | None,
    ) -> bool:
        """Remember a queued reminder; ``False`` if its key was queued before."""
        cursor = await self._run(
            "INSERT INTO reminders (key, club_id, member_id, kind, due_at, queued_at, "
            "outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, club_id, member_id, kind, _ts(due_at), _ts(now), outbox_id),
        )
        return cursor.rowcount == 1

    async def due_instalments(self, club_ids: Sequence[int] | None) -> list[DueInstalment]:
        """Each open loan's next unpaid instalment (all clubs when ``club_ids`` is None)."""
        if club_ids is not None and not club_ids:
            return []
        where, args = ("", []) if club_ids is None else (
            f"AND b.club_id IN ({_in(club_ids)})", list(club_ids))
        rows = await self._all(
            "SELECT b.club_id, b.loan_id, b.member_id, i.due, "
            "i.cum_total - b.principal_paid - b.interest_paid AS amount "
            "FROM loan_balances b JOIN installments i ON i.loan_id = b.loan_id "
            "AND i.number = (SELECT MIN(j.number) FROM installments j WHERE j.loan_id = "
            "b.loan_id AND j.cum_total > b.principal_paid + b.interest_paid) "
            f"WHERE b.outstanding > 0 {where}",
            args,
        )
        return [DueInstalment(r["club_id"], r["loan_id"], r["member_id"],
                              date.fromisoformat(r["due"]), r["amount"]) for r in rows]

    async def active_member_ids(self, club_ids: Sequence[int]) -> dict[int, list[int]]:
        """Active members of each club."""
        found: dict[int, list[int]] = {club_id: [] for club_id in club_ids}
        for start in range(0, len(club_ids), 500):
            chunk = list(club_ids[start:start + 500])
            rows = await self._all(
                f"SELECT club_id, id FROM members WHERE status = 'active' "
                f"AND club_id IN ({_in(chunk)}) ORDER BY club_id, id",
                chunk,
            )
            for club_id, member_id in rows:
                found[club_id].append(member_id)
        return found

    async def member_channels(self, club_ids: Sequence[int]) -> dict[int, str]:
        """The channel each member of these clubs is written to (member id -> channel).

        That of the account a message to the member goes to (see ``identities_of``: the
        chosen one first, then the most recently used), among the reachable ones; members
        without one are left out.
        """
        found: dict[int, str] = {}
        for start in range(0, len(club_ids), 500):
            chunk = list(club_ids[start:start + 500])
            rows = await self._all(
                "SELECT i.member_id, i.channel FROM identities i JOIN members m ON m.id = "
                f"i.member_id WHERE m.club_id IN ({_in(chunk)}) AND i.unreachable = 0 "
                f"ORDER BY i.member_id, {IDENTITY_ORDER.format(t='i.')}",
                chunk,
            )
            for member_id, channel in rows:
                found.setdefault(member_id, channel)
        return found
