"""Reminders: what is due at a moment, computed from the database, and queued exactly once.

Nothing is kept in a job store. A periodic scan (:func:`scan`, every minute under the
service's supervisor, and once at start, so what was missed while the service was down still
goes out if it is still relevant) asks :func:`due` what should have gone out by now and is
still relevant, keeps the reminders whose key (kind, target, occurrence) was never queued, and
queues them in the outbox in the same transaction that records the keys (:func:`queue`). A
second scan, a late scan or a restart finds the keys recorded and sends nothing twice.

Kinds (each can be paused by the member with ``/nhacnho``):

- ``meeting``: every active member, some days before the meeting and on its morning;
- ``repayment``: the borrower, before the due day, on it, the day after if unpaid, then weekly
  while overdue; only the latest step that is due goes out, and a payment moves the loan to
  its next instalment, so what was not sent yet is never sent;
- ``health``: members not measured this month, a few days before the meeting;
- ``digest``: weekly to the chair and treasurer, only when there is something to say.

All times are club time; nothing goes out in the quiet hours (21:00–06:30 by default): a
reminder that falls in them goes out when they end. A scan's batch is spread over the send
window (07:00–11:00 by default), the due day's repayments and the meeting mornings first
(:func:`plan`). Settings live in ``meta`` (``reminders``), one JSON for every club.

Each reminder is queued with a promise the sender keeps at the moment it sends
(:mod:`bot.outbox.promises`): not before its moment moved out of the quiet hours, never in
them, never after it stops making sense (``Due.until``), and only while its guard still
holds (:mod:`bot.reminder_guards`: the instalment is unpaid, the meeting not moved, the
member not measured, the reader still on the board, the kind not paused). A scan at 23:00
after an outage therefore queues for the morning's window (07:00), and a backlog cannot
carry a reminder into the night or past the meeting.
"""

from __future__ import annotations

import gc
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot import health, metrics, outbox, reminder_guards
from bot.i18n import N_, format_day, format_money
from bot.meetings import Meeting, default_rule, meetings
from bot.messages import Choice, Recipient, Reply, T, joined
from bot.outbox import promises
from bot.outbox.promises import QuietHours
from bot.vocabulary import day_text
from storage.base import Club, OutboxItem, Storage, Transaction
from storage.meetings import DueInstalment

log = logging.getLogger(__name__)

SETTINGS_KEY = "reminders"
SCAN_CLUBS = 300  # clubs read per transaction by the scan
SCAN_BATCH = 1000  # reminders queued per transaction


