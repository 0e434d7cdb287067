"""The meeting schedule (``/lichhop``): when and where the club meets next.

Everyone sees the next three meetings and the rule in words; the board also sees who missed
the last two recorded meetings. For the chair the same message goes on as a conversation:
change the rule (a day of the month, or the nth weekday, at a time and a place), move one of
the next three meetings (the rule stays), or stop. Nothing is saved before the chair confirms
the summary; every active member is then told. The storage keeps each rule with who changed
it and when, and each move with who moved it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.conversations.common import BOARD, one_block
from bot.engine import END, Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day
from bot.meetings import Meeting, default_rule, meetings, rule_day
from bot.messages import Choice, Reply, T, joined
from bot.parsers import (
    MSG_DATE_INVALID,
    ParseError,
    parse_date,
    parse_day_of_month,
    parse_text,
    relative_day,
)
from bot.text import fold
from bot.vocabulary import day_text
from storage.base import Club, Member, Transaction
from storage.meetings import MeetingMove, MeetingRule

CHAIR = frozenset({"chair"})
"""Change the schedule."""
SHOWN = 3  # meetings listed, and offered to move
MOVE_DAYS = 45  # a meeting moves at most this far from the day the rule gives

# Weekdays as Python numbers them (0 = Monday). Separate messages for a date, a button and the
# rule, so that each reads well in both languages (the dates' are in bot/vocabulary.py).
WEEKDAY_RULES = (
    N_("on the {nth} Monday of the month"), N_("on the {nth} Tuesday of the month"),
    N_("on the {nth} Wednesday of the month"), N_("on the {nth} Thursday of the month"),
    N_("on the {nth} Friday of the month"), N_("on the {nth} Saturday of the month"),
    N_("on the {nth} Sunday of the month"),
)
# Sunday first, so that a typed number is the Vietnamese name: 2 = thứ Hai ... 7 = thứ Bảy.
WEEKDAYS = (
    Choice("6", N_("Sundays"), ("chu nhat", "cn")),
    Choice("0", N_("Mondays"), ("thu hai", "thu 2", "t2")),
    Choice("1", N_("Tuesdays"), ("thu ba", "thu 3", "t3")),
    Choice("2", N_("Wednesdays"), ("thu tu", "thu 4", "t4")),
    Choice("3", N_("Thursdays"), ("thu nam", "thu 5", "t5")),
    Choice("4", N_("Fridays"), ("thu sau", "thu 6", "t6")),
    Choice("5", N_("Saturdays"), ("thu bay", "thu 7", "t7")),
)
NTH = (
    Choice("1", N_("The first"), ("dau tien", "thu nhat", "dau thang")),
    Choice("2", N_("The second"), ("thu hai", "thu 2")),
    Choice("3", N_("The third"), ("thu ba", "thu 3")),
    Choice("4", N_("The fourth"), ("thu tu", "thu 4")),
    Choice("-1", N_("The last"), ("cuoi cung", "cuoi", "cuoi thang")),
)
NTH_WORDS = {1: N_("first"), 2: N_("second"), 3: N_("third"), 4: N_("fourth"), -1: N_("last")}
ACTIONS = (
    Choice("change", N_("Change the meeting schedule"), ("doi lich", "doi lich hop")),
    Choice("move", N_("Move one meeting"), ("doi mot buoi", "doi buoi hop", "doi")),
    Choice("done", N_("Done"), ("xong", "thoi", "khong")),
)
KINDS = (
    Choice("day", N_("A day of the month"), ("ngay", "theo ngay")),
    Choice("weekday", N_("A day of the week"), ("thu", "theo thu")),
)
KEEP_PLACE = Choice("keep", N_("Keep the same place"), ("giu", "giu nguyen", "nhu cu"))
NO_PLACE = Choice("none", N_("No place given"), ("khong", "bo qua", "khong ghi"))
KEEP_TIME = (Choice("keep", N_("Keep the time"), ("giu", "giu nguyen", "nhu cu")),)

MSG_TIME = N_("Please type the time like 8h, 8 giờ 30 or 14:00.")
MSG_TIME_RANGE = N_("The hour must be from 0 to 23 and the minutes from 0 to 59, for example "
                    "8h or 14:30.")
_TIME = re.compile(
    r"(?:luc\s*)?(?P<hour>[0-9]{1,2})\s*(?:gio|h|g|:|\.)?\s*(?P<minute>[0-9]{1,2}|ruoi)?"
    r"\s*(?:phut|ph|p)?\s*(?P<part>sang|trua|chieu|toi|dem)?"
)


def parse_time(text: str) -> str:
    """Read a time of day such as ``8h``, ``8 giờ 30`` or ``14:00``.

    Also ``8``, ``8h30``, ``8 giờ rưỡi`` (8:30), ``2 giờ chiều`` (14:00), ``8.30``.

    Args:
        text: What the person typed.

    Returns:
        The time as ``HH:MM``.

    Raises:
        ParseError: If the text is not a time, or the hour or minutes are out of range.
    """
    match = _TIME.fullmatch(fold(text[:40]).strip(" .!?"))
    if not match:
        raise ParseError(MSG_TIME)
    hour = int(match["hour"])
    minute = 30 if match["minute"] == "ruoi" else int(match["minute"] or 0)
    part = match["part"]
    if (part in ("chieu", "toi", "dem") and hour < 12) or (part == "trua" and hour < 11):
        hour += 12
    if hour > 23 or minute > 59:
        raise ParseError(MSG_TIME_RANGE)
    return f"{hour:02d}:{minute:02d}"


# Reading and showing the schedule -------------------------------------------------------------


async def club_rule(tx: Transaction, club: Club) -> MeetingRule:
    """The rule in force: the chair's, or the club's registered meeting day at 08:00."""
    return await tx.meeting_rule(club.id) or default_rule(club.meeting_day)


def month_of(day: date) -> str:
    """The ``YYYY-MM`` key of a month."""
    return f"{day.year:04d}-{day.month:02d}"


def _shift(month: str, by: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def ruled(rule: MeetingRule, month: str) -> date:
    """The day the rule gives in ``month`` (``YYYY-MM``)."""
    year, number = (int(part) for part in month.split("-"))
    return rule_day(rule, year, number)


def month_meeting(rule: MeetingRule, moves: list[MeetingMove], month: str) -> Meeting:
    """The meeting of ``month``: the rule's, or its move."""
    move = next((m for m in moves if m.month == month), None)
    if move is None:
        return Meeting(ruled(rule, month), rule.time, rule.place)
    return Meeting(move.day, move.time, move.place or rule.place, moved=True)


