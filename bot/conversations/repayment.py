"""Repaying a loan: reported by the member (``/trano``) or recorded by the treasurer.

The treasurer or chair records a payment received in hand with ``/thutien``.
A member's report waits until the treasurer confirms the cash arrived (``/xacnhan``); only a
confirmed payment enters the ledger. Each payment pays the interest due first, then principal;
more than what is owed is refused. The member gets a receipt with the new balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot import fund
from bot.conversations.fund_common import (
    KEEPERS,
    chosen,
    loan_title,
    member_steps,
    money,
    parse_day,
    source,
    today_choices,
    where,
)
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_amount
from bot.render import translate
from storage.base import Transaction
from storage.ledger import Loan, NewEntry


async def _open_loans(ctx: Ctx, member_id: int) -> list[Loan]:
    return await ctx.tx.loans_of(member_id, open_only=True)


def _borrower(ctx: Ctx, data: dict[str, Any]) -> int:
    """Whose loan: the writer's (``/trano``) or the chosen member's (``/thutien``)."""
    assert ctx.member is not None
    return chosen(data) if data.get("collect") else ctx.member.id


async def loan_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The borrower's loans that are not yet repaid."""
    loans = await _open_loans(ctx, _borrower(ctx, data))
    return tuple(Choice(str(loan.id), translate(loan_title(loan), ctx.locale)) for loan in loans)


def _one_loan(ctx: Ctx, data: dict[str, Any]) -> bool:
    """Skip choosing the loan when the borrower has only one."""
    return bool(data.get("loan"))


async def chosen_loan(ctx: Ctx, data: dict[str, Any]) -> Loan:
    """The loan being repaid."""
    loan = await ctx.tx.get_loan(int(data["loan"]))
    assert loan is not None
    return loan


async def pending_total(tx: Transaction, loan: Loan) -> int:
    """Payments reported for ``loan`` and not yet confirmed or rejected."""
    reports = await tx.payment_reports(loan.club_id, ["pending"], loan.member_id)
    return sum(r.amount for r in reports if r.loan_id == loan.id)


