"""The promises a queued message may carry, checked by the sender right before it sends.

Reminders and digests (:mod:`bot.reminders`) are queued with a promise: not before a moment,
never at or after another, not in the quiet hours, and only while what they say is still
true (the loan is still unpaid, the meeting was not moved...). A backlog, an outage or a
retry can carry a message far from the moment it was queued for; the sender asks
:meth:`Keeper.verdict` just before each send of such a message whether it may go now, must
wait, or has expired. Replies, alerts and notices carry no promise and always go.

The checks that know about loans and meetings belong to the reminders, which register them
here (:func:`register_guard`, :func:`register_quiet_hours`): the outbox imports nothing of
theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from storage.base import OutboxItem, Storage, Transaction
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

QUIET_TOPIC = "quiet_hours"
"""After-commit topic on which the reminder scan publishes the quiet hours it read."""
QUIET_REFRESH = 60.0
"""Seconds the sender trusts the quiet hours it read before reading them again."""

Guard = Callable[[Transaction, dict[str, Any], datetime], Awaitable[bool]]
"""``async check(tx, guard, now) -> bool``: is what the message says still true?"""


@dataclass(frozen=True)
class QuietHours:
    """Hours (club time) in which no promised message is sent; ``start == end``: none."""

    start: time = time(21, 0)
    end: time = time(6, 30)

    def end_of(self, moment: datetime) -> datetime | None:
        """The end of the quiet hours ``moment`` (club time) falls in; ``None`` outside them."""
        local = moment.time()
        start, end = self.start, self.end
        if start == end:
            return None
        if start < end:  # within one day
            inside = start <= local < end
            day = moment
        elif local < end:  # across midnight, after it
            inside, day = True, moment
        else:  # across midnight, before it (or outside)
            inside, day = local >= start, moment + timedelta(days=1)
        if not inside:
            return None
        return day.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)


_guards: dict[str, Guard] = {}
_quiet_reader: list[Callable[[Transaction], Awaitable[QuietHours]]] = []


def register_guard(kind: str, check: Guard) -> None:
    """Check guards whose ``kind`` is ``kind`` with ``check`` (the last registration wins)."""
    _guards[kind] = check


def register_quiet_hours(reader: Callable[[Transaction], Awaitable[QuietHours]]) -> None:
    """Read the quiet hours with ``reader`` (default :class:`QuietHours` until one is set)."""
    _quiet_reader[:] = [reader]


def kind_of(item: OutboxItem) -> str:
    """The kind of a promised message (its guard's), for the metrics."""
    return str((item.guard or {}).get("kind", "other"))


async def still_true(tx: Transaction, guard: dict[str, Any], now: datetime) -> bool:
    """Whether ``guard`` holds; a kind nobody registered cannot be confirmed: ``False``."""
    check = _guards.get(str(guard.get("kind")))
    if check is None:
        log.warning("no check registered for guard %r", guard)
        return False
    return await check(tx, guard, now)


@dataclass(frozen=True)
class Verdict:
    """What to do with a message now: send it, wait until ``later``, or give it up."""

    later: datetime | None = None
    expired: bool = False
    reason: str = ""  # why it waits, or why it will never be sent


SEND = Verdict()


class Keeper:
    """Checks promises for the sender; caches the quiet hours.

    The quiet hours are read from the database at most every :data:`QUIET_REFRESH` seconds,
    and taken over whenever a reminder scan publishes them (:data:`QUIET_TOPIC`).

    Args:
        storage: The open storage backend.
        tz: The clubs' time zone (the quiet hours are club time).
    """

    def __init__(self, storage: Storage, tz: str) -> None:
        self.storage = storage
        self.zone = ZoneInfo(tz)
        self._quiet = QuietHours()
        self._read_at = -math.inf
        self._reading = asyncio.Lock()  # one read at a time; the others wait for its answer
        storage.on_commit(QUIET_TOPIC, self._published)

    def _published(self, values: list[QuietHours]) -> None:
        self._quiet = values[-1]
        self._read_at = monotonic()

    async def quiet_hours(self) -> QuietHours:
        """The quiet hours in force (read again when a minute old; kept if that fails).

        Two sends asking at once both get what the database says: the second waits for the
        first one's read, never the default hours it started with.
        """
        if not _quiet_reader or monotonic() - self._read_at < QUIET_REFRESH:
            return self._quiet
        async with self._reading:
            if monotonic() - self._read_at >= QUIET_REFRESH:  # not read while it waited
                with contextlib.suppress(StorageUnavailable):
                    async with self.storage.transaction() as tx:
                        self._quiet = await _quiet_reader[0](tx)
                self._read_at = monotonic()
        return self._quiet

    async def verdict(self, item: OutboxItem, now: datetime) -> Verdict:
        """May ``item`` be sent at ``now``? Messages without a promise always may.

        Raises:
            StorageUnavailable: The guard could not be read just now.
        """
        if not item.promised:
            return SEND
        if item.expires_at is not None and now >= item.expires_at:
            return Verdict(expired=True, reason=f"expired at {item.expires_at.isoformat()}")
        if item.not_before is not None and now < item.not_before:
            return Verdict(later=item.not_before, reason="not before its time")
        if item.quiet:
            end = (await self.quiet_hours()).end_of(now.astimezone(self.zone))
            if end is not None:
                end = end.astimezone(UTC)
                if item.expires_at is not None and end >= item.expires_at:
                    return Verdict(expired=True, reason=(
                        f"quiet hours until {end.isoformat()}, after it expires at "
                        f"{item.expires_at.isoformat()}"))
                return Verdict(later=end, reason="quiet hours")
        if item.guard is not None:
            # One short transaction: ~0.1 ms, where a snapshot of its own costs ~1 ms.
            async with self.storage.transaction() as tx:
                holds = await still_true(tx, item.guard, now)
            if not holds:
                said = json.dumps(item.guard, sort_keys=True)
                return Verdict(expired=True, reason=f"no longer true: {said}")
        return SEND