def upcoming(
    rule: MeetingRule, moves: list[MeetingMove], start: date, count: int = SHOWN
) -> list[tuple[str, Meeting]]:
    """The next ``count`` meetings on or after ``start``, each with the month it belongs to.

    A move back to exactly what the rule gives is not shown as moved.
    """
    found = []
    for meeting in meetings(rule, moves, start, count):
        month = month_of(meeting.day)
        if meeting.moved:
            month = next((m.month for m in moves if m.day == meeting.day), month)
            same = (ruled(rule, month), rule.time, rule.place)
            if (meeting.day, meeting.time, meeting.place) == same:
                meeting = Meeting(meeting.day, meeting.time, meeting.place)
        found.append((month, meeting))
    return found


def last_meeting(rule: MeetingRule, moves: list[MeetingMove], today: date) -> Meeting:
    """The most recent meeting on or before ``today`` (today's, if there is one today)."""
    earlier = meetings(rule, moves, today - timedelta(days=100), 6)
    return [m for m in earlier if m.day <= today][-1]


def meeting_text(meeting: Meeting) -> T:
    """``Tuesday 15/12/2026, 08:00, Nhà văn hóa`` (and ``(moved)`` for a moved meeting)."""
    if meeting.place:
        text = T(N_("{day}, {time}, {place}"), day=day_text(meeting.day), time=meeting.time,
                 place=meeting.place)
    else:
        text = T(N_("{day}, {time}"), day=day_text(meeting.day), time=meeting.time)
    return T(N_("{meeting} (moved)"), meeting=text) if meeting.moved else text


def rule_words(rule: MeetingRule) -> T:
    """``day 15 of each month`` or ``the first Sunday of the month``."""
    if rule.kind == "day":
        assert rule.day is not None
        if rule.day >= 29:
            return T(N_("on day {day} of each month (the last day in shorter months)"),
                     day=rule.day)
        return T(N_("on day {day} of each month"), day=rule.day)
    assert rule.weekday is not None and rule.nth is not None
    return T(WEEKDAY_RULES[rule.weekday], nth=T(NTH_WORDS[rule.nth]))


def rule_text(rule: MeetingRule) -> T:
    """The rule in a sentence: when, what time, where."""
    if rule.place:
        return T(N_("The club meets {rule}, at {time}, at {place}."), rule=rule_words(rule),
                 time=rule.time, place=rule.place)
    return T(N_("The club meets {rule}, at {time}."), rule=rule_words(rule), time=rule.time)