async def begin_report(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only for a member who owes something; one loan is chosen at once."""
    assert ctx.member is not None
    loans = await _open_loans(ctx, ctx.member.id)
    if not loans:
        return Done([Reply((T(N_("You have no loan to repay. Type /vay to see your loans.")),))])
    return {"loan": str(loans[0].id)} if len(loans) == 1 else {}


async def begin_collect(ctx: Ctx, args: str) -> dict[str, Any]:
    """The treasurer records a payment received in hand."""
    return {"collect": True}


async def has_loan(member_id: int, ctx: Ctx) -> dict[str, Any]:
    """The chosen member must owe something; a single loan is the one being repaid."""
    loans = await _open_loans(ctx, member_id)
    if not loans:
        raise ParseError(N_("This member has no loan to repay. Please type another name."))
    return {"loan": str(loans[0].id) if len(loans) == 1 else None}


async def amount_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """How much was paid, with what is due next."""
    loan = await chosen_loan(ctx, data)
    at = await where(ctx.tx, loan, ctx.today)
    question = (N_("How much did the member pay? For example 1tr or 1.150.000.")
                if data.get("collect") else
                N_("How much did you pay? For example 1tr or 1.150.000."))
    if at.next_due is None:
        return T(N_("{question}\nDue now: {amount}."), question=T(question),
                 amount=money(at.next_amount or at.payable))
    return T(N_("{question}\nNext payment: {amount} by {day}."), question=T(question),
             amount=money(at.next_amount), day=format_day(at.next_due))


async def _check_payable(amount: int, day: date, ctx: Ctx, data: dict[str, Any]) -> None:
    loan = await chosen_loan(ctx, data)
    at = await where(ctx.tx, loan, day)
    left = at.payable - await pending_total(ctx.tx, loan)
    if amount > left:
        raise ParseError(N_("That is more than is owed: at most {max} can be paid now. Please "
                            "type a smaller amount, for example {max}."), max=money(max(left, 0)))


async def check_amount(amount: int, ctx: Ctx, data: dict[str, Any]) -> None:
    """No more than is owed, payments waiting for confirmation counted.

    Owed on the payment day when it is known (the amount was changed from the summary),
    else today.
    """
    day = date.fromisoformat(data["day"]) if data.get("day") else ctx.today
    await _check_payable(amount, day, ctx, data)



async def check_day(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Not in the future, not before the loan started."""
    day = date.fromisoformat(value)
    if day > ctx.today:
        raise ParseError(N_("A payment cannot be in the future. Please type today or an "
                            "earlier day, for example hôm nay or hôm qua."))
    loan = await chosen_loan(ctx, data)
    if day < loan.start_date:
        raise ParseError(N_("The loan started on {start}; please type a day after that, for "
                            "example hôm nay."), start=format_day(loan.start_date))
    await _check_payable(data["amount"], day, ctx, data)  # less interest was due earlier


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The payment and how it splits into interest and principal."""
    loan = await chosen_loan(ctx, data)
    member = await ctx.tx.get_member(loan.member_id)
    assert member is not None
    at = await where(ctx.tx, loan, date.fromisoformat(data["day"]))
    principal, interest = fund.split(data["amount"], at)
    return T(N_("Payment by {name}: {amount} on {day}, for the loan of {title}.\n"
                "Interest {interest}, principal {principal}; still owed after it: {left}."),
             name=member.full_name, amount=money(data["amount"]),
             day=format_day(date.fromisoformat(data["day"])), title=loan_title(loan),
             interest=money(interest), principal=money(principal),
             left=money(loan.outstanding - principal))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """A member's report waits for the treasurer; the treasurer's record is written now."""
    loan, amount, day = int(data["loan"]), data["amount"], date.fromisoformat(data["day"])
    if data.get("collect"):
        return Done(effects=[RecordPayment(loan, amount, day, session_id)])
    return Done(effects=[ReportPayment(loan, amount, day, session_id)])



@dataclass(frozen=True)
class ReportPayment:
    """Effect: a member's own report of a payment, waiting for the treasurer."""

    loan_id: int
    amount: int
    day: date
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Queue the report and ask the treasurer and chair to confirm it."""
        loan = await tx.get_loan(self.loan_id)
        member = ctx.member
        if member is None or loan is None or loan.member_id != member.id or not ctx.active:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        _, created = await tx.add_payment_report(
            loan.id, self.amount, self.day, self.key, ctx.now
        )
        if not created:
            return []
        ask = T(N_("{name} reports paying {amount} on {day}. Please confirm when the money "
                   "has reached you."), name=member.full_name, amount=money(self.amount),
                day=format_day(self.day))
        button = (Choice("/xacnhan", N_("Confirm payments")),)
        keepers = await tx.members_with_roles(member.club_id, KEEPERS)
        replies = [notify(k.id, ask, choices=button) for k in keepers if k.id != member.id]
        thanks = T(N_("Thank you. The treasurer will confirm when the money arrives, and I "
                      "will send you a receipt."))
        return [Reply((thanks,)), *replies]


@dataclass(frozen=True)
class RecordPayment:
    """Effect: a repayment enters the ledger (recorded by the treasurer or chair).

    ``report`` is the member's report being confirmed, if any; ``key`` makes it happen once.
    """

    loan_id: int
    amount: int
    day: date
    key: str
    report: int | None = None

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Split by the club's rule, append the entry and send the member a receipt."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None
        loan = await tx.get_loan(self.loan_id)
        if loan is None or loan.club_id != ctx.member.club_id:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        reporter = None
        if self.report is not None:
            report = await tx.get_payment_report(self.report)
            if report is None or report.status != "pending" or report.loan_id != loan.id:
                return [Reply((T(N_("This payment has already been decided.")),))]
            reporter = report.member_id
        at = await where(tx, loan, self.day)
        try:
            principal, interest = fund.split(self.amount, at)
        except fund.Overpayment as error:
            return [Reply((T(N_("That is more than is owed: at most {max} can be paid now. "
                                "Nothing was saved."), max=money(error.payable)),))]
        entry_id, created = await tx.add_entry(
            NewEntry(
                club_id=loan.club_id, kind="repayment", day=self.day, key=self.key,
                loan_id=loan.id, member_id=loan.member_id, principal=-principal,
                interest=interest, cash=self.amount, recorded_by=reporter or ctx.member.id,
                confirmed_by=ctx.member.id, source=source(ctx),
            ),
            ctx.now,
        )
        if not created:
            return []
        if self.report is not None:
            await tx.decide_payment_report(self.report, "confirmed", ctx.member.id, ctx.now,
                                           entry_id=entry_id)
        return await receipts(tx, ctx, loan.id, self.amount, self.day, principal, interest)


async def receipts(
    tx: Transaction, ctx: Ctx, loan_id: int, amount: int, day: date, principal: int,
    interest: int,
) -> list[Reply]:
    """The receipt for the member and the note for the treasurer, after a payment."""
    assert ctx.member is not None and ctx.club is not None
    loan = await tx.get_loan(loan_id)
    member = await tx.get_member(loan.member_id) if loan else None
    assert loan is not None and member is not None
    left = (T(N_("Still owed: {amount}."), amount=money(loan.outstanding)) if loan.outstanding
            else T(N_("The loan is fully repaid. Thank you!")))
    receipt = T(N_("Receipt from {club}: received {amount} on {day} (interest {interest}, "
                   "principal {principal})."), club=ctx.club.name, amount=money(amount),
                day=format_day(day), interest=money(interest), principal=money(principal))
    at = await where(tx, loan, ctx.today)
    parts = [receipt, left]
    if at.next_due:
        parts.append(T(N_("Next payment: {amount} by {day}"), amount=money(at.next_amount),
                       day=format_day(at.next_due)))
    done = T(N_("Recorded {amount} from {name}."), amount=money(amount), name=member.full_name)
    replies = [Reply((done, left))]
    if member.id != ctx.member.id:
        replies.append(notify(member.id, *parts))
    waiting = await tx.payment_reports(loan.club_id)
    if waiting:
        more = T(N_("{count} more payments waiting for confirmation."), count=len(waiting))
        replies.append(Reply((more,), (Choice("/xacnhan", N_("Confirm payments")),), "-", "-"))
    return replies


AMOUNT = Step("amount", amount_prompt, parse=lambda text, ctx: parse_amount(text),
              validate=check_amount, label=N_("Amount"))
DAY = Step("day", N_("On which day was it paid? For example hôm nay or 25/11."),
           parse=parse_day, choices=today_choices, validate=check_day, label=N_("Day"))

REPORT_PAYMENT = Flow(
    id="report_payment",
    command="trano",
    title=N_("Report a payment"),
    steps=(
        Step("loan", N_("Which loan did you pay?"), choices=loan_choices, skip=_one_loan),
        AMOUNT,
        DAY,
    ),
    begin=begin_report,
    summary=summary,
    finish=finish,
    aliases=("tra no", "tra tien"),
)

WHO, PICK = member_steps(
    N_("Who paid? Type part of the name or the phone number, for example Hoa or 0912 345 678."),
    N_("Member"),
    check=has_loan,
    then="loan",
)
COLLECT_PAYMENT = Flow(
    id="collect_payment",
    command="thutien",
    title=N_("Record a payment received"),
    steps=(
        WHO,
        PICK,
        Step("loan", N_("Which loan is it for?"), choices=loan_choices, skip=_one_loan),
        AMOUNT,
        DAY,
    ),
    roles=KEEPERS,
    begin=begin_collect,
    summary=summary,
    finish=finish,
    aliases=("thu tien",),
)
