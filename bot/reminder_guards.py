"""Is a reminder still true at the moment it is sent? The checks behind its guard.

A reminder is queued with a small guard (plain JSON, see :func:`bot.reminders.due`); right
before sending, the outbox calls the check of its ``kind`` in one short transaction
(:mod:`bot.outbox.promises`, where :mod:`bot.reminders` registers :data:`GUARDS`). Each
check reads a few rows of one club; a reminder whose check says no is never sent (its
outbox row becomes ``expired``). Every check also honours a pause (``/nhacnho``) made after
the reminder was queued. The time limits (the meeting's start, the next step of a loan)
are the promise's ``expires_at``, not checked here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.meetings import default_rule, meetings
from bot.outbox.promises import Guard
from storage.base import Transaction

BOARD = frozenset({"chair", "treasurer"})  # who gets the weekly digest


async def _not_paused(tx: Transaction, guard: dict[str, Any]) -> bool:
    return not await tx.paused_members(guard["kind"], [guard["member"]])


async def _meets(tx: Transaction, guard: dict[str, Any]) -> bool:
    """The club still meets on the guard's ``day`` at its ``time`` (not moved)."""
    club = await tx.get_club(guard["club"])
    if club is None:
        return False
    day = date.fromisoformat(guard["day"])
    rule = await tx.meeting_rule(club.id) or default_rule(club.meeting_day)
    found = meetings(rule, await tx.meeting_moves(club.id), day, 1)
    return bool(found) and found[0].day == day and found[0].time == guard["time"]


async def meeting(tx: Transaction, guard: dict[str, Any], now: datetime) -> bool:
    """The club still meets on ``day`` at ``time`` (the meeting was not moved)."""
    return await _meets(tx, guard) and await _not_paused(tx, guard)


async def repayment(tx: Transaction, guard: dict[str, Any], now: datetime) -> bool:
    """The instalment due on ``due`` is still the loan's next unpaid one."""
    due = date.fromisoformat(guard["due"])
    unpaid = any(i.loan_id == guard["loan"] and i.due == due
                 for i in await tx.due_instalments([guard["club"]]))
    return unpaid and await _not_paused(tx, guard)


async def health(tx: Transaction, guard: dict[str, Any], now: datetime) -> bool:
    """The member (still active) has no reading since ``since``; the meeting is not moved."""
    club = guard["club"]
    missing = await tx.unmeasured_members([club], date.fromisoformat(guard["since"]))
    return (guard["member"] in missing[club] and await _meets(tx, guard)
            and await _not_paused(tx, guard))


async def digest(tx: Transaction, guard: dict[str, Any], now: datetime) -> bool:
    """The reader is still the club's chair or treasurer."""
    board = await tx.members_with_roles(guard["club"], BOARD)
    return any(m.id == guard["member"] for m in board) and await _not_paused(tx, guard)


GUARDS: dict[str, Guard] = {
    "meeting": meeting,
    "repayment": repayment,
    "health": health,
    "digest": digest,
}
"""The check of each kind of reminder."""
