"""The contract every storage backend must pass (see ``storage/base.py``).

Tests use only the ``Storage``/``Transaction`` interface, so a new backend (PostgreSQL) is
covered by adding it to ``BACKENDS``. The single SQLite-specific test says so and is skipped
for other backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.base import (
    BOARD_ROLES,
    Club,
    Consent,
    Identity,
    Invite,
    Member,
    NewMember,
    OutboxItem,
    Session,
    Storage,
    Transaction,
)
from storage.errors import IntegrityError
from storage.postgres import PostgresStorage
from storage.sqlite import SQLiteStorage, migrations
from tests import postgres

# What a refused write raises: ours through the storage interface, sqlite3's through the raw
# SQLite connection of the SQLite-specific safety tests.
REFUSED = (IntegrityError, sqlite3.IntegrityError)

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
ALL_STATUSES = ("pending", "active", "rejected", "erased")


@dataclass(frozen=True)
class Backend:
    name: str
    make: Callable[[Path], Storage]
    persistent: bool  # a second ``make(tmp_path)`` sees the same data
    sqlite_file: Path | None = None  # set only for the backend-specific migration test


def pg_cluster() -> postgres.PostgresCluster:
    """The test run's PostgreSQL server (started on first use, stopped at exit).

    ``make test`` installs PostgreSQL where it is missing; without it these tests fail, they
    are not skipped: both backends must pass the contract.
    """
    missing = postgres.available()
    if missing:
        raise RuntimeError(f"the PostgreSQL contract tests need a server: {missing}")
    return postgres.shared()


class FreshPostgres(PostgresStorage):
    """A PostgreSQL database of the test's own (named after its folder), made on open.

    The first one is migrated and kept as a template; the others are copies of it (a
    ``CREATE DATABASE ... TEMPLATE``, about 50 ms), so each test starts from an empty schema.
    """

    template_ready = False

    def __init__(self, tmp: Path) -> None:
        self.name = "t_" + hashlib.sha1(str(tmp).encode()).hexdigest()[:20]
        super().__init__(pg_cluster().dsn(self.name))

    async def open(self) -> None:
        admin = await asyncpg.connect(pg_cluster().dsn("postgres"))
        try:
            if not FreshPostgres.template_ready:
                await admin.execute("DROP DATABASE IF EXISTS ishc_template")
                await admin.execute("CREATE DATABASE ishc_template")
                template = PostgresStorage(pg_cluster().dsn("ishc_template"))
                await template.open()
                await template.close()
                FreshPostgres.template_ready = True
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                          self.name)
            if not exists:
                await admin.execute(f"CREATE DATABASE {self.name} TEMPLATE ishc_template")
        finally:
            await admin.close()
        await super().open()


BACKENDS = [
    Backend(
        "sqlite-file",
        lambda tmp: SQLiteStorage(tmp / "db" / "bot.sqlite3"),
        persistent=True,
        sqlite_file=Path("db") / "bot.sqlite3",
    ),
    Backend("sqlite-memory", lambda tmp: SQLiteStorage(":memory:"), persistent=False),
    Backend("postgres", FreshPostgres, persistent=True),
]


@pytest.fixture(params=BACKENDS, ids=lambda backend: backend.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture
async def storage(backend: Backend, tmp_path: Path) -> AsyncIterator[Storage]:
    store = backend.make(tmp_path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def tx(storage: Storage) -> AsyncIterator[Transaction]:
    """One transaction for tests that only need to read back their own writes."""
    async with storage.transaction() as transaction:
        yield transaction


class Boom(Exception):
    pass


_keys = itertools.count(1)


def new_member(club_id: int, **overrides: Any) -> NewMember:
    fields: dict[str, Any] = {
        "club_id": club_id,
        "full_name": "Mồng Thị Hoa",
        "sex": "female",
        "birth_year": 1948,
        "birth_date": date(1948, 3, 8),
        "phone": None,
        "village": "Thôn Đông",
        "household": "near_poor",
        "ethnicity": "Tày",
        "status": "active",
        "assisted_by": None,
        "registration_key": f"reg-{next(_keys)}",
    }
    fields.update(overrides)
    return NewMember(**fields)


def as_member(new: NewMember, member_id: int, **changes: Any) -> Member:
    """The ``Member`` a backend must return for ``new`` added at ``NOW``."""
    kept = {f.name: getattr(new, f.name) for f in fields(Member) if hasattr(new, f.name)}
    return Member(**{"id": member_id, "registered_at": NOW, **kept, **changes})


async def make_club(tx: Transaction, name: str = "CLB Xuân Phương") -> Club:
    return await tx.create_club(name, "Xuân Phương", "Phú Bình", "Thái Nguyên", 15, NOW)


async def add(tx: Transaction, club_id: int, **overrides: Any) -> int:
    member_id, created = await tx.add_member(new_member(club_id, **overrides), NOW)
    assert created
    return member_id


def session(chat_id: str = "c1", channel: str = "telegram", **overrides: Any) -> Session:
    fields: dict[str, Any] = {
        "channel": channel,
        "chat_id": chat_id,
        "flow_id": "register",
        "step_id": "name",
        "session_id": f"s-{chat_id}",
        "data": {},
        "expires_at": NOW + HOUR,
    }
    fields.update(overrides)
    return Session(**fields)


# Transactions


async def test_commit_is_visible_in_next_transaction(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club = await make_club(tx)
        await tx.set_meta("offset", "41")
    async with storage.transaction() as tx:
        assert await tx.get_club(club.id) == club
        assert await tx.get_meta("offset") == "41"


async def test_exception_rolls_back_the_whole_block(storage: Storage) -> None:
    with pytest.raises(Boom):
        async with storage.transaction() as tx:
            club = await make_club(tx)
            assert await tx.record_inbound("telegram", "u1", NOW)
            raise Boom
    async with storage.transaction() as tx:
        assert await tx.get_club(club.id) is None
        assert await tx.list_clubs() == []
        assert await tx.record_inbound("telegram", "u1", NOW)


async def test_concurrent_transactions_do_not_interleave(storage: Storage) -> None:
    async def bump() -> None:
        async with storage.transaction() as tx:
            value = int(await tx.get_meta("counter") or "0")
            await asyncio.sleep(0)
            await tx.set_meta("counter", str(value + 1))

    await asyncio.gather(*(bump() for _ in range(20)))
    async with storage.transaction() as tx:
        assert await tx.get_meta("counter") == "20"


# Inbox, meta


async def test_record_inbound_deduplicates_per_channel(tx: Transaction) -> None:
    assert await tx.record_inbound("telegram", "100", NOW) is True
    assert await tx.record_inbound("telegram", "100", NOW + MINUTE) is False
    assert await tx.record_inbound("zalo", "100", NOW) is True


async def test_prune_inbox_forgets_old_updates(tx: Transaction) -> None:
    assert await tx.record_inbound("telegram", "old", NOW - 2 * HOUR)
    assert await tx.record_inbound("telegram", "new", NOW)
    assert await tx.prune_inbox(NOW - HOUR) == 1
    assert await tx.record_inbound("telegram", "old", NOW) is True
    assert await tx.record_inbound("telegram", "new", NOW) is False


async def test_meta_get_set_overwrite(tx: Transaction) -> None:
    assert await tx.get_meta("offset") is None
    await tx.set_meta("offset", "1")
    await tx.set_meta("other", "x")
    await tx.set_meta("offset", "2")
    assert await tx.get_meta("offset") == "2"
    assert await tx.get_meta("other") == "x"


# Sessions

DATA = {
    "full_name": "Mồng Thị Hoa",
    "answers": {"village": "Thôn Đông", "birth": {"year": 1948, "known": True}},
    "history": ["name", "sex", 3, None, False],
    "phone": None,
    "confirmed": False,
    "count": 0,
}


async def test_session_round_trip_and_version(storage: Storage) -> None:
    async with storage.transaction() as tx:
        stored = await tx.save_session(session(data=DATA))
        assert stored == session(data=DATA, version=1)
    async with storage.transaction() as tx:
        loaded = await tx.get_session("telegram", "c1")
        assert loaded == stored
        assert loaded.data == DATA
        again = await tx.save_session(replace(loaded, step_id="sex", data={"n": 1}))
        assert (again.step_id, again.data, again.version) == ("sex", {"n": 1}, 2)
        third = await tx.save_session(replace(again, step_id="village"))
        assert third.version == 3
        assert await tx.get_session("telegram", "c1") == third


async def test_session_revision_round_trips(storage: Storage) -> None:
    async with storage.transaction() as tx:
        assert (await tx.save_session(session("menu"))).revision == ""  # the default
        stored = await tx.save_session(session(revision="3f9a1c2e5b7d"))
        assert stored.revision == "3f9a1c2e5b7d"
    async with storage.transaction() as tx:
        assert (await tx.get_session("telegram", "menu")).revision == ""
        loaded = await tx.get_session("telegram", "c1")
        assert loaded == stored
        again = await tx.save_session(replace(loaded, step_id="sex", revision="0a1b2c3d4e5f"))
        assert (again.revision, again.version) == ("0a1b2c3d4e5f", 2)
        assert await tx.get_session("telegram", "c1") == again
        [expired] = [s for s in await tx.expired_sessions(NOW + 2 * HOUR) if s.chat_id == "c1"]
        assert expired.revision == "0a1b2c3d4e5f"


async def test_one_session_per_chat_and_delete(tx: Transaction) -> None:
    await tx.save_session(session("c1", step_id="a"))
    await tx.save_session(session("c1", step_id="b"))
    await tx.save_session(session("c1", channel="zalo", step_id="z"))
    assert (await tx.get_session("telegram", "c1")).step_id == "b"
    assert (await tx.get_session("zalo", "c1")).step_id == "z"
    assert len(await tx.expired_sessions(NOW + timedelta(days=365))) == 2
    await tx.delete_session("telegram", "c1")
    assert await tx.get_session("telegram", "c1") is None
    assert await tx.get_session("zalo", "c1") is not None
    assert await tx.get_session("telegram", "nobody") is None


async def test_expired_sessions(tx: Transaction) -> None:
    await tx.save_session(session("past", expires_at=NOW - MINUTE))
    await tx.save_session(session("exact", expires_at=NOW))
    await tx.save_session(session("future", expires_at=NOW + MINUTE))
    expired = await tx.expired_sessions(NOW)
    assert sorted(s.chat_id for s in expired) == ["exact", "past"]


# Outbox

PAYLOAD = {"text": "Chào Mồng Thị Hoa", "buttons": [["Có", "yes"]], "silent": False, "n": None}


async def test_enqueue_dedupe_and_payload(tx: Transaction) -> None:
    item_id = await tx.enqueue("telegram", "c1", PAYLOAD, NOW, dedupe_key="k1")
    assert isinstance(item_id, int)
    assert await tx.enqueue("telegram", "c1", {"text": "again"}, NOW, dedupe_key="k1") is None
    other = await tx.enqueue("telegram", "c1", {"text": "no key"}, NOW)
    assert other is not None and other != item_id
    assert [i.id for i in await tx.pending_outbox(10)] == [item_id, other]
    item = await tx.get_outbox(item_id)
    assert (item.channel, item.chat_id, item.payload) == ("telegram", "c1", PAYLOAD)
    assert (item.attempts, item.next_attempt_at, item.status) == (0, NOW, "pending")


async def test_pending_due_and_retry(tx: Transaction) -> None:
    first = await tx.enqueue("telegram", "c1", {"text": "1"}, NOW - MINUTE)
    second = await tx.enqueue("telegram", "c1", {"text": "2"}, NOW - MINUTE)
    third = await tx.enqueue("zalo", "c2", {"text": "3"}, NOW)
    await tx.retry_later(first, NOW + HOUR, "timeout")
    retried = OutboxItem(first, "telegram", "c1", {"text": "1"}, 1, NOW + HOUR, "pending")
    assert await tx.get_outbox(first) == retried
    assert [i.id for i in await tx.pending_outbox(10)] == [first, second, third]
    assert [i.id for i in await tx.pending_outbox(2)] == [first, second]
    assert [i.id for i in await tx.due_outbox(NOW, 10)] == [second, third]
    assert [i.id for i in await tx.due_outbox(NOW, 1)] == [second]
    assert [i.id for i in await tx.due_outbox(NOW - MINUTE, 10)] == [second]
    assert [i.id for i in await tx.due_outbox(NOW + HOUR, 10)] == [first, second, third]


async def test_a_promise_is_kept_with_its_message(tx: Transaction) -> None:
    tomorrow = NOW + timedelta(days=1)
    guard = {"kind": "repayment", "loan": 12, "due": "2026-12-15"}
    promised = await tx.enqueue("telegram", "c1", {"text": "r"}, NOW, "reminder:k",
                                not_before=NOW + HOUR, expires_at=tomorrow, quiet=True,
                                guard=guard)
    item = await tx.get_outbox(promised)
    assert (item.not_before, item.expires_at, item.quiet, item.guard) == (
        NOW + HOUR, tomorrow, True, guard)
    assert item.next_attempt_at == NOW + HOUR and item.promised
    reply = await tx.enqueue("telegram", "c1", {"text": "answer"}, NOW)
    plain = await tx.get_outbox(reply)
    assert (plain.not_before, plain.expires_at, plain.quiet, plain.guard) == (
        None, None, False, None)
    assert not plain.promised
    # A promise not due yet is left out of the sender's scan: it keeps no order with the
    # others, and many of them must not hide the reply queued after them.
    assert [i.id for i in await tx.pending_outbox(1, NOW)] == [reply]
    assert [i.id for i in await tx.pending_outbox(10, NOW + HOUR)] == [promised, reply]
    assert [i.id for i in await tx.pending_outbox(10)] == [promised, reply]
    assert [i.id for i in await tx.due_outbox(NOW, 10)] == [reply]


async def test_postpone_counts_no_attempt_and_expire_ends_a_promise(tx: Transaction) -> None:
    first = await tx.enqueue("telegram", "c1", {"text": "1"}, NOW, quiet=True)
    second = await tx.enqueue("telegram", "c1", {"text": "2"}, NOW, expires_at=NOW + HOUR)
    await tx.postpone(first, NOW + HOUR, "postponed: quiet hours")
    item = await tx.get_outbox(first)
    assert (item.attempts, item.next_attempt_at, item.status) == (0, NOW + HOUR, "pending")
    await tx.expire(second, "expired at 03:00")
    assert (await tx.get_outbox(second)).status == "expired"
    assert [i.id for i in await tx.pending_outbox(10)] == [first]
    await tx.mark_sent([first], NOW + HOUR)
    await tx.expire(first, "too late")  # only a pending message expires
    assert (await tx.get_outbox(first)).status == "sent"


async def test_mark_sent_and_drop(tx: Transaction) -> None:
    sent = await tx.enqueue("telegram", "c1", {"text": "1"}, NOW)
    dropped = await tx.enqueue("telegram", "c1", {"text": "2"}, NOW)
    kept = await tx.enqueue("telegram", "c1", {"text": "3"}, NOW)
    await tx.mark_sent([sent], NOW)
    await tx.drop(dropped, "chat not found")
    assert [i.id for i in await tx.pending_outbox(10)] == [kept]
    assert [i.id for i in await tx.due_outbox(NOW, 10)] == [kept]
    assert (await tx.get_outbox(sent)).status == "sent"
    assert (await tx.get_outbox(dropped)).status == "dropped"
    assert (await tx.get_outbox(dropped)).payload == {"text": "2"}
    assert await tx.get_outbox(kept + 1000) is None


# Clubs, invites


async def test_clubs_and_active_member_counts(tx: Transaction) -> None:
    club = await make_club(tx)
    assert club == Club(
        club.id, "CLB Xuân Phương", "Xuân Phương", "Phú Bình", "Thái Nguyên", 15, NOW
    )
    empty = await make_club(tx, "CLB Tân Đức")
    for status in ("active", "active", "pending", "rejected"):
        await add(tx, club.id, status=status)
    assert await tx.get_club(club.id) == club
    assert await tx.get_club(empty.id + 1000) is None
    assert sorted(await tx.list_clubs(), key=lambda pair: pair[0].id) == [(club, 2), (empty, 0)]


async def test_a_club_in_an_official_unit_and_one_moved_into_it(tx: Transaction) -> None:
    placed = await tx.create_club(
        "CLB Thông Thụ", "Xã Thông Thụ", "", "Nghệ An", 10, NOW,
        province_code=40, commune_code=16744,
    )
    assert (placed.province_code, placed.commune_code) == (40, 16744)
    old = await make_club(tx)  # typed text only: not converted yet
    assert (old.province_code, old.commune_code) == (None, None)
    assert await tx.set_club_area(old.id, (19, "Thái Nguyên"), (5800, "Xã Phú Bình"))
    assert not await tx.set_club_area(old.id + 1000, (19, "Thái Nguyên"), (5800, "Xã Phú Bình"))
    moved = await tx.get_club(old.id)
    assert moved == replace(
        old, commune="Xã Phú Bình", province="Thái Nguyên", province_code=19, commune_code=5800
    )
    assert moved.district == "Phú Bình"  # the old district stays, as a label
    member = await add(tx, moved.id, status="active")
    membership = await tx.membership(member)
    assert membership is not None and membership[1] == moved
    assert [c for c, _ in await tx.list_clubs()] == [placed, moved]


async def test_invites(tx: Transaction) -> None:
    club = await make_club(tx)
    expires = NOW + timedelta(days=7)
    once = await tx.create_invite(club.id, "hash-once", "member", expires, 1, NOW)
    assert once == Invite(once.id, club.id, "member", expires, 1)
    assert await tx.find_invite("hash-once", NOW) == once
    assert await tx.find_invite("hash-once", expires + MINUTE) is None
    assert await tx.find_invite("unknown", NOW) is None
    assert await tx.use_invite(once.id) is True
    assert await tx.use_invite(once.id) is False
    assert await tx.find_invite("hash-once", NOW) is None

    board = await tx.create_invite(club.id, "hash-board", "board", expires, None, NOW)
    for _ in range(3):
        assert await tx.use_invite(board.id) is True
    found = await tx.find_invite("hash-board", NOW)
    assert (found.id, found.role, found.uses_left) == (board.id, "board", None)


# Members


async def test_add_member_is_idempotent_per_registration_key(tx: Transaction) -> None:
    club = await make_club(tx)
    member = new_member(club.id, registration_key="tg:1:abc")
    member_id, created = await tx.add_member(member, NOW)
    assert created is True
    assert await tx.add_member(replace(member, full_name="Other"), NOW) == (member_id, False)
    members = await tx.list_members(club.id, ALL_STATUSES)
    assert [(m.id, m.full_name) for m in members] == [(member_id, "Mồng Thị Hoa")]


async def test_two_processes_adding_the_same_member_at_once_make_one(
    backend: Backend, storage: Storage, tmp_path: Path
) -> None:
    """Two services on one database (PostgreSQL's several processes): one row, one id."""
    if not backend.persistent:
        pytest.skip("an in-memory database has no second process")
    async with storage.transaction() as tx:
        club = await make_club(tx)
    other = backend.make(tmp_path)
    await other.open()
    member = new_member(club.id, registration_key="tg:7:same")
    inserted = asyncio.Event()

    async def first() -> tuple[int, bool]:
        async with storage.transaction() as tx:
            done = await tx.add_member(member, NOW)
            inserted.set()
            await asyncio.sleep(0.2)  # still uncommitted while the other one tries
            return done

    async def second() -> tuple[int, bool]:
        await inserted.wait()
        async with other.transaction() as tx:
            return await tx.add_member(replace(member, full_name="Khác"), NOW)

    try:
        (one, made), (two, made_again) = await asyncio.gather(first(), second())
    finally:
        await other.close()
    assert one == two and made and not made_again
    async with storage.transaction() as tx:
        assert [m.full_name for m in await tx.list_members(club.id, ALL_STATUSES)] == [
            "Mồng Thị Hoa"]


async def test_begin_update_holds_the_chat_and_records_the_update_once(
    backend: Backend, storage: Storage, tmp_path: Path
) -> None:
    """A redelivery is ``False``; another process's update of the chat waits for the commit."""
    async with storage.transaction() as tx:
        assert await tx.begin_update("telegram", "42", "u1", NOW) is True
        assert await tx.begin_update("telegram", "42", "u1", NOW + MINUTE) is False
        assert await tx.begin_update("zalo", "42", "u1", NOW) is True
        assert await tx.record_inbound("telegram", "u1", NOW) is False
    if not backend.persistent:
        return
    other = backend.make(tmp_path)
    await other.open()
    events: list[str] = []
    held = asyncio.Event()

    async def first() -> None:
        async with storage.transaction() as tx:
            assert await tx.begin_update("telegram", "7", "u2", NOW)
            held.set()
            await asyncio.sleep(0.2)
            await tx.set_meta("step", "first")
            events.append("first committing")

    async def second() -> None:
        await held.wait()
        async with other.transaction() as tx:
            assert await tx.begin_update("telegram", "7", "u3", NOW)
            events.append("second has the chat")
            assert await tx.get_meta("step") == "first"

    try:
        await asyncio.gather(first(), second())
    finally:
        await other.close()
    assert events == ["first committing", "second has the chat"]


async def test_arrival_is_the_account_its_membership_grant_and_session(tx: Transaction) -> None:
    first = await tx.arrival("telegram", "u1", "c1", "Hoa", None, NOW)
    assert first.identity == await tx.identity("telegram", "u1")
    assert (first.identity.locale, first.identity.member_id) == ("vi", None)
    assert (first.membership, first.operator, first.session) == (None, None, None)
    club = await make_club(tx)
    hoa = new_member(club.id)
    hoa_id = await add(tx, club.id)
    await tx.grant_role(hoa_id, "treasurer", None, NOW)
    await tx.grant_role(hoa_id, "chair", None, NOW)
    await tx.link_identity("telegram", "u1", hoa_id)
    await tx.set_unreachable("telegram", "c1", True)
    grant = await tx.add_operator("association", "Bà Hà", ("Nghệ An", "", ""), "admin", NOW)
    await tx.link_operator("telegram", "u1", grant.id, NOW)
    stored = await tx.save_session(session("c2", data=DATA))
    again = await tx.arrival("telegram", "u1", "c2", "Hoa Mồng", "en", NOW + MINUTE)
    assert again.identity == await tx.identity("telegram", "u1")
    assert (again.identity.chat_id, again.identity.display_name) == ("c2", "Hoa Mồng")
    assert again.identity.unreachable is False and again.identity.member_id == hoa_id
    assert again.identity.last_seen_at == NOW + MINUTE
    assert again.membership == await tx.membership(hoa_id)
    member, got_club, roles = again.membership
    assert member == as_member(hoa, hoa_id) and got_club == club
    assert roles == {"treasurer", "chair"}
    assert again.operator == grant == await tx.operator_for("telegram", "u1")
    assert again.session == stored == await tx.get_session("telegram", "c2")
    assert again.session.data == DATA
    await tx.revoke_operator(grant.id, NOW)
    assert (await tx.arrival("telegram", "u1", "c2", "Hoa", None, NOW)).operator is None


async def test_enqueue_below_counts_the_chat_and_queues_below_the_backlog(
    tx: Transaction,
) -> None:
    waiting, first = await tx.enqueue_below("telegram", "c1", {"text": "a"}, NOW, 2)
    assert waiting == 0 and (await tx.get_outbox(first)).payload == {"text": "a"}
    waiting, second = await tx.enqueue_below("telegram", "c1", {"text": "b"}, NOW, 2,
                                             dedupe_key="k1")
    assert waiting == 1 and second is not None
    assert await tx.enqueue_below("telegram", "c1", {"text": "c"}, NOW, 2) == (2, None)
    assert await tx.waiting_for_chat("telegram", "c1") == 2
    assert await tx.enqueue_below("telegram", "c2", {"text": "d"}, NOW, 2,
                                  dedupe_key="k1") == (0, None)  # queued already
    later = NOW + HOUR
    waiting, promised = await tx.enqueue_below(
        "telegram", "c3", {"text": "e"}, NOW, 2, not_before=later, expires_at=later + HOUR,
        quiet=True, guard={"kind": "x"})
    assert waiting == 0 and promised is not None
    item = await tx.get_outbox(promised)
    assert (item.payload, item.next_attempt_at, item.not_before) == ({"text": "e"}, later, later)
    assert (item.expires_at, item.quiet, item.guard) == (later + HOUR, True, {"kind": "x"})


async def test_get_member_round_trips_every_field(tx: Transaction) -> None:
    club = await make_club(tx)
    hoa = new_member(club.id, phone="0912345678")
    hoa_id, _ = await tx.add_member(hoa, NOW)
    pao = new_member(
        club.id,
        full_name="Lò Văn Páo",
        sex="male",
        birth_year=1950,
        birth_date=None,
        village="Bản Mới",
        household="poor",
        ethnicity=None,
        status="pending",
        assisted_by=hoa_id,
    )
    pao_id, _ = await tx.add_member(pao, NOW)
    got = await tx.get_member(hoa_id)
    assert got == as_member(hoa, hoa_id)
    assert (got.birth_date, got.phone, got.ethnicity) == (date(1948, 3, 8), "0912345678", "Tày")
    assert (got.decided_by, got.decided_at) == (None, None)
    assert await tx.get_member(pao_id) == as_member(pao, pao_id)
    assert await tx.get_member(pao_id + 1000) is None


async def test_list_members_filters_and_sorts_by_name(tx: Transaction) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    nguyen = await add(tx, club.id, full_name="Nguyễn Văn Cường")
    bui = await add(tx, club.id, full_name="Bùi Văn Bình", status="pending")
    le = await add(tx, club.id, full_name="Lê Thị An")
    await add(tx, club.id, full_name="Đỗ Thị Dung", status="rejected")
    await add(tx, other_club.id, full_name="Âu Văn Ất")
    assert [m.id for m in await tx.list_members(club.id, ["active"])] == [le, nguyen]
    listed = await tx.list_members(club.id, ("pending", "active"))
    assert [m.id for m in listed] == [bui, le, nguyen]


async def test_phone_in_club(tx: Transaction) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    await add(tx, club.id, phone="0900000001", status="pending")
    await add(tx, club.id, phone="0900000002", status="active")
    await add(tx, club.id, phone="0900000003", status="rejected")
    assert await tx.phone_in_club(club.id, "0900000001") is True
    assert await tx.phone_in_club(club.id, "0900000002") is True
    assert await tx.phone_in_club(club.id, "0900000003") is False
    assert await tx.phone_in_club(other_club.id, "0900000001") is False
    # A rejected row does not block the phone; another club may use it too.
    await add(tx, club.id, phone="0900000003", status="pending")
    await add(tx, other_club.id, phone="0900000001", status="active")


async def test_same_phone_twice_in_a_club_is_refused(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club = await make_club(tx)
        first = await add(tx, club.id, phone="0912345678", status="pending")
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
        async with storage.transaction() as tx:
            await tx.set_meta("written", "yes")
            await tx.add_member(new_member(club.id, phone="0912345678"), NOW)
    async with storage.transaction() as tx:
        assert await tx.get_meta("written") is None
        members = await tx.list_members(club.id, ALL_STATUSES)
        assert [m.id for m in members] == [first]


async def test_set_member_status(tx: Transaction) -> None:
    club = await make_club(tx)
    chair = await add(tx, club.id)
    member = await add(tx, club.id, status="pending")
    await tx.set_member_status(member, "active", chair, NOW + HOUR)
    got = await tx.get_member(member)
    assert (got.status, got.decided_by, got.decided_at) == ("active", chair, NOW + HOUR)
    await tx.set_member_status(member, "rejected", None, NOW + 2 * HOUR)
    got = await tx.get_member(member)
    assert (got.status, got.decided_by, got.decided_at) == ("rejected", None, NOW + 2 * HOUR)


async def test_erase_member(tx: Transaction) -> None:
    club = await make_club(tx)
    chair = await add(tx, club.id)
    member = await add(tx, club.id, phone="0912345678")
    await tx.grant_role(member, "treasurer", chair, NOW)
    await tx.touch_identity("telegram", "u1", "c1", "Hoa", "vi", NOW)
    await tx.link_identity("telegram", "u1", member)
    assert await tx.add_erasure_request(member, NOW)

    await tx.erase_member(member, chair, NOW + HOUR)
    got = await tx.get_member(member)
    assert got is not None and (got.id, got.club_id) == (member, club.id)
    assert "Hoa" not in got.full_name and "Mồng" not in got.full_name
    assert (got.phone, got.birth_date, got.village, got.ethnicity) == (None, None, "", None)
    assert (got.status, got.decided_by, got.decided_at) == ("erased", chair, NOW + HOUR)
    assert await tx.get_roles(member) == frozenset()
    assert await tx.identities_of(member) == []
    assert (await tx.touch_identity("telegram", "u1", "c1", "Hoa", "vi", NOW)).member_id is None
    assert await tx.open_erasure_requests(club.id) == []
    assert await tx.phone_in_club(club.id, "0912345678") is False
    assert [m.id for m in await tx.list_members(club.id, ["erased"])] == [member]


# Roles


async def test_grant_get_revoke_roles(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    assert await tx.get_roles(member) == frozenset()
    assert await tx.grant_role(member, "chair", None, NOW) is True
    assert await tx.grant_role(member, "chair", None, NOW) is False
    assert await tx.grant_role(member, "member", member, NOW) is True
    assert await tx.get_roles(member) == frozenset({"chair", "member"})
    assert await tx.revoke_role(member, "chair") is True
    assert await tx.revoke_role(member, "chair") is False
    assert await tx.get_roles(member) == frozenset({"member"})


async def test_members_with_roles(tx: Transaction) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    chair = await add(tx, club.id)
    treasurer = await add(tx, club.id)
    pending_chair = await add(tx, club.id, status="pending")
    elsewhere = await add(tx, other_club.id)
    for member_id, role in [
        (chair, "chair"),
        (chair, "vice_chair"),
        (treasurer, "treasurer"),
        (pending_chair, "chair"),
        (elsewhere, "chair"),
    ]:
        await tx.grant_role(member_id, role, None, NOW)
    board = await tx.members_with_roles(club.id, BOARD_ROLES)
    assert [m.id for m in board] == [chair]
    assert board[0] == await tx.get_member(chair)
    both = await tx.members_with_roles(club.id, ["chair", "treasurer"])
    assert sorted(m.id for m in both) == sorted([chair, treasurer])
    assert await tx.members_with_roles(club.id, ["volunteer"]) == []


# Identities


async def test_touch_identity_creates_then_refreshes(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    created = await tx.touch_identity("telegram", "u1", "c1", "Hoa", None, NOW)
    assert created == Identity("telegram", "u1", "c1", None, "Hoa", "vi", False, NOW)
    await tx.link_identity("telegram", "u1", member)
    await tx.set_unreachable("telegram", "c1", True)
    assert (await tx.identities_of(member))[0].unreachable is True

    refreshed = await tx.touch_identity("telegram", "u1", "c9", "Bà Hoa", "vi", NOW + HOUR)
    assert refreshed == Identity("telegram", "u1", "c9", member, "Bà Hoa", "vi", False, NOW + HOUR)
    assert await tx.identities_of(member) == [refreshed]


async def test_identities_of_most_recent_first_and_unreachable(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    await tx.touch_identity("telegram", "u1", "c1", "Hoa", "vi", NOW)
    await tx.touch_identity("zalo", "z1", "zc1", "Hoa", "vi", NOW + HOUR)
    await tx.touch_identity("telegram", "u2", "c2", "Someone else", "vi", NOW + 2 * HOUR)
    await tx.link_identity("telegram", "u1", member)
    await tx.link_identity("zalo", "z1", member)
    assert [(i.channel, i.user_id) for i in await tx.identities_of(member)] == [
        ("zalo", "z1"),
        ("telegram", "u1"),
    ]
    await tx.set_unreachable("zalo", "zc1", True)
    assert [i.unreachable for i in await tx.identities_of(member)] == [True, False]
    await tx.set_unreachable("zalo", "zc1", False)
    assert [i.unreachable for i in await tx.identities_of(member)] == [False, False]


# Consents, erasure requests


async def test_consents_round_trip_in_order(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id)
    member = await add(tx, club.id)
    first = Consent(member, "v1", NOW, "telegram", "msg-1", None)
    second = Consent(member, "v2", NOW + HOUR, "local", "msg-2", volunteer)
    await tx.add_consent(first)
    await tx.add_consent(second)
    await tx.add_consent(Consent(volunteer, "v2", NOW, "telegram", "msg-3", None))
    assert await tx.consents_of(member) == [first, second]
    assert await tx.consents_of(member + 1000) == []


async def test_erasure_requests(tx: Transaction) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    member = await add(tx, club.id)
    elsewhere = await add(tx, other_club.id)
    assert await tx.add_erasure_request(member, NOW) is True
    assert await tx.add_erasure_request(member, NOW + MINUTE) is False
    assert await tx.add_erasure_request(elsewhere, NOW) is True
    [(request_id, requested)] = await tx.open_erasure_requests(club.id)
    assert isinstance(request_id, int)
    assert requested == await tx.get_member(member)
    [(other_id, other)] = await tx.open_erasure_requests(other_club.id)
    assert other_id != request_id and other.id == elsewhere


# Timestamps


async def test_aware_utc_timestamps_round_trip(tx: Transaction) -> None:
    moment = datetime(2026, 11, 28, 2, 0, 0, 123456, tzinfo=UTC)
    club = await tx.create_club("CLB", "", "", "", 1, moment)
    member_id, _ = await tx.add_member(new_member(club.id), moment)
    item_id = await tx.enqueue("telegram", "c1", {}, moment)
    identity = await tx.touch_identity("telegram", "u1", "c1", "Hoa", "vi", moment)
    await tx.add_consent(Consent(member_id, "v1", moment, "telegram", "m1", None))
    stored = await tx.save_session(session(expires_at=moment))
    got = [
        (await tx.get_club(club.id)).created_at,
        (await tx.get_member(member_id)).registered_at,
        (await tx.get_outbox(item_id)).next_attempt_at,
        identity.last_seen_at,
        (await tx.consents_of(member_id))[0].given_at,
        stored.expires_at,
    ]
    assert got == [moment] * len(got)
    assert all(value.tzinfo is not None for value in got)
    # Sub-second precision is kept in comparisons too.
    assert await tx.expired_sessions(moment - timedelta(microseconds=1)) == []
    assert await tx.expired_sessions(moment) == [stored]
    assert await tx.due_outbox(NOW, 10) == []


# Migrations


async def test_reopening_keeps_data(backend: Backend, tmp_path: Path) -> None:
    if not backend.persistent:
        pytest.skip("this backend does not keep data between connections")
    for round_ in range(3):
        store = backend.make(tmp_path)
        await store.open()
        try:
            async with store.transaction() as tx:
                if round_ == 0:
                    await make_club(tx)
                    await tx.set_meta("offset", "7")
                assert [club.name for club, _ in await tx.list_clubs()] == ["CLB Xuân Phương"]
                assert await tx.get_meta("offset") == "7"
        finally:
            await store.close()


async def test_sqlite_specific_newer_schema_is_refused(backend: Backend, tmp_path: Path) -> None:
    """Backend-specific: sets ``PRAGMA user_version`` directly on the SQLite file."""
    if backend.sqlite_file is None:
        pytest.skip("SQLite file backends only")
    store = backend.make(tmp_path)
    await store.open()
    await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / backend.sqlite_file)) as db:
        db.execute("PRAGMA user_version = 9999")
    refused = backend.make(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="newer"):
            await refused.open()
    finally:
        await refused.close()


async def test_sqlite_specific_session_saved_before_revisions_loads_without_one(
    backend: Backend, tmp_path: Path
) -> None:
    """Backend-specific: a file at schema 12 with a conversation in progress is migrated."""
    if backend.sqlite_file is None:
        pytest.skip("SQLite file backends only")
    path = tmp_path / backend.sqlite_file
    path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for version, script in migrations():
            if version <= 12:
                db.executescript(script.read_text(encoding="utf-8"))
        db.execute(
            "INSERT INTO sessions (channel, chat_id, flow_id, step_id, session_id, data, "
            "expires_at) VALUES ('telegram', 'c1', 'register', 'name', 's-c1', '{}', ?)",
            ((NOW + HOUR).isoformat(),),
        )
        db.execute("PRAGMA user_version = 12")
        db.commit()
    store = backend.make(tmp_path)
    await store.open()
    try:
        async with store.transaction() as tx:
            assert await tx.get_session("telegram", "c1") == session(version=1, revision="")
    finally:
        await store.close()


async def test_sqlite_specific_outbox_rebuilt_for_promises_keeps_rows_and_keys(
    backend: Backend, tmp_path: Path
) -> None:
    """Backend-specific: a file at schema 14 with queued and sent reminders is migrated."""
    if backend.sqlite_file is None:
        pytest.skip("SQLite file backends only")
    path = tmp_path / backend.sqlite_file
    path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for version, script in migrations():
            if version <= 14:
                db.executescript(script.read_text(encoding="utf-8"))
        db.execute("INSERT INTO clubs (id, name, meeting_day, created_at) VALUES (1, 'C', 15, ?)",
                   (NOW.isoformat(),))
        db.execute(
            "INSERT INTO members (id, club_id, full_name, sex, birth_year, village, household, "
            "status, registered_at, registration_key) VALUES (1, 1, 'Hoa', 'female', 1958, "
            "'Bản Lốc', 'ordinary', 'active', ?, 'k1')", (NOW.isoformat(),))
        for item_id, status in ((7, "sent"), (9, "pending")):
            db.execute(
                "INSERT INTO outbox (id, channel, chat_id, payload, status, next_attempt_at, "
                "dedupe_key, created_at) VALUES (?, 'telegram', 'c1', '{}', ?, ?, ?, ?)",
                (item_id, status, NOW.isoformat(), f"reminder:{item_id}", NOW.isoformat()))
            db.execute(
                "INSERT INTO reminders (key, club_id, member_id, kind, due_at, queued_at, "
                "outbox_id) VALUES (?, 1, 1, 'meeting', ?, ?, ?)",
                (f"k{item_id}", NOW.isoformat(), NOW.isoformat(), item_id))
        db.execute("PRAGMA user_version = 14")
        db.commit()
    store = backend.make(tmp_path)
    await store.open()
    try:
        async with store.transaction() as tx:
            assert [i.id for i in await tx.pending_outbox(10)] == [9]
            kept = await tx.get_outbox(9)
            assert (kept.status, kept.promised) == ("pending", False)
            assert (await tx.get_outbox(7)).status == "sent"
            await tx.expire(9, "the new status is allowed")
            assert (await tx.get_outbox(9)).status == "expired"
        with pytest.raises(REFUSED):  # foreign keys are on again
            async with store.transaction() as tx:
                await tx.record_reminder("k10", 1, 1, "meeting", NOW, NOW, 10)
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT key, outbox_id FROM reminders ORDER BY key").fetchall() == [
            ("k7", 7), ("k9", 9)]


async def test_membership_gives_member_club_and_roles_at_once(tx: Transaction) -> None:
    club = await make_club(tx)
    member_id = await add(tx, club.id)
    await tx.grant_role(member_id, "treasurer", None, NOW)
    await tx.grant_role(member_id, "member", None, NOW)
    member, found_club, roles = await tx.membership(member_id)
    assert member == await tx.get_member(member_id)
    assert found_club == club
    assert roles == frozenset({"treasurer", "member"})
    other = await add(tx, club.id, full_name="Lò Văn Páo")
    assert (await tx.membership(other))[2] == frozenset()
    assert await tx.membership(other + 1000) is None


async def test_mark_sent_many_at_once_leaves_dropped_alone(tx: Transaction) -> None:
    ids = [await tx.enqueue("telegram", f"c{i}", {"text": str(i)}, NOW) for i in range(3)]
    await tx.drop(ids[2], "blocked")
    await tx.mark_sent(ids, NOW)
    assert [(await tx.get_outbox(i)).status for i in ids] == ["sent", "sent", "dropped"]
    assert await tx.pending_outbox(10) == []


async def test_set_locale_is_kept_when_the_account_writes_again(tx: Transaction) -> None:
    await tx.touch_identity("telegram", "u1", "c1", "Lan", None, NOW)
    await tx.set_locale("telegram", "u1", "en")
    again = await tx.touch_identity("telegram", "u1", "c1", "Lan", "vi", NOW + MINUTE)
    assert again.locale == "en"


async def test_link_codes_work_once_and_expire(tx: Transaction) -> None:
    club = await make_club(tx)
    member_id = await add(tx, club.id)
    await tx.create_link_code(member_id, "h1", NOW + MINUTE)
    await tx.create_link_code(member_id, "h2", NOW + MINUTE)
    assert await tx.use_link_code("h1", NOW) == member_id
    assert await tx.use_link_code("h1", NOW) is None  # once only
    assert await tx.use_link_code("nope", NOW) is None
    assert await tx.use_link_code("h2", NOW + MINUTE) is None  # expired


async def test_a_chosen_account_comes_first_else_the_one_used_last(tx: Transaction) -> None:
    club = await make_club(tx)
    member_id = await add(tx, club.id)
    await tx.touch_identity("telegram", "t1", "t1", "Lan", None, NOW)
    await tx.touch_identity("zalo", "z1", "z1", "Lan", None, NOW + MINUTE)
    await tx.link_identity("telegram", "t1", member_id)
    await tx.link_identity("zalo", "z1", member_id)
    assert [i.channel for i in await tx.identities_of(member_id)] == ["zalo", "telegram"]
    await tx.prefer_identity("telegram", "t1", member_id)
    assert [i.channel for i in await tx.identities_of(member_id)] == ["telegram", "zalo"]
    await tx.prefer_identity("telegram", "t1", None)
    assert [i.channel for i in await tx.identities_of(member_id)] == ["zalo", "telegram"]


# Dead letters and operators (association grants)


async def test_dead_letters_are_kept_listed_and_retried(tx: Transaction) -> None:
    from storage.deadletters import NewDeadLetter

    first = await tx.add_dead_letter(NewDeadLetter(
        channel="telegram", external_id="m:1:2", chat_id="1", inbound={"text": "xin chào"},
        raw="{...}", error="ValueError: không đọc được", attempts=3), NOW)
    second = await tx.add_dead_letter(NewDeadLetter(
        channel="zalo", external_id=None, chat_id=None, inbound=None, raw="x" * 20_000,
        error="bad", attempts=1), NOW + MINUTE)
    assert [d.id for d in await tx.dead_letters(None, 10)] == [second, first]
    await tx.dead_letter_retried(first, NOW + HOUR, None)
    assert [d.id for d in await tx.dead_letters("dead", 10)] == [second]
    retried = await tx.get_dead_letter(first)
    assert retried is not None and retried.status == "retried" and retried.attempts == 4
    assert retried.inbound == {"text": "xin chào"} and retried.retried_at == NOW + HOUR
    kept = await tx.get_dead_letter(second)
    assert kept is not None and len(kept.raw) < 20_000  # cut short


async def test_an_operator_grant_its_code_and_its_chat_account(tx: Transaction) -> None:
    grant = await tx.add_operator("association", "Bà Hà", ("Nghệ An", "", ""), "admin", NOW)
    assert grant.active and grant.province == "Nghệ An" and grant.granted_at == NOW
    await tx.add_operator_code(grant.id, "hash-1", NOW + HOUR, NOW)
    assert await tx.use_operator_code("wrong", NOW) is None
    used = await tx.use_operator_code("hash-1", NOW + MINUTE)
    assert used is not None and used.id == grant.id
    assert await tx.use_operator_code("hash-1", NOW + MINUTE) is None  # once
    await tx.link_operator("zalo", "z9", grant.id, NOW)
    assert (await tx.operator_for("zalo", "z9")) == grant
    assert [(g.id, accounts) for g, accounts in await tx.list_operators()] == [(grant.id, 1)]
    assert await tx.revoke_operator(grant.id, NOW + HOUR)
    assert not await tx.revoke_operator(grant.id, NOW + HOUR)
    assert await tx.operator_for("zalo", "z9") is None


async def test_an_operator_grant_keyed_on_official_codes(tx: Transaction) -> None:
    old = await tx.add_operator("association", "Bà Hà", ("Nghệ An", "", ""), "admin", NOW)
    assert (old.province_code, old.commune_code) == (None, None)  # text only, as before 2025
    province = await tx.add_operator(
        "association", "Ông Vinh", ("Nghệ An", "", ""), "admin", NOW, codes=(40, None)
    )
    commune = await tx.add_operator(
        "association", "Bà Lan", ("Nghệ An", "", "Xã Thông Thụ"), "admin", NOW,
        codes=(40, 16744),
    )
    assert (province.province_code, province.commune_code) == (40, None)
    assert (commune.province_code, commune.commune_code) == (40, 16744)
    assert await tx.get_operator(commune.id) == commune
    assert [g for g, _ in await tx.list_operators()] == [old, province, commune]
