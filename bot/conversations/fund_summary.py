"""The fund (``/quy``): cash, money lent out, interest, contributions and who borrows."""

from __future__ import annotations

from bot.conversations.fund_common import VIEWERS, money, rules_text
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_
from bot.messages import Choice, Reply, T

TARGET_SHARE = 50  # Decision 1336: at least half of the members borrow


async def show(ctx: Ctx, args: str) -> Done:
    """The club's fund, derived from the ledger, with what waits for the treasurer."""
    assert ctx.member is not None and ctx.club is not None
    club_id = ctx.member.club_id
    [fund] = await ctx.tx.fund_summaries([club_id])
    share = round(100 * fund.borrowers / fund.members) if fund.members else 0
    parts = [
        T(N_("Fund of {club}:\nCash on hand: {cash}\nLent out: {lent} ({loans} loans)\n"
             "Interest received: {interest}\nMembers' contributions: {contributions}\n"
             "Other money put in: {capital}\nBorrowers: {borrowers} of {members} members "
             "({share}%; the target is at least {target}%)"),
          club=ctx.club.name, cash=money(fund.cash), lent=money(fund.lent_out),
          loans=fund.open_loans, interest=money(fund.interest),
          contributions=money(fund.contributions), capital=money(fund.capital),
          borrowers=fund.borrowers, members=fund.members, share=share, target=TARGET_SHARE),
        T(N_("Loan rules:\n{rules}"),
          rules=rules_text(await ctx.tx.loan_rules(club_id), ctx.club.meeting_day)),
    ]
    choices: list[Choice] = []
    reports = await ctx.tx.payment_reports(club_id)
    if reports:
        parts.append(T(N_("Payments waiting for confirmation: {count}."), count=len(reports)))
        choices.append(Choice("/xacnhan", N_("Confirm payments")))
    requests = await ctx.tx.loan_requests(club_id)
    if requests:
        parts.append(T(N_("Loan requests waiting: {count}."), count=len(requests)))
        choices.append(Choice("/duyetvay", N_("Review loan requests")))
    overdue = await ctx.tx.arrears([club_id], ctx.today)
    if overdue:
        parts.append(T(N_("Overdue loans: {count}."), count=len(overdue)))
        choices.append(Choice("/quahan", N_("Overdue loans")))
    return Done([Reply(tuple(parts), tuple(choices), "-", "-")])


FUND = Flow(
    id="fund",
    command="quy",
    title=N_("The fund"),
    roles=VIEWERS,
    begin=show,
    aliases=("quy von",),
)
