"""Outbox delivery: send committed replies within each channel's limits, never losing one.

A channel sender raises :class:`RetryAfter` (the platform asked us to slow down),
:class:`Blocked` (the person blocked the bot: mark them unreachable, stop), :class:`Rejected`
(the platform refuses this message for good) or any other exception (temporary: retry with
backoff). Messages to one chat go out strictly in order; different chats in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.messages import OutMessage
from storage.base import OutboxItem, Storage

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0


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


@dataclass
class _ChatState:
    bucket: TokenBucket
    busy: bool = False


class OutboxWorker:
    """Delivers queued replies for a set of channels.

    Args:
        storage: The open storage backend.
        senders: One sender per channel.
        clock: Current UTC time.
        batch: How many pending replies to look at per round.
    """

    def __init__(
        self,
        storage: Storage,
        senders: list[ChannelSender],
        clock: Callable[[], datetime],
        batch: int = 500,
    ) -> None:
        self.storage = storage
        self.senders = {sender.channel: sender for sender in senders}
        self.clock = clock
        self.batch = batch
        self._event = asyncio.Event()
        self._global = {s.channel: TokenBucket(s.rate, max(1.0, s.rate)) for s in senders}
        self._paused_until: dict[str, float] = {}
        self._chats: dict[tuple[str, str], _ChatState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def add_channel(self, sender: ChannelSender) -> None:
        """Deliver for one more channel."""
        self.senders[sender.channel] = sender
        self._global[sender.channel] = TokenBucket(sender.rate, max(1.0, sender.rate))
        self._event.set()

    def wake(self) -> None:
        """Look for new replies now (called after each commit that queued some)."""
        self._event.set()

    async def run(self) -> None:
        """Deliver until :meth:`stop` is called."""
        while not self._stopping:
            self._event.clear()
            wait = await self.deliver_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=wait)

    async def stop(self) -> None:
        """Stop after the sends in progress finish."""
        self._stopping = True
        self._event.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, timeout: float = 10.0) -> None:
        """Deliver everything that is due now and wait for it (used by tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.deliver_due()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
                continue
            async with self.storage.transaction() as tx:
                if not await tx.due_outbox(self.clock(), 1):
                    return
            await asyncio.sleep(0.01)

    async def deliver_due(self) -> float:
        """Start sending every due reply whose chat is free; return seconds until next look."""
        now = self.clock()
        async with self.storage.transaction() as tx:
            items = await tx.pending_outbox(self.batch)
        wait = 1.0
        seen: set[tuple[str, str]] = set()
        for item in items:
            key = (item.channel, item.chat_id)
            if key in seen:
                continue
            seen.add(key)  # only the oldest pending reply of a chat may go
            if item.next_attempt_at > now:
                wait = min(wait, (item.next_attempt_at - now).total_seconds())
                continue
            sender = self.senders.get(item.channel)
            if sender is None:
                continue
            state = self._chats.get(key)
            if state is None:
                state = _ChatState(TokenBucket(sender.chat_rate, 3.0))
                self._chats[key] = state
            if state.busy:
                continue
            state.busy = True
            task = asyncio.create_task(self._send(sender, item, state))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if len(self._chats) > 10_000:
            self._chats = {k: v for k, v in self._chats.items() if v.busy}
        return max(0.01, wait)

    async def _send(self, sender: ChannelSender, item: OutboxItem, state: _ChatState) -> None:
        try:
            await self._pace(sender.channel, state)
            message = OutMessage.from_json(item.payload)
            try:
                await sender.send(item.chat_id, message)
            except RetryAfter as error:
                self._paused_until[sender.channel] = time.monotonic() + error.seconds
                await self._later(item, error.seconds, str(error))
            except Blocked as error:
                log.info("chat %s:%s blocked the bot", item.channel, item.chat_id)
                async with self.storage.transaction() as tx:
                    await tx.set_unreachable(item.channel, item.chat_id, True)
                    await tx.drop(item.id, f"blocked: {error}")
            except Rejected as error:
                log.warning("outbox %s rejected: %s", item.id, error)
                async with self.storage.transaction() as tx:
                    await tx.drop(item.id, f"rejected: {error}")
            except Exception as error:  # temporary: network, timeouts, 5xx
                backoff = min(MAX_BACKOFF, 2.0 ** min(item.attempts, 10))
                log.warning("outbox %s failed (%s), retry in %ss", item.id, error, backoff)
                await self._later(item, backoff, repr(error))
            else:
                async with self.storage.transaction() as tx:
                    await tx.mark_sent(item.id, self.clock())
        finally:
            state.busy = False
            self._event.set()

    async def _pace(self, channel: str, state: _ChatState) -> None:
        pause = self._paused_until.get(channel, 0.0) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        delay = max(state.bucket.delay(), self._global[channel].delay())
        if delay > 0:
            await asyncio.sleep(delay)

    async def _later(self, item: OutboxItem, seconds: float, error: str) -> None:
        async with self.storage.transaction() as tx:
            await tx.retry_later(item.id, self.clock() + timedelta(seconds=seconds), error)
