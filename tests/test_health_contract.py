"""The health part of the storage contract (:class:`storage.health.HealthStore`).

Tests run on every backend of ``tests.test_storage_contract.BACKENDS``. The safety tests go
under the interface with plain SQL through the transaction's own statement helpers (``_run``,
``_all``), so they check every backend's schema: the database itself must refuse changes to
readings and visits, readings outside the hard limits, and deletions of a member's health
records unless the member was erased. Each statement expected to fail runs in a savepoint, as
PostgreSQL ends the whole transaction at an error otherwise.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

import pytest

from storage.base import Storage, Transaction
from storage.errors import IntegrityError
from storage.health import Client, MemberHealth, NewReading, NewVisit, StoredReading, StoredVisit
from tests import test_storage_contract as storage_contract
from tests.test_storage_contract import HOUR, MINUTE, NOW, add, make_club

# What a refused write raises on every backend, worded as SQLite words it ("CHECK constraint
# failed: ...", "UNIQUE constraint failed: ..." or the trigger's own message).
REFUSED = IntegrityError

DAY = NOW.date()  # 28/11/2026
_keys = itertools.count(1)

# The storage contract's fixtures: every backend of its ``BACKENDS`` list runs these tests too.
backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


_NAMED = re.compile(r":(\w+)")


async def run(tx: Transaction, sql: str, params: dict[str, Any]) -> int:
    """Run a statement with ``:name`` parameters through the transaction; rows changed."""
    names = _NAMED.findall(sql)
    done = await tx._run(_NAMED.sub("?", sql), tuple(params[name] for name in names))
    return done.rowcount


def new_reading(club_id: int, member_id: int, **changes: Any) -> NewReading:
    reading = NewReading(
        club_id=club_id,
        member_id=member_id,
        measured_at=NOW,
        day=DAY,
        systolic=130,
        diastolic=85,
        pulse=None,
        weight_tenths=None,
        grade="high_normal",
        high=False,
        urgent=False,
        first_systolic=None,
        first_diastolic=None,
        symptoms=(),
        place="self",
        recorded_by=None,
        key=key("bp"),
    )
    return replace(reading, **changes)


def new_visit(club_id: int, client_id: int, volunteer_id: int, **changes: Any) -> NewVisit:
    visit = NewVisit(
        club_id=club_id,
        client_id=client_id,
        volunteer_id=volunteer_id,
        visited_at=NOW,
        day=DAY,
        services=("talk",),
        concern=None,
        note="",
        key=key("visit"),
    )
    return replace(visit, **changes)


def stored(reading: NewReading, reading_id: int) -> StoredReading:
    return StoredReading(**asdict(reading), id=reading_id)


def stored_visit(visit: NewVisit, visit_id: int) -> StoredVisit:
    return StoredVisit(**asdict(visit), id=visit_id)


async def record(tx: Transaction, reading: NewReading) -> int:
    reading_id, created = await tx.add_reading(reading, NOW)
    assert created
    return reading_id


async def visit(tx: Transaction, new: NewVisit) -> int:
    visit_id, created = await tx.add_visit(new, NOW)
    assert created
    return visit_id


async def snapshot(tx: Transaction) -> dict[str, list[tuple[Any, ...]]]:
    """Every health record, by id, to compare before and after a refused write."""
    tables = ("readings", "visits", "care_links")
    return {t: [tuple(r) for r in await tx._all(f"SELECT * FROM {t} ORDER BY id")]
            for t in tables}


# Readings


async def test_add_reading_is_idempotent_and_round_trips_every_field(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id, full_name="Lê Thị An")
    volunteer = await add(tx, club.id, full_name="Bùi Văn Bình")
    home = await visit(tx, new_visit(club.id, member, volunteer))
    full = new_reading(
        club.id, member, measured_at=NOW - HOUR, day=DAY - timedelta(days=1), systolic=182,
        diastolic=112, pulse=88, weight_tenths=525, grade="grade_3", high=True, urgent=True,
        first_systolic=195, first_diastolic=118, symptoms=("headache", "vision"), place="home",
        recorded_by=volunteer, visit_id=home, key="tg:1:bp",
    )
    full_id, created = await tx.add_reading(full, NOW)
    assert created is True and isinstance(full_id, int)
    again = replace(full, systolic=120, diastolic=80, symptoms=(), key="tg:1:bp")
    assert await tx.add_reading(again, NOW + MINUTE) == (full_id, False)
    bare = new_reading(club.id, member, place="meeting")
    bare_id = await record(tx, bare)
    assert bare_id != full_id

    got = await tx.readings_of(member)
    assert got == [stored(bare, bare_id), stored(full, full_id)]
    assert isinstance(got[1].symptoms, tuple) and got[1].symptoms == ("headache", "vision")
    assert (got[1].weight_tenths, got[1].first_systolic, got[1].first_diastolic) == (
        525, 195, 118,
    )
    assert (got[1].high, got[1].urgent, got[0].high, got[0].urgent) == (True, True, False, False)
    assert got[1].measured_at == NOW - HOUR and got[1].measured_at.tzinfo is not None
    assert (got[0].pulse, got[0].weight_tenths, got[0].recorded_by, got[0].visit_id) == (
        None, None, None, None,
    )
    assert got[0].symptoms == ()
    assert await tx.readings_of(volunteer) == []


async def test_readings_of_newest_first_with_limit(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    other = await add(tx, club.id, full_name="Lò Văn Páo")
    middle = await record(tx, new_reading(club.id, member, measured_at=NOW - HOUR))
    newest = await record(tx, new_reading(club.id, member, measured_at=NOW))
    oldest = await record(tx, new_reading(club.id, member, measured_at=NOW - 2 * HOUR))
    tie = await record(tx, new_reading(club.id, member, measured_at=NOW))  # same time: by id
    await record(tx, new_reading(club.id, other, measured_at=NOW + HOUR))
    assert [r.id for r in await tx.readings_of(member)] == [tie, newest, middle, oldest]
    assert [r.id for r in await tx.readings_of(member, limit=2)] == [tie, newest]
    assert [r.id for r in await tx.readings_of(member, 1)] == [tie]
    assert await tx.readings_of(member + 1000) == []


async def test_readings_of_orders_sub_second_times(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    half = timedelta(milliseconds=500)
    later = await record(tx, new_reading(club.id, member, measured_at=NOW + half))
    earlier = await record(tx, new_reading(club.id, member, measured_at=NOW))
    latest = await record(tx, new_reading(club.id, member, measured_at=NOW + 2 * half))
    got = await tx.readings_of(member)
    assert [r.id for r in got] == [latest, later, earlier]
    assert got[1].measured_at == NOW + half


async def test_readings_of_defaults_to_sixty(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    for minutes in range(61):
        await record(tx, new_reading(club.id, member, measured_at=NOW + minutes * MINUTE))
    got = await tx.readings_of(member)
    assert len(got) == 60
    assert got[0].measured_at == NOW + 60 * MINUTE and got[-1].measured_at == NOW + MINUTE


async def test_club_health_lists_active_members_with_their_latest_reading(
    tx: Transaction,
) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    nguyen = await add(tx, club.id, full_name="Nguyễn Văn Cường")
    bui = await add(tx, club.id, full_name="Bùi Văn Bình")
    le = await add(tx, club.id, full_name="Lê Thị An")
    hoang = await add(tx, club.id, full_name="Hoàng Văn Dũng")
    pending = await add(tx, club.id, full_name="Cao Thị Lan", status="pending")
    rejected = await add(tx, club.id, full_name="Đặng Văn Tú", status="rejected")
    elsewhere = await add(tx, other_club.id, full_name="Âu Văn Ất")
    since = DAY - timedelta(days=3)

    # Lê Thị An: measured on the day ``since``; two readings at the same time (the later id wins).
    await record(tx, new_reading(club.id, le, measured_at=NOW - 5 * HOUR, day=DAY))
    await record(tx, new_reading(club.id, le, measured_at=NOW - HOUR, day=since, systolic=140))
    le_latest = await record(
        tx, new_reading(club.id, le, measured_at=NOW - HOUR, day=since, systolic=150)
    )
    # Nguyễn Văn Cường: last measured the day before ``since``.
    await record(tx, new_reading(club.id, nguyen, measured_at=NOW - 30 * 24 * HOUR,
                                 day=DAY - timedelta(days=30)))
    nguyen_latest = await record(tx, new_reading(
        club.id, nguyen, measured_at=NOW - 4 * 24 * HOUR, day=since - timedelta(days=1)
    ))
    # Hoàng Văn Dũng: measured today.
    hoang_latest = await record(tx, new_reading(club.id, hoang, day=DAY, systolic=165))
    # Bùi Văn Bình: never measured. The others are not active members of this club.
    for member, club_id in ((pending, club.id), (rejected, club.id), (elsewhere, other_club.id)):
        await record(tx, new_reading(club_id, member))

    listed = await tx.club_health(club.id, since)
    assert all(isinstance(row, MemberHealth) for row in listed)
    assert [row.member.id for row in listed] == [bui, hoang, le, nguyen]
    assert [row.member for row in listed] == [await tx.get_member(m) for m in (bui, hoang, le,
                                                                              nguyen)]
    by_id = {row.member.id: row for row in listed}
    assert by_id[bui].latest is None and by_id[bui].measured_since is False
    assert (by_id[le].latest.id, by_id[le].latest.systolic) == (le_latest, 150)
    assert by_id[le].latest == (await tx.readings_of(le, 1))[0]
    assert by_id[le].measured_since is True
    assert by_id[nguyen].latest.id == nguyen_latest and by_id[nguyen].measured_since is False
    assert by_id[hoang].latest.id == hoang_latest and by_id[hoang].measured_since is True

    # The day, not the moment, decides; a later ``since`` leaves only today's reading.
    later = await tx.club_health(club.id, DAY)
    assert [(row.member.id, row.measured_since) for row in later] == [
        (bui, False), (hoang, True), (le, False), (nguyen, False)
    ]
    assert [row.member.id for row in await tx.club_health(other_club.id, since)] == [elsewhere]
    assert await tx.club_health(club.id + other_club.id + 1000, since) == []


async def test_club_health_uses_the_latest_reading_even_when_an_older_day_is_recent(
    tx: Transaction,
) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    # Entered late: the newest reading by time is for an older day.
    await record(tx, new_reading(club.id, member, measured_at=NOW - HOUR, day=DAY))
    latest = await record(tx, new_reading(club.id, member, measured_at=NOW,
                                          day=DAY - timedelta(days=10)))
    [row] = await tx.club_health(club.id, DAY - timedelta(days=1))
    assert row.latest.id == latest
    assert row.measured_since is False


# Care links


async def test_link_and_unlink_care(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id, full_name="Bùi Văn Bình")
    client = await add(tx, club.id, full_name="Lê Thị An")
    chair = await add(tx, club.id, full_name="Nguyễn Văn Cường")
    assert await tx.link_care(volunteer, client, chair, NOW) is True
    assert await tx.link_care(volunteer, client, None, NOW + MINUTE) is False
    assert [m.id for m in await tx.volunteers_of(client)] == [volunteer]
    assert await tx.unlink_care(volunteer, client, NOW + HOUR) is True
    assert await tx.unlink_care(volunteer, client, NOW + HOUR) is False
    assert await tx.volunteers_of(client) == []
    assert await tx.clients_of(volunteer) == []
    assert await tx.care_clients(club.id) == []
    assert await tx.link_care(volunteer, client, None, NOW + 2 * HOUR) is True  # relink
    assert [m.id for m in await tx.volunteers_of(client)] == [volunteer]
    assert [c.member.id for c in await tx.clients_of(volunteer)] == [client]
    assert await tx.unlink_care(client, volunteer, NOW) is False  # the other way round
    assert await tx.unlink_care(chair, client, NOW) is False  # never linked


async def test_several_volunteers_per_client_and_clients_per_volunteer(
    tx: Transaction,
) -> None:
    club = await make_club(tx)
    other_club = await make_club(tx, "CLB Tân Đức")
    binh = await add(tx, club.id, full_name="Bùi Văn Bình")
    hoa = await add(tx, club.id, full_name="Hoàng Thị Hoa")
    an = await add(tx, club.id, full_name="Lê Thị An")
    cuong = await add(tx, club.id, full_name="Nguyễn Văn Cường")
    alone = await add(tx, club.id, full_name="Cao Văn Lợi")  # nobody cares for him yet
    far_volunteer = await add(tx, other_club.id, full_name="Âu Văn Ất")
    far_client = await add(tx, other_club.id, full_name="Âu Thị Em")
    for volunteer, client in ((hoa, cuong), (binh, cuong), (hoa, an), (binh, hoa)):
        assert await tx.link_care(volunteer, client, None, NOW)
    assert await tx.link_care(far_volunteer, far_client, None, NOW)

    # Visits: An twice (the later day counts), Cường by two volunteers, Hoa never.
    for client, volunteer, days_ago in ((an, hoa, 9), (an, hoa, 2), (cuong, binh, 5),
                                        (cuong, hoa, 4)):
        await visit(tx, new_visit(club.id, client, volunteer, day=DAY - timedelta(days=days_ago),
                                  visited_at=NOW - days_ago * 24 * HOUR))

    got = await tx.clients_of(hoa)
    assert all(isinstance(c, Client) for c in got)
    assert got == [
        Client(await tx.get_member(an), DAY - timedelta(days=2), 1),
        Client(await tx.get_member(cuong), DAY - timedelta(days=4), 2),
    ]
    assert await tx.clients_of(binh) == [
        Client(await tx.get_member(hoa), None, 1),
        Client(await tx.get_member(cuong), DAY - timedelta(days=4), 2),
    ]
    assert await tx.clients_of(an) == []
    assert [(c.member.id, c.last_visit, c.volunteers) for c in await tx.care_clients(club.id)] == [
        (hoa, None, 1), (an, DAY - timedelta(days=2), 1), (cuong, DAY - timedelta(days=4), 2),
    ]
    assert alone not in [c.member.id for c in await tx.care_clients(club.id)]
    assert [c.member.id for c in await tx.care_clients(other_club.id)] == [far_client]
    assert await tx.volunteers_of(cuong) == [await tx.get_member(binh), await tx.get_member(hoa)]
    assert [m.id for m in await tx.volunteers_of(an)] == [hoa]
    assert await tx.volunteers_of(alone) == []

    # Ending one link lowers the count and leaves the others.
    assert await tx.unlink_care(binh, cuong, NOW + HOUR)
    assert [m.id for m in await tx.volunteers_of(cuong)] == [hoa]
    assert [c.member.id for c in await tx.clients_of(binh)] == [hoa]
    assert [(c.member.id, c.volunteers) for c in await tx.clients_of(hoa)] == [(an, 1),
                                                                                (cuong, 1)]


async def test_inactive_members_are_left_out_of_care_lists(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id, full_name="Bùi Văn Bình")
    client = await add(tx, club.id, full_name="Lê Thị An")
    await tx.link_care(volunteer, client, None, NOW)
    await tx.set_member_status(client, "rejected", None, NOW)
    assert await tx.clients_of(volunteer) == []
    assert await tx.care_clients(club.id) == []
    await tx.set_member_status(client, "active", None, NOW)
    await tx.set_member_status(volunteer, "rejected", None, NOW)
    assert await tx.volunteers_of(client) == []


# Visits


async def test_add_visit_is_idempotent_and_visits_of_newest_first(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id, full_name="Bùi Văn Bình")
    client = await add(tx, club.id, full_name="Lê Thị An")
    other = await add(tx, club.id, full_name="Nguyễn Văn Cường")
    first = new_visit(club.id, client, volunteer, visited_at=NOW - 48 * HOUR,
                      day=DAY - timedelta(days=2), services=("bp", "talk", "chores"),
                      concern="Bác kêu đau đầu", note="Đã nhắc uống thuốc", key="tg:9:visit")
    first_id, created = await tx.add_visit(first, NOW)
    assert created is True
    assert await tx.add_visit(replace(first, note="khác"), NOW + MINUTE) == (first_id, False)
    latest = new_visit(club.id, client, volunteer, services=())
    latest_id = await visit(tx, latest)
    tie = new_visit(club.id, client, other)  # the same moment: the later id first
    tie_id = await visit(tx, tie)
    await visit(tx, new_visit(club.id, other, volunteer, visited_at=NOW + HOUR))

    got = await tx.visits_of(client)
    assert got == [stored_visit(tie, tie_id), stored_visit(latest, latest_id),
                   stored_visit(first, first_id)]
    assert isinstance(got[2].services, tuple) and got[2].services == ("bp", "talk", "chores")
    assert (got[2].concern, got[2].note) == ("Bác kêu đau đầu", "Đã nhắc uống thuốc")
    assert got[1].services == () and got[1].concern is None
    assert got[2].visited_at == NOW - 48 * HOUR
    assert [v.id for v in await tx.visits_of(client, limit=2)] == [tie_id, latest_id]
    assert [v.id for v in await tx.visits_of(client, 1)] == [tie_id]
    assert await tx.visits_of(volunteer) == []


# SQLite safety: the database refuses what the interface never does


async def records(tx: Transaction) -> dict[str, int]:
    club = await make_club(tx)
    volunteer = await add(tx, club.id, full_name="Bùi Văn Bình")
    client = await add(tx, club.id, full_name="Lê Thị An")
    home = await visit(tx, new_visit(club.id, client, volunteer))
    reading = await record(tx, new_reading(club.id, client, visit_id=home, place="home"))
    return {"visit": home, "reading": reading, "client": client, "club": club.id}


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE readings SET systolic = 120 WHERE id = :reading", "kept as measured"),
        ("UPDATE readings SET symptoms = '[\"dizzy\"]' WHERE id = :reading", "kept as measured"),
        ("UPDATE readings SET urgent = 1", "kept as measured"),
        ("DELETE FROM readings WHERE id = :reading", "kept as measured"),
        ("DELETE FROM readings", "kept as measured"),
        ("UPDATE visits SET note = 'sửa' WHERE id = :visit", "kept as recorded"),
        ("UPDATE visits SET client_id = volunteer_id", "kept as recorded"),
        ("DELETE FROM visits WHERE id = :visit", "kept as recorded"),
    ],
)
async def test_readings_and_visits_cannot_be_changed(
    tx: Transaction, statement: str, message: str
) -> None:
    ids = await records(tx)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match=message):
        async with tx.savepoint():
            await run(tx, statement, ids)
    assert await snapshot(tx) == before


async def test_records_of_a_rejected_member_are_kept(tx: Transaction) -> None:
    ids = await records(tx)
    await tx.set_member_status(ids["client"], "rejected", None, NOW)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="kept as measured"):
        async with tx.savepoint():
            await run(tx, "DELETE FROM readings WHERE member_id = :client", ids)
    with pytest.raises(REFUSED, match="kept as recorded"):
        async with tx.savepoint():
            await run(tx, "DELETE FROM visits WHERE client_id = :client", ids)
    assert await snapshot(tx) == before


@pytest.mark.parametrize(
    "change",
    [
        {"systolic": 120, "diastolic": 120},
        {"systolic": 110, "diastolic": 120},
        {"systolic": 69, "diastolic": 50},
        {"systolic": 301},
        {"diastolic": 39},
        {"systolic": 250, "diastolic": 181},
        {"pulse": 29},
        {"pulse": 221},
        {"weight_tenths": 249},
        {"weight_tenths": 2001},
        {"grade": "grade_4"},
        {"place": "hospital"},
    ],
    ids=["equal", "swapped", "systolic-low", "systolic-high", "diastolic-low", "diastolic-high",
         "pulse-low", "pulse-high", "weight-low", "weight-high", "grade", "place"],
)
async def test_refuses_a_reading_out_of_limits(
    tx: Transaction, change: dict[str, Any]
) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="CHECK"):
        async with tx.savepoint():
            await tx.add_reading(new_reading(club.id, member, **change), NOW)
    assert await snapshot(tx) == before
    assert await tx.readings_of(member) == []


async def test_accepts_the_limits_themselves(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    for change in ({"systolic": 300, "diastolic": 180, "pulse": 220, "weight_tenths": 2000},
                   {"systolic": 70, "diastolic": 40, "pulse": 30, "weight_tenths": 250},
                   {"systolic": 71, "diastolic": 70}):
        await record(tx, new_reading(club.id, member, **change))
    assert len(await tx.readings_of(member)) == 3


async def test_a_member_cannot_care_for_themselves(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    before = await snapshot(tx)
    with pytest.raises(REFUSED, match="CHECK"):
        async with tx.savepoint():
            await tx.link_care(member, member, None, NOW)
    assert await snapshot(tx) == before


async def test_one_open_link_per_pair(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id)
    client = await add(tx, club.id, full_name="Lò Văn Páo")
    await tx.link_care(volunteer, client, None, NOW)
    before = await snapshot(tx)
    insert = ("INSERT INTO care_links (club_id, volunteer_id, client_id, assigned_at) "
              "VALUES (?, ?, ?, ?)")
    with pytest.raises(REFUSED, match="UNIQUE"):
        async with tx.savepoint():
            await tx._run(insert, (club.id, volunteer, client, NOW.isoformat()))
    assert await snapshot(tx) == before
    await tx.unlink_care(volunteer, client, NOW + HOUR)
    await tx.link_care(volunteer, client, None, NOW + 2 * HOUR)
    rows = await tx._all(
        "SELECT volunteer_id, client_id, ended_at FROM care_links ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [  # the ended link is kept
        (volunteer, client, (NOW + HOUR).isoformat()), (volunteer, client, None)
    ]


# Erasure


async def test_erase_member_forgets_their_health_records_only(storage: Storage) -> None:
    async with storage.transaction() as tx:
        club = await make_club(tx)
        binh = await add(tx, club.id, full_name="Bùi Văn Bình")  # volunteer of An and Cường
        an = await add(tx, club.id, full_name="Lê Thị An")  # erased: a client and a volunteer
        cuong = await add(tx, club.id, full_name="Nguyễn Văn Cường")  # An's client too
        chair = await add(tx, club.id, full_name="Hoàng Văn Dũng")
        for volunteer, client in ((binh, an), (binh, cuong), (an, cuong)):
            assert await tx.link_care(volunteer, client, chair, NOW)
        an_visit = await visit(tx, new_visit(club.id, an, binh, day=DAY - timedelta(days=1)))
        by_an = await visit(tx, new_visit(club.id, cuong, an, day=DAY - timedelta(days=3),
                                          visited_at=NOW - 3 * 24 * HOUR))
        by_binh = await visit(tx, new_visit(club.id, cuong, binh, day=DAY - timedelta(days=5),
                                            visited_at=NOW - 5 * 24 * HOUR))
        await record(tx, new_reading(club.id, an, visit_id=an_visit, place="home",
                                     recorded_by=binh))
        await record(tx, new_reading(club.id, an, measured_at=NOW - HOUR, weight_tenths=480))
        kept_reading = await record(tx, new_reading(club.id, cuong, visit_id=by_an,
                                                    place="home", recorded_by=an))
        kept_visits = await tx.visits_of(cuong)
        kept_readings = await tx.readings_of(cuong)

    async with storage.transaction() as tx:
        await tx.erase_member(an, chair, NOW + HOUR)

    async with storage.transaction() as tx:
        assert await tx.readings_of(an) == []
        assert await tx.visits_of(an) == []
        assert await tx.volunteers_of(an) == []  # the links as a client are ended
        assert await tx.clients_of(an) == []  # and as a volunteer
        assert [m.id for m in await tx.volunteers_of(cuong)] == [binh]
        assert [(c.member.id, c.volunteers) for c in await tx.clients_of(binh)] == [(cuong, 1)]
        assert [c.member.id for c in await tx.care_clients(club.id)] == [cuong]
        # Other members' records stay, including the visit An made and the reading An wrote.
        assert await tx.readings_of(cuong) == kept_readings
        assert [r.id for r in kept_readings] == [kept_reading]
        assert await tx.visits_of(cuong) == kept_visits
        assert [v.id for v in kept_visits] == [by_an, by_binh]
        assert [c.last_visit for c in await tx.clients_of(binh)] == [DAY - timedelta(days=3)]
        assert an not in [row.member.id for row in await tx.club_health(club.id, DAY)]
        # The erased member cannot be cared for again by accident through an old link.
        assert await tx.unlink_care(binh, an, NOW + 2 * HOUR) is False
        assert await tx.unlink_care(an, cuong, NOW + 2 * HOUR) is False


async def test_erasure_keeps_the_ended_links(tx: Transaction) -> None:
    club = await make_club(tx)
    volunteer = await add(tx, club.id)
    client = await add(tx, club.id, full_name="Lò Văn Páo")
    other = await add(tx, club.id, full_name="Lê Thị An")
    await tx.link_care(volunteer, client, None, NOW)
    await tx.link_care(client, other, None, NOW)
    await tx.link_care(volunteer, other, None, NOW)
    await tx.erase_member(client, None, NOW + HOUR)
    rows = await tx._all("SELECT volunteer_id, client_id, ended_at FROM care_links ORDER BY id")
    ended = (NOW + HOUR).isoformat()
    assert [tuple(r) for r in rows] == [
        (volunteer, client, ended), (client, other, ended), (volunteer, other, None)
    ]


async def test_erase_member_without_health_records(tx: Transaction) -> None:
    club = await make_club(tx)
    member = await add(tx, club.id)
    await tx.erase_member(member, None, NOW)
    assert await tx.readings_of(member) == []
    assert (await tx.get_member(member)).status == "erased"

