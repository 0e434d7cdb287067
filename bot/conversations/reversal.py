"""Correcting the ledger (``/dieuchinh``): a wrong entry is undone by a reversal entry.

Nothing in the ledger is ever changed or deleted. The treasurer or chair picks a recent entry
and gives a reason; a reversal with the negated amounts is appended, recorded by whom, and the
member concerned is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.fund_common import KEEPERS, money, source
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_text
from bot.render import translate
from bot.vocabulary import ENTRY_KINDS
from storage.base import Transaction
from storage.ledger import Entry, NewEntry

RECENT = 15


def _amount(entry: Entry) -> int:
    return abs(entry.cash) if entry.cash else abs(entry.principal)


async def describe(tx: Transaction, entry: Entry) -> T:
    """``Repayment 28/11/2026, Mồng Thị Hoa: 1.150.000 ₫``."""
    who = await tx.get_member(entry.member_id) if entry.member_id else None
    return T(N_("{kind} {day}, {who}: {amount}"), kind=T(ENTRY_KINDS[entry.kind]),
             day=format_day(entry.day), who=who.full_name if who else entry.note or "-",
             amount=money(_amount(entry)))


async def _correctable(ctx: Ctx) -> list[Entry]:
    assert ctx.member is not None
    recent = await ctx.tx.entries(ctx.member.club_id, limit=RECENT * 3)
    return [e for e in recent if e.reverses is None and e.reversed_by is None][:RECENT]


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when there is something to correct."""
    if not await _correctable(ctx):
        return Done([Reply((T(N_("There is nothing in the ledger to correct.")),))])
    return {}


async def entry_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The most recent entries not yet reversed, newest first."""
    return tuple([Choice(str(e.id), translate(await describe(ctx.tx, e), ctx.locale))
                  for e in await _correctable(ctx)])


async def check_entry(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Still not reversed; a loan is undone only after its payments are."""
    entry = await ctx.tx.get_entry(int(value))
    assert ctx.member is not None and entry is not None
    if entry.reversed_by is not None:
        raise ParseError(N_("This entry has already been corrected. Please pick another."))
    if entry.kind in ("disbursement", "opening") and entry.loan_id is not None:
        loan = await ctx.tx.get_loan(entry.loan_id)
        assert loan is not None
        if loan.outstanding != loan.principal:
            raise ParseError(N_("This loan has payments. Please correct its payments first, "
                                "then the loan."))


def _reason(text: str, ctx: Ctx) -> str:
    return parse_text(text, min_len=3, max_len=200)


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """What will be undone and why."""
    entry = await ctx.tx.get_entry(int(data["entry"]))
    assert entry is not None
    return T(N_("Undo this entry: {entry}\nReason: {reason}\nThe entry stays in the ledger with "
                "a correction next to it."), entry=await describe(ctx.tx, entry),
             reason=data["reason"])


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Append the reversal."""
    return Done(effects=[Reverse(int(data["entry"]), data["reason"], session_id)])


@dataclass(frozen=True)
class Reverse:
    """Effect: append the reversal of a ledger entry, with the reason and who did it."""

    entry_id: int
    reason: str
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the reversal if the entry is still uncorrected and may be undone."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None
        entry = await tx.get_entry(self.entry_id)
        if entry is None or entry.club_id != ctx.member.club_id or entry.reverses is not None:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        if entry.reversed_by is not None:
            return [Reply((T(N_("This entry has already been corrected.")),))]
        if entry.loan_id is not None and entry.kind != "repayment":
            loan = await tx.get_loan(entry.loan_id)
            if loan is None or loan.outstanding != loan.principal:
                return [Reply((T(N_("This loan has payments. Please correct its payments "
                                    "first, then the loan.")),))]
        _, created = await tx.add_entry(
            NewEntry(
                club_id=entry.club_id, kind=entry.kind, day=ctx.today, key=self.key,
                loan_id=entry.loan_id, member_id=entry.member_id, principal=-entry.principal,
                interest=-entry.interest, cash=-entry.cash, note=self.reason,
                reverses=entry.id, recorded_by=ctx.member.id,
                source=source(ctx),
            ),
            ctx.now,
        )
        if not created:
            return []
        what = await describe(tx, entry)
        replies = [Reply((T(N_("Corrected: {entry}."), entry=what),))]
        if entry.member_id is not None and entry.member_id != ctx.member.id:
            told = T(N_("The club has corrected an entry: {entry}. Reason: {reason}. Type /vay "
                        "to see your loans."), entry=what, reason=self.reason)
            replies.append(notify(entry.member_id, told))
        return replies


CORRECT = Flow(
    id="correct_entry",
    command="dieuchinh",
    title=N_("Correct a mistake in the ledger"),
    steps=(
        Step("entry", N_("Which entry is wrong?"), choices=entry_choices, validate=check_entry,
             label=N_("Entry")),
        Step("reason", N_("Why is it wrong? This is kept with the correction. For example: ghi "
                          "nhầm số tiền."), parse=_reason, label=N_("Reason")),
    ),
    roles=KEEPERS,
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("dieu chinh", "sua so"),
)
