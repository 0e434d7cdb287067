"""The meetings part of the storage contract (:class:`storage.meetings.MeetingStore`), and the
pure meeting dates of :mod:`bot.meetings`.

Storage tests run on every backend of ``tests.test_storage_contract.BACKENDS``: the rule in
force and its history, moves (one per month), attendance (a meeting recorded again replaces
the earlier record). The reminder methods belong to the reminders' own tests.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.meetings import Meeting, default_rule, meetings, rule_day
from storage.base import Storage, Transaction
from storage.meetings import MeetingMove, MeetingRule
from tests import test_storage_contract as storage_contract
from tests.test_storage_contract import HOUR, NOW, add, make_club

DAY = NOW.date()  # Saturday 28/11/2026

# The storage contract's fixtures: every backend of its ``BACKENDS`` list runs these tests too.
backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx

SUNDAY, FRIDAY = 6, 4


# --- rules -----------------------------------------------------------------------------------


async def test_no_rule_until_one_is_set(tx: Transaction) -> None:
    club = await make_club(tx)
    assert await tx.meeting_rule(club.id) is None


async def test_set_meeting_rule_round_trips_and_the_latest_is_in_force(tx: Transaction) -> None:
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    chair = await add(tx, club.id, full_name="Vi Thị Lan")
    first = MeetingRule(kind="day", day=15, time="08:00", place="Nhà văn hóa")
    await tx.set_meeting_rule(club.id, first, chair, NOW)
    assert await tx.meeting_rule(club.id) == MeetingRule(
        kind="day", day=15, weekday=None, nth=None, time="08:00", place="Nhà văn hóa",
        changed_by=chair, changed_at=NOW,
    )
    second = MeetingRule(kind="weekday", day=None, weekday=SUNDAY, nth=-1, time="14:30")
    await tx.set_meeting_rule(club.id, second, None, NOW + HOUR)
    got = await tx.meeting_rule(club.id)
    assert got == MeetingRule(kind="weekday", day=None, weekday=SUNDAY, nth=-1, time="14:30",
                              place="", changed_by=None, changed_at=NOW + HOUR)
    assert got is not None and got.changed_at is not None and got.changed_at.tzinfo is not None
    # Set at the same moment: the one set last is in force.
    third = MeetingRule(kind="day", day=1, time="07:00")
    await tx.set_meeting_rule(club.id, third, chair, NOW + HOUR)
    assert (await tx.meeting_rule(club.id)).day == 1  # type: ignore[union-attr]
    assert await tx.meeting_rule(other.id) is None  # per club


@pytest.mark.parametrize("rule", [
    MeetingRule(kind="day", day=None),
    MeetingRule(kind="day", day=32),
    MeetingRule(kind="weekday", day=None, weekday=SUNDAY, nth=None),
    MeetingRule(kind="weekday", day=None, weekday=7, nth=1),
    MeetingRule(kind="weekday", day=None, weekday=SUNDAY, nth=5),
    MeetingRule(kind="weekday", day=15, weekday=SUNDAY, nth=1),
    MeetingRule(kind="fortnight", day=15),
])  # fmt: skip
async def test_a_rule_that_gives_no_day_is_refused(storage: Storage, rule: MeetingRule) -> None:
    async with storage.transaction() as tx:
        club = await make_club(tx)
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
        async with storage.transaction() as tx:
            await tx.set_meeting_rule(club.id, rule, None, NOW)
    async with storage.transaction() as tx:
        assert await tx.meeting_rule(club.id) is None


# --- moves -----------------------------------------------------------------------------------


async def test_moves_by_month_and_a_second_move_replaces_the_first(tx: Transaction) -> None:
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    chair = await add(tx, club.id)
    assert await tx.meeting_moves(club.id) == []
    january = MeetingMove("2027-01", date(2027, 1, 10), "08:00", "")
    december = MeetingMove("2026-12", date(2026, 12, 20), "14:00", "Sân đình")
    await tx.move_meeting(club.id, january, chair, NOW)
    await tx.move_meeting(club.id, december, None, NOW)
    assert await tx.meeting_moves(club.id) == [december, january]
    again = MeetingMove("2027-01", date(2027, 1, 17), "07:30", "Nhà văn hóa")
    await tx.move_meeting(club.id, again, chair, NOW + HOUR)
    assert await tx.meeting_moves(club.id) == [december, again]
    assert await tx.meeting_moves(other.id) == []


async def test_rules_and_moves_of_many_clubs_at_once(tx: Transaction) -> None:
    """What the reminder scan reads for hundreds of clubs in one query each."""
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    bare = await make_club(tx, "CLB Châu Kim")
    await tx.set_meeting_rule(club.id, MeetingRule(day=15), None, NOW)
    await tx.set_meeting_rule(club.id, MeetingRule(day=20, time="14:00"), None, NOW + HOUR)
    await tx.set_meeting_rule(other.id, MeetingRule(day=3), None, NOW)
    move = MeetingMove("2026-12", date(2026, 12, 20), "14:00", "Sân đình")
    await tx.move_meeting(other.id, move, None, NOW)
    ids = [club.id, other.id, bare.id]
    rules = await tx.meeting_rules(ids)
    assert rules == {club.id: await tx.meeting_rule(club.id),
                     other.id: await tx.meeting_rule(other.id)}
    assert rules[club.id].day == 20
    assert await tx.meeting_moves_of(ids) == {club.id: [], other.id: [move], bare.id: []}


async def test_member_channels_and_every_pause(tx: Transaction) -> None:
    """The channel a member's reminders go through (the account messages go to), and the
    members who paused a kind."""
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    one = await add(tx, club.id, phone="+84901000001")
    two = await add(tx, club.id, phone="+84901000002")
    gone = await add(tx, club.id, phone="+84901000003")
    elsewhere = await add(tx, other.id, phone="+84901000004")
    await add(tx, club.id, phone="+84901000005")  # no chat account
    for channel, user, member, seen in (("telegram", "1", one, NOW),
                                        ("zalo", "z1", one, NOW + HOUR),
                                        ("telegram:p02", "2", two, NOW),
                                        ("telegram", "3", gone, NOW),
                                        ("telegram:p07", "4", elsewhere, NOW)):
        await tx.touch_identity(channel, user, user, "Bác", "vi", seen)
        await tx.link_identity(channel, user, member)
    await tx.set_unreachable("telegram", "3", True)
    found = await tx.member_channels([club.id])
    assert found == {one: "zalo", two: "telegram:p02"}  # the most recently used; reachable
    for member in (one, two):
        first = next(i for i in await tx.identities_of(member) if not i.unreachable)
        assert found[member] == first.channel  # where the outbox writes
    assert await tx.member_channels([club.id, other.id]) == {**found, elsewhere: "telegram:p07"}
    await tx.set_reminder_pause(one, "meeting", True, NOW)
    await tx.set_reminder_pause(two, "meeting", True, NOW)
    await tx.set_reminder_pause(two, "meeting", False, NOW + HOUR)
    await tx.set_reminder_pause(elsewhere, "health", True, NOW)
    assert await tx.paused_members("meeting", None) == {one}
    assert await tx.paused_members("health", None) == {elsewhere}
    assert await tx.paused_members("meeting", [two, elsewhere]) == set()


# --- attendance ------------------------------------------------------------------------------


async def test_attendance_round_trips_newest_first(tx: Transaction) -> None:
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    lan, hoa, mai = [await add(tx, club.id, full_name=name)
                     for name in ("Vi Thị Lan", "Mồng Thị Hoa", "Lò Thị Mai")]
    assert await tx.attendance(club.id) == []
    november, december, january = date(2026, 11, 15), date(2026, 12, 15), date(2027, 1, 15)
    await tx.record_attendance(club.id, december, [lan], [hoa, mai], lan, NOW)
    await tx.record_attendance(club.id, november, (lan, hoa), iter([mai]), lan, NOW)
    await tx.record_attendance(club.id, january, [lan, hoa, mai], [], None, NOW)
    assert await tx.attendance(club.id) == [
        (january, {lan: True, hoa: True, mai: True}),
        (december, {lan: True, hoa: False, mai: False}),
    ]
    assert await tx.attendance(club.id, limit=3) == [
        (january, {lan: True, hoa: True, mai: True}),
        (december, {lan: True, hoa: False, mai: False}),
        (november, {lan: True, hoa: True, mai: False}),
    ]
    assert await tx.attendance(club.id, 1) == [(january, {lan: True, hoa: True, mai: True})]
    assert await tx.attendance(other.id) == []


async def test_recording_a_meeting_again_replaces_the_earlier_record(tx: Transaction) -> None:
    club = await make_club(tx)
    lan, hoa, mai = [await add(tx, club.id, full_name=name)
                     for name in ("Vi Thị Lan", "Mồng Thị Hoa", "Lò Thị Mai")]
    day = date(2026, 11, 15)
    await tx.record_attendance(club.id, day, [lan, hoa], [mai], lan, NOW)
    await tx.record_attendance(club.id, day, [mai], [lan], hoa, NOW + HOUR)  # hoa left out
    assert await tx.attendance(club.id, 5) == [(day, {mai: True, lan: False})]
    await tx.record_attendance(club.id, day, [], [], hoa, NOW + 2 * HOUR)  # nobody: no record
    assert await tx.attendance(club.id, 5) == []


async def test_attendance_is_kept_per_club(tx: Transaction) -> None:
    club = await make_club(tx)
    other = await make_club(tx, "CLB Tân Đức")
    lan = await add(tx, club.id, full_name="Vi Thị Lan")
    an = await add(tx, other.id, full_name="Lê Thị An")
    day = date(2026, 11, 15)
    await tx.record_attendance(club.id, day, [lan], [], lan, NOW)
    await tx.record_attendance(other.id, day, [], [an], an, NOW)
    await tx.record_attendance(other.id, day, [an], [], an, NOW)  # replaces only the other's
    assert await tx.attendance(club.id) == [(day, {lan: True})]
    assert await tx.attendance(other.id) == [(day, {an: True})]


# --- bot.meetings: the dates a rule gives ----------------------------------------------------


def test_day_rule_is_clamped_to_short_months() -> None:
    rule = MeetingRule(kind="day", day=31)
    assert rule_day(rule, 2027, 1) == date(2027, 1, 31)
    assert rule_day(rule, 2026, 11) == date(2026, 11, 30)
    assert rule_day(rule, 2027, 2) == date(2027, 2, 28)
    assert rule_day(rule, 2028, 2) == date(2028, 2, 29)
    assert [m.day for m in meetings(rule, [], date(2027, 1, 31), 3)] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


@pytest.mark.parametrize(("weekday", "nth", "month", "day"), [
    (SUNDAY, 1, (2026, 12), 6),
    (SUNDAY, 1, (2027, 1), 3),
    (SUNDAY, 4, (2027, 1), 24),
    (SUNDAY, -1, (2027, 1), 31),  # five Sundays: the last is the fifth
    (SUNDAY, -1, (2027, 2), 28),  # four Sundays: the last is the fourth
    (FRIDAY, 2, (2027, 1), 8),
    (FRIDAY, -1, (2026, 12), 25),
    (0, 1, (2027, 2), 1),  # the first Monday is the first of the month
])  # fmt: skip
def test_nth_weekday(weekday: int, nth: int, month: tuple[int, int], day: int) -> None:
    rule = MeetingRule(kind="weekday", day=None, weekday=weekday, nth=nth)
    found = rule_day(rule, *month)
    assert found == date(*month, day)
    assert found.weekday() == weekday


def test_meetings_from_a_day_include_that_day() -> None:
    rule = MeetingRule(kind="day", day=15, time="08:00", place="Nhà văn hóa")
    assert meetings(rule, [], date(2026, 12, 15), 2) == [
        Meeting(date(2026, 12, 15), "08:00", "Nhà văn hóa"),
        Meeting(date(2027, 1, 15), "08:00", "Nhà văn hóa"),
    ]
    assert meetings(rule, [], date(2026, 12, 16), 1) == [
        Meeting(date(2027, 1, 15), "08:00", "Nhà văn hóa")]


def test_moves_are_applied_and_keep_the_rule_place_unless_given() -> None:
    rule = MeetingRule(kind="day", day=15, time="08:00", place="Nhà văn hóa")
    moves = [MeetingMove("2027-01", date(2027, 1, 10), "14:00", ""),
             MeetingMove("2027-02", date(2027, 2, 20), "08:00", "Sân đình"),
             MeetingMove("2026-10", date(2026, 10, 20), "08:00", "")]  # in the past
    assert meetings(rule, moves, DAY, 3) == [
        Meeting(date(2026, 12, 15), "08:00", "Nhà văn hóa"),
        Meeting(date(2027, 1, 10), "14:00", "Nhà văn hóa", moved=True),
        Meeting(date(2027, 2, 20), "08:00", "Sân đình", moved=True),
    ]


def test_a_move_earlier_than_start_is_left_out_and_a_late_one_comes_in_order() -> None:
    rule = MeetingRule(kind="day", day=15)
    # January's meeting brought forward to 28/12: from 30/12 it has passed.
    forward = [MeetingMove("2027-01", date(2026, 12, 28), "08:00", "")]
    assert [m.day for m in meetings(rule, forward, date(2026, 12, 30), 2)] == [
        date(2027, 2, 15), date(2027, 3, 15)]
    # From 16/12 it is the next meeting, before the rule's 15/02.
    assert [m.day for m in meetings(rule, forward, date(2026, 12, 16), 2)] == [
        date(2026, 12, 28), date(2027, 2, 15)]
    # November's meeting put off to 02/12: still ahead on 01/12 (the month before is looked at).
    late = [MeetingMove("2026-11", date(2026, 12, 2), "08:00", "")]
    assert [m.day for m in meetings(rule, late, date(2026, 12, 1), 2)] == [
        date(2026, 12, 2), date(2026, 12, 15)]
    # December's meeting brought forward to 27/11, the day before start: passed.
    assert meetings(rule, [MeetingMove("2026-12", date(2026, 11, 27), "08:00", "")], DAY,
                    1) == [Meeting(date(2027, 1, 15), "08:00", "")]


def test_a_move_over_another_meeting() -> None:
    rule = MeetingRule(kind="day", day=1)
    march_in_january = [MeetingMove("2027-03", date(2027, 1, 15), "08:00", "")]
    assert [m.day for m in meetings(rule, march_in_january, date(2027, 1, 10), 1)] == [
        date(2027, 1, 15)]


def test_default_rule_is_the_registered_meeting_day_at_eight() -> None:
    rule = default_rule(15)
    assert (rule.kind, rule.day, rule.time, rule.place) == ("day", 15, "08:00", "")
    assert meetings(rule, [], DAY, 1)[0].starts("Asia/Ho_Chi_Minh").isoformat() == (
        "2026-12-15T08:00:00+07:00")
    assert meetings(rule, [], DAY - timedelta(days=13), 1)[0].day == date(2026, 11, 15)
