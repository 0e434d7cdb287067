"""The service: one transaction per update, replies queued in the outbox, sent after commit.

For each inbound update, under a per-chat lock (chats run concurrently, one chat in order):
record it in the inbox (a redelivery stops here), run the engine, apply its effects, save
the conversation, queue the replies, commit. Only then is the update acknowledged to the
platform; the replies reach the outbox sender when the transaction commits.

What can go wrong, and what happens then:

- The database cannot be written just now (locked, I/O error, full disk, read-only):
  :class:`storage.errors.StorageUnavailable` goes up to the channel, which does not
  acknowledge the update (webhook 503, polling offset kept). Nothing was kept, the
  conversation stays at its step, and the same update succeeds once the database recovers.
- Anything else (a bug, content the bot cannot read) is tried :data:`ATTEMPTS` times; then
  the update is kept as a dead letter with its error and acknowledged, and the person gets a
  polite apology. Their conversation is kept.
- A chat sending more than the flood limit gets one "please slow down"; the rest of its
  messages in the window are recorded and not answered.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import logs, metrics
from bot.engine import MENU_FLOW, Ctx, Engine
from bot.i18n import N_
from bot.messages import Inbound, Reply, T
from bot.outbox import queue
from storage.base import (
    Club,
    Identity,
    Member,
    OutboxItem,
    ReadOnly,
    Session,
    Storage,
    Transaction,
)
from storage.deadletters import NewDeadLetter
from storage.errors import StorageUnavailable
from storage.group_commit import MAX_UPDATES, GroupCommit
from storage.operators import Operator

log = logging.getLogger(__name__)

INBOX_KEEP = timedelta(days=7)
ATTEMPTS = 3  # tries of an update that fails for a reason other than the database
RETRY_PAUSE = 0.05  # seconds before the second try (doubled for each next one)
APOLOGY_EVERY = timedelta(minutes=10)  # at most one apology per chat this often
SLOW = 2.0  # seconds: an update taking longer is logged


def utcnow() -> datetime:
    """The current time in UTC (the clock tests replace)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    """The result of handling one update.

    Attributes:
        duplicate: It was seen before (a redelivery): nothing was done.
        queued: The replies it queued.
        dead_letter: The dead letter it became, if it could not be handled.
        flooded: It came over the chat's flood limit and was recorded, not answered.
    """

    duplicate: bool
    queued: list[OutboxItem]
    dead_letter: int | None = None
    flooded: bool = False


@dataclass(frozen=True)
class FloodLimit:
    """At most ``messages`` from one chat in any ``seconds``; beyond that, not answered.

    A short window: nobody types fifteen messages in fifteen seconds, though a few quick taps
    on buttons come close; a flood is stopped after its first burst.
    """

    messages: int = 15
    seconds: float = 15.0


UpdateHook = Callable[[Transaction, Ctx, list[Reply], bool], Awaitable[list[Reply]]]
"""``hook(tx, ctx, replies, wrote)``: more replies for the update (see ``Service.hooks``)."""