@dataclass(frozen=True)
class Settings:
    """When reminders go out (club time).

    Attributes:
        quiet_start: Nothing is sent from this time...
        quiet_end: ...until this time; what fell in between goes out then (the same time
            as ``quiet_start``: no quiet hours).
        send_at: The hour of reminders sent a day or more ahead.
        meeting_days: Days before the meeting (0 = its morning, at ``quiet_end``).
        repayment_days: Days from the due day (negative: before; positive: after, if unpaid).
        overdue_every: Then every this many days while overdue.
        health_days: Days before the meeting for "not measured this month".
        digest_weekday: Day of the board's weekly digest (0 = Monday).
        digest_at: Its time.
        send_window: ``HH:MM-HH:MM``: a scan's reminders due before or in it are spread
            over it, the most urgent first (see :func:`plan`); outside the quiet hours.
    """

    quiet_start: str = "21:00"
    quiet_end: str = "06:30"
    send_at: str = "08:00"
    meeting_days: tuple[int, ...] = (2, 0)
    repayment_days: tuple[int, ...] = (-3, 0, 1)
    overdue_every: int = 7
    health_days: int = 3
    digest_weekday: int = 0
    digest_at: str = "07:30"
    send_window: str = "07:00-11:00"

    def quiet_hours(self) -> QuietHours:
        """The quiet hours, for the sender."""
        return QuietHours(_clock(self.quiet_start), _clock(self.quiet_end))

    def window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The send window of ``day`` (club time): its start and its end."""
        start, _, end = self.send_window.partition("-")
        return (datetime.combine(day, _clock(start), zone),
                datetime.combine(day, _clock(end), zone))

    def to_json(self) -> str:
        """The settings as JSON (for ``meta``)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Settings:
        """Stored settings over the defaults; unknown keys are ignored."""
        stored = json.loads(text) if text else {}
        known = {f.name: f for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()
                  if k in known}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder that should go out: to whom, why, from when and until when.

    ``guard`` says what must still be true when it is sent (see :mod:`bot.reminder_guards`).
    """

    key: str
    club_id: int
    member_id: int
    kind: str
    at: datetime
    until: datetime
    parts: tuple[T, ...]
    choices: tuple[Choice, ...] = field(default=())
    guard: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False  # the due day's repayment, the meeting morning: spread first


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time(hour, minute)


def out_of_quiet(moment: datetime, settings: Settings) -> datetime:
    """``moment`` (club time), or the end of the quiet hours it falls in."""
    return settings.quiet_hours().end_of(moment) or moment


@lru_cache(maxsize=4096)
def _on(day: date, at: str, zone: ZoneInfo, settings: Settings) -> datetime:
    return out_of_quiet(datetime.combine(day, _clock(at), zone), settings)


# What is due ----------------------------------------------------------------------------------


async def due(
    tx: Transaction, now: datetime, tz: str, clubs: Sequence[Club] | None = None
) -> list[Due]:
    """Every reminder that should have gone out by ``now`` and is still relevant.

    Already queued ones are included (the caller keeps the new keys), paused ones are not.
    Members are loaded only for clubs with a meeting reminder due now.

    Args:
        tx: A transaction to read in.
        now: The moment.
        tz: The clubs' time zone.
        clubs: Only these clubs (default: all).
    """
    zone = ZoneInfo(tz)
    settings = Settings.from_json(await tx.get_meta(SETTINGS_KEY))
    local = now.astimezone(zone)
    if clubs is None:
        clubs = [club for club, _ in await tx.list_clubs()]
    ids = [club.id for club in clubs]
    rules = await tx.meeting_rules(ids)
    moves = await tx.meeting_moves_of(ids)
    windows: dict[int, tuple[Meeting, list[int]]] = {}
    offsets = (*settings.meeting_days, settings.health_days)
    for club in clubs:
        rule = rules.get(club.id) or default_rule(club.meeting_day)
        nxt = [m for m in meetings(rule, moves[club.id], local.date(), 2) if m.starts(tz) > now]
        if not nxt:
            continue
        open_days = [d for d in offsets if _meeting_time(nxt[0], d, zone, settings) <= now]
        if open_days:
            windows[club.id] = (nxt[0], open_days)
    members = await tx.active_member_ids(list(windows))
    health_clubs = [c for c, (_, open_days) in windows.items()
                    if settings.health_days in open_days]
    since = local.date().replace(day=1)
    missing = await tx.unmeasured_members(health_clubs, since) if health_clubs else {}
    instalments = await tx.due_instalments(ids)
    texts = _Texts()
    found: list[Due] = []
    with _bulk():  # hundreds of thousands at a meeting peak
        for club_id, (meeting, _) in windows.items():
            found += _meeting_reminders(club_id, meeting, members[club_id], now, zone,
                                        settings, texts)
            if club_id in missing:
                found += _health_reminders(club_id, meeting, missing[club_id], since, now,
                                           zone, settings, texts)
        found += _repayment_reminders(instalments, now, zone, settings)
    found += await _digests(tx, ids, now, zone, settings)
    return await _not_paused(tx, found)


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while many reminders are made (no ``await`` inside).

    A meeting peak makes over a million small objects (each reminder and its guard); the
    collector walked all of them again and again while they were made, about half of
    :func:`due`'s time. Nothing made here is cyclic: reference counting frees it all. The
    code inside never awaits, so nothing else runs meanwhile.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Texts(dict[tuple[Any, ...], tuple[T, ...]]):
    """The texts of one :func:`due` call, made once for every club with the same meeting."""

    def meeting(self, meeting: Meeting, days: int) -> tuple[T, ...]:
        key = ("meeting", meeting.day, meeting.time, meeting.place, days)
        if key not in self:
            when = (T(N_("today at {time}"), time=meeting.time) if days == 0 else
                    T(N_("{day} at {time}"), day=day_text(meeting.day), time=meeting.time))
            self[key] = (T(N_("Reminder: the club meets {when}{place}. Please come, and bring "
                              "your health book."), when=when,
                           place=(T(N_(" at {place}"), place=meeting.place) if meeting.place
                                  else "")),)
        return self[key]

    def health(self, meeting: Meeting) -> tuple[T, ...]:
        key = ("health", meeting.day)
        if key not in self:
            self[key] = (T(N_("You have not had your blood pressure measured this month. It is "
                              "measured at the meeting on {day}; or type /huyetap if you "
                              "measure it yourself."), day=format_day(meeting.day)),)
        return self[key]


def _meeting_time(meeting: Meeting, days: int, zone: ZoneInfo, settings: Settings) -> datetime:
    """When the reminder ``days`` before a meeting goes out (0: on its morning)."""
    if days == 0:
        return _on(meeting.day, settings.quiet_end, zone, settings)
    return _on(meeting.day - timedelta(days=days), settings.send_at, zone, settings)


def _meeting_reminders(
    club_id: int, meeting: Meeting, members: list[int], now: datetime, zone: ZoneInfo,
    settings: Settings, texts: _Texts,
) -> list[Due]:
    starts = meeting.starts(zone.key)
    day, at_time = meeting.day.isoformat(), meeting.time
    found: list[Due] = []
    for days in settings.meeting_days:
        at = _meeting_time(meeting, days, zone, settings)
        if not at <= now < starts:
            continue
        parts, urgent = texts.meeting(meeting, days), days == 0
        prefix = f"meeting:{club_id}:{day}:{days}:"
        found += [Due(prefix + str(m), club_id, m, "meeting", at, starts, parts, (),
                      {"kind": "meeting", "club": club_id, "member": m, "day": day,
                       "time": at_time}, urgent)
                  for m in members]
    return found


HEALTH_CHOICES = (Choice("/huyetap", N_("Blood pressure and weight")),)


def _health_reminders(
    club_id: int, meeting: Meeting, missing: list[int], since: date, now: datetime,
    zone: ZoneInfo, settings: Settings, texts: _Texts,
) -> list[Due]:
    at = _meeting_time(meeting, settings.health_days, zone, settings)
    starts = meeting.starts(zone.key)
    if not at <= now < starts:
        return []
    parts, day, at_time = texts.health(meeting), meeting.day.isoformat(), meeting.time
    since_text, prefix = since.isoformat(), f"health:{club_id}:{day}:"
    return [Due(prefix + str(m), club_id, m, "health", at, starts, parts, HEALTH_CHOICES,
                {"kind": "health", "club": club_id, "member": m, "since": since_text,
                 "day": day, "time": at_time})
            for m in missing]


def _repayment_steps(due_day: date, settings: Settings, today: date) -> list[int]:
    """Days from the due day of each reminder step, weekly ones up to today."""
    steps = sorted(settings.repayment_days)
    while due_day + timedelta(days=steps[-1] + settings.overdue_every) <= today:
        steps.append(steps[-1] + settings.overdue_every)
    return steps


REPAYMENT_CHOICES = (Choice("/trano", N_("Report a payment")), Choice("/vay", N_("My loans")))


def _repayment_step(
    due_day: date, now: datetime, zone: ZoneInfo, settings: Settings
) -> tuple[int, datetime, datetime] | None:
    """The latest step due at ``now`` of an instalment due on ``due_day``.

    Returns:
        Its days from the due day, its moment and its ``until``; ``None`` if none is due.
    """
    steps = _repayment_steps(due_day, settings, now.astimezone(zone).date())
    times = [_on(due_day + timedelta(days=s), settings.quiet_end if s == 0 else
                 settings.send_at, zone, settings) for s in steps]
    current = [i for i, at in enumerate(times) if at <= now]
    if not current:
        return None
    index = current[-1]  # only the latest step: a missed earlier one is no longer news
    until = times[index + 1] if index + 1 < len(times) else times[index] + timedelta(days=7)
    if now >= until:
        return None
    return steps[index], times[index], until


def _repayment_reminders(
    instalments: Iterable[DueInstalment], now: datetime, zone: ZoneInfo, settings: Settings
) -> list[Due]:
    by_day: dict[date, tuple[tuple[int, datetime, datetime] | None, str, str]] = {}
    found = []
    for item in instalments:
        known = by_day.get(item.due)
        if known is None:  # the same for every instalment due that day
            known = by_day[item.due] = (_repayment_step(item.due, now, zone, settings),
                                        format_day(item.due), item.due.isoformat())
        current, day, due_text = known
        if current is None:
            continue
        step, at, until = current
        amount = format_money(item.amount)
        if step < 0:
            text = T(N_("Reminder: {amount} of your loan is due on {day}."), amount=amount,
                     day=day)
        elif step == 0:
            text = T(N_("Reminder: {amount} of your loan is due today."), amount=amount)
        else:
            text = T(N_("Your loan payment of {amount} was due on {day} and is not paid yet. "
                        "Please pay it soon, or talk to the treasurer."), amount=amount, day=day)
        found.append(Due(f"repayment:{item.loan_id}:{due_text}:{step}", item.club_id,
                         item.member_id, "repayment", at, until, (text,), REPAYMENT_CHOICES,
                         {"kind": "repayment", "club": item.club_id, "member": item.member_id,
                          "loan": item.loan_id, "due": due_text}, step == 0))
    return found


async def _digests(
    tx: Transaction, club_ids: list[int], now: datetime, zone: ZoneInfo, settings: Settings
) -> list[Due]:
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=settings.digest_weekday)
    at = _on(day, settings.digest_at, zone, settings)
    until = at + timedelta(days=1)
    if not at <= now < until:
        return []
    week = day.isocalendar()
    board: dict[int, list[int]] = {}
    for club_id in club_ids:
        people = await tx.members_with_roles(club_id, {"chair", "treasurer"})
        board[club_id] = [m.id for m in people]
    keys = {(c, m): f"digest:{c}:{week.year}-W{week.week:02d}:{m}"
            for c, people in board.items() for m in people}
    fresh = await tx.new_reminder_keys(list(keys.values()))
    found = []
    for club_id, people in board.items():
        todo = [m for m in people if keys[club_id, m] in fresh]
        parts = await digest(tx, club_id, local.date()) if todo else ()
        found += [Due(keys[club_id, m], club_id, m, "digest", at, until, parts,
                      guard={"kind": "digest", "club": club_id, "member": m})
                  for m in todo if parts]
    return found


async def digest(tx: Transaction, club_id: int, today: date) -> tuple[T, ...]:
    """The board's weekly digest of a club; empty when there is nothing to say."""
    lines: list[T] = []
    overdue = await tx.arrears([club_id], today)
    if overdue:
        lines.append(T(N_("- Overdue loans: {count} ({amount}), see /quahan"),
                       count=len(overdue), amount=format_money(sum(a.amount for a in overdue))))
    reports = await tx.payment_reports(club_id)
    if reports:
        lines.append(T(N_("- Payments waiting for confirmation: {count}, see /xacnhan"),
                       count=len(reports)))
    pending = await tx.list_members(club_id, ["pending"])
    if pending:
        lines.append(T(N_("- People waiting to join: {count}, see /duyet"), count=len(pending)))
    rules = await health.triage(tx)
    high = await tx.high_last_readings(club_id)
    if high:
        lines.append(T(N_("- Members whose last reading was high: {count}, see /suckhoe"),
                       count=high))
    late = [c for c in await tx.care_clients(club_id)
            if c.last_visit is None or (today - c.last_visit).days > rules.visit_gap_days]
    if late:
        lines.append(T(N_("- Care clients without a visit for {days} days: {count}, see "
                          "/khachhang"), days=rules.visit_gap_days, count=len(late)))
    if not lines:
        return ()
    return (T(N_("This week in the club:")), joined(lines))


