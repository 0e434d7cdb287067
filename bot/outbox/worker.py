"""Delivery: send committed replies within each channel's limits, never losing one.

A channel sender raises :class:`RetryAfter` (the platform asked us to slow down),
:class:`Blocked` (the person blocked the bot: mark them unreachable, stop), :class:`Rejected`
(the platform refuses this message for good) or any other exception (temporary: retry with
backoff). Messages to one chat go out strictly in order; different chats in parallel.

Messages with a promise (reminders and digests, see :mod:`bot.outbox.promises`) keep no
order with the others: until their time comes they wait outside the chats' queues (in
``_held``), so a reminder waiting for the end of the quiet hours never holds up the replies
to that person. Right before one is sent its promise is checked: in the quiet hours it goes
back to wait for their end (recorded, not counted as an attempt); past its expiry or no
longer true it becomes ``expired``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot import metrics
from bot.messages import OutMessage
from bot.outbox.promises import Keeper, kind_of
from bot.outbox.queue import OUTBOX
from storage.base import OutboxItem, Storage
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
MARK_BATCH = 64  # record deliveries once this many are waiting ...
MARK_EVERY = 0.1  # ... or after this many seconds
FULL_SCAN = 30.0  # seconds between scans that re-read what this process claimed itself
SCAN_LIMIT = 1000  # the most messages one scan takes
SCAN_AHEAD = 2.0  # with other processes: take what this one sends in this many seconds


class RetryAfter(Exception):
    """The platform asked to wait ``seconds`` before sending again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(Exception):
    """The person blocked the bot or never started it."""


class Rejected(Exception):
    """The platform refuses this message and always will (e.g. the chat does not exist)."""


