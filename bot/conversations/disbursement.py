"""Giving a loan (``/giaingan``) and entering a loan from the paper notebook (``/nhapsovay``).

The treasurer or chair picks the member, the amount, the purpose, the day and the term; the
bot shows the repayment schedule under the club's rules and saves nothing before "Đúng, lưu
lại". A loan already running on paper is entered with what is still owed and the next due
date, so a club can start using the bot half-way through its loans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot import fund
from bot.conversations.fund_common import (
    KEEPERS,
    chosen,
    member_in_club,
    member_steps,
    money,
    parse_day,
    rate_text,
    rules_data,
    schedule_text,
    source,
    today_choices,
)
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day, gettext
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_amount, parse_months
from bot.vocabulary import PURPOSES, SCHEDULE_LABELS, purpose_label
from storage.base import Transaction
from storage.ledger import NewEntry, NewLoan, ScheduleRow


async def begin(ctx: Ctx, args: str) -> dict[str, Any]:
    """Keep the club's rules in force now: the summary shows exactly what will be saved."""
    assert ctx.member is not None and ctx.club is not None
    rules = await ctx.tx.loan_rules(ctx.member.club_id)
    return {"rules": rules_data(rules, ctx.club.meeting_day)}


def plan(data: dict[str, Any]) -> list[fund.Installment]:
    """The schedule of the loan described by the answers."""
    rules = data["rules"]
    if data.get("carried"):
        first = date.fromisoformat(data["next_due"])
        return fund.schedule(data["amount"], rules["rate_bp"], int(data["term"]),
                             rules["schedule"], first, first.day)
    first = fund.first_due(date.fromisoformat(data["start"]), rules["due_day"])
    return fund.schedule(data["amount"], rules["rate_bp"], int(data["term"]),
                         rules["schedule"], first, rules["due_day"])


async def check_amount(amount: int, ctx: Ctx, data: dict[str, Any]) -> None:
    """Not above the club's largest loan, nor above the cash the fund holds."""
    largest = data["rules"]["max_amount"]
    if amount > largest:
        raise ParseError(N_("That is more than the club's largest loan, {max}. Please type a "
                            "smaller amount, for example 10tr."), max=money(largest))
    assert ctx.member is not None
    [summary] = await ctx.tx.fund_summaries([ctx.member.club_id])
    if amount > summary.cash:
        raise ParseError(N_("The fund holds only {cash} in cash. Please type a smaller amount, "
                            "or first record money paid into the fund with /gopquy."),
                         cash=money(summary.cash))



