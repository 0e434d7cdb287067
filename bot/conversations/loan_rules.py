"""The club's loan rules (``/quyche``): its quy chế for the revolving fund.

The rules are the interest, term, schedule, due day, largest loan and whether poor households
come first. They are settings, not code: the chair or treasurer changes one at a time. Each
change is kept with who made it and when; loans already given keep their own terms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.conversations.fund_common import KEEPERS, SCHEDULES, money, rate_text, rules_text
from bot.engine import Ctx, Done, Flow, Step, refused
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.parsers import (
    parse_amount,
    parse_day_of_month,
    parse_months,
    parse_rate,
    parse_yes_no,
)
from storage.base import Transaction
from storage.ledger import LoanRules

FIELDS = (
    Choice("rate_bp", N_("Interest"), ("lai", "lai suat")),
    Choice("term_months", N_("Term"), ("thoi han", "ky han")),
    Choice("schedule", N_("How loans are repaid"), ("cach tra",)),
    Choice("due_day", N_("Due day of the month"), ("ngay tra",)),
    Choice("max_amount", N_("Largest loan"), ("muc vay", "toi da")),
    Choice("poor_first", N_("Poor households first"), ("uu tien", "ho ngheo")),
)
MEETING_DAY = (Choice("meeting", N_("The meeting day"), ("ngay hop", "hop")),)
YES_NO = (Choice("yes", N_("Yes"), ("co",)), Choice("no", N_("No"), ("khong",)))


async def first_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The rules in force, then the question."""
    assert ctx.member is not None and ctx.club is not None
    rules = await ctx.tx.loan_rules(ctx.member.club_id)
    return T(N_("The club's loan rules now:\n{rules}\n\nWhat do you want to change?"),
             rules=rules_text(rules, ctx.club.meeting_day))


def _only(field: str) -> Any:
    return lambda ctx, data: data.get("field") != field


def _due_day(text: str, ctx: Ctx) -> int:
    return parse_day_of_month(text)


def _yes_no(text: str, ctx: Ctx) -> str:
    return "yes" if parse_yes_no(text) else "no"


def new_value(data: dict[str, Any]) -> Any:
    """The new value of the chosen rule, in the form :class:`LoanRules` keeps it."""
    field = data["field"]
    value = data[field]
    if field == "due_day":
        return None if value == "meeting" else int(value)
    if field == "poor_first":
        return value == "yes"
    return value


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The rules as they will be."""
    assert ctx.member is not None and ctx.club is not None
    rules = await ctx.tx.loan_rules(ctx.member.club_id)
    changed = replace(rules, **{data["field"]: new_value(data)})
    return T(N_("The new rules:\n{rules}\nLoans already given keep their terms."),
             rules=rules_text(changed, ctx.club.meeting_day))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Put the change in force."""
    return Done(effects=[ChangeRule(data["field"], new_value(data))])


@dataclass(frozen=True)
class ChangeRule:
    """Effect: one rule changes; the change is kept with who and when."""

    field: str
    value: Any

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the new version of the rules."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None and ctx.club is not None
        rules = await tx.loan_rules(ctx.member.club_id)
        await tx.set_loan_rules(ctx.member.club_id, replace(rules, **{self.field: self.value}),
                                ctx.member.id, ctx.now)
        return [Reply((T(N_("Saved. New loans follow the new rules.")),))]


async def rate_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The interest question."""
    return T(N_("How much interest a month, in percent? For example 1 or 1,5; 0 for none. "
                "Now: {rate}."), rate=rate_text((await _rules(ctx)).rate_bp))


async def max_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """The largest-loan question."""
    return T(N_("What is the largest loan? For example 20tr. Now: {max}."),
             max=money((await _rules(ctx)).max_amount))


async def _rules(ctx: Ctx) -> LoanRules:
    assert ctx.member is not None
    return await ctx.tx.loan_rules(ctx.member.club_id)


LOAN_RULES = Flow(
    id="loan_rules",
    command="quyche",
    title=N_("Loan rules"),
    steps=(
        Step("field", first_prompt, choices=FIELDS),
        Step("rate_bp", rate_prompt, parse=lambda text, ctx: parse_rate(text),
             skip=_only("rate_bp")),
        Step("term_months", N_("How many months do loans usually run? For example 12."),
             parse=lambda text, ctx: parse_months(text), skip=_only("term_months")),
        Step("schedule", N_("How are loans repaid?"), choices=SCHEDULES,
             skip=_only("schedule")),
        Step("due_day", N_("On which day of the month are payments due? For example 15, or "
                           "the meeting day."), parse=_due_day, choices=MEETING_DAY,
             skip=_only("due_day")),
        Step("max_amount", max_prompt, parse=lambda text, ctx: parse_amount(text),
             skip=_only("max_amount")),
        Step("poor_first", N_("Should poor and near-poor households be offered loans first?"),
             parse=_yes_no, choices=YES_NO, skip=_only("poor_first")),
    ),
    roles=KEEPERS,
    summary=summary,
    finish=finish,
    aliases=("quy che",),
)
