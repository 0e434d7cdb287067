"""The service: one transaction per update, replies queued in the outbox, sent after commit.

For each inbound update, under a per-chat lock (chats run concurrently, one chat in order):
record it in the inbox (a redelivery stops here), run the engine, apply its effects, save
the conversation, queue the replies, commit. Only then is the update acknowledged to the
platform, and the outbox sender is woken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine import MENU_FLOW, Ctx, Engine
from bot.exports import Exports
from bot.i18n import N_
from bot.messages import Chat, Inbound, Reply, T
from bot.render import render
from storage.base import OutboxItem, Session, Storage, Transaction
from storage.exports import ExportJob

log = logging.getLogger(__name__)

INBOX_KEEP = timedelta(days=7)


def utcnow() -> datetime:
    """The current time in UTC (the clock tests replace)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    """The result of handling one update."""

    duplicate: bool
    queued: list[OutboxItem]
    jobs: list[ExportJob] = field(default_factory=list)


REMIND_CLUBS = 300  # clubs read per transaction by the reminder scan
REMIND_BATCH = 1000  # reminders queued per transaction


class Service:
    """Applies updates to the database through the engine.

    Args:
        storage: An open storage backend.
        engine: The conversation engine with the bot's flows.
        tz: The clubs' time zone (for "today").
        flow_timeout: Inactivity after which a conversation ends.
        clock: Returns the current UTC time.
    """

    def __init__(
        self,
        storage: Storage,
        engine: Engine,
        tz: str = "Asia/Ho_Chi_Minh",
        flow_timeout: timedelta = timedelta(hours=2),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.storage = storage
        self.engine = engine
        self.tz = tz
        self.flow_timeout = flow_timeout
        self.clock = clock
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}
        self._listeners: list[Callable[[list[OutboxItem]], None]] = []
        self.exports = Exports(self)

    def on_queued(self, listener: Callable[[list[OutboxItem]], None]) -> None:
        """Hand the replies of each commit to ``listener`` (the outbox sender)."""
        self._listeners.append(listener)

    def wake(self, items: list[OutboxItem]) -> None:
        """Hand messages queued in a committed transaction to the outbox sender."""
        for listener in self._listeners:
            listener(items)

    async def handle(self, inbound: Inbound) -> Handled:
        """Process one update exactly once; safe to call again with a redelivered update.

        Args:
            inbound: The update in neutral form.

        Returns:
            Whether it was a duplicate, and the replies it queued.
        """
        key = (inbound.channel, inbound.chat_id)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                try:
                    result = await self._handle(inbound)
                except Exception:
                    log.exception("update %s/%s failed", inbound.channel, inbound.external_id)
                    result = await self._apologise(inbound)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
        if result.queued:
            self.wake(result.queued)
        self.exports.start(result.jobs)
        return result

    async def _handle(self, inbound: Inbound) -> Handled:
        now = self.clock()
        async with self.storage.transaction() as tx:
            if not await tx.record_inbound(inbound.channel, inbound.external_id, now):
                return Handled(duplicate=True, queued=[])
            ctx = await self.context(tx, inbound, now)
            session = await tx.get_session(inbound.channel, inbound.chat_id)
            outcome = await self.engine.advance(session, ctx)
            replies = list(outcome.replies)
            for effect in outcome.effects:
                replies.extend(await effect.apply(tx, ctx))
            if outcome.session is None:
                if session is not None:
                    await tx.delete_session(inbound.channel, inbound.chat_id)
            else:
                await tx.save_session(outcome.session)
            asked_contact = session is not None and self._asked_contact(session)
            here = (inbound.channel, inbound.chat_id, ctx.locale)
            queued = await self.queue(tx, here, replies, now, asked_contact)
        return Handled(duplicate=False, queued=queued, jobs=ctx.jobs)

    def _asked_contact(self, session: Session) -> bool:
        flow = self.engine.flows.get(session.flow_id)
        step = flow.step(session.step_id) if flow else None
        return bool(step and step.ask_contact)

    async def _apologise(self, inbound: Inbound) -> Handled:
        """After an unexpected error: consume the update and say sorry, so nothing hangs."""
        now = self.clock()
        async with self.storage.transaction() as tx:
            if not await tx.record_inbound(inbound.channel, inbound.external_id, now):
                return Handled(duplicate=True, queued=[])
            await tx.delete_session(inbound.channel, inbound.chat_id)
            note = T(N_("Sorry, something went wrong and nothing was saved. Type /menu to "
                        "start again."))
            here = (inbound.channel, inbound.chat_id, inbound.locale or "vi")
            queued = await self.queue(tx, here, [Reply((note,))], now)
        return Handled(duplicate=False, queued=queued)

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
        found = await tx.membership(identity.member_id) if identity.member_id else None
        member, club, roles = found or (None, None, frozenset())
        if member is None or member.status in ("rejected", "erased"):
            member, club, roles = None, None, frozenset()
        elif member.status != "active":
            roles = frozenset()
        operator = await tx.operator_for(inbound.channel, inbound.user_id)
        if operator is not None:
            roles = roles | {operator.role}
        return Ctx(
            tx=tx,
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

    async def queue(
        self,
        tx: Transaction,
        here: tuple[str, str, str] | None,
        replies: list[Reply],
        now: datetime,
        asked_contact: bool = False,
        dedupe_key: str | None = None,
    ) -> list[OutboxItem]:
        """Translate replies for their readers and put them in the outbox.

        Args:
            tx: The update's transaction.
            here: ``(channel, chat_id, locale)`` of the chat being answered, if any.
            replies: What to say. Replies to a member go to the chat account they used
                last; members without one (registered on their behalf) are skipped.
            now: The current time.
            asked_contact: The previous question showed a "share phone" keyboard.
            dedupe_key: Queue the (single) reply only if this key was never queued.

        Returns:
            The queued messages (handed to the sender after the commit).
        """
        queued: list[OutboxItem] = []
        for reply in replies:
            if reply.to is None:
                assert here is not None, "a reply without recipient needs a chat"
                channel, chat_id, locale = here
            elif isinstance(reply.to, Chat):
                channel, chat_id, locale = reply.to.channel, reply.to.chat_id, reply.to.locale
            else:
                reachable = [
                    i for i in await tx.identities_of(reply.to.member_id) if not i.unreachable
                ]
                if not reachable:
                    continue
                channel, chat_id, locale = (
                    reachable[0].channel, reachable[0].chat_id, reachable[0].locale
                )
            locale = reply.locale or locale
            first = not queued and reply.to is None
            payload = render(reply, locale, remove_keyboard=asked_contact and first).to_json()
            item_id = await tx.enqueue(channel, chat_id, payload, now, dedupe_key)
            if item_id is not None:
                queued.append(OutboxItem(item_id, channel, chat_id, payload, 0, now))
        return queued

    async def sweep(self) -> int:
        """End timed-out conversations and tell people nothing was saved; prune the inbox.

        Expired pictures and files (sent to Zalo by URL) are deleted as well, and export
        jobs a restart interrupted are started again.

        Returns:
            How many conversations ended.
        """
        now = self.clock()
        ended = 0
        queued: list[OutboxItem] = []
        async with self.storage.transaction() as tx:
            for session in await tx.expired_sessions(now):
                await tx.delete_session(session.channel, session.chat_id)
                ended += 1
                if session.flow_id == MENU_FLOW:
                    continue
                note = T(N_("You did not answer for a while, so I stopped. Nothing was saved. "
                            "Type /menu to start again."))
                here = (session.channel, session.chat_id, "vi")
                queued += await self.queue(tx, here, [Reply((note,))], now)
            await tx.prune_inbox(now - INBOX_KEEP)
            await tx.prune_media(now)
        if queued:
            self.wake(queued)
        await self.exports.resume()
        return ended

    async def remind(self, now: datetime | None = None, *, send: bool = True) -> list[Any]:
        """Queue the reminders due at ``now`` (default: the clock), each exactly once.

        What is due is read in short transactions of a few hundred clubs each, and queued in
        batches, so a national scan never holds the database for long: chats go on between
        them. All clubs are interleaved before queueing, so a large club delays no other.

        Args:
            now: The moment to look at (the operator's ``reminders send --at``).
            send: Queue them; with ``False`` only list what is due and new.

        Returns:
            The new reminders (:class:`bot.reminders.Due`), in the order queued.
        """
        from bot import reminders  # the reminders use the flows' formatting helpers

        now = now or self.clock()
        async with self.storage.transaction() as tx:
            clubs = [club for club, _ in await tx.list_clubs()]
        found: list[Any] = []
        for start in range(0, len(clubs), REMIND_CLUBS):
            async with self.storage.transaction() as tx:
                due = await reminders.due(tx, now, self.tz, clubs[start:start + REMIND_CLUBS])
                fresh = await tx.new_reminder_keys([d.key for d in due])
            found += [d for d in due if d.key in fresh]
        todo = reminders.fair(found)
        if not send:
            return todo
        for start in range(0, len(todo), REMIND_BATCH):
            async with self.storage.transaction() as tx:
                queued = await reminders.queue(tx, self, todo[start:start + REMIND_BATCH], now)
            if queued:
                self.wake(queued)
        return todo