async def check_start(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """The money is handed over within a year back or two months ahead."""
    day = date.fromisoformat(value)
    if not ctx.today - timedelta(days=366) <= day <= ctx.today + timedelta(days=62):
        raise ParseError(N_("Please type a day within the last year or the next two months, "
                            "for example hôm nay or 01/12."))


async def check_next_due(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """A next due date within two years either side of today."""
    day = date.fromisoformat(value)
    if abs((day - ctx.today).days) > 731:
        raise ParseError(N_("Please type a date within two years of today, for example 15/12."))


async def term_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The club's usual term as a button; any other number of months can be typed."""
    months = data["rules"]["term_default"]
    return (Choice(str(months), gettext(N_("{months} months"), ctx.locale, months=months)),)


def _months(text: str, ctx: Ctx) -> int:
    return parse_months(text)


async def amount_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The amount question, with the club's largest loan."""
    return T(N_("How much is the loan? For example 10tr or 10.000.000. The club's largest loan "
                "is {max}."), max=money(data["rules"]["max_amount"]))


async def term_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The term question, with the club's usual term."""
    if data.get("carried"):
        return T(N_("How many monthly payments are left? For example 6."))
    return T(N_("For how many months? The club's rule is {months} months. For example 12."),
             months=data["rules"]["term_default"])


async def summary_text(ctx: Ctx, data: dict[str, Any]) -> T:
    """The loan and its schedule, for checking before saving."""
    member = await ctx.tx.get_member(chosen(data))
    assert member is not None
    rows = plan(data)
    rules = data["rules"]
    total_interest = sum(row.interest for row in rows)
    carried = bool(data.get("carried"))
    head = T(
        N_("Loan carried over from the notebook for {name}: still owed {amount}, for "
           "{purpose}.") if carried else
        N_("Loan for {name}: {amount} for {purpose}, handed over on {start}."),
        name=member.full_name, amount=money(data["amount"]),
        purpose=purpose_label(data["purpose"]),
        start=format_day(date.fromisoformat(data.get("start") or ctx.today.isoformat())),
    )
    owing = sum(loan.outstanding for loan in await ctx.tx.loans_of(member.id, open_only=True))
    if owing and not carried:
        head = T(N_("{head}\nNote: {name} still owes {amount} on earlier loans."), head=head,
                 name=member.full_name, amount=money(owing))
    return T(
        N_("{head}\n{term} months, interest {rate} a month, {schedule}.\nRepayment schedule:\n"
           "{rows}\nTotal to repay: {total} (interest {interest})."),
        head=head,
        term=int(data["term"]), rate=rate_text(rules["rate_bp"]),
        schedule=T(SCHEDULE_LABELS[rules["schedule"]]), rows=schedule_text(rows),
        total=money(sum(row.total for row in rows)), interest=money(total_interest),
    )


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the loan (checked again as it is written)."""
    return Done(effects=[GiveLoan(data=data, key=session_id)])


@dataclass(frozen=True)
class GiveLoan:
    """Effect: record a loan, its schedule and its ledger entry; tell the borrower.

    ``data`` holds the answers of ``/giaingan`` or ``/nhapsovay`` (or of an approved loan
    request, with ``request``); ``key`` (the conversation id) makes it happen once.
    """

    data: dict[str, Any]
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the loan if the actor may, the borrower is active and the cash is there."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None
        data, club_id, carried = self.data, ctx.member.club_id, bool(self.data.get("carried"))
        again = T(N_("Nothing was saved. Type /menu to start again."))
        borrower = await member_in_club(tx, chosen(data), club_id)
        if borrower is None:
            return [Reply((T(N_("This person is not an active member of the club.")), again))]
        [summary] = await tx.fund_summaries([club_id])
        if not carried and data["amount"] > summary.cash:
            short = T(N_("The fund holds only {cash} in cash."), cash=money(summary.cash))
            return [Reply((short, again))]
        request = data.get("request")
        if request is not None:
            found = await tx.get_loan_request(int(request))
            if found is None or found.status != "pending" or found.club_id != club_id:
                return [Reply((T(N_("This request has already been decided.")), again))]
        rows = plan(data)
        rules = data["rules"]
        start = ctx.today if carried else date.fromisoformat(data["start"])
        loan_id, created = await tx.add_loan(
            NewLoan(
                club_id=club_id, member_id=borrower.id, principal=data["amount"],
                purpose=data["purpose"], rate_bp=rules["rate_bp"],
                term_months=int(data["term"]),
                schedule=rules["schedule"], start_date=start, first_due=rows[0].due,
                due_day=rows[0].due.day if carried else rules["due_day"],
                carried_over=carried, request_id=int(request) if request else None,
                created_by=ctx.member.id, key=self.key,
                installments=tuple(ScheduleRow(r.number, r.due, r.principal, r.interest)
                                   for r in rows),
            ),
            ctx.now,
        )
        if not created:
            return []
        await tx.add_entry(
            NewEntry(
                club_id=club_id, kind="opening" if carried else "disbursement", day=start,
                key=f"loan:{self.key}", loan_id=loan_id, member_id=borrower.id,
                principal=data["amount"], cash=0 if carried else -data["amount"],
                recorded_by=ctx.member.id, source=source(ctx),
            ),
            ctx.now,
        )
        if request is not None:
            await tx.decide_loan_request(int(request), "approved", ctx.member.id, ctx.now,
                                         loan_id=loan_id)
        first = T(N_("First payment: {amount} by {day}."), amount=money(rows[0].total),
                  day=format_day(rows[0].due))
        done = T(N_("Saved: the loan of {amount} to {name}."), amount=money(data["amount"]),
                 name=borrower.full_name)
        replies = [Reply((done, first))]
        if borrower.id != ctx.member.id:
            told = T(N_("The club has recorded your loan of {amount} for {purpose}. Repayment "
                        "schedule:\n{rows}\nType /vay any time to see what you owe."),
                     amount=money(data["amount"]), purpose=purpose_label(data["purpose"]),
                     rows=schedule_text(rows))
            replies.append(notify(borrower.id, told))
        return replies



WHO, PICK = member_steps(
    N_("Who is borrowing? Type part of the name or the phone number, for example Hoa or "
       "0912 345 678."),
    N_("Borrower"),
)
PURPOSE = Step("purpose", N_("What is the loan for?"), choices=PURPOSES, label=N_("Purpose"))
START = Step("start", N_("On which day is the money handed over? For example hôm nay or 01/12."),
             parse=parse_day, choices=today_choices, validate=check_start, label=N_("Day"))
TERM = Step("term", term_prompt, parse=_months, choices=term_choices, label=N_("Term"))

GIVE_LOAN = Flow(
    id="give_loan",
    command="giaingan",
    title=N_("Give a loan"),
    steps=(
        WHO,
        PICK,
        Step("amount", amount_prompt, parse=lambda text, ctx: parse_amount(text),
             validate=check_amount, label=N_("Amount")),
        PURPOSE,
        START,
        TERM,
    ),
    roles=KEEPERS,
    begin=begin,
    summary=summary_text,
    finish=finish,
    aliases=("giai ngan", "chovay", "cho vay"),
)


async def begin_carried(ctx: Ctx, args: str) -> dict[str, Any]:
    """Like a new loan, marked as carried over from the notebook."""
    return {**await begin(ctx, args), "carried": True}


CARRIED_LOAN = Flow(
    id="carried_loan",
    command="nhapsovay",
    title=N_("Enter a loan from the notebook"),
    steps=(
        WHO,
        PICK,
        Step("amount", N_("How much principal is still owed? For example 6tr or 6.000.000."),
             parse=lambda text, ctx: parse_amount(text), label=N_("Still owed")),
        PURPOSE,
        Step("next_due", N_("When is the next payment due? For example 15/12."), parse=parse_day,
             validate=check_next_due, label=N_("Next due date")),
        TERM,
    ),
    roles=KEEPERS,
    begin=begin_carried,
    summary=summary_text,
    finish=finish,
    aliases=("nhap so vay", "vaycu", "vay cu"),
)