def next_text(found: list[tuple[str, Meeting]]) -> T:
    """The next meetings, one a line."""
    return T(N_("The next meetings:\n{lines}"),
             lines=one_block([T("- {m}", m=meeting_text(m)) for _, m in found]))


async def missed_twice(tx: Transaction, club_id: int) -> list[Member]:
    """Active members absent from both of the last two meetings with attendance."""
    records = await tx.attendance(club_id, 2)
    if len(records) < 2:
        return []
    (_, newer), (_, older) = records
    absent = {m for m, came in newer.items() if not came} & {
        m for m, came in older.items() if not came}
    return [m for m in await tx.list_members(club_id, ["active"]) if m.id in absent]


async def missed_text(tx: Transaction, club_id: int) -> T | None:
    """``Missed the last two meetings: ...``, or ``None`` when nobody did."""
    missed = await missed_twice(tx, club_id)
    if not missed:
        return None
    return T(N_("Missed the last two meetings: {names}."),
             names=", ".join(m.full_name for m in missed))


async def schedule(ctx: Ctx) -> list[T]:
    """The rule, the next meetings and (for the board) who missed the last two."""
    assert ctx.club is not None
    rule = await club_rule(ctx.tx, ctx.club)
    moves = await ctx.tx.meeting_moves(ctx.club.id)
    parts = [rule_text(rule), next_text(upcoming(rule, moves, ctx.today))]
    if ctx.roles & BOARD and (missed := await missed_text(ctx.tx, ctx.club.id)):
        parts.append(missed)
    return parts


# The conversation ------------------------------------------------------------------------------


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Show the schedule; only the chair goes on to change it."""
    if "chair" not in ctx.roles:
        return Done([Reply(tuple(await schedule(ctx)))])
    assert ctx.club is not None
    rule = await club_rule(ctx.tx, ctx.club)
    return {"time_now": rule.time, "place_now": rule.place}


async def action_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The schedule, then what the chair wants to do."""
    parts = [*await schedule(ctx), T(N_("What do you want to do?"))]
    return joined(parts, "\n\n")


def _changing(ctx: Ctx, data: dict[str, Any]) -> bool:
    return data.get("action") == "change"


def _moving(ctx: Ctx, data: dict[str, Any]) -> bool:
    return data.get("action") == "move"


def nth_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Which of the month's weekdays."""
    label = next(c.label for c in WEEKDAYS if c.key == data["weekday"])
    return T(N_("Which {weekday} of the month? For example: the first."), weekday=T(label))


def time_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The time of the meetings."""
    return T(N_("At what time? For example: 8h, 8 giờ 30 or 14:00. Now: {time}."),
             time=data["time_now"])


async def time_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """A button keeping the time in force."""
    return (Choice(data["time_now"], data["time_now"]),)


def _time(text: str, ctx: Ctx) -> str:
    return parse_time(text)


def place_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Where the club meets."""
    if data["place_now"]:
        return T(N_("Where does the club meet? For example: Nhà văn hóa bản. Now: {place}."),
                 place=data["place_now"])
    return T(N_("Where does the club meet? For example: Nhà văn hóa bản."))


async def place_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Keep the place (if there is one) or give none."""
    return (KEEP_PLACE, NO_PLACE) if data["place_now"] else (NO_PLACE,)


def _place(text: str, ctx: Ctx) -> str:
    return parse_text(text, max_len=80)


async def _meeting_rule(ctx: Ctx) -> tuple[MeetingRule, list[MeetingMove]]:
    assert ctx.club is not None
    return await club_rule(ctx.tx, ctx.club), await ctx.tx.meeting_moves(ctx.club.id)


async def meeting_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The next three meetings, keyed by the month they belong to."""
    rule, moves = await _meeting_rule(ctx)
    return tuple(Choice(month, f"{format_day(m.day)} {m.time}")
                 for month, m in upcoming(rule, moves, ctx.today))