async def _not_paused(tx: Transaction, found: list[Due]) -> list[Due]:
    kinds = {item.kind for item in found}
    paused = {kind: await tx.paused_members(kind, None) for kind in sorted(kinds)}
    if not any(paused.values()):
        return found
    return [item for item in found if item.member_id not in paused[item.kind]]


# Queueing -------------------------------------------------------------------------------------


def fair(items: Iterable[Due]) -> list[Due]:
    """Interleave the clubs (one of each in turn), so a big club cannot delay the others."""
    per_club: dict[int, list[Due]] = defaultdict(list)
    for item in sorted(items, key=lambda d: (d.at, d.key)):
        per_club[item.club_id].append(item)
    queues = list(per_club.values())
    ordered: list[Due] = []
    for index in range(max((len(q) for q in queues), default=0)):
        ordered += [q[index] for q in queues if index < len(q)]
    return ordered


def send_from(item: Due, now: datetime, zone: ZoneInfo, settings: Settings) -> datetime | None:
    """When ``item`` may first go out; ``None`` if never (not before its ``until``).

    That is its moment (``now`` if later: a late scan) moved out of the quiet hours.
    """
    moment = out_of_quiet(max(item.at, now).astimezone(zone), settings)
    return moment if moment < item.until else None


PACE_RATE = 29.0
"""Reminders per second the spread plans for at most (Telegram's overall rate, the lowest)."""
MAX_GAP = timedelta(seconds=1)
"""The slowest pace: a small batch is not stretched over the whole window."""


