"""Meeting attendance (``/diemdanh``): the board records who came to the last meeting.

The meeting is the most recent one on or before today (today's, on a meeting day), from the
club's rule and moves. Who came is a "pick several" question over the active members who had
joined by the meeting's day, with
"everyone came" first; the others are recorded as absent. Recording a meeting again replaces
the earlier record. Members who missed the last two recorded meetings are listed at the start
and after saving, so the board can visit them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.conversations.common import BOARD, member_line
from bot.conversations.meeting_schedule import club_rule, last_meeting, missed_text
from bot.engine import PICKED, Ctx, Done, Flow, Step, refused
from bot.i18n import N_
from bot.messages import Choice, Reply, T, joined
from bot.vocabulary import day_text
from storage.base import Member, Reads, Transaction

EVERYONE = Choice("all", N_("Everyone came"), ("moi nguoi", "tat ca", "ca", "du"))


def _day_end(day: date, tz: str) -> datetime:
    """The moment the meeting's day ends (club time): who joined before it was a member."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(tz))


async def members_at(tx: Reads, club_id: int, day: date, tz: str) -> list[Member]:
    """The active members who had joined by the meeting of ``day`` (those asked about)."""
    return await tx.members_joined_before(club_id, _day_end(day, tz))


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Find the meeting and fix the list of members asked about (so the numbers stay put).

    Only those who had joined by the meeting's day are asked about: someone approved later
    was not a member then (and the month's report would count more present than members).
    """
    assert ctx.club is not None
    rule = await club_rule(ctx.tx, ctx.club)
    meeting = last_meeting(rule, await ctx.tx.meeting_moves(ctx.club.id), ctx.today)
    members = await members_at(ctx.tx, ctx.club.id, meeting.day, ctx.tz)
    if not members:
        return Done([Reply((T(N_("No member had joined the club by the meeting of {day}, so "
                                 "there is nobody to record for it. Please record the next "
                                 "meeting with /diemdanh on its day."),
                              day=day_text(meeting.day)),))])
    return {"meeting_day": meeting.day.isoformat(), "members": [m.id for m in members]}


async def _members(ctx: Ctx, data: dict[str, Any]) -> list[Member]:
    """The members asked about, in the order shown (those who left the club are dropped)."""
    assert ctx.club is not None
    active = {m.id: m for m in await members_at(
        ctx.tx, ctx.club.id, date.fromisoformat(data["meeting_day"]), ctx.tz)}
    return [active[i] for i in data["members"] if i in active]


async def who_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Everyone, then each member by name (with year and village when two share a name)."""
    members = await _members(ctx, data)
    names = [m.full_name for m in members]
    return (EVERYONE, *(
        Choice(str(m.id), member_line(m) if names.count(m.full_name) > 1 else m.full_name)
        for m in members))


def _counts(present: int, absent: int) -> dict[str, int]:
    return {"present": present, "absent": absent}


async def who_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Who came; before the first tap also who missed twice and any earlier record."""
    assert ctx.club is not None
    question = T(N_("Who came to the meeting of {day}? Pick everyone who was there."),
                 day=day_text(date.fromisoformat(data["meeting_day"])))
    if data.get(PICKED):
        return question
    parts: list[T] = []
    if missed := await missed_text(ctx.tx, ctx.club.id):
        parts.append(missed)
    for day, record in await ctx.tx.attendance(ctx.club.id, 3):
        if day.isoformat() == data["meeting_day"]:
            came = sum(record.values())
            parts.append(T(N_("This meeting is already recorded (present {present} / absent "
                              "{absent}); saving again replaces that record."),
                           **_counts(came, len(record) - came)))
    parts.append(question)
    return joined(parts, "\n\n")


def present_ids(data: dict[str, Any], members: list[Member]) -> set[int]:
    """Who was picked as present (everyone, for "Everyone came")."""
    if EVERYONE.key in data["present"]:
        return {m.id for m in members}
    return {int(key) for key in data["present"]} & {m.id for m in members}


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The count of present and absent, and the absent names."""
    members = await _members(ctx, data)
    present = present_ids(data, members)
    absent = [m for m in members if m.id not in present]
    text = T(N_("Attendance at the meeting of {day}:\nPresent {present} / absent {absent}."),
             day=day_text(date.fromisoformat(data["meeting_day"])),
             **_counts(len(present), len(absent)))
    if absent:
        names = ", ".join(m.full_name for m in absent)
        return T(N_("{text}\nAbsent: {names}."), text=text, names=names)
    return T(N_("{text}\nNobody was absent."), text=text)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the attendance."""
    members = await _members(ctx, data)
    present = present_ids(data, members)
    return Done(effects=[RecordAttendance(
        date.fromisoformat(data["meeting_day"]),
        tuple(m.id for m in members if m.id in present),
        tuple(m.id for m in members if m.id not in present),
    )])


@dataclass(frozen=True)
class RecordAttendance:
    """Effect: who came to one meeting (replacing any earlier record of it)."""

    day: date
    present: tuple[int, ...]
    absent: tuple[int, ...]

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the record if the writer is on the board; then who missed twice."""
        if refusal := refused(ctx, BOARD):
            return refusal
        assert ctx.member is not None
        club_id = ctx.member.club_id
        active = {m.id for m in await members_at(tx, club_id, self.day, ctx.tz)}
        present = [i for i in self.present if i in active]
        absent = [i for i in self.absent if i in active]
        await tx.record_attendance(club_id, self.day, present, absent, ctx.member.id, ctx.now)
        parts = [T(N_("Saved: present {present} / absent {absent}."),
                   **_counts(len(present), len(absent)))]
        if missed := await missed_text(tx, club_id):
            parts.append(missed)
        return [Reply(tuple(parts))]


ATTENDANCE = Flow(
    id="attendance",
    command="diemdanh",
    title=N_("Meeting attendance"),
    steps=(
        Step("present", who_prompt, choices=who_choices, multi=True),
    ),
    roles=BOARD,
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("diem danh",),
)
