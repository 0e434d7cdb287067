"""The operator's view of dead letters: list them, and retry one once its cause is fixed.

``ishc-bot deadletter list [--all] [--json]`` shows the updates the service gave up on (newest
first) with their error; ``ishc-bot deadletter retry ID`` handles one again through the same
service code, as if it had just arrived, and marks it retried. Run it against the live
database while the bot runs: the replies it queues are sent by the running service's outbox
within a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.messages import Inbound
from bot.service import Service
from storage.base import Storage
from storage.deadletters import DeadLetter
from storage.errors import StorageUnavailable


class CannotRetry(Exception):
    """The dead letter does not exist, was retried already, or was never readable."""


def shown(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as plain JSON for the operator (the error's last line, not the trace)."""
    lines = letter.error.strip().splitlines()
    return {
        "id": letter.id,
        "channel": letter.channel,
        "update": letter.external_id,
        "status": letter.status,
        "attempts": letter.attempts,
        "received_at": letter.created_at.isoformat() if letter.created_at else None,
        "retried_at": letter.retried_at.isoformat() if letter.retried_at else None,
        "error": lines[-1] if lines else "",
        "readable": letter.inbound is not None,
    }


async def listed(storage: Storage, everything: bool = False, limit: int = 100) -> list[DeadLetter]:
    """The newest dead letters: still dead ones only, unless ``everything``."""
    async with storage.transaction() as tx:
        return await tx.dead_letters(None if everything else "dead", limit)


@dataclass(frozen=True)
class Retried:
    """The outcome of a retry: how many replies were queued, or why it failed again."""

    letter_id: int
    replies: int
    error: str | None = None


async def retry(service: Service, letter_id: int) -> Retried:
    """Handle a dead letter's update again; mark it retried, or keep it with the new error.

    Raises:
        CannotRetry: No such letter, already retried, or the update was never readable.
        StorageUnavailable: The database cannot be written just now.
    """
    async with service.storage.transaction() as tx:
        letter = await tx.get_dead_letter(letter_id)
    if letter is None:
        raise CannotRetry(f"no dead letter {letter_id}")
    if letter.status != "dead":
        raise CannotRetry(f"dead letter {letter_id} was retried already")
    if letter.inbound is None:
        raise CannotRetry(f"dead letter {letter_id} could not be read as an update; nothing "
                          "to retry (see its raw content with --json)")
    try:
        handled = await service.handle(Inbound.from_json(letter.inbound), replay=letter_id)
    except StorageUnavailable:
        raise
    except Exception as error:  # it fails again: keep it dead with the new error
        text = f"{type(error).__name__}: {error}"
        async with service.storage.transaction() as tx:
            await tx.dead_letter_retried(letter_id, service.clock(), text)
        return Retried(letter_id, 0, text)
    return Retried(letter_id, len(handled.queued))  # marked retried in its transaction