def window_problem(settings: Settings) -> T | None:
    """What is wrong with ``settings.send_window``, in words; ``None`` if nothing.

    It must read ``HH:MM-HH:MM``, start before it ends (within one day), and lie wholly
    outside the quiet hours.
    """
    start, dash, end = settings.send_window.partition("-")
    try:
        first, last = _clock(start), _clock(end)
    except ValueError:
        first = last = None
    if not dash or first is None or last is None:
        return T(N_("send_window: expected two times like 07:00-11:00"))
    if first >= last:
        return T(N_("send_window: {start} must be before {end}"), start=start, end=end)
    quiet = settings.quiet_hours()
    day = date(2026, 1, 5)  # any day: club time has no daylight saving in Vietnam
    since = datetime.combine(day, first)
    quiet_start = datetime.combine(day, quiet.start)
    if quiet.start != quiet.end and (quiet.end_of(since) is not None
                                     or since < quiet_start < datetime.combine(day, last)):
        return T(N_("send_window: {window} overlaps the quiet hours {quiet_start}-{quiet_end}; "
                    "choose a window between {quiet_end} and {quiet_start}"),
                 window=settings.send_window, quiet_start=settings.quiet_start,
                 quiet_end=settings.quiet_end)
    return None


def _open(moment: datetime, zone: ZoneInfo, settings: Settings) -> datetime:
    """``moment``, or if it is in the quiet hours the start of the next day's send window."""
    end = settings.quiet_hours().end_of(moment)
    if end is None:
        return moment
    if window_problem(settings) is not None:  # written past the CLI's check: no window
        return end
    return max(end, settings.window(end.date(), zone)[0])