async def check_meeting(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Remember the meeting being moved: its day, time and place now, and the rule's day."""
    rule, moves = await _meeting_rule(ctx)
    meeting = month_meeting(rule, moves, value)
    move = next((m for m in moves if m.month == value), None)
    return {"from_day": meeting.day.isoformat(), "from_time": meeting.time,
            "rule_day": ruled(rule, value).isoformat(),
            "move_place": move.place if move else ""}


def _example(data: dict[str, Any], ctx: Ctx) -> date:
    """A day to show as an example: two days before the meeting, or after if that has passed."""
    before = date.fromisoformat(data["rule_day"]) - timedelta(days=2)
    return before if before >= ctx.today else ctx.today + timedelta(days=2)


def new_day_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The new day of the meeting."""
    return T(N_("Move the meeting of {day} to which day? For example: {example}."),
             day=day_text(date.fromisoformat(data["from_day"])),
             example=_example(data, ctx).strftime("%d/%m"))


def nearest_day(text: str, today: date, around: date) -> date:
    """Read a day; without a year, take the one nearest ``around``.

    ``03/01`` typed in December for a January meeting is next January's; ``hôm nay`` and the
    like count from ``today``.

    Raises:
        ParseError: If the text is not a day.
    """
    said = relative_day(text, today, ahead=True)  # "mai", "thứ 2 tuần sau": from today
    if said is not None:
        return said
    # Two "todays" in leap years (so 29/02 reads), not a whole number of years apart: a day
    # typed with its year reads the same from both, "hôm nay" lies as far from each, and a day
    # without a year falls in each one's own year.
    first, second = date(2000, 7, 1), date(2004, 3, 10)
    try:
        one, two = parse_date(text, first), parse_date(text, second)
    except ParseError:
        one = two = None
    if one is not None and two is not None:
        if one == two:  # the year was typed
            return one
        if one - first == two - second:  # "hôm nay", "hôm qua"
            return parse_date(text, today)
    found = []
    for year in (around.year - 1, around.year, around.year + 1):
        with contextlib.suppress(ParseError):  # 29/02 exists in some years only
            found.append(parse_date(text, date(year, 7, 1)))
    if not found:
        parse_date(text, date(2000, 7, 1))  # raises the reason (a day that does not exist)
        raise ParseError(MSG_DATE_INVALID)
    return min(found, key=lambda day: abs(day - around))


def _new_day(text: str, ctx: Ctx) -> str:
    return text[:40]  # read by check_new_day, which knows the meeting being moved


async def check_new_day(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Not in the past, within 45 days of the rule's day, between the meetings around it."""
    ruled_day = date.fromisoformat(data["rule_day"])
    day = nearest_day(value, ctx.today, ruled_day)
    example = _example(data, ctx).strftime("%d/%m")
    if day < ctx.today:
        raise ParseError(N_("{day} has passed. Please type today or a later day, for example "
                            "{example}."), day=format_day(day), example=example)
    if abs((day - ruled_day).days) > MOVE_DAYS:
        raise ParseError(N_("A meeting can move at most 45 days from {day}. Please type "
                            "another day, for example {example}."),
                         day=format_day(ruled_day), example=example)
    rule, moves = await _meeting_rule(ctx)
    before = month_meeting(rule, moves, _shift(data["meeting"], -1)).day
    after = month_meeting(rule, moves, _shift(data["meeting"], 1)).day
    if not before < day < after:  # the meetings keep their order
        raise ParseError(N_("That is on or past the meeting of {other}. Please type another "
                            "day, for example {example}."),
                         other=format_day(before if day <= before else after), example=example)
    return {"moved_to": day.isoformat()}


def move_time_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Keep the time, or type another."""
    return T(N_("At what time? To keep {time}, tap Keep the time; otherwise type the new "
                "time, for example 14h or 8 giờ 30."), time=data["from_time"],
             typed=N_("At what time? To keep {time}, type 1; otherwise type the new time, "
                      "for example 14h or 8 giờ 30."))


# Summary and saving ---------------------------------------------------------------------------


def new_rule(data: dict[str, Any]) -> MeetingRule:
    """The rule the answers give."""
    place = {"keep": data["place_now"], "none": ""}.get(data["place"], data["place"])
    if data["kind"] == "day":
        return MeetingRule(kind="day", day=int(data["day"]), time=data["time"], place=place)
    return MeetingRule(kind="weekday", day=None, weekday=int(data["weekday"]),
                       nth=int(data["nth"]), time=data["time"], place=place)


def new_move(data: dict[str, Any]) -> MeetingMove:
    """The move the answers give."""
    time = data["from_time"] if data["move_time"] == "keep" else data["move_time"]
    return MeetingMove(data["meeting"], date.fromisoformat(data["moved_to"]), time,
                       data["move_place"])


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The new rule and the meetings it gives, or the moved meeting."""
    assert ctx.club is not None
    moves = await ctx.tx.meeting_moves(ctx.club.id)
    if data["action"] == "change":
        rule = new_rule(data)
        return T(N_("New schedule: {rule}\n{next}\nEvery member will be told."),
                 rule=rule_text(rule), next=next_text(upcoming(rule, moves, ctx.today)))
    rule = await club_rule(ctx.tx, ctx.club)
    move = new_move(data)
    meeting = Meeting(move.day, move.time, move.place or rule.place)
    return T(N_("The meeting of {old} moves to {new}. The monthly schedule stays the same.\n"
                "Every member will be told."),
             old=day_text(date.fromisoformat(data["from_day"])), new=meeting_text(meeting))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Save the change, or end."""
    if data["action"] == "change":
        return Done(effects=[ChangeSchedule(new_rule(data))])
    if data["action"] == "move":
        return Done(effects=[MoveMeeting(new_move(data), data["from_day"])])
    return Done([Reply((T(N_("All right. Type /menu for other tasks.")),))])


async def _tell_members(tx: Transaction, ctx: Ctx, message: T) -> list[Reply]:
    assert ctx.member is not None
    members = await tx.list_members(ctx.member.club_id, ["active"])
    return [notify(m.id, message) for m in members if m.id != ctx.member.id]


@dataclass(frozen=True)
class ChangeSchedule:
    """Effect: a new meeting rule (kept with who and when); every active member is told."""

    rule: MeetingRule

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the rule if the writer is the chair."""
        if refusal := refused(ctx, CHAIR):
            return refusal
        assert ctx.member is not None and ctx.club is not None
        await tx.set_meeting_rule(ctx.club.id, self.rule, ctx.member.id, ctx.now)
        found = upcoming(self.rule, await tx.meeting_moves(ctx.club.id), ctx.today, 1)
        told = T(N_("The club's meeting schedule has changed. {rule}"), rule=rule_text(self.rule))
        if found:
            told = T(N_("{text} The next meeting: {meeting}."), text=told,
                     meeting=meeting_text(found[0][1]))
        notices = await _tell_members(tx, ctx, told)
        done = T(N_("Saved. I told {count} members."), count=len(notices))
        return [Reply((done,)), *notices]


@dataclass(frozen=True)
class MoveMeeting:
    """Effect: one meeting moves (the rule stays); every active member is told."""

    move: MeetingMove
    from_day: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the move if the writer is the chair."""
        if refusal := refused(ctx, CHAIR):
            return refusal
        assert ctx.member is not None and ctx.club is not None
        await tx.move_meeting(ctx.club.id, self.move, ctx.member.id, ctx.now)
        rule = await club_rule(tx, ctx.club)
        meeting = Meeting(self.move.day, self.move.time, self.move.place or rule.place)
        told = T(N_("The club's meeting of {old} is moved to {new}."),
                 old=day_text(date.fromisoformat(self.from_day)),
                 new=meeting_text(meeting))
        notices = await _tell_members(tx, ctx, told)
        done = T(N_("Saved. I told {count} members."), count=len(notices))
        return [Reply((done,)), *notices]


MEETING_SCHEDULE = Flow(
    id="meeting_schedule",
    command="lichhop",
    title=N_("Meeting schedule"),
    steps=(
        Step("action", action_prompt, choices=ACTIONS,
             next=lambda data: END if data["action"] == "done" else None),
        Step("kind", N_("Does the club meet on a day of the month (for example the 15th) or on "
                        "a day of the week (for example the first Sunday)?"),
             choices=KINDS, skip=lambda ctx, data: not _changing(ctx, data)),
        Step("day", N_("Which day of the month? For example: 15."),
             parse=lambda text, ctx: parse_day_of_month(text),
             skip=lambda ctx, data: not _changing(ctx, data) or data["kind"] != "day"),
        Step("weekday", N_("Which day of the week? For example: Sunday."), choices=WEEKDAYS,
             skip=lambda ctx, data: not _changing(ctx, data) or data["kind"] != "weekday"),
        Step("nth", nth_prompt, choices=NTH,
             skip=lambda ctx, data: not _changing(ctx, data) or data["kind"] != "weekday"),
        Step("time", time_prompt, parse=_time, choices=time_choices,
             skip=lambda ctx, data: not _changing(ctx, data)),
        Step("place", place_prompt, parse=_place, choices=place_choices,
             skip=lambda ctx, data: not _changing(ctx, data)),
        Step("meeting", N_("Which meeting do you want to move?"), choices=meeting_choices,
             validate=check_meeting, skip=lambda ctx, data: not _moving(ctx, data)),
        Step("new_day", new_day_prompt, parse=_new_day, validate=check_new_day,
             skip=lambda ctx, data: not _moving(ctx, data)),
        Step("move_time", move_time_prompt, parse=_time, choices=KEEP_TIME,
             skip=lambda ctx, data: not _moving(ctx, data)),
    ),
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("lich hop", "lich"),
)
