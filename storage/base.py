"""The storage interface: records and the transaction every backend implements.

A backend (SQLite now, PostgreSQL later) provides :class:`Storage`. All reading and writing
happens inside ``async with storage.transaction() as tx``; the transaction commits when the
block ends and rolls back if it raises. ``tests/test_storage_contract.py`` is the contract
every backend must pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from storage.alerts import AlertReads, AlertStore
from storage.archive import ArchiveReads, ArchiveStore
from storage.bots import BotReads, BotStore
from storage.deadletters import DeadLetterReads, DeadLetterStore
from storage.exports import ExportReads, ExportStore
from storage.health import HealthReads, HealthStore
from storage.ledger import FundReads, FundStore
from storage.media import MediaReads, MediaStore
from storage.meetings import MeetingReads, MeetingStore
from storage.operators import OperatorReads, OperatorStore
from storage.records import (
    BOARD_ROLES,
    ROLES,
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
from storage.reports import ReportReads, ReportStore

__all__ = [
    "BOARD_ROLES",
    "READS",
    "ROLES",
    "Arrival",
    "Club",
    "Consent",
    "Identity",
    "Invite",
    "Member",
    "NewMember",
    "OutboxItem",
    "ReadOnly",
    "Reads",
    "Session",
    "Storage",
    "Transaction",
]

R = TypeVar("R")

class Reads(
    FundReads,
    HealthReads,
    MeetingReads,
    MediaReads,
    ReportReads,
    ExportReads,
    OperatorReads,
    ArchiveReads,
    DeadLetterReads,
    AlertReads,
    BotReads,
    Protocol,
):
    """What may be read inside a transaction: all that flows and the engine are given.

    The engine is pure: :class:`bot.engine.Ctx` carries a :class:`ReadOnly` view of the
    update's transaction, so a flow cannot write; effects write, with the
    :class:`Transaction` the service hands their ``apply``.
    """

    shares_promises: bool
    """Whether promised messages (reminders, digests) are left for any process to send.

    Where several processes share the database (PostgreSQL), a message with a promise
    (``not_before``) is queued unclaimed and not handed to this process's sender after the
    commit: every process's outbox scan claims a share of those due, so a national reminder
    peak is sent at each bot's whole rate however many processes split it. With one process
    per database (SQLite) it is handed over at once, as a reply is.
    """

    async def get_session(self, channel: str, chat_id: str) -> Session | None:
        """Return the conversation in progress in a chat."""

    async def expired_sessions(self, now: datetime) -> list[Session]:
        """Sessions whose expiry has passed."""

    async def due_outbox(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Pending replies whose time has come, oldest first."""

    async def pending_outbox(
        self, limit: int, now: datetime | None = None, *, skip_mine: bool = False
    ) -> list[OutboxItem]:
        """Pending replies, due or not, oldest first (keeps each chat's order).

        With ``now``, messages with a promise whose time has not come are left out: they
        keep no order with the others, and thousands of them waiting for the morning must
        not fill ``limit`` and hide a reply queued after them. With ``skip_mine``, where
        several processes share the database, what this process has claimed already (and
        so holds in memory) is left out too, so that a backlog of its own cannot hide what
        is new; one process per database (SQLite) ignores it.
        """

    async def get_outbox(self, item_id: int) -> OutboxItem | None:
        """One queued reply, whatever its status."""

    async def outbox_backlog(self, now: datetime) -> tuple[dict[str, int], datetime | None]:
        """Pending replies per channel, and when the oldest one that is due became due."""

    async def waiting_for_chat(self, channel: str, chat_id: str) -> int:
        """How many replies to one chat are pending."""

    async def get_meta(self, key: str) -> str | None:
        """Read a setting."""

    async def get_club(self, club_id: int) -> Club | None:
        """Return a club."""

    async def list_clubs(self) -> list[tuple[Club, int]]:
        """Every club with its number of active members."""

    async def find_invite(self, code_hash: str, now: datetime) -> Invite | None:
        """A usable (unexpired, not used up) invite with this hash."""

    async def get_member(self, member_id: int) -> Member | None:
        """Return a member."""

    async def list_members(self, club_id: int, statuses: Iterable[str]) -> list[Member]:
        """Members of a club with one of the given statuses, by name."""

    async def phone_in_club(self, club_id: int, phone: str) -> bool:
        """Whether a pending or active member of the club has this phone."""

    async def membership(self, member_id: int) -> tuple[Member, Club, frozenset[str]] | None:
        """A member with their club and roles (one lookup per update)."""

    async def get_roles(self, member_id: int) -> frozenset[str]:
        """The member's roles."""

    async def members_with_roles(self, club_id: int, roles: Iterable[str]) -> list[Member]:
        """Active members of a club holding any of ``roles``."""

    async def identities_of(self, member_id: int) -> list[Identity]:
        """The member's chat accounts: the chosen one first, then the most recently used."""

    async def identity(self, channel: str, user_id: str) -> Identity | None:
        """One chat account, or ``None`` if it never wrote to the bot."""

    async def consents_of(self, member_id: int) -> list[Consent]:
        """A member's consent records."""

    async def open_erasure_requests(self, club_id: int) -> list[tuple[int, Member]]:
        """Open erasure requests of a club: ``(request id, member)``."""