def plan(
    items: Iterable[Due], now: datetime, tz: str, settings: Settings,
    rate: float | Mapping[str, float] = PACE_RATE, channels: Mapping[int, str] | None = None,
) -> list[tuple[Due, datetime]]:
    """The order of a scan's reminders and when each may first go out (its ``not_before``).

    Each channel (each bot: ``telegram``, ``zalo``, ``telegram:<name>``...) has its own
    rate budget, so the reminders are spread per channel, each at its own pace (see
    :func:`_plan_channel`): those of a bot serving 2,000 members do not wait behind those
    of one serving 50,000. A channel that cannot deliver its share inside the send window
    says so in the log (a warning with the counts); what does not fit still never gets a
    moment in the quiet hours.

    Args:
        items: The new reminders of a scan.
        now: The moment of the scan.
        tz: The clubs' time zone.
        settings: The reminder settings.
        rate: Messages per second at most: per channel (a mapping, e.g. the running
            senders' rates), or one for all. A channel missing from the mapping is planned
            at :data:`PACE_RATE`.
        channels: The channel each member's reminders go through (member id -> channel);
            without it (or for a member not in it) all are planned as one channel.

    Returns:
        Each reminder that can still go out, with its ``not_before`` (club time), in order
        (by ``not_before`` when there are several channels).
    """
    zone = ZoneInfo(tz)
    rates = rate if isinstance(rate, Mapping) else {}
    default = PACE_RATE if isinstance(rate, Mapping) else rate
    groups: dict[str, list[Due]] = defaultdict(list)
    where = channels or {}
    for item in items:
        groups[where.get(item.member_id, "")].append(item)
    if len(groups) <= 1:
        (channel, group), = groups.items() if groups else (("", []),)
        return _plan_channel(group, now, zone, settings, rates.get(channel, default), channel)
    planned = [pair for channel, group in sorted(groups.items()) for pair in
               _plan_channel(group, now, zone, settings, rates.get(channel, default), channel)]
    planned.sort(key=lambda pair: pair[1])  # stable: each channel's order is kept
    return planned


