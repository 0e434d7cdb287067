"""Queueing replies: translated for their readers and written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot import metrics
from bot.messages import Chat, Reply
from bot.render import render
from storage.base import OutboxItem, Transaction

OUTBOX = "outbox"
"""The after-commit topic of queued replies (the sender listens to it)."""
BACKLOG = 30
"""Direct replies waiting for one chat beyond which more are not queued (a flood)."""


async def queue(
    tx: Transaction,
    here: tuple[str, str, str] | None,
    replies: Sequence[Reply],
    now: datetime,
    *,
    asked_contact: bool = False,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    quiet: bool = False,
    guard: dict[str, Any] | None = None,
) -> list[OutboxItem]:
    """Translate replies for their readers and put them in the outbox.

    The sender gets them once the transaction commits (never before, never if it rolls
    back).

    Args:
        tx: The transaction that causes the replies.
        here: ``(channel, chat_id, locale)`` of the chat being answered, if any.
        replies: What to say. Replies to a member go to the chat account they used
            last; members without one (registered on their behalf) are skipped. Replies to
            the chat being answered are not queued while :data:`BACKLOG` wait for it
            already; messages to others (alerts, notices) always are.
        now: The current time.
        asked_contact: The previous question showed a "share phone" keyboard.
        dedupe_key: Queue the (single) reply only if this key was never queued.
        not_before: A promise (reminders and digests only): not sent before this moment...
        expires_at: ...never sent at or after this one...
        quiet: ...not in the quiet hours...
        guard: ...and only while this is still true (see :mod:`bot.outbox.promises`).
            Replies, alerts and notices carry no promise: they go at once, whenever.

    Returns:
        The queued messages.
    """
    queued: list[OutboxItem] = []
    backlog: int | None = None  # replies pending for ``here``, once counted
    for reply in replies:
        if reply.to is None:
            assert here is not None, "a reply without recipient needs a chat"
            channel, chat_id, locale = here
            if backlog is not None and backlog >= BACKLOG:
                metrics.UPDATES.labels(channel, "backlog").inc()
                continue  # the chat cannot read faster than it is sent to: answers would pile up
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
        if reply.to is None and backlog is None:  # counted with the first one's insert
            backlog, item_id = await tx.enqueue_below(
                channel, chat_id, payload, now, BACKLOG, dedupe_key, not_before=not_before,
                expires_at=expires_at, quiet=quiet, guard=guard)
            if backlog >= BACKLOG:
                metrics.UPDATES.labels(channel, "backlog").inc()
                continue
        else:
            item_id = await tx.enqueue(channel, chat_id, payload, now, dedupe_key,
                                       not_before=not_before, expires_at=expires_at,
                                       quiet=quiet, guard=guard)
        if reply.to is None:
            assert backlog is not None
            backlog += 1
        if item_id is not None:
            first = max(now, not_before) if not_before is not None else now
            item = OutboxItem(item_id, channel, chat_id, payload, 0, first,
                              not_before=not_before, expires_at=expires_at, quiet=quiet,
                              guard=guard)
            if not_before is None or not tx.shares_promises:
                tx.after_commit(OUTBOX, item)  # else every process's scan takes a share
            queued.append(item)
    return queued
