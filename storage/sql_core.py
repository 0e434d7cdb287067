"""The core queries both backends share (inbox, sessions, outbox, clubs, members, accounts).

The SQL is written once, in the dialect SQLite and PostgreSQL agree on (``?`` parameters,
``RETURNING``, ``ON CONFLICT``); the PostgreSQL backend rewrites what little differs
(:func:`storage.postgres_dialect.translate`). Statements go through ``_one``, ``_all``,
``_run`` and ``_many`` of the backend's query base.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from storage.base import (
    Arrival,
    Club,
    Consent,
    Identity,
    Invite,
    Member,
    NewMember,
    OutboxItem,
    Session,
)
from storage.sqlite_queries import IDENTITY_ORDER, Row, SQLiteQueries, _dt, _ts

MEMBERSHIP = (
    "SELECT members.*, clubs.id AS c_id, clubs.name AS c_name, clubs.commune AS "
    "c_commune, clubs.district AS c_district, clubs.province AS c_province, "
    "clubs.meeting_day AS c_meeting_day, clubs.created_at AS c_created_at, "
    "clubs.province_code AS c_province_code, clubs.commune_code AS c_commune_code, "
    "(SELECT group_concat(role) FROM member_roles r WHERE r.member_id = members.id) "
    "AS roles FROM members JOIN clubs ON clubs.id = members.club_id"
)
"""A member with their club (columns ``c_*``) and roles; ``WHERE`` follows (``_membership``)."""
OUTBOX_COLUMNS = (
    "channel, chat_id, payload, next_attempt_at, dedupe_key, created_at, not_before, "
    "expires_at, quiet, guard, claimed_by, claimed_until"
)
"""The columns a queued reply is inserted with (``_outbox_values``)."""
SESSION = "SELECT * FROM sessions WHERE channel = ? AND chat_id = ?"
"""The conversation in progress in a chat: ``(channel, chat_id)``."""
TOUCH_IDENTITY = (
    "INSERT INTO identities (channel, user_id, chat_id, display_name, locale, "
    "last_seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id) DO UPDATE "
    "SET chat_id = excluded.chat_id, display_name = excluded.display_name, "
    "last_seen_at = excluded.last_seen_at, unreachable = 0 RETURNING *"
)
"""A chat account created or refreshed: ``(channel, user_id, chat_id, name, locale, at)``."""


class CoreQueries(SQLiteQueries):
    """The core tables' queries; mixed into each backend's transaction."""

    # Inbox, sessions, outbox, settings

    async def record_inbound(self, channel: str, external_id: str, now: datetime) -> bool:
        """Remember an update; ``False`` if it was seen before."""
        cursor = await self._run(
            "INSERT INTO inbox (channel, external_id, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (channel, external_id, _ts(now)),
        )
        return cursor.rowcount == 1

    async def begin_update(
        self, channel: str, chat_id: str, external_id: str, now: datetime
    ) -> bool:
        """``record_inbound``: one service per SQLite file, whose per-chat lock is enough."""
        return await self.record_inbound(channel, external_id, now)

    async def arrival(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        locale: str | None,
        now: datetime,
    ) -> Arrival:
        """The chat account refreshed, its membership and grant, and the chat's session."""
        identity = await self.touch_identity(channel, user_id, chat_id, display_name, locale,
                                             now)
        membership = await self.membership(identity.member_id) if identity.member_id else None
        operator = await self.operator_for(channel, user_id)
        session = await self.get_session(channel, chat_id)
        return Arrival(identity, membership, operator, session)

    async def prune_inbox(self, before: datetime) -> int:
        """Forget updates received before ``before``."""
        cursor = await self._run("DELETE FROM inbox WHERE received_at < ?", (_ts(before),))
        return cursor.rowcount

    @staticmethod
    def _session(row: Row) -> Session:
        return Session(
            channel=row["channel"],
            chat_id=row["chat_id"],
            flow_id=row["flow_id"],
            step_id=row["step_id"],
            session_id=row["session_id"],
            data=json.loads(row["data"]),
            expires_at=_dt(row["expires_at"]),
            version=row["version"],
            revision=row["revision"],
        )

    async def get_session(self, channel: str, chat_id: str) -> Session | None:
        """Return the conversation in progress in a chat."""
        row = await self._one(SESSION, (channel, chat_id))
        return self._session(row) if row else None

    async def save_session(self, session: Session) -> Session:
        """Insert or update a session and bump its version."""
        row = await self._one(
            "INSERT INTO sessions (channel, chat_id, flow_id, step_id, session_id, data, "
            "expires_at, revision, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (channel, chat_id) DO UPDATE SET flow_id = excluded.flow_id, "
            "step_id = excluded.step_id, session_id = excluded.session_id, "
            "data = excluded.data, expires_at = excluded.expires_at, "
            "revision = excluded.revision, version = sessions.version + 1 RETURNING *",
            (
                session.channel,
                session.chat_id,
                session.flow_id,
                session.step_id,
                session.session_id,
                json.dumps(session.data, ensure_ascii=False, sort_keys=True),
                _ts(session.expires_at),
                session.revision,
            ),
        )
        assert row is not None
        return self._session(row)

    async def delete_session(self, channel: str, chat_id: str) -> None:
        """End the conversation in a chat."""
        await self._run(
            "DELETE FROM sessions WHERE channel = ? AND chat_id = ?", (channel, chat_id)
        )

    async def expired_sessions(self, now: datetime) -> list[Session]:
        """Sessions whose expiry has passed."""
        rows = await self._all(
            "SELECT * FROM sessions WHERE expires_at <= ? ORDER BY expires_at", (_ts(now),)
        )
        return [self._session(row) for row in rows]

    async def enqueue(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
        dedupe_key: str | None = None,
        *,
        not_before: datetime | None = None,
        expires_at: datetime | None = None,
        quiet: bool = False,
        guard: dict[str, Any] | None = None,
    ) -> int | None:
        """Queue a reply (with its promise, if any); ``None`` if ``dedupe_key`` was queued."""
        row = await self._one(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id",
            self._outbox_values(channel, chat_id, payload, now, dedupe_key, not_before,
                                expires_at, quiet, guard),
        )
        return row["id"] if row is not None else None

    def _outbox_values(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
        dedupe_key: str | None,
        not_before: datetime | None,
        expires_at: datetime | None,
        quiet: bool,
        guard: dict[str, Any] | None,
    ) -> tuple[Any, ...]:
        """The values of :data:`OUTBOX_COLUMNS` for a reply queued now."""
        first = max(now, not_before) if not_before is not None else now
        # A promise is for any process to send (see ``Transaction.shares_promises``).
        claimer, until = self._claim(now) if not_before is None else (None, None)
        return (
            channel,
            chat_id,
            json.dumps(payload, ensure_ascii=False),
            _ts(first),
            dedupe_key,
            _ts(now),
            _ts(not_before),
            _ts(expires_at),
            int(quiet),
            json.dumps(guard, sort_keys=True) if guard is not None else None,
            claimer,
            until,
        )

    async def enqueue_below(
        self,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        now: datetime,
        backlog: int,
        dedupe_key: str | None = None,
        *,
        not_before: datetime | None = None,
        expires_at: datetime | None = None,
        quiet: bool = False,
        guard: dict[str, Any] | None = None,
    ) -> tuple[int, int | None]:
        """How many replies wait for the chat; queue this one only if fewer than ``backlog``."""
        waiting = await self.waiting_for_chat(channel, chat_id)
        if waiting >= backlog:
            return waiting, None
        return waiting, await self.enqueue(channel, chat_id, payload, now, dedupe_key,
                                           not_before=not_before, expires_at=expires_at,
                                           quiet=quiet, guard=guard)

    async def renew_claims(self, now: datetime) -> None:
        """Keep this process's claims on what it still has to send (one process: nothing)."""

    @staticmethod
    def _outbox(row: Row) -> OutboxItem:
        return OutboxItem(
            id=row["id"],
            channel=row["channel"],
            chat_id=row["chat_id"],
            payload=json.loads(row["payload"]),
            attempts=row["attempts"],
            next_attempt_at=_dt(row["next_attempt_at"]),
            status=row["status"],
            not_before=_dt(row["not_before"]),
            expires_at=_dt(row["expires_at"]),
            quiet=bool(row["quiet"]),
            guard=json.loads(row["guard"]) if row["guard"] is not None else None,
        )

    async def due_outbox(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Pending replies whose time has come, oldest first."""
        rows = await self._all(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (_ts(now), limit),
        )
        return [self._outbox(row) for row in rows]

    async def pending_outbox(
        self, limit: int, now: datetime | None = None, *, skip_mine: bool = False
    ) -> list[OutboxItem]:
        """Pending replies, oldest first; with ``now``, promises not yet due are left out.

        ``skip_mine`` is for several processes; one process per database ignores it.
        """
        if now is None:
            rows = await self._all(
                "SELECT * FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,)
            )
        else:
            rows = await self._all(
                "SELECT * FROM outbox WHERE status = 'pending' AND (next_attempt_at <= ? OR "
                "(not_before IS NULL AND expires_at IS NULL AND quiet = 0 AND guard IS NULL)) "
                "ORDER BY id LIMIT ?",
                (_ts(now), limit),
            )
        return [self._outbox(row) for row in rows]

    async def get_outbox(self, item_id: int) -> OutboxItem | None:
        """One queued reply, whatever its status."""
        row = await self._one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return self._outbox(row) if row else None

    async def outbox_backlog(self, now: datetime) -> tuple[dict[str, int], datetime | None]:
        """Pending replies per channel, and when the oldest one that is due became due."""
        rows = await self._all(
            "SELECT channel, COUNT(*) AS n FROM outbox WHERE status = 'pending' GROUP BY channel"
        )
        oldest = await self._one(
            "SELECT MIN(next_attempt_at) AS at FROM outbox WHERE status = 'pending' "
            "AND next_attempt_at <= ?", (_ts(now),)
        )
        return {row["channel"]: row["n"] for row in rows}, _dt(oldest["at"] if oldest else None)

    async def waiting_for_chat(self, channel: str, chat_id: str) -> int:
        """How many replies to one chat are pending."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending' AND channel = ? "
            "AND chat_id = ?", (channel, chat_id)
        )
        return row["n"] if row else 0

    async def mark_sent(self, item_ids: Iterable[int], now: datetime) -> None:
        """Record that replies were delivered (one statement for many)."""
        ids = list(item_ids)
        if not ids:
            return
        await self._run(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 "
            "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'",
            (_ts(now), json.dumps(ids)),
        )

    async def retry_later(self, item_id: int, when: datetime, error: str) -> None:
        """Count a failed attempt and try again at ``when``."""
        await self._run(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE id = ?",
            (_ts(when), error[:500], item_id),
        )

    async def drop(self, item_id: int, error: str) -> None:
        """Give up on a reply that can never be delivered."""
        await self._run(
            "UPDATE outbox SET status = 'dropped', attempts = attempts + 1, last_error = ? "
            "WHERE id = ?",
            (error[:500], item_id),
        )

    async def postpone(self, item_id: int, when: datetime, reason: str) -> None:
        """Try a pending message again at ``when``; no attempt is counted."""
        await self._run(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ? "
            "WHERE id = ? AND status = 'pending'",
            (_ts(when), reason[:500], item_id),
        )

    async def expire(self, item_id: int, reason: str) -> None:
        """Give up on a pending message whose promise can no longer be kept."""
        await self._run(
            "UPDATE outbox SET status = 'expired', last_error = ? "
            "WHERE id = ? AND status = 'pending'",
            (reason[:500], item_id),
        )

    async def get_meta(self, key: str) -> str | None:
        """Read a setting."""
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Write a setting."""
        await self._run(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # Clubs, invites

    @staticmethod
    def _club(row: Row, prefix: str = "") -> Club:
        return Club(
            id=row[f"{prefix}id"],
            name=row[f"{prefix}name"],
            commune=row[f"{prefix}commune"],
            district=row[f"{prefix}district"],
            province=row[f"{prefix}province"],
            meeting_day=row[f"{prefix}meeting_day"],
            created_at=_dt(row[f"{prefix}created_at"]),
            province_code=row[f"{prefix}province_code"],
            commune_code=row[f"{prefix}commune_code"],
        )

    async def create_club(
        self,
        name: str,
        commune: str,
        district: str,
        province: str,
        meeting_day: int,
        now: datetime,
        province_code: int | None = None,
        commune_code: int | None = None,
    ) -> Club:
        """Create a club (its area's codes, when it is an official unit: bot/areas.py)."""
        row = await self._one(
            "INSERT INTO clubs (name, commune, district, province, meeting_day, created_at, "
            "province_code, commune_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (name, commune, district, province, meeting_day, _ts(now), province_code,
             commune_code),
        )
        club = await self.get_club(row["id"])
        assert club is not None
        return club

    async def set_club_area(
        self,
        club_id: int,
        province: tuple[int, str],
        commune: tuple[int, str],
    ) -> bool:
        """Put a club in an official unit: ``(code, official name)`` of its province and commune.

        The district column is left as it was (the old district, a historical label).
        ``False`` if there is no such club.
        """
        cursor = await self._run(
            "UPDATE clubs SET province_code = ?, province = ?, commune_code = ?, commune = ? "
            "WHERE id = ?",
            (province[0], province[1], commune[0], commune[1], club_id),
        )
        return cursor.rowcount == 1

    async def get_club(self, club_id: int) -> Club | None:
        """Return a club."""
        row = await self._one("SELECT * FROM clubs WHERE id = ?", (club_id,))
        return self._club(row) if row else None

    async def list_clubs(self) -> list[tuple[Club, int]]:
        """Every club with its number of active members."""
        rows = await self._all(
            "SELECT clubs.*, (SELECT COUNT(*) FROM members m WHERE m.club_id = clubs.id "
            "AND m.status = 'active') AS active_members FROM clubs ORDER BY id"
        )
        return [(self._club(row), row["active_members"]) for row in rows]

    @staticmethod
    def _invite(row: Row) -> Invite:
        return Invite(
            id=row["id"],
            club_id=row["club_id"],
            role=row["role"],
            expires_at=_dt(row["expires_at"]),
            uses_left=row["uses_left"],
        )

    async def create_invite(
        self,
        club_id: int,
        code_hash: str,
        role: str,
        expires_at: datetime,
        uses: int | None,
        now: datetime,
    ) -> Invite:
        """Store an invite code's hash."""
        row = await self._one(
            "INSERT INTO invites (club_id, code_hash, role, expires_at, uses_left, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
            (club_id, code_hash, role, _ts(expires_at), uses, _ts(now)),
        )
        return self._invite(row)

    async def find_invite(self, code_hash: str, now: datetime) -> Invite | None:
        """A usable invite with this hash."""
        row = await self._one(
            "SELECT * FROM invites WHERE code_hash = ? AND expires_at > ? "
            "AND (uses_left IS NULL OR uses_left > 0)",
            (code_hash, _ts(now)),
        )
        return self._invite(row) if row else None

    async def use_invite(self, invite_id: int) -> bool:
        """Use an invite once; ``False`` if it had no uses left."""
        cursor = await self._run(
            "UPDATE invites SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0",
            (invite_id,),
        )
        if cursor.rowcount == 1:
            return True
        row = await self._one("SELECT uses_left FROM invites WHERE id = ?", (invite_id,))
        return row is not None and row["uses_left"] is None

    # Members, roles, identities

    @staticmethod
    def _member(row: Row) -> Member:
        return Member(
            id=row["id"],
            club_id=row["club_id"],
            full_name=row["full_name"],
            sex=row["sex"],
            birth_year=row["birth_year"],
            birth_date=date.fromisoformat(row["birth_date"]) if row["birth_date"] else None,
            phone=row["phone"],
            village=row["village"],
            household=row["household"],
            ethnicity=row["ethnicity"],
            status=row["status"],
            assisted_by=row["assisted_by"],
            registered_at=_dt(row["registered_at"]),
            decided_by=row["decided_by"],
            decided_at=_dt(row["decided_at"]),
        )

    async def add_member(self, member: NewMember, now: datetime) -> tuple[int, bool]:
        """Insert a member; the same registration key returns the existing id."""
        row = await self._one(
            "INSERT INTO members (club_id, full_name, sex, birth_year, birth_date, phone, "
            "village, household, ethnicity, status, assisted_by, registered_at, "
            "registration_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (registration_key) DO NOTHING RETURNING id",
            (
                member.club_id,
                member.full_name,
                member.sex,
                member.birth_year,
                member.birth_date.isoformat() if member.birth_date else None,
                member.phone,
                member.village,
                member.household,
                member.ethnicity,
                member.status,
                member.assisted_by,
                _ts(now),
                member.registration_key,
            ),
        )
        if row is None:  # registered already (the same key)
            found = await self._one("SELECT id FROM members WHERE registration_key = ?",
                                    (member.registration_key,))
            assert found is not None
            return found["id"], False
        return row["id"], True

    async def get_member(self, member_id: int) -> Member | None:
        """Return a member."""
        row = await self._one("SELECT * FROM members WHERE id = ?", (member_id,))
        return self._member(row) if row else None

    async def list_members(self, club_id: int, statuses: Iterable[str]) -> list[Member]:
        """Members of a club with one of the given statuses, by name."""
        wanted = list(statuses)
        marks = ",".join("?" * len(wanted))
        rows = await self._all(
            f"SELECT * FROM members WHERE club_id = ? AND status IN ({marks}) "
            "ORDER BY full_name COLLATE NOCASE, id",
            (club_id, *wanted),
        )
        return [self._member(row) for row in rows]

    async def phone_in_club(self, club_id: int, phone: str) -> bool:
        """Whether a pending or active member of the club has this phone."""
        row = await self._one(
            "SELECT 1 FROM members WHERE club_id = ? AND phone = ? "
            "AND status IN ('pending', 'active')",
            (club_id, phone),
        )
        return row is not None

    async def set_member_status(
        self, member_id: int, status: str, decided_by: int | None, now: datetime
    ) -> None:
        """Approve, reject or mark erased."""
        await self._run(
            "UPDATE members SET status = ?, decided_by = ?, decided_at = ?, "
            "approved_at = CASE WHEN ? = 'active' THEN ? ELSE approved_at END WHERE id = ?",
            (status, decided_by, _ts(now), status, _ts(now), member_id),
        )

    async def erase_member(self, member_id: int, decided_by: int | None, now: datetime) -> None:
        """Remove personal details, keeping the row (and so the financial ledger)."""
        await self._run(
            "UPDATE members SET full_name = ?, phone = NULL, birth_date = NULL, "
            "village = '', ethnicity = NULL, status = 'erased', decided_by = ?, decided_at = ? "
            "WHERE id = ?",
            (f"#{member_id}", decided_by, _ts(now), member_id),
        )
        await self._run("DELETE FROM member_roles WHERE member_id = ?", (member_id,))
        await self._run("UPDATE identities SET member_id = NULL WHERE member_id = ?", (member_id,))
        await self._run(
            "UPDATE erasure_requests SET status = 'done' WHERE member_id = ?", (member_id,)
        )
        await self.forget_health(member_id, now)  # health data goes with the person

    async def membership(self, member_id: int) -> tuple[Member, Club, frozenset[str]] | None:
        """A member with their club and roles, in one query."""
        row = await self._one(f"{MEMBERSHIP} WHERE members.id = ?", (member_id,))
        return self._membership(row) if row is not None else None

    @classmethod
    def _membership(cls, row: Row) -> tuple[Member, Club, frozenset[str]]:
        """A row of :data:`MEMBERSHIP` as ``(member, club, roles)``."""
        club = cls._club(row, prefix="c_")
        roles = frozenset(row["roles"].split(",")) if row["roles"] else frozenset()
        return cls._member(row), club, roles

    async def get_roles(self, member_id: int) -> frozenset[str]:
        """The member's roles."""
        rows = await self._all("SELECT role FROM member_roles WHERE member_id = ?", (member_id,))
        return frozenset(row["role"] for row in rows)

    async def grant_role(
        self, member_id: int, role: str, granted_by: int | None, now: datetime
    ) -> bool:
        """Give a role; ``False`` if the member already had it."""
        cursor = await self._run(
            "INSERT INTO member_roles (member_id, role, granted_by, granted_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (member_id, role, granted_by, _ts(now)),
        )
        return cursor.rowcount == 1

    async def revoke_role(self, member_id: int, role: str) -> bool:
        """Take a role away; ``False`` if the member did not have it."""
        cursor = await self._run(
            "DELETE FROM member_roles WHERE member_id = ? AND role = ?", (member_id, role)
        )
        return cursor.rowcount == 1

    async def members_with_roles(self, club_id: int, roles: Iterable[str]) -> list[Member]:
        """Active members of a club holding any of ``roles``."""
        wanted = list(roles)
        marks = ",".join("?" * len(wanted))
        rows = await self._all(
            "SELECT DISTINCT members.* FROM members JOIN member_roles r "
            f"ON r.member_id = members.id WHERE members.club_id = ? AND r.role IN ({marks}) "
            "AND members.status = 'active' ORDER BY members.id",
            (club_id, *wanted),
        )
        return [self._member(row) for row in rows]

    @staticmethod
    def _identity(row: Row) -> Identity:
        return Identity(
            channel=row["channel"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            member_id=row["member_id"],
            display_name=row["display_name"],
            locale=row["locale"],
            unreachable=bool(row["unreachable"]),
            last_seen_at=_dt(row["last_seen_at"]),
        )

    async def touch_identity(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        locale: str | None,
        now: datetime,
    ) -> Identity:
        """Create or refresh a chat account when it writes to the bot."""
        row = await self._one(
            TOUCH_IDENTITY, (channel, user_id, chat_id, display_name, locale or "vi", _ts(now))
        )
        assert row is not None
        return self._identity(row)

    async def link_identity(self, channel: str, user_id: str, member_id: int) -> None:
        """Attach a chat account to a member."""
        await self._run(
            "UPDATE identities SET member_id = ? WHERE channel = ? AND user_id = ?",
            (member_id, channel, user_id),
        )

    async def identities_of(self, member_id: int) -> list[Identity]:
        """The member's chat accounts: the chosen one first, then the most recently used."""
        rows = await self._all(
            f"SELECT * FROM identities WHERE member_id = ? ORDER BY {IDENTITY_ORDER.format(t='')}",
            (member_id,),
        )
        return [self._identity(row) for row in rows]

    async def identity(self, channel: str, user_id: str) -> Identity | None:
        """One chat account, or ``None`` if it never wrote to the bot."""
        row = await self._one(
            "SELECT * FROM identities WHERE channel = ? AND user_id = ?", (channel, user_id)
        )
        return self._identity(row) if row else None

    async def prefer_identity(self, channel: str, user_id: str, member_id: int | None) -> None:
        """Send the member's messages to this account (``member_id`` None: used last)."""
        row = await self._one(
            "SELECT member_id FROM identities WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        )
        if row is None or row["member_id"] is None:
            return
        await self._run(
            "UPDATE identities SET preferred = CASE WHEN channel = ? AND user_id = ? "
            "THEN ? ELSE 0 END WHERE member_id = ?",
            (channel, user_id, int(member_id is not None), row["member_id"]),
        )

    async def set_unreachable(self, channel: str, chat_id: str, unreachable: bool) -> None:
        """Mark a chat that blocked the bot (or unblock it)."""
        await self._run(
            "UPDATE identities SET unreachable = ? WHERE channel = ? AND chat_id = ?",
            (int(unreachable), channel, chat_id),
        )

    async def set_locale(self, channel: str, user_id: str, locale: str) -> None:
        """Remember the language a chat account reads."""
        await self._run(
            "UPDATE identities SET locale = ? WHERE channel = ? AND user_id = ?",
            (locale, channel, user_id),
        )

    async def create_link_code(self, member_id: int, code_hash: str, expires_at: datetime) -> None:
        """Store a one-time code (its hash) that links another chat account to a member."""
        await self._run(
            "INSERT INTO link_codes (code_hash, member_id, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (code_hash) DO UPDATE SET member_id = excluded.member_id, "
            "expires_at = excluded.expires_at, used_at = NULL",
            (code_hash, member_id, _ts(expires_at)),
        )

    async def use_link_code(self, code_hash: str, now: datetime) -> int | None:
        """Use a link code once: the member it belongs to, or ``None`` if wrong or expired."""
        row = await self._one(
            "UPDATE link_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL "
            "AND expires_at > ? RETURNING member_id",
            (_ts(now), code_hash, _ts(now)),
        )
        return row["member_id"] if row else None

    # Consent and data-subject requests

    async def add_consent(self, consent: Consent) -> None:
        """Keep consent evidence."""
        await self._run(
            "INSERT INTO consents (member_id, text_version, given_at, channel, message_id, "
            "assisted_by) VALUES (?, ?, ?, ?, ?, ?)",
            (
                consent.member_id,
                consent.text_version,
                _ts(consent.given_at),
                consent.channel,
                consent.message_id,
                consent.assisted_by,
            ),
        )

    async def consents_of(self, member_id: int) -> list[Consent]:
        """A member's consent records."""
        rows = await self._all(
            "SELECT * FROM consents WHERE member_id = ? ORDER BY id", (member_id,)
        )
        return [
            Consent(
                member_id=row["member_id"],
                text_version=row["text_version"],
                given_at=_dt(row["given_at"]),
                channel=row["channel"],
                message_id=row["message_id"],
                assisted_by=row["assisted_by"],
            )
            for row in rows
        ]

    async def add_erasure_request(self, member_id: int, now: datetime) -> bool:
        """Record a request to erase; ``False`` if one is already open."""
        row = await self._one(
            "SELECT 1 FROM erasure_requests WHERE member_id = ? AND status = 'open'",
            (member_id,),
        )
        if row:
            return False
        await self._run(
            "INSERT INTO erasure_requests (member_id, requested_at) VALUES (?, ?)",
            (member_id, _ts(now)),
        )
        return True

    async def open_erasure_requests(self, club_id: int) -> list[tuple[int, Member]]:
        """Open erasure requests of a club: ``(request id, member)``."""
        rows = await self._all(
            "SELECT e.id AS request_id, members.* FROM erasure_requests e JOIN members "
            "ON members.id = e.member_id WHERE e.status = 'open' AND members.club_id = ? "
            "ORDER BY e.id",
            (club_id,),
        )
        return [(row["request_id"], self._member(row)) for row in rows]

