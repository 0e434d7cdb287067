"""Loan requests (``/duyetvay``): the treasurer or chair approves or declines.

The queue shows poor and near-poor households first (marked ★) when the club's rules say so.
Approving continues as giving the loan: the day, the term, the schedule, then "Đúng, lưu lại".
Declining asks for a reason, which the member is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import label, one_block
from bot.conversations.disbursement import START, TERM, GiveLoan, check_amount, summary_text
from bot.conversations.disbursement import begin as begin_loan
from bot.conversations.fund_common import KEEPERS, loan_status, loan_title, money, where
from bot.engine import END, Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, gettext
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_text
from bot.render import translate
from bot.vocabulary import HOUSEHOLDS, purpose_label
from storage.base import Transaction
from storage.ledger import LoanRequest

PRIORITY = ("poor", "near_poor")
DECISIONS = (
    Choice("approve", N_("Approve and give the loan"), ("duyet", "dong y", "co")),
    Choice("decline", N_("Decline"), ("tu choi", "khong")),
    Choice("later", N_("Decide later"), ("de sau", "sau")),
)


async def _queue(ctx: Ctx) -> list[tuple[LoanRequest, Any]]:
    assert ctx.member is not None
    club_id = ctx.member.club_id
    rows = [(r, await ctx.tx.get_member(r.member_id))
            for r in await ctx.tx.loan_requests(club_id)]
    if (await ctx.tx.loan_rules(club_id)).poor_first:
        rows.sort(key=lambda row: row[1].household not in PRIORITY)  # stable: oldest first
    return rows


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only when someone is waiting."""
    if not await _queue(ctx):
        return Done([Reply((T(N_("No loan requests are waiting.")),))])
    return await begin_loan(ctx, args)


async def request_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The queue: priority households marked."""
    choices = []
    for request, member in await _queue(ctx):
        mark = "★ " if member.household in PRIORITY else ""
        choices.append(Choice(str(request.id), mark + gettext(
            N_("{name}: {amount} for {purpose}"), ctx.locale, name=member.full_name,
            amount=money(request.amount),
            purpose=translate(purpose_label(request.purpose), ctx.locale))))
    return tuple(choices)


async def take_request(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Still waiting, in this club; its member, amount and purpose become the loan's."""
    request = await ctx.tx.get_loan_request(int(value))
    assert ctx.member is not None
    if request is None or request.club_id != ctx.member.club_id or request.status != "pending":
        raise ParseError(N_("This request has already been decided. Please pick another."))
    return {"member": request.member_id, "matches": [], "amount": request.amount,
            "purpose": request.purpose}


async def decision_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Who asks, their household, their loans now, and the question."""
    member = await ctx.tx.get_member(int(data["member"]))
    assert member is not None
    loans = []
    for loan in await ctx.tx.loans_of(member.id, open_only=True):
        at = await where(ctx.tx, loan, ctx.today)
        loans.append(T(N_("{title}\n{status}"), title=loan_title(loan),
                       status=loan_status(loan, at)))
    current = one_block(loans) if loans else T(N_("No loans now."))
    return T(N_("{name} ({household}) asks for {amount} for {purpose}.\nTheir loans:\n{loans}\n\n"
                "What do you decide?"), name=member.full_name,
             household=label(HOUSEHOLDS, member.household), amount=money(data["amount"]),
             purpose=purpose_label(data["purpose"]), loans=current)


async def check_cash(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Approving needs the amount within the rules and in the fund's cash."""
    if value == "approve":
        await check_amount(data["amount"], ctx, data)


def _after_decision(data: dict[str, Any]) -> str | None:
    return {"approve": "start", "decline": "reason"}.get(data["decision"], END)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Give the loan, decline with the reason, or leave it for later."""
    if data["decision"] == "later":
        return Done([Reply((T(N_("All right, nothing changed. Type /duyetvay when ready.")),))])
    if data["decision"] == "decline":
        return Done(effects=[DeclineRequest(int(data["request"]), data["reason"])])
    return Done(effects=[GiveLoan(data=data, key=session_id)])


@dataclass(frozen=True)
class DeclineRequest:
    """Effect: decline a request and tell the member why."""

    request_id: int
    reason: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Mark it declined if still waiting."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None
        request = await tx.get_loan_request(self.request_id)
        if request is None or request.club_id != ctx.member.club_id or not (
            await tx.decide_loan_request(request.id, "declined", ctx.member.id, ctx.now,
                                         reason=self.reason)
        ):
            return [Reply((T(N_("This request has already been decided.")),))]
        member = await tx.get_member(request.member_id)
        assert member is not None
        told = T(N_("The board could not approve your request for {amount} this time. Reason: "
                    "{reason}. Please talk to the board if you have questions."),
                 amount=money(request.amount), reason=self.reason)
        done = T(N_("Declined; {name} has been told."), name=member.full_name)
        return [Reply((done,)), notify(member.id, told)]


REVIEW_LOANS = Flow(
    id="review_loans",
    command="duyetvay",
    title=N_("Review loan requests"),
    steps=(
        Step("request", N_("Which request do you want to review?"), choices=request_choices,
             validate=take_request),
        Step("decision", decision_prompt, choices=DECISIONS, validate=check_cash,
             next=_after_decision),
        Step("reason", N_("Why not? The member will be told. For example: quỹ đang hết tiền."),
             parse=lambda text, ctx: parse_text(text, min_len=3, max_len=200), next=END),
        START,
        TERM,
    ),
    roles=KEEPERS,
    begin=begin,
    summary=summary_text,
    finish=finish,
    aliases=("duyet vay",),
)