def _plan_channel(
    items: Iterable[Due], now: datetime, zone: ZoneInfo, settings: Settings, rate: float,
    channel: str,
) -> list[tuple[Due, datetime]]:
    """The plan of one channel's reminders: their order and each one's ``not_before``.

    Every reminder of a scan may go from the same moment (the scan's, out of the quiet
    hours): a national meeting morning is one batch of hundreds of thousands. The batch is
    spread instead, at one even pace, from its start:

    - The start is the send window's start when the moment is before it (the meeting
      morning's 06:30 becomes 07:00: later, never earlier), else the moment itself (an
      08:00 reminder keeps 08:00; nothing goes out before its moment).
    - The urgent ones first (the due day's repayments, the meeting mornings), the others
      after (days-ahead notices, health, digests); earliest ``until`` first within each,
      the clubs interleaved (:func:`fair`).
    - The pace is as slow as lets every one go before the window's end and before its own
      ``until`` (a meeting at 08:00: its reminders fit between 07:00 and 08:00), so chats
      keep most of the channel; never faster than ``rate`` per second, never slower than
      one per :data:`MAX_GAP` (a club's few reminders are not stretched over hours: the
      window spreads the batches that need it). A batch that starts after the window's end
      goes at ``rate``.
    - When the window is too short at ``rate``, the rest keep the pace after its end until
      the quiet hours; what still remains resumes at the next day's window start, in order.
      Nothing is given a moment in the quiet hours. A window that is not valid (written
      around :func:`window_problem`, e.g. quiet hours moved over it) counts as none: each
      batch goes from its moment at ``rate``.
    - One the pace cannot reach before its ``until`` is given the last moment before it
      (the sender sends it if the channel gets there in time, else it expires, as every
      reminder did before); one whose ``until`` is not after the start goes at its own
      moment, as before.

    Args:
        items: The new reminders of a scan for this channel.
        now: The moment of the scan.
        zone: The clubs' time zone.
        settings: The reminder settings.
        rate: Reminders per second at most (the channel's).
        channel: The channel's name, for the log.

    Returns:
        Each reminder that can still go out, with its ``not_before`` (club time), in order.
    """
    gap = timedelta(seconds=1 / rate)
    ready = [(item, moment) for item in fair(items)
             if (moment := send_from(item, now, zone, settings)) is not None]
    if not ready:
        return []
    moment = min(at for _, at in ready)
    window_start, window_end = (settings.window(moment.date(), zone)
                                if window_problem(settings) is None else (moment, moment))
    start = max(moment, window_start)
    kept = [(item, at) for item, at in ready if item.until <= start]
    spread = sorted(((item, at) for item, at in ready if item.until > start),
                    key=lambda pair: (not pair[0].urgent, pair[0].until))
    pace = gap
    if start < window_end and spread:
        room = min((min(item.until, window_end) - start) / (index + 1)
                   for index, (item, _) in enumerate(spread))
        pace = max(gap, min(room, MAX_GAP))
    planned = list(kept)
    slot = start
    late = missed = 0
    for item, at in spread:
        slot = _open(slot, zone, settings)
        when = max(slot, at)
        if when >= item.until:  # out of reach: its last moment, if that is not quiet
            missed += 1
            last = item.until - gap
            when = last if last >= at and settings.quiet_hours().end_of(last) is None else at
        elif when >= window_end > start:
            late += 1
        planned.append((item, when))
        slot += pace
    if late or missed:
        room = max(0, int((window_end - start).total_seconds() * rate))
        log.warning(
            "reminders: %s cannot deliver its share inside the send window %s: %d reminders "
            "at %g/s from %s, room for %d; %d planned after the window (never in the quiet "
            "hours), %d out of reach before they stop making sense", channel or "-",
            settings.send_window, len(spread), rate, f"{start:%H:%M:%S}", room, late, missed)
    return planned


