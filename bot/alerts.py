"""Health alerts: who is told about an urgent reading, answers, and escalation to the board.

An urgent reading alerts at once (see ``bot/conversations/health_common.py``): the member's
volunteers and the chair, or, for a member without a volunteer, the chair and the vice chair
(if none of them can be reached: anyone of the board who can). Only people with a chat the
bot can reach are told, and the person entering the reading is told exactly who they are.
Each alert carries a button "I have called / I am on my way" (also typed: ``đã gọi``,
``đang đến``). If nobody answers within :data:`ESCALATE_AFTER` (``ISHC_ALERT_ESCALATE_MINUTES``),
:func:`escalate`, run every minute by the supervisor, sends the alert again to the whole
board, once. Alerts carry no promise: they are sent at once, also in the quiet hours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.engine import notify
from bot.i18n import N_
from bot.messages import Choice, Reply, T, joined
from bot.outbox import queue
from storage.alerts import Alert, NewAlert
from storage.base import BOARD_ROLES, Member, Reads, Storage, Transaction

log = logging.getLogger(__name__)

ESCALATE_AFTER = timedelta(minutes=15)
"""Unanswered this long, an alert goes to the whole board (the setting's default)."""
ANSWER_WINDOW = timedelta(hours=24)
"""An alert can be answered, and is escalated, only this long after it was raised."""
ACK_COMMAND = "dagoi"
ACK_WORDS = ("da goi", "toi da goi", "dang den", "toi dang den", "da goi dang den",
             "toi da goi dang den")
"""Typed answers to an alert (folded: without accents, lower case)."""

WHY = {
    "urgent": N_("The blood pressure measured today is dangerous."),
    "not_remeasured": N_("The blood pressure measured today is very high and was not "
                         "measured again."),
}
TOLD_AS = {
    "volunteer": N_("{name} (volunteer)"),
    "chair": N_("{name} (chair)"),
    "vice_chair": N_("{name} (vice chair)"),
}
TOLD = N_("I have told {names}.")
TOLD_NOBODY = N_("I could not reach anyone of the club to tell them. Please call 115 yourself, "
                 "or ask someone nearby for help.")


@dataclass(frozen=True)
class Told:
    """Someone an alert goes to, and why they were chosen (``volunteer``, ``chair``...)."""

    member: Member
    role: str


def ack_choice(alert_id: int) -> Choice:
    """The button under an alert: "I have called / I am on my way"."""
    return Choice(f"/{ACK_COMMAND} {alert_id}", N_("I have called / I am on my way"))


async def reachable(tx: Reads, member_id: int) -> bool:
    """Whether the member has a chat account the bot can send to."""
    return any(not i.unreachable for i in await tx.identities_of(member_id))


async def _pick(tx: Reads, people: Iterable[Told], leave_out: set[int]) -> list[Told]:
    chosen: list[Told] = []
    for person in people:
        if person.member.id in leave_out or any(t.member.id == person.member.id
                                                for t in chosen):
            continue
        if await reachable(tx, person.member.id):
            chosen.append(person)
    return chosen


async def board_of(tx: Reads, club_id: int) -> list[Told]:
    """The club's board: the chairs, then the vice chairs."""
    chairs = [Told(m, "chair") for m in await tx.members_with_roles(club_id, {"chair"})]
    vices = [Told(m, "vice_chair") for m in await tx.members_with_roles(club_id, {"vice_chair"})]
    return [*chairs, *vices]


async def recipients(tx: Reads, member: Member, writer_id: int | None) -> list[Told]:
    """Who an alert about ``member`` goes to: people the bot can reach, never the writer.

    The member's volunteers and the chair; without a volunteer, the chair and the vice
    chair; if none of those can be reached, anyone of the board who can.

    Args:
        tx: The update's transaction (reads only).
        member: Who needs help (never told here: they are told separately).
        writer_id: Who entered the reading (they know already).
    """
    leave_out = {member.id} | ({writer_id} if writer_id is not None else set())
    volunteers = [Told(v, "volunteer") for v in await tx.volunteers_of(member.id)]
    board = await board_of(tx, member.club_id)
    chairs = [t for t in board if t.role == "chair"]
    first = [*volunteers, *chairs] if volunteers else board
    return await _pick(tx, first, leave_out) or await _pick(tx, board, leave_out)


def told_line(told: Iterable[tuple[str, str]]) -> T:
    """"I have told A (volunteer), B (chair)." from ``(name, role)``, or that nobody could be."""
    names = [T(TOLD_AS.get(role, "{name}"), name=name) for name, role in told]
    if not names:
        return T(TOLD_NOBODY)
    return T(TOLD, names=joined(names, ", "))


async def told_before(tx: Reads, alert: Alert) -> T:
    """The :func:`told_line` of an alert already raised (its first round)."""
    people = []
    for recipient in alert.told():
        found = await tx.get_member(recipient.member_id)
        if found is not None:
            people.append((found.full_name, recipient.role))
    return told_line(people)


def alert_text(member: Member, reason: str) -> T:
    """The alert about ``member``: name, village and phone, never the numbers."""
    phone = member.phone.replace("+84", "0") if member.phone else T(N_("no phone"))
    return T(N_("Needs help now: {name} ({village}, phone {phone}). {why} Please call or go to "
                "see them now."), name=member.full_name, village=member.village, phone=phone,
             why=T(WHY[reason]))


async def raise_alert(
    tx: Transaction, now: datetime, member: Member, writer_id: int | None,
    reading_id: int | None, key: str, reason: str,
) -> tuple[Alert, list[Reply]]:
    """Record an alert about ``member`` and the messages to the people told (once per key).

    Args:
        tx: The update's transaction.
        now: The current time.
        member: Who needs help.
        writer_id: Who entered the reading (not alerted).
        reading_id: The reading kept.
        key: The reading's idempotency key (an alert per reading).
        reason: A key of :data:`WHY`.

    Returns:
        The alert, and the messages to queue (none if it had been raised already).
    """
    alert_id, created = await tx.add_alert(
        NewAlert(member.club_id, member.id, reading_id, reason, writer_id, key), now)
    if created:
        for person in await recipients(tx, member, writer_id):
            await tx.add_alert_recipient(alert_id, person.member.id, "alert", person.role, now)
    alert = await tx.get_alert(alert_id)
    assert alert is not None
    if not created:
        return alert, []
    text = alert_text(member, reason)
    return alert, [notify(r.member_id, text, choices=(ack_choice(alert_id),))
                   for r in alert.told()]


async def acknowledge(
    tx: Transaction, now: datetime, helper: Member, roles: frozenset[str], alert_id: int
) -> list[Reply]:
    """Record ``helper``'s answer to an alert and tell who needs to know.

    Only someone told about the alert, or the board, may answer it. The member (and whoever
    entered the reading) is told that help is coming and from whom; the others told about
    it are told that someone answered.

    Returns:
        The replies: to the helper first (``to`` unset), then the notices.
    """
    alert = await tx.get_alert(alert_id)
    told = {r.member_id for r in alert.recipients} if alert else set()
    allowed = alert is not None and alert.club_id == helper.club_id and (
        helper.id in told or bool(roles & BOARD_ROLES)) and alert.member_id != helper.id
    if alert is None or not allowed:
        return [Reply((T(N_("Sorry, you cannot use this.")),))]
    member = await tx.get_member(alert.member_id)
    assert member is not None
    if not await tx.acknowledge_alert(alert.id, helper.id, now):
        return [Reply((T(N_("You have already answered this alert about {name}. Thank you."),
                         name=member.full_name),))]
    replies = [Reply((T(N_("Thank you. I have told {name} that help is coming."),
                        name=member.full_name),))]
    replies.append(notify(member.id, T(N_("{helper} has answered: help is coming. They have "
                                          "called for help or are on their way to you."),
                                       helper=helper.full_name)))
    others = [alert.raised_by, *(r.member_id for r in alert.recipients)]
    answered = T(N_("{helper} has answered the alert about {name}: they have called for help "
                    "or are on their way."), helper=helper.full_name, name=member.full_name)
    done = {helper.id, member.id}
    for other in others:
        if other is not None and other not in done:
            done.add(other)
            replies.append(notify(other, answered))
    return replies


async def escalate(storage: Storage, now: datetime, after: timedelta = ESCALATE_AFTER) -> int:
    """Send every alert nobody answered within ``after`` to the whole board, once.

    Run every minute by the supervisor (and safe to run twice: an alert is marked escalated
    in the same transaction that queues the messages). Alerts older than
    :data:`ANSWER_WINDOW` (e.g. after a long outage) are not escalated any more.

    Args:
        storage: The database.
        now: The current time.
        after: How long an alert waits for an answer.

    Returns:
        How many alerts were escalated.
    """
    count = 0
    async with storage.transaction() as tx:
        for alert in await tx.alerts_to_escalate(now - after, now - ANSWER_WINDOW):
            member = await tx.get_member(alert.member_id)
            if member is None or not await tx.mark_escalated(alert.id, now):
                continue
            board = await _pick(tx, await board_of(tx, alert.club_id), {member.id})
            minutes = max(1, int((now - (alert.raised_at or now)).total_seconds() // 60))
            text = T(N_("Nobody has answered this alert yet ({minutes} minutes)."),
                     minutes=minutes)
            replies = []
            for person in board:
                await tx.add_alert_recipient(alert.id, person.member.id, "escalation",
                                             person.role, now)
                replies.append(notify(person.member.id, text,
                                      alert_text(member, alert.reason),
                                      choices=(ack_choice(alert.id),)))
            await queue(tx, None, replies, now)
            log.warning("alert %d escalated to %d board members: nobody answered", alert.id,
                        len(board))
            count += 1
    return count
