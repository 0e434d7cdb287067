"""Confirming payments (``/xacnhan``): the cash a member reported has arrived, or not.

The treasurer or chair confirms (the payment enters the ledger and the member gets a receipt)
or rejects the report with a reason the member is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import fund
from bot.conversations.fund_common import KEEPERS, loan_title, money, where
from bot.conversations.repayment import RecordPayment
from bot.engine import END, Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day, gettext
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_text
from storage.base import Transaction

DECISIONS = (
    Choice("confirm", N_("Money received, confirm"), ("xac nhan", "da nhan", "co")),
    Choice("reject", N_("Reject"), ("tu choi", "khong")),
    Choice("later", N_("Decide later"), ("de sau", "sau")),
)
REASONS = (
    Choice("not_received", N_("The money has not arrived")),
    Choice("wrong_amount", N_("The amount is wrong")),
)


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when a payment is waiting."""
    assert ctx.member is not None
    if not await ctx.tx.payment_reports(ctx.member.club_id):
        return Done([Reply((T(N_("No payments are waiting for confirmation.")),))])
    return {}


async def report_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The waiting reports of this club: who, how much, which day."""
    assert ctx.member is not None
    choices = []
    for report in await ctx.tx.payment_reports(ctx.member.club_id):
        member = await ctx.tx.get_member(report.member_id)
        assert member is not None
        choices.append(Choice(str(report.id), gettext(
            N_("{name}: {amount} on {day}"), ctx.locale, name=member.full_name,
            amount=money(report.amount), day=format_day(report.day))))
    return tuple(choices)


async def check_pending(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Another keeper may have decided it meanwhile."""
    report = await ctx.tx.get_payment_report(int(value))
    assert ctx.member is not None
    if report is None or report.club_id != ctx.member.club_id or report.status != "pending":
        raise ParseError(N_("This payment has already been decided. Please pick another."))


async def decision_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The report, how it would split, and the question."""
    report = await ctx.tx.get_payment_report(int(data["report"]))
    assert report is not None
    loan = await ctx.tx.get_loan(report.loan_id)
    member = await ctx.tx.get_member(report.member_id)
    assert loan is not None and member is not None
    at = await where(ctx.tx, loan, report.day)
    try:
        principal, interest = fund.split(report.amount, at)
        split = T(N_("Interest {interest}, principal {principal}; still owed after it: {left}."),
                  interest=money(interest), principal=money(principal),
                  left=money(loan.outstanding - principal))
    except fund.Overpayment as error:
        split = T(N_("This is more than is owed now ({max}); it cannot be confirmed."),
                  max=money(error.payable))
    return T(N_("{name} reports paying {amount} on {day}, for the loan of {title}.\n{split}\n\n"
                "Has the money reached you?"), name=member.full_name,
             amount=money(report.amount), day=format_day(report.day), title=loan_title(loan),
             split=split)


def _reason(text: str, ctx: Ctx) -> str:
    return parse_text(text, min_len=3, max_len=200)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Confirm (the payment enters the ledger), reject (the member is told), or wait."""
    report_id = int(data["report"])
    if data["decision"] == "later":
        return Done([Reply((T(N_("All right, nothing changed. Type /xacnhan when ready.")),))])
    if data["decision"] == "reject":
        reason = data["reason"]
        if reason in {c.key for c in REASONS}:
            reason = gettext(next(c.label for c in REASONS if c.key == reason), ctx.locale)
        return Done(effects=[RejectReport(report_id, reason)])
    report = await ctx.tx.get_payment_report(report_id)
    assert report is not None
    return Done(effects=[RecordPayment(report.loan_id, report.amount, report.day,
                                       f"report:{report_id}", report_id)])


@dataclass(frozen=True)
class RejectReport:
    """Effect: reject a member's payment report and tell them why."""

    report_id: int
    reason: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Mark the report rejected if still pending; nothing enters the ledger."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None
        report = await tx.get_payment_report(self.report_id)
        if report is None or report.club_id != ctx.member.club_id or not (
            await tx.decide_payment_report(report.id, "rejected", ctx.member.id, ctx.now,
                                           reason=self.reason)
        ):
            return [Reply((T(N_("This payment has already been decided.")),))]
        member = await tx.get_member(report.member_id)
        assert member is not None
        told = T(N_("The treasurer did not confirm your payment of {amount} on {day}. Reason: "
                    "{reason}. Please talk to the treasurer, or report it again with /trano."),
                 amount=money(report.amount), day=format_day(report.day), reason=self.reason)
        done = T(N_("Rejected; {name} has been told."), name=member.full_name)
        return [Reply((done,)), notify(member.id, told)]


def _after_decision(data: dict[str, Any]) -> str | None:
    return "reason" if data["decision"] == "reject" else END


CONFIRM_PAYMENTS = Flow(
    id="confirm_payments",
    command="xacnhan",
    title=N_("Confirm payments"),
    steps=(
        Step("report", N_("Which payment do you want to check?"), choices=report_choices,
             validate=check_pending),
        Step("decision", decision_prompt, choices=DECISIONS, next=_after_decision),
        Step("reason", N_("Why? The member will be told. Pick one or type the reason, for "
                          "example: chưa nhận được tiền."), parse=_reason, choices=REASONS,
             next=END),
    ),
    roles=KEEPERS,
    begin=begin,
    finish=finish,
    aliases=("xac nhan",),
)