class Service:
    """Applies updates to the database through the engine.

    Args:
        storage: An open storage backend.
        engine: The conversation engine with the bot's flows.
        tz: The clubs' time zone (for "today").
        flow_timeout: Inactivity after which a conversation ends.
        clock: Returns the current UTC time.
        flood: The per-chat inbound limit.
        commit_batch: The most updates one COMMIT makes durable (group commit).
    """

    def __init__(
        self,
        storage: Storage,
        engine: Engine,
        tz: str = "Asia/Ho_Chi_Minh",
        flow_timeout: timedelta = timedelta(hours=2),
        clock: Callable[[], datetime] = utcnow,
        flood: FloodLimit = FloodLimit(),
        commit_batch: int = MAX_UPDATES,
    ) -> None:
        self.storage = storage
        self.engine = engine
        self.tz = tz
        self.flow_timeout = flow_timeout
        self.clock = clock
        self.flood = flood
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        self._recent: dict[tuple[str, str], deque[float]] = {}
        self._slowed: dict[tuple[str, str], float] = {}  # when each chat was asked to slow down
        self._apologised: dict[tuple[str, str], datetime] = {}
        # Called in each update's transaction after its effects (with the replies so far and
        # whether anything was written); their replies are queued too. A channel adapter adds
        # one to keep something of its own in step, e.g. Telegram's per-person command menu.
        self.hooks: list[UpdateHook] = []
        # Updates of different chats that are ready together share one COMMIT.
        self.commits = GroupCommit(storage, commit_batch, metrics.BATCH_UPDATES.observe)

    async def handle(self, inbound: Inbound, *, replay: int | None = None) -> Handled:
        """Process one update exactly once; safe to call again with a redelivered update.

        Args:
            inbound: The update in neutral form.
            replay: The dead letter being retried by an operator: the update is handled even
                though the inbox has seen it, the letter is marked retried in the same
                transaction, and a failure is raised instead of making a new dead letter.

        Returns:
            What became of it.

        Raises:
            StorageUnavailable: The database cannot be written just now; nothing was kept.
                Do not acknowledge the update: it succeeds when delivered again.
        """
        if replay is None and self._flooding(inbound):
            return (await self._flooded([inbound]))[0]
        return await self._one(inbound, replay)

    async def handle_batch(self, inbounds: Sequence[Inbound]) -> list[Handled | BaseException]:
        """Handle updates that arrived together (a polling batch); chats run concurrently.

        Each chat's updates are applied in the order given. Those over a chat's flood limit
        are recorded together in one transaction, so a flood costs the other chats little.

        Returns:
            Per update, in order: what became of it, or the exception (a
            :class:`StorageUnavailable`: that update must not be acknowledged).
        """
        over = [self._flooding(inbound) for inbound in inbounds]
        flooded = [inbound for inbound, o in zip(inbounds, over, strict=True) if o]
        done: list[Handled | BaseException] = []
        if flooded:
            try:
                done = list(await self._flooded(flooded))
            except StorageUnavailable as error:
                done = [error] * len(flooded)
        rest = await asyncio.gather(
            *(self._one(inbound) for inbound, o in zip(inbounds, over, strict=True) if not o),
            return_exceptions=True,
        )
        flooded_results, other_results = iter(done), iter(rest)
        return [next(flooded_results) if o else next(other_results) for o in over]

    async def _one(self, inbound: Inbound, replay: int | None = None) -> Handled:
        """Handle one update under its chat's lock."""
        key = (inbound.channel, inbound.chat_id)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        started = time.perf_counter()
        try:
            with logs.update_context(inbound.channel, inbound.external_id, inbound.chat_id):
                async with lock:
                    result = await self._attempts(inbound, replay)
                elapsed = time.perf_counter() - started
                if elapsed > SLOW:
                    log.warning("slow update: %.1fs", elapsed)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
        metrics.UPDATE_SECONDS.labels(inbound.channel).observe(elapsed)
        return result

    async def _attempts(self, inbound: Inbound, replay: int | None) -> Handled:
        """Handle the update, trying again after a failure that is not the database's."""
        channel = inbound.channel
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = await self._handle(inbound, replay)
            except StorageUnavailable as error:
                metrics.UPDATES.labels(channel, "transient").inc()
                metrics.STORAGE_FAILURES.inc()
                log.warning("update %s/%s left for later: %s", channel, inbound.external_id,
                            error)
                raise
            except Exception as error:
                metrics.UPDATES.labels(channel, "failed").inc()
                if replay is not None:
                    raise
                log.exception("update %s/%s failed (attempt %d of %d)", channel,
                              inbound.external_id, attempt, ATTEMPTS)
                if attempt == ATTEMPTS:
                    return await self._dead_letter(inbound, error, attempt)
                await asyncio.sleep(RETRY_PAUSE * 2 ** (attempt - 1))
            else:
                metrics.UPDATES.labels(channel, "duplicate" if result.duplicate
                                       else "handled").inc()
                return result
        raise AssertionError("unreachable")

    async def _handle(self, inbound: Inbound, replay: int | None = None) -> Handled:
        """Apply the update in the next group commit; return once it is durable."""
        now = self.clock()
        return await self.commits.run(lambda tx: self._apply(tx, inbound, now, replay))

    async def _apply(
        self, tx: Transaction, inbound: Inbound, now: datetime, replay: int | None
    ) -> Handled:
        """Record the update, run the engine, apply its effects and queue the replies."""
        # The chat's lock (in order across processes), then the inbox (a redelivery stops).
        fresh = await tx.begin_update(inbound.channel, inbound.chat_id, inbound.external_id,
                                      now)
        if replay is not None:
            await tx.dead_letter_retried(replay, now, None)
        elif not fresh:
            return Handled(duplicate=True, queued=[])
        arrival = await tx.arrival(inbound.channel, inbound.user_id, inbound.chat_id,
                                   inbound.display_name, inbound.locale, now)
        ctx = self._context(tx, inbound, arrival.identity, arrival.membership,
                            arrival.operator, now)
        session = arrival.session
        if session is not None:
            logs.tag(flow=session.flow_id, step=session.step_id)
        outcome = await self.engine.advance(session, ctx)
        replies = list(outcome.replies)
        for effect in outcome.effects:
            replies.extend(await effect.apply(tx, ctx))
        for hook in self.hooks:
            replies.extend(await hook(tx, ctx, replies, bool(outcome.effects)))
        if outcome.session is None:
            if session is not None:
                await tx.delete_session(inbound.channel, inbound.chat_id)
        else:
            await tx.save_session(outcome.session)
        asked_contact = session is not None and self._asked_contact(session)
        here = (inbound.channel, inbound.chat_id, ctx.locale)
        queued = await queue(tx, here, replies, now, asked_contact=asked_contact)
        return Handled(duplicate=False, queued=queued)

    def _asked_contact(self, session: Session) -> bool:
        flow = self.engine.flows.get(session.flow_id)
        step = flow.step(session.step_id) if flow else None
        return bool(step and step.ask_contact)

    async def _dead_letter(self, inbound: Inbound, error: Exception, attempts: int) -> Handled:
        """Keep an update that keeps failing, acknowledge it, and apologise once.

        The conversation is kept as it was: the person can answer the question again.
        """
        now = self.clock()
        key = (inbound.channel, inbound.chat_id)
        letter = NewDeadLetter(
            channel=inbound.channel, external_id=inbound.external_id, chat_id=inbound.chat_id,
            inbound=inbound.to_json(), raw=repr(inbound), error=_error_text(error),
            attempts=attempts,
        )
        async with self.storage.transaction() as tx:
            if not await tx.record_inbound(inbound.channel, inbound.external_id, now):
                return Handled(duplicate=True, queued=[])
            letter_id = await tx.add_dead_letter(letter, now)
            queued: list[OutboxItem] = []
            last = self._apologised.get(key)
            if last is None or now - last >= APOLOGY_EVERY:
                note = T(N_("Sorry, I could not read your last message. Please send it again "
                            "in a moment, or type /menu to see what you can do."))
                here = (inbound.channel, inbound.chat_id, inbound.locale or "vi")
                queued = await queue(tx, here, [Reply((note,))], now)
        if queued:
            self._apologised[key] = now
        metrics.UPDATES.labels(inbound.channel, "dead").inc()
        metrics.DEAD_LETTERS.labels(inbound.channel).inc()
        log.error("update %s/%s moved to dead letter %d", inbound.channel, inbound.external_id,
                  letter_id)
        return Handled(duplicate=False, queued=queued, dead_letter=letter_id)

    async def reject(
        self, channel: str, raw: Any, error: BaseException | str, chat_id: str | None = None
    ) -> int:
        """Keep an update a channel could not read as a dead letter (then acknowledge it).

        Args:
            channel: Where it came from.
            raw: What arrived (kept as text, cut short).
            error: Why it could not be read.
            chat_id: Its chat, if that much could be read.

        Returns:
            The dead letter's id.

        Raises:
            StorageUnavailable: It could not be kept; do not acknowledge it.
        """
        text = error if isinstance(error, str) else _error_text(error)
        letter = NewDeadLetter(channel=channel, external_id=None, chat_id=chat_id, inbound=None,
                               raw=_short(raw), error=text, attempts=1)
        async with self.storage.transaction() as tx:
            letter_id = await tx.add_dead_letter(letter, self.clock())
        metrics.UPDATES.labels(channel, "malformed").inc()
        metrics.DEAD_LETTERS.labels(channel).inc()
        log.warning("%s: an update could not be read (dead letter %d): %s", channel, letter_id,
                    text.splitlines()[-1] if text else "")
        return letter_id

    # Floods

    def _flooding(self, inbound: Inbound) -> bool:
        """Count the message; whether the chat is over its limit in the current window."""
        key = (inbound.channel, inbound.chat_id)
        now = self.clock().timestamp()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - self.flood.seconds:
            recent.popleft()
        recent.append(now)
        if len(self._recent) > 10_000:  # forget chats that went quiet
            for other in [k for k, q in self._recent.items() if q[-1] <= now - self.flood.seconds]:
                del self._recent[other]
                self._slowed.pop(other, None)
        return len(recent) > self.flood.messages

    async def _flooded(self, inbounds: Sequence[Inbound]) -> list[Handled]:
        """Record messages over the limit, unanswered, in one transaction.

        The first of a chat's window gets one "please slow down".
        """
        now = self.clock()
        since = now.timestamp() - self.flood.seconds
        warn: set[tuple[str, str]] = set()
        results: list[Handled] = []
        async with self.storage.transaction() as tx:
            for inbound in inbounds:
                key = (inbound.channel, inbound.chat_id)
                if not await tx.record_inbound(inbound.channel, inbound.external_id, now):
                    results.append(Handled(duplicate=True, queued=[]))
                    continue
                queued: list[OutboxItem] = []
                if self._slowed.get(key, 0.0) <= since and key not in warn:
                    warn.add(key)
                    note = T(N_("You are sending messages very fast. Please slow down and send "
                                "one at a time; I will answer again in a moment."))
                    here = (inbound.channel, inbound.chat_id, inbound.locale or "vi")
                    queued = await queue(tx, here, [Reply((note,))], now)
                results.append(Handled(duplicate=False, queued=queued, flooded=True))
        for key in warn:
            self._slowed[key] = now.timestamp()
            log.warning("chat %s is flooding: over %d messages in %ss, not answered",
                        logs.chat_hash(*key), self.flood.messages, self.flood.seconds)
        for inbound in inbounds:
            metrics.UPDATES.labels(inbound.channel, "flood").inc()
        return results

    # Polling offsets

    async def offset(self, channel: str) -> int:
        """Where a channel's polling resumes (the first update not yet acknowledged)."""
        async with self.storage.transaction() as tx:
            return int(await tx.get_meta(f"{channel}_offset") or 0)

    async def acknowledge(self, channel: str, offset: int) -> None:
        """Remember that every update before ``offset`` is committed (polling resumes there).

        It rides the next group commit with the updates being handled meanwhile.
        """
        await self.commits.run(lambda tx: tx.set_meta(f"{channel}_offset", str(offset)))

    async def context(self, tx: Transaction, inbound: Inbound, now: datetime) -> Ctx:
        """Look up who is writing: their chat account, membership, club and roles.

        A chat account linked to an association grant in force (``/hoinct``) gets the grant
        as ``operator`` and the role ``association`` (it need not be a club member).
        """
        identity = await tx.touch_identity(
            inbound.channel,
            inbound.user_id,
            inbound.chat_id,
            inbound.display_name,
            inbound.locale,
            now,
        )
        return await self.context_of(tx, inbound, identity, now)

    async def context_of(
        self, tx: Transaction, inbound: Inbound, identity: Identity, now: datetime
    ) -> Ctx:
        """The context of an update from ``identity``: membership, club and roles.

        Args:
            tx: The transaction to read in (the context gets a read-only view of it).
            inbound: The update (or a stand-in for a chat, e.g. a timed-out conversation's).
            identity: The chat account it comes from, as it is in ``tx``.
            now: The time of the update.

        Returns:
            What the engine and the effects may know about the update.
        """
        found = await tx.membership(identity.member_id) if identity.member_id else None
        operator = await tx.operator_for(inbound.channel, inbound.user_id)
        return self._context(tx, inbound, identity, found, operator, now)

    def _context(
        self,
        tx: Transaction,
        inbound: Inbound,
        identity: Identity,
        found: tuple[Member, Club, frozenset[str]] | None,
        operator: Operator | None,
        now: datetime,
    ) -> Ctx:
        """The context of an update from what was read of its writer (see ``context_of``)."""
        member, club, roles = found or (None, None, frozenset())
        if member is None or member.status in ("rejected", "erased"):
            member, club, roles = None, None, frozenset()
        elif member.status != "active":
            roles = frozenset()
        if operator is not None:
            roles = roles | {operator.role}
        return Ctx(
            tx=ReadOnly(tx),
            inbound=inbound,
            identity=identity,
            member=member,
            club=club,
            roles=roles,
            now=now,
            today=now.astimezone(ZoneInfo(self.tz)).date(),
            tz=self.tz,
            locale=identity.locale,
            flow_timeout=self.flow_timeout,
            operator=operator,
        )

    async def sweep(self) -> int:
        """End timed-out conversations and tell people nothing was saved; prune the inbox.

        A conversation's flow may keep something when it ends so (its ``abandon`` hook: an
        urgent reading is kept and alerted); its effects are applied as the person of that
        chat, and its replies come before the note, which then does not say that nothing was
        saved. Expired pictures and files (sent to Zalo by URL) are deleted as well.

        Returns:
            How many conversations ended.
        """
        now = self.clock()
        ended = 0
        async with self.storage.transaction() as tx:
            for session in await tx.expired_sessions(now):
                await tx.delete_session(session.channel, session.chat_id)
                ended += 1
                if session.flow_id == MENU_FLOW:
                    continue
                replies, locale = await self._abandon(tx, session, now)
                note = T(N_("You did not answer for a while, so I stopped. Type /menu to "
                            "start again.") if any(r.to is None for r in replies) else
                         N_("You did not answer for a while, so I stopped. Nothing was saved. "
                            "Type /menu to start again."))
                here = (session.channel, session.chat_id, locale)
                await queue(tx, here, [*replies, Reply((note,))], now)
            await tx.prune_inbox(now - INBOX_KEEP)
            await tx.prune_media(now)
        stale = now - APOLOGY_EVERY
        self._apologised = {k: at for k, at in self._apologised.items() if at > stale}
        return ended

    async def _abandon(
        self, tx: Transaction, session: Session, now: datetime
    ) -> tuple[list[Reply], str]:
        """Run the ``abandon`` hook of a timed-out conversation as the person of its chat.

        Returns:
            The replies (the hook's, then its effects'), and the chat's language.
        """
        identity = await tx.chat_identity(session.channel, session.chat_id)
        if identity is None:
            return [], "vi"
        inbound = Inbound(channel=session.channel, user_id=identity.user_id,
                          chat_id=session.chat_id, external_id="", locale=identity.locale)
        ctx = await self.context_of(tx, inbound, identity, now)
        done = await self.engine.abandoned(session, ctx)
        if done is None:
            return [], identity.locale
        replies = list(done.replies)
        for effect in done.effects:
            replies.extend(await effect.apply(tx, ctx))
        return replies, identity.locale


def _error_text(error: BaseException) -> str:
    """The error with its traceback, for a dead letter."""
    return "".join(traceback.format_exception(error)).strip()


def _short(raw: Any) -> str:
    """What arrived, as text for a dead letter."""
    if isinstance(raw, bytes):
        return raw[:10_000].decode("utf-8", "replace")
    return raw[:10_000] if isinstance(raw, str) else repr(raw)[:10_000]
