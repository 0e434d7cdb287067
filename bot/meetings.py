"""When clubs meet: the dates a meeting rule gives, with one-off moves applied. Pure.

A rule is "the 15th of each month" (clamped to short months) or "the first Sunday" (``nth``
1..4, or -1 for the last). A move replaces the meeting the rule puts in that month.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from storage.meetings import MeetingMove, MeetingRule


@dataclass(frozen=True)
class Meeting:
    """One meeting: its day, time (``HH:MM``), place, and whether it was moved."""

    day: date
    time: str
    place: str
    moved: bool = False

    def starts(self, tz: str) -> datetime:
        """The meeting's start as an aware datetime in the club's time zone."""
        hour, minute = (int(part) for part in self.time.split(":"))
        return datetime.combine(self.day, time(hour, minute), ZoneInfo(tz))


def rule_day(rule: MeetingRule, year: int, month: int) -> date:
    """The day the rule gives in a month."""
    last = calendar.monthrange(year, month)[1]
    if rule.kind == "day":
        assert rule.day is not None
        return date(year, month, min(rule.day, last))
    assert rule.weekday is not None and rule.nth is not None
    days = [d for d in range(1, last + 1) if date(year, month, d).weekday() == rule.weekday]
    return date(year, month, days[-1] if rule.nth == -1 else days[rule.nth - 1])


def _months(start: date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def meetings(
    rule: MeetingRule, moves: Sequence[MeetingMove], start: date, count: int
) -> list[Meeting]:
    """The next ``count`` meetings on or after ``start`` (moves applied), in order."""
    moved = {m.month: m for m in moves}
    found: list[Meeting] = []
    # A move may bring a meeting from another month (up to ±45 days) before or after
    # ``start``'s: look at every month from the one before to ``count + 2`` after.
    first = date(start.year - (start.month == 1), 12 if start.month == 1 else start.month - 1, 1)
    for index, (year, month) in enumerate(_months(first)):
        if index > count + 3:
            break
        key = f"{year:04d}-{month:02d}"
        if key in moved:
            move = moved[key]
            meeting = Meeting(move.day, move.time, move.place or rule.place, moved=True)
        else:
            meeting = Meeting(rule_day(rule, year, month), rule.time, rule.place)
        if meeting.day >= start:
            found.append(meeting)
    return sorted(found, key=lambda m: m.day)[:count]


def default_rule(meeting_day: int) -> MeetingRule:
    """The rule of a club that has not set one: its registered meeting day, 08:00."""
    return MeetingRule(kind="day", day=meeting_day, time="08:00", place="")
