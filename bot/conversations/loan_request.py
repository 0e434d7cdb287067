"""Asking for a loan (``/vayvon``): a member's request joins the board's queue.

The treasurer and chair are told at once and answer with ``/duyetvay``; the member hears the
decision. Nothing is lent until the board approves and confirms the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.conversations.common import label
from bot.conversations.fund_common import KEEPERS, money
from bot.engine import CONFIRM, Ctx, Done, Flow, Step, notify
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_amount, parse_text
from bot.vocabulary import HOUSEHOLDS, PURPOSES, purpose_label
from storage.base import Transaction


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """One request at a time; the club's largest loan is kept for the amount question."""
    assert ctx.member is not None
    waiting = await ctx.tx.loan_requests(ctx.member.club_id, ["pending"], ctx.member.id)
    if waiting:
        return Done([Reply((T(N_("Your request for {amount} is already waiting for the board. "
                                 "You will hear from them soon."),
                              amount=money(waiting[0].amount)),))])
    rules = await ctx.tx.loan_rules(ctx.member.club_id)
    return {"max_amount": rules.max_amount}


async def amount_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The amount question with the club's largest loan."""
    return T(N_("How much would you like to borrow? For example 10tr. The club lends up to "
                "{max}."), max=money(data["max_amount"]))


async def check_amount(amount: int, ctx: Ctx, data: dict[str, Any]) -> None:
    """Not above the club's largest loan."""
    if amount > data["max_amount"]:
        raise ParseError(N_("That is more than the club's largest loan, {max}. Please type a "
                            "smaller amount, for example 10tr."), max=money(data["max_amount"]))


OTHER = "other"
PURPOSE_EXAMPLE = N_("What is it for? Please type it, for example: mua máy khâu or sửa chuồng "
                     "trại.")


def _after_purpose(data: dict[str, Any]) -> str:
    """"Other" asks what the purpose is; any listed purpose goes to the summary."""
    return "purpose_note" if data.get("purpose") == OTHER else CONFIRM


def _purpose_note(text: str, ctx: Ctx) -> str:
    try:
        return parse_text(text, min_len=3, max_len=80)
    except ParseError as error:
        raise ParseError(PURPOSE_EXAMPLE) from error


def purpose_of(data: dict[str, Any]) -> str:
    """The purpose to keep: a listed purpose's key, or for "Other" the words typed."""
    if data["purpose"] == OTHER and data.get("purpose_note"):
        return str(data["purpose_note"])
    return str(data["purpose"])


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The request, for checking."""
    return T(N_("You ask for a loan of {amount} for {purpose}. The board will decide."),
             amount=money(data["amount"]), purpose=purpose_label(purpose_of(data)))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Queue the request (an "Other" purpose is kept as the words typed)."""
    return Done(effects=[RequestLoan(data["amount"], purpose_of(data), session_id)])


@dataclass(frozen=True)
class RequestLoan:
    """Effect: queue a member's request and tell the treasurer and chair."""

    amount: int
    purpose: str
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the request (once per key)."""
        member = ctx.member
        if member is None or not ctx.active:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        _, created = await tx.add_loan_request(member.id, self.amount, self.purpose, self.key,
                                               ctx.now)
        if not created:
            return []
        ask = T(N_("{name} ({household}) asks for a loan of {amount} for {purpose}."),
                name=member.full_name, household=label(HOUSEHOLDS, member.household),
                amount=money(self.amount), purpose=purpose_label(self.purpose))
        button = (Choice("/duyetvay", N_("Review loan requests")),)
        keepers = await tx.members_with_roles(member.club_id, KEEPERS)
        told = [notify(k.id, ask, choices=button) for k in keepers if k.id != member.id]
        sent = T(N_("Your request has been sent to the board. You will get their answer here."))
        return [Reply((sent,)), *told]


ASK_LOAN = Flow(
    id="ask_loan",
    command="vayvon",
    title=N_("Ask for a loan"),
    steps=(
        Step("amount", amount_prompt, parse=lambda text, ctx: parse_amount(text),
             validate=check_amount, label=N_("Amount")),
        Step("purpose", N_("What is the loan for?"), choices=PURPOSES, label=N_("Purpose"),
             next=_after_purpose),
        Step("purpose_note", PURPOSE_EXAMPLE, parse=_purpose_note),
    ),
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("vay von", "xin vay"),
    confirm=N_("Correct, send the request"),
)
