"""My loans (``/vay``): a member sees their own loans, what they owe next and their payments."""

from __future__ import annotations

from bot.conversations.fund_common import loan_status, loan_title, money, where
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from bot.vocabulary import purpose_label

REPAID_SHOWN = 2  # loans repaid long ago would make the message too long


async def show(ctx: Ctx, args: str) -> Done:
    """The writer's own loans only (never anyone else's): open ones, then the latest repaid."""
    assert ctx.member is not None
    member = ctx.member
    parts: list[T] = []
    loans = await ctx.tx.loans_of(member.id)
    repaid = [loan for loan in loans if not loan.outstanding]
    shown = [loan for loan in loans if loan.outstanding] + repaid[:REPAID_SHOWN]
    for number, loan in enumerate(shown, 1):
        at = await where(ctx.tx, loan, ctx.today)
        parts.append(T(N_("Loan {n}: {title}\n{status}"), n=number, title=loan_title(loan),
                       status=loan_status(loan, at)))
    reports = await ctx.tx.payment_reports(member.club_id, ["pending"], member.id)
    for report in reports:
        parts.append(T(N_("Waiting for the treasurer to confirm: {amount} paid on {day}."),
                       amount=money(report.amount), day=format_day(report.day)))
    for request in await ctx.tx.loan_requests(member.club_id, ["pending"], member.id):
        parts.append(T(N_("Your request for {amount} for {purpose} is waiting for the board."),
                       amount=money(request.amount), purpose=purpose_label(request.purpose)))
    contributed = await ctx.tx.contributed(member.id)
    if contributed:
        parts.append(T(N_("You have paid {amount} into the club's fund."),
                       amount=money(contributed)))
    owing = any(loan.outstanding for loan in loans)
    if not parts:
        parts.append(T(N_("You have no loans from the club.")))
    choices = (Choice("/trano", N_("Report a payment")),) if owing else (
        Choice("/vayvon", N_("Ask for a loan")),)
    return Done([Reply(tuple(parts), choices, "-", "-")])


MY_LOANS = Flow(
    id="my_loans",
    command="vay",
    title=N_("My loans"),
    begin=show,
    aliases=("khoan vay", "no"),
)