class Transaction(
    Reads,
    FundStore,
    HealthStore,
    MeetingStore,
    MediaStore,
    ReportStore,
    ExportStore,
    OperatorStore,
    ArchiveStore,
    DeadLetterStore,
    AlertStore,
    BotStore,
    Protocol,
):
    """Reads and writes inside one transaction."""

    def after_commit(self, topic: str, value: Any) -> None:
        """Publish ``value`` on ``topic`` to the storage's listeners once this commits.

        Work that must follow the commit, never precede it: the outbox sender takes the
        replies queued (``"outbox"``), the export runner the files asked for (``"export"``).
        Nothing is published if the transaction rolls back.
        """

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A block whose writes (and publications) are undone alone if it raises.

        Group commit runs each update of a batch in one (:mod:`storage.group_commit`).
        """

    async def renew_claims(self, now: datetime) -> None:
        """Keep this process's claims on the messages and files it still has to deliver.

        Several processes on one database each send what they queued and build the files
        they were asked for; what a dead process held (its claim lapsed) is taken by another
        one's ``pending_outbox`` or ``unfinished_exports``.
        """

    async def record_inbound(self, channel: str, external_id: str, now: datetime) -> bool:
        """Remember an update; ``False`` if it was seen before (a redelivery)."""

    async def begin_update(
        self, channel: str, chat_id: str, external_id: str, now: datetime
    ) -> bool:
        """Hold the chat until this transaction ends, then ``record_inbound``.

        Other processes' updates of the chat wait for the hold, so one chat's updates apply
        in order across every process on the database (SQLite has one service per file, so
        there it only records). One round trip where that matters.

        Returns:
            ``False`` if the update was seen before (a redelivery).
        """

    async def arrival(
        self,
        channel: str,
        user_id: str,
        chat_id: str,
        display_name: str,
        locale: str | None,
        now: datetime,
    ) -> Arrival:
        """``touch_identity``, then its ``membership``, ``operator_for`` and ``get_session``.

        One round trip where that matters (PostgreSQL); read after ``begin_update``, so the
        session is the one the chat's previous update left.
        """

    async def prune_inbox(self, before: datetime) -> int:
        """Forget updates received before ``before``; return how many."""

    async def save_session(self, session: Session) -> Session:
        """Insert or update a session (its version is bumped); return the stored one."""

    async def delete_session(self, channel: str, chat_id: str) -> None:
        """End the conversation in a chat."""

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
        """Queue a reply; ``None`` if ``dedupe_key`` was already queued.

        The keyword arguments are its promise (see :class:`OutboxItem`); its first attempt
        is at ``not_before`` if that is later than ``now``.
        """

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
        """``waiting_for_chat``, then ``enqueue`` (with its promise) below ``backlog`` only.

        One round trip where that matters (PostgreSQL).

        Returns:
            How many replies to the chat were pending before, and the queued reply's id
            (``None``: not queued, the backlog was full or ``dedupe_key`` was queued).
        """

    async def mark_sent(self, item_ids: Iterable[int], now: datetime) -> None:
        """Record that replies were delivered (pending ones only)."""

    async def retry_later(self, item_id: int, when: datetime, error: str) -> None:
        """Count a failed attempt and try again at ``when``."""

    async def drop(self, item_id: int, error: str) -> None:
        """Give up on a reply that can never be delivered."""

    async def postpone(self, item_id: int, when: datetime, reason: str) -> None:
        """Try a pending message again at ``when`` without counting an attempt."""

    async def expire(self, item_id: int, reason: str) -> None:
        """Give up on a pending message whose promise can no longer be kept (``expired``)."""

    async def set_meta(self, key: str, value: str) -> None:
        """Write a setting."""

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

    async def use_invite(self, invite_id: int) -> bool:
        """Use an invite once; ``False`` if it had no uses left."""

    async def add_member(self, member: NewMember, now: datetime) -> tuple[int, bool]:
        """Insert a member; returns ``(id, created)``. Same registration key: the existing id."""

    async def set_member_status(
        self, member_id: int, status: str, decided_by: int | None, now: datetime
    ) -> None:
        """Approve, reject or mark erased."""

    async def erase_member(self, member_id: int, decided_by: int | None, now: datetime) -> None:
        """Remove a member's personal details, keeping the row for the financial ledger."""

    async def grant_role(
        self, member_id: int, role: str, granted_by: int | None, now: datetime
    ) -> bool:
        """Give a role; ``False`` if the member already had it."""

    async def revoke_role(self, member_id: int, role: str) -> bool:
        """Take a role away; ``False`` if the member did not have it."""

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

    async def link_identity(self, channel: str, user_id: str, member_id: int) -> None:
        """Attach a chat account to a member."""

    async def prefer_identity(self, channel: str, user_id: str, member_id: int | None) -> None:
        """Send the member's messages to this account (``member_id`` None: used last)."""

    async def set_unreachable(self, channel: str, chat_id: str, unreachable: bool) -> None:
        """Mark a chat that blocked the bot (or unblock it)."""

    async def set_locale(self, channel: str, user_id: str, locale: str) -> None:
        """Remember the language a chat account reads."""

    async def create_link_code(self, member_id: int, code_hash: str, expires_at: datetime) -> None:
        """Store a one-time code (its hash) that links another chat account to a member."""

    async def use_link_code(self, code_hash: str, now: datetime) -> int | None:
        """Use a link code once: the member it belongs to, or ``None`` if wrong or expired."""

    async def add_consent(self, consent: Consent) -> None:
        """Keep consent evidence."""

    async def add_erasure_request(self, member_id: int, now: datetime) -> bool:
        """Record a request to erase; ``False`` if one is already open."""