async def queue(
    tx: Transaction, items: Sequence[Due], now: datetime, tz: str,
    not_before: Mapping[str, datetime] | None = None,
) -> list[OutboxItem]:
    """Queue reminders with their promises and record their keys, in the caller's transaction.

    Each goes out from its moment (``now`` if later) moved out of the quiet hours, until its
    ``until``, never in the quiet hours, and only while its guard holds; one whose quiet
    hours last past its ``until`` is left out (see :func:`send_from`). A key queued
    meanwhile (by another scan) is skipped by the outbox's dedupe key.

    Args:
        tx: The caller's transaction.
        items: What to queue.
        now: The moment of the scan.
        tz: The clubs' time zone.
        not_before: Each key's ``not_before`` (club time), from :func:`plan`; without one, each
            goes from its moment out of the quiet hours.

    Returns:
        The queued messages (the sender takes them when the transaction commits).
    """
    zone = ZoneInfo(tz)
    settings = Settings.from_json(await tx.get_meta(SETTINGS_KEY))
    queued: list[OutboxItem] = []
    for item in items:
        first = (not_before or {}).get(item.key) or send_from(item, now, zone, settings)
        if first is None:
            continue
        reply = Reply(item.parts, item.choices, "-", "-", to=Recipient(item.member_id))
        made = await outbox.queue(
            tx, None, [reply], now, dedupe_key=f"reminder:{item.key}",
            not_before=first.astimezone(UTC), expires_at=item.until.astimezone(UTC),
            quiet=True, guard=item.guard,
        )
        await tx.record_reminder(item.key, item.club_id, item.member_id, item.kind, item.at, now,
                                 made[0].id if made else None)
        if made:
            metrics.REMINDERS.labels(item.kind, "queued").inc()
        queued += made
    return queued


async def scan(
    storage: Storage, tz: str, now: datetime, *, send: bool = True,
    rate: float | Mapping[str, float] = PACE_RATE,
) -> list[Due]:
    """Queue the reminders due at ``now``, each exactly once (the periodic scan).

    What is due is read in short transactions of a few hundred clubs each, and queued in
    batches, so a national scan never holds the database for long: chats go on between
    them. The batch is spread over the send window, the most urgent first, all clubs
    interleaved, so a large club delays no other (see :func:`plan`).

    Args:
        storage: The open storage backend.
        tz: The clubs' time zone.
        now: The moment to look at (the operator's ``reminders send --at``).
        send: Queue them; with ``False`` only list what is due and new.
        rate: Messages per second the spread plans for at most: per channel (channel ->
            rate, each bot its own budget: the running senders' rates) or one for all.

    Returns:
        The new reminders, in the order queued.
    """
    async with storage.transaction() as tx:
        clubs = [club for club, _ in await tx.list_clubs()]
        settings = Settings.from_json(await tx.get_meta(SETTINGS_KEY))
        tx.after_commit(promises.QUIET_TOPIC, settings.quiet_hours())  # the sender's copy
    found: list[Due] = []
    channels: dict[int, str] | None = {} if isinstance(rate, Mapping) else None
    for start in range(0, len(clubs), SCAN_CLUBS):
        async with storage.transaction() as tx:
            due_now = await due(tx, now, tz, clubs[start:start + SCAN_CLUBS])
            fresh = await tx.new_reminder_keys([d.key for d in due_now])
            new = [d for d in due_now if d.key in fresh]
            if new and channels is not None:  # which bot each one goes through
                channels.update(await tx.member_channels(sorted({d.club_id for d in new})))
        found += new
    planned = plan(found, now, tz, settings, rate, channels)
    todo = [item for item, _ in planned]
    when = {item.key: at for item, at in planned}
    if send:
        for start in range(0, len(todo), SCAN_BATCH):
            async with storage.transaction() as tx:
                await queue(tx, todo[start:start + SCAN_BATCH], now, tz, when)
    return todo


async def _quiet_hours(tx: Transaction) -> QuietHours:
    return Settings.from_json(await tx.get_meta(SETTINGS_KEY)).quiet_hours()


promises.register_quiet_hours(_quiet_hours)
for _kind, _check in reminder_guards.GUARDS.items():
    promises.register_guard(_kind, _check)