class ChannelSender(Protocol):
    """Sends one rendered message to one chat of a channel."""

    channel: str
    rate: float
    chat_rate: float

    async def send(self, chat_id: str, message: OutMessage) -> None:
        """Deliver the message or raise one of this module's errors."""


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def delay(self) -> float:
        """Take a token; return how long to wait before using it (0 if none)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class OutboxWorker:
    """Delivers queued replies for a set of channels.

    Replies are handed over in memory when the transaction that queued them commits (it
    subscribes to the storage's ``"outbox"`` topic; no database read per update); a scan of
    the outbox table every second picks up retries and anything left from before a restart.
    Sends are marked in batches: a crash between a send and its mark sends that reply once
    more (at least once), never zero times.

    Args:
        storage: The open storage backend.
        senders: One sender per channel.
        clock: Current UTC time.
        concurrency: Sends in flight at once per channel (all its chats together): each bot
            has its own, so 34 province bots are not held to two sends in flight between
            them (at a real round trip of ~0.1 s that would be ~20 messages/s for all).
        scan_every: Seconds between scans of the outbox table.
        tz: The clubs' time zone (the quiet hours are club time).
    """

    def __init__(
        self,
        storage: Storage,
        senders: list[ChannelSender],
        clock: Callable[[], datetime],
        concurrency: int = 2,
        scan_every: float = 1.0,
        tz: str = "Asia/Ho_Chi_Minh",
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.scan_every = scan_every
        self.promises = Keeper(storage, tz)
        self._event = asyncio.Event()
        self.senders: dict[str, ChannelSender] = {}
        self._global: dict[str, TokenBucket] = {}
        self.peers = 1  # processes sharing each bot's rate budget (see :meth:`share`)
        self._full_scan_at = 0.0  # when the next scan looks at this process's own claims too
        for sender in senders:
            self.add_channel(sender)
        self._concurrency = concurrency
        self._slots: dict[str, asyncio.Semaphore] = {}  # per channel
        self._queues: dict[tuple[str, str], deque[OutboxItem]] = {}
        self._ready: deque[tuple[str, str]] = deque()  # chats whose next reply may go now
        self._waiting: set[tuple[str, str]] = set()  # chats whose next reply is for later
        # Promised messages not due yet, by time: outside the chats' queues until then.
        self._held: list[tuple[datetime, int, OutboxItem]] = []
        self._last_mark = time.monotonic()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._busy: set[tuple[str, str]] = set()
        self._known: set[int] = set()
        self._unmarked: list[int] = []
        self._paused_until: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.unavailable: str | None = None  # why the database could not be used, if so
        self.delivered_at = time.monotonic()  # the last delivery (``/readyz``)
        storage.on_commit(OUTBOX, self.submit)

    def add_channel(self, sender: ChannelSender) -> None:
        """Deliver for one more channel."""
        self.senders[sender.channel] = sender
        # No burst overall: 30 at once after a pause, then the 31st a moment later, is what
        # Telegram answers with 429 (make bench measured 665 of them for 10,000 messages).
        self._global[sender.channel] = TokenBucket(sender.rate / self.peers, 1.0)
        self.wake()

    def rates(self) -> dict[str, float]:
        """Each channel's overall rate (messages per second): each bot has its own budget.

        The reminder scan spreads its batch per channel at these rates.
        """
        return {name: sender.rate for name, sender in self.senders.items()}

    def wake(self) -> None:
        """Look at the queues now."""
        self._event.set()

    def submit(self, items: Iterable[OutboxItem]) -> None:
        """Take over replies the service just committed (or the scan found)."""
        now = self.clock()
        for item in items:
            if item.id in self._known:
                continue
            self._known.add(item.id)
            if item.promised and item.next_attempt_at > now:
                self._hold(item)
            else:
                self._enter(item)
        self.wake()

    def _enter(self, item: OutboxItem) -> None:
        """Put ``item`` at the end of its chat's queue."""
        key = (item.channel, item.chat_id)
        queue = self._queues.setdefault(key, deque())
        queue.append(item)
        if len(queue) == 1 and key not in self._busy:
            self._ready.append(key)

    def _hold(self, item: OutboxItem) -> None:
        """Keep a promised message aside until its ``next_attempt_at``."""
        heapq.heappush(self._held, (item.next_attempt_at, item.id, item))

    def idle(self) -> bool:
        """Nothing due in memory and nothing in flight (deliveries may await :meth:`flush`)."""
        now = self.clock()
        due = any(q and q[0].next_attempt_at <= now for q in self._queues.values())
        held = bool(self._held) and self._held[0][0] <= now
        return not (due or held or self._tasks)

    async def scan(self) -> None:
        """Pick up pending replies from the database (retries, or left from a restart).

        Where several processes share the database, this also renews this process's claims
        on what it still has to send, and takes only what is its own, nobody's (promises,
        about what it can send before the next scans, so the others get their share) or
        whose process died.
        """
        self.share(await self.storage.peers())
        async with self.storage.transaction() as tx:
            now = self.clock()
            await tx.renew_claims(now)
            # What this process claimed is in memory already: most scans look only for what
            # is new to it (promises due, a dead process's messages), so that a backlog of its
            # own cannot hide them; every FULL_SCAN seconds one looks at everything.
            full = time.monotonic() >= self._full_scan_at
            if full:
                self._full_scan_at = time.monotonic() + FULL_SCAN
            items = await tx.pending_outbox(self._scan_limit(), now, skip_mine=not full)
        self.submit(items)

    def _scan_limit(self) -> int:
        """How many messages one scan takes.

        Alone, up to :data:`SCAN_LIMIT`. Sharing the database with other processes, what this
        one sends in :data:`SCAN_AHEAD` seconds at its share of the rates, so the reminders
        of a peak are spread over every process.
        """
        if self.peers == 1:
            return SCAN_LIMIT
        share = sum(bucket.rate for bucket in self._global.values()) * SCAN_AHEAD
        return max(10, min(SCAN_LIMIT, math.ceil(share)))

    def share(self, peers: int) -> None:
        """Send at ``1/peers`` of each bot's rate: the processes sending for it split its budget.

        A process that dies leaves its share to the others at their next scan (a second).
        """
        self.peers = max(1, peers)
        for channel, bucket in self._global.items():
            bucket.rate = self.senders[channel].rate / self.peers

    async def run(self, beat: Callable[[], None] | None = None) -> None:
        """Deliver until :meth:`stop` is called.

        The database being unavailable never stops it: the scan and the recording of
        deliveries are tried again each second until it recovers (deliveries already handed
        over go on meanwhile). ``beat`` is called after each scan that worked.
        """
        next_scan = 0.0
        while not self._stopping:
            if time.monotonic() >= next_scan:
                next_scan = time.monotonic() + self.scan_every
                if await self._unless_unavailable(self.scan) and beat is not None:
                    beat()
            self._event.clear()
            wait = self.dispatch()
            if self._unmarked:
                full = len(self._unmarked) >= MARK_BATCH
                if full or time.monotonic() >= self._last_mark + MARK_EVERY:
                    await self._unless_unavailable(self.flush)
                wait = min(wait, MARK_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=min(wait, self.scan_every))

    async def _unless_unavailable(self, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work``; if the database is unavailable, say so (once) and carry on."""
        try:
            await work()
        except StorageUnavailable as error:
            if self.unavailable is None:
                log.warning("outbox: database unavailable (%s); retrying each second", error)
            self.unavailable = str(error)
            return False
        if self.unavailable is not None:
            log.info("outbox: database available again")
            self.unavailable = None
        return True

    async def stop(self) -> None:
        """Stop after the sends in progress finish, and record them (if the database can)."""
        self._stopping = True
        self._event.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._unless_unavailable(self.flush)

    async def drain(self, timeout: float = 10.0) -> None:
        """Deliver everything due now and wait for it (tests, the terminal chat)."""
        deadline = time.monotonic() + timeout
        await self.scan()
        while time.monotonic() < deadline:
            self.dispatch()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.flush()
            if self.idle():
                return
            await asyncio.sleep(0.005)

    def dispatch(self) -> float:
        """Start a send for every chat whose oldest reply is due; return seconds to wait."""
        now = self.clock()
        wait = self.scan_every
        while self._held and self._held[0][0] <= now:
            self._enter(heapq.heappop(self._held)[2])
        if self._held:
            wait = min(wait, (self._held[0][0] - now).total_seconds())
        for key in list(self._waiting):
            queue = self._queues.get(key)
            if not queue:
                self._waiting.discard(key)
            elif queue[0].next_attempt_at <= now:
                self._waiting.discard(key)
                self._ready.append(key)
            else:
                wait = min(wait, (queue[0].next_attempt_at - now).total_seconds())
        while self._ready:
            key = self._ready.popleft()
            queue = self._queues.get(key)
            if not queue or key in self._busy:
                continue
            item = queue[0]
            if item.next_attempt_at > now:
                self._waiting.add(key)
                wait = min(wait, (item.next_attempt_at - now).total_seconds())
                continue
            sender = self.senders.get(item.channel)
            if sender is None:
                self._waiting.add(key)  # its channel may join later
                continue
            self._busy.add(key)
            task = asyncio.create_task(self._send(sender, key, item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(0.005, wait)

    async def _send(self, sender: ChannelSender, key: tuple[str, str], item: OutboxItem) -> None:
        queue = self._queues[key]
        try:
            # A channel told to slow down waits without a slot: the others go on meanwhile.
            await self._wait_pause(sender)
            slots = self._slots.get(sender.channel)
            if slots is None:
                slots = self._slots[sender.channel] = asyncio.Semaphore(self._concurrency)
            async with slots:
                if item.promised and not await self._keep(queue, item):
                    return
                await self._pace(sender, key)
                await self._deliver(sender, queue, item)
        finally:
            self._busy.discard(key)
            if queue:
                self._ready.append(key)
            else:
                self._queues.pop(key, None)
            self._event.set()

    async def _deliver(
        self, sender: ChannelSender, queue: deque[OutboxItem], item: OutboxItem
    ) -> None:
        channel = item.channel
        started = time.perf_counter()
        try:
            await sender.send(item.chat_id, OutMessage.from_json(item.payload))
        except RetryAfter as error:
            metrics.SEND_FAILED.labels(channel, "slow_down").inc()
            self._paused_until[sender.channel] = time.monotonic() + error.seconds
            await self._later(queue, item, error.seconds, str(error))
        except Blocked as error:
            metrics.SEND_FAILED.labels(channel, "blocked").inc()
            log.info("chat %s:%s blocked the bot", item.channel, item.chat_id)
            if await self._record(queue, item, "blocked", str(error)):
                self._forget(queue, item)
        except Rejected as error:
            metrics.SEND_FAILED.labels(channel, "rejected").inc()
            log.warning("outbox %s rejected: %s", item.id, error)
            if await self._record(queue, item, "rejected", str(error)):
                self._forget(queue, item)
        except Exception as error:  # temporary: network, timeouts, 5xx
            metrics.SEND_FAILED.labels(channel, "retry").inc()
            backoff = min(MAX_BACKOFF, 2.0 ** min(item.attempts, 10))
            log.warning("outbox %s failed (%r), retry in %ss", item.id, error, backoff)
            await self._later(queue, item, backoff, repr(error))
        else:
            metrics.SENT.labels(channel).inc()
            metrics.SEND_SECONDS.labels(channel).observe(time.perf_counter() - started)
            if item.promised:
                metrics.REMINDERS.labels(kind_of(item), "sent").inc()
            self.delivered_at = time.monotonic()
            queue.popleft()
            self._unmarked.append(item.id)

    async def _keep(self, queue: deque[OutboxItem], item: OutboxItem) -> bool:
        """Check the promise of ``item`` (the head of ``queue``): ``True`` if it may go now.

        Otherwise it was set aside until it may (recorded, not counted as an attempt), or
        recorded as expired and forgotten.
        """
        now = self.clock()
        try:
            verdict = await self.promises.verdict(item, now)
        except StorageUnavailable:
            self._postpone(queue, item, 1.0)
            return False
        if verdict.later is not None:
            metrics.REMINDERS.labels(kind_of(item), "postponed").inc()
            with contextlib.suppress(StorageUnavailable):  # then only this process waits
                async with self.storage.transaction() as tx:
                    await tx.postpone(item.id, verdict.later, f"postponed: {verdict.reason}")
            self._wait(queue, item, verdict.later)
            return False
        if verdict.expired:
            try:
                async with self.storage.transaction() as tx:
                    await tx.expire(item.id, verdict.reason)
            except StorageUnavailable:
                self._postpone(queue, item, 1.0)
                return False
            metrics.REMINDERS.labels(kind_of(item), "expired").inc()
            log.info("outbox %s expired: %s", item.id, verdict.reason)
            self._forget(queue, item)
            return False
        return True

    async def _record(
        self, queue: deque[OutboxItem], item: OutboxItem, why: str, error: str
    ) -> bool:
        """Give up on an item for good (blocked or rejected); ``False``: try again later."""
        try:
            async with self.storage.transaction() as tx:
                if why == "blocked":
                    await tx.set_unreachable(item.channel, item.chat_id, True)
                await tx.drop(item.id, f"{why}: {error}")
        except StorageUnavailable:
            self._postpone(queue, item, 1.0)
            return False
        return True

    def _forget(self, queue: deque[OutboxItem], item: OutboxItem) -> None:
        queue.popleft()
        self._known.discard(item.id)

    async def _later(
        self, queue: deque[OutboxItem], item: OutboxItem, seconds: float, error: str
    ) -> None:
        """Try the item again in ``seconds`` (recorded, so a restart waits as well)."""
        when = self.clock() + timedelta(seconds=seconds)
        with contextlib.suppress(StorageUnavailable):  # then only this process waits
            async with self.storage.transaction() as tx:
                await tx.retry_later(item.id, when, error)
        self._wait(queue, replace(item, attempts=item.attempts + 1), when)

    def _postpone(self, queue: deque[OutboxItem], item: OutboxItem, seconds: float) -> None:
        """Try the item again in ``seconds``, in memory only."""
        self._wait(queue, item, self.clock() + timedelta(seconds=seconds))

    def _wait(self, queue: deque[OutboxItem], item: OutboxItem, when: datetime) -> None:
        """Make the head of ``queue`` (``item``, maybe updated) wait until ``when``.

        A direct reply waits at the head, so nothing overtakes it; a promised message is
        set aside, so it holds up nothing.
        """
        waiting = replace(item, next_attempt_at=when)
        if item.promised:
            queue.popleft()
            self._hold(waiting)
        else:
            queue[0] = waiting

    async def flush(self) -> None:
        """Record the deliveries made since the last time, in one transaction.

        If that fails they stay waiting to be recorded (and are never sent again by this
        process meanwhile).
        """
        if not self._unmarked:
            return
        done, self._unmarked = self._unmarked, []
        self._last_mark = time.monotonic()
        try:
            async with self.storage.transaction() as tx:
                await tx.mark_sent(done, self.clock())
        except BaseException:
            self._unmarked = done + self._unmarked
            raise
        self._known.difference_update(done)

    async def _wait_pause(self, sender: ChannelSender) -> None:
        """Wait until the channel's pause after a :class:`RetryAfter` is over."""
        pause = self._paused_until.get(sender.channel, 0.0) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)

    async def _pace(self, sender: ChannelSender, key: tuple[str, str]) -> None:
        await self._wait_pause(sender)  # one that began while this send waited for a slot
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()
            bucket = self._buckets[key] = TokenBucket(sender.chat_rate, 3.0)
        delay = max(bucket.delay(), self._global[sender.channel].delay())
        if delay > 0:
            await asyncio.sleep(delay)
