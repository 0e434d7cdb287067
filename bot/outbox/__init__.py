"""The outbox: replies are queued in the transaction that causes them and sent after it.

:func:`queue` translates replies for their readers and writes them to the outbox table in
the caller's transaction; once that commits they are handed to the :class:`OutboxWorker`,
which delivers them within each channel's limits and never loses one.
"""

from bot.outbox.queue import BACKLOG, OUTBOX, queue
from bot.outbox.worker import (
    Blocked,
    ChannelSender,
    OutboxWorker,
    Rejected,
    RetryAfter,
    TokenBucket,
)

__all__ = [
    "BACKLOG",
    "OUTBOX",
    "Blocked",
    "ChannelSender",
    "OutboxWorker",
    "Rejected",
    "RetryAfter",
    "TokenBucket",
    "queue",
]
