"""Money into the fund (``/gopquy``): members' contributions and other money put in.

The treasurer or chair records a member's contribution (góp quỹ, hội phí), or other money the
fund receives: seed capital from a project, a donation, or the cash the club already held when
it started using the bot. Members get a receipt; it shows in ``/quy`` and in their ``/vay``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.conversations.fund_common import (
    KEEPERS,
    chosen,
    member_in_club,
    member_steps,
    money,
    parse_day,
    source,
    today_choices,
)
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T
from bot.parsers import ParseError, parse_amount, parse_text
from storage.base import Transaction
from storage.ledger import NewEntry

KINDS = (
    Choice("contribution", N_("A member's contribution"), ("gop quy", "hoi phi", "thanh vien")),
    Choice("capital", N_("Other money: support, donation, cash already held"),
           ("von", "ho tro", "tai tro", "khac")),
)


def _is_member(data: dict[str, Any]) -> bool:
    return data.get("kind") == "contribution"



async def check_day(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Money already received: not in the future."""
    if date.fromisoformat(value) > ctx.today:
        raise ParseError(N_("That day is in the future. Please type today or an earlier day, "
                            "for example hôm nay."))


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """What will be recorded."""
    day = format_day(date.fromisoformat(data["day"]))
    if _is_member(data):
        member = await ctx.tx.get_member(chosen(data))
        assert member is not None
        return T(N_("Contribution from {name}: {amount} on {day}."), name=member.full_name,
                 amount=money(data["amount"]), day=day)
    return T(N_("Money put into the fund: {amount} on {day}, from: {source}."),
             amount=money(data["amount"]), day=day, source=data["source"])


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Append the entry."""
    return Done(effects=[AddToFund(data, session_id)])


@dataclass(frozen=True)
class AddToFund:
    """Effect: a contribution or other money enters the ledger."""

    data: dict[str, Any]
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the entry; a member's contribution gets a receipt."""
        if refusal := refused(ctx, KEEPERS):
            return refusal
        assert ctx.member is not None and ctx.club is not None
        data, member = self.data, None
        if _is_member(data):
            member = await member_in_club(tx, chosen(data), ctx.member.club_id)
            if member is None:
                return [Reply((T(N_("This person is not an active member of the club.")),))]
        day = date.fromisoformat(data["day"])
        _, created = await tx.add_entry(
            NewEntry(
                club_id=ctx.member.club_id, kind=data["kind"], day=day, key=self.key,
                member_id=member.id if member else None, cash=data["amount"],
                note="" if member else data["source"], recorded_by=ctx.member.id,
                confirmed_by=ctx.member.id, source=source(ctx),
            ),
            ctx.now,
        )
        if not created:
            return []
        [fund] = await tx.fund_summaries([ctx.member.club_id])
        done = T(N_("Recorded {amount}. Cash on hand now: {cash}."),
                 amount=money(data["amount"]), cash=money(fund.cash))
        replies = [Reply((done,))]
        if member is not None and member.id != ctx.member.id:
            total = await tx.contributed(member.id)
            told = T(N_("Receipt from {club}: your contribution of {amount} on {day} is "
                        "recorded. In all you have paid in {total}."), club=ctx.club.name,
                     amount=money(data["amount"]), day=format_day(day), total=money(total))
            replies.append(notify(member.id, told))
        return replies


WHO, PICK = member_steps(
    N_("Who paid in? Type part of the name or the phone number, for example Hoa or "
       "0912 345 678."),
    N_("Member"),
    skip=lambda ctx, data: not _is_member(data),
)
CONTRIBUTE = Flow(
    id="contribute",
    command="gopquy",
    title=N_("Record money paid into the fund"),
    steps=(
        Step("kind", N_("What money is it?"), choices=KINDS),
        WHO,
        PICK,
        Step("source", N_("Where is the money from? For example: dự án hỗ trợ, or tiền quỹ "
                          "đang có."), parse=lambda text, ctx: parse_text(text, max_len=100),
             label=N_("From"), skip=lambda ctx, data: _is_member(data)),
        Step("amount", N_("How much? For example 50k or 2tr."),
             parse=lambda text, ctx: parse_amount(text), label=N_("Amount")),
        Step("day", N_("On which day was it received? For example hôm nay or 25/11."),
             parse=parse_day, choices=today_choices, validate=check_day, label=N_("Day")),
    ),
    roles=KEEPERS,
    begin=None,
    summary=summary,
    finish=finish,
    aliases=("gop quy", "hoiphi", "hoi phi"),
)