def _methods(protocol: type) -> frozenset[str]:
    return frozenset(name for cls in protocol.__mro__ for name, value in vars(cls).items()
                     if not name.startswith("_") and callable(value))


READS = _methods(Reads)
"""The names of every read of a transaction (:class:`Reads` and the stores' reads)."""


class ReadOnly:
    """A transaction seen through its reads only: what the engine and the flows are given.

    Anything else (a write) raises ``AttributeError``: flows say what to change in effects,
    which the service applies with the real transaction.

    Args:
        tx: The update's transaction.
    """

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        if name in READS:
            return getattr(self._tx, name)
        raise AttributeError(f"{name!r} is not a read: the engine and flows only read; "
                             "write in an effect's apply()")


class Storage(Protocol):
    """A backend: opens, migrates and hands out transactions."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None:
        """Close every connection."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Begin a write transaction; commit on success, roll back on error.

        Raises :class:`storage.errors.StorageUnavailable` when the database cannot be
        written just now (locked, busy, I/O error, full disk, read-only): nothing was kept.
        """

    def on_commit(self, topic: str, listener: Callable[[list[Any]], None]) -> None:
        """Hand ``listener`` the values each committed transaction published on ``topic``."""

    async def probe(self) -> str | None:
        """Write to the database for real, briefly: ``None`` if it worked, else why not.

        For ``/readyz``; it does not queue behind the service's own transactions.
        """

    async def lead(self, name: str) -> bool:
        """Whether this process runs the task ``name`` (one process of all on the database).

        Asked again every few seconds: the answer holds until the next question. The leader
        keeps it while it lives; when it dies another process gets it. A backend served by
        one process only (SQLite) always answers yes.
        """

    async def peers(self) -> int:
        """How many service processes share this database now, this one included (at least 1).

        Each process's share of a bot's rate budget is the bot's rate divided by this. A
        backend served by one process only (SQLite) answers 1.
        """

    async def reading(self, work: Callable[[Transaction], Awaitable[R]]) -> R:
        """Run ``work`` on a consistent read-only snapshot, without holding the writer.

        For long reads (reports over many clubs, data exports): chats go on meanwhile.
        ``work`` may run on another thread; it must only read.
        """


