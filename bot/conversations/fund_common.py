"""What the fund flows share: who may do what, labels, finding a member, showing a loan."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from bot import fund
from bot.conversations.common import member_line, one_block
from bot.engine import Ctx, Step
from bot.i18n import N_, format_day, format_money
from bot.messages import Choice, T
from bot.parsers import ParseError, parse_date, parse_text
from bot.text import fold
from bot.vocabulary import SCHEDULE_LABELS, purpose_label
from storage.base import Member, Transaction
from storage.ledger import Loan, LoanRules

KEEPERS = frozenset({"chair", "treasurer"})
"""Give loans, record and confirm payments, change the rules."""
VIEWERS = frozenset({"chair", "vice_chair", "treasurer"})
"""See the fund and the overdue list."""

SCHEDULES = tuple(Choice(key, label) for key, label in SCHEDULE_LABELS.items())


def money(amount: int) -> str:
    """An amount as people write it: ``1.500.000 ₫``."""
    return format_money(amount)


def rate_text(rate_bp: int) -> str:
    """A monthly rate as ``1,5%`` (``0%`` for none)."""
    whole, hundredths = divmod(rate_bp, 100)
    return f"{whole},{hundredths:02d}".rstrip("0").rstrip(",") + "%"


def due_day(rules: LoanRules, meeting_day: int) -> int:
    """The day of the month payments fall due: the rules' day, else the meeting day."""
    return rules.due_day or meeting_day


def rules_text(rules: LoanRules, meeting_day: int) -> T:
    """The club's loan rules, one per line."""
    day = (T(N_("day {day} (the meeting day)"), day=meeting_day) if rules.due_day is None
           else T(N_("day {day}"), day=rules.due_day))
    return T(
        N_("Interest: {rate} a month\nTerm: {term} months\nRepayment: {schedule}\n"
           "Due: {day} of each month\nLargest loan: {max}\nPoor and near-poor first: {first}"),
        rate=rate_text(rules.rate_bp),
        term=rules.term_months,
        schedule=T(SCHEDULE_LABELS[rules.schedule]),
        day=day,
        max=money(rules.max_amount),
        first=T(N_("yes")) if rules.poor_first else T(N_("no")),
    )


def rules_data(rules: LoanRules, meeting_day: int) -> dict[str, Any]:
    """The rules a new loan takes, kept in the conversation so the summary is what is saved."""
    return {
        "rate_bp": rules.rate_bp,
        "schedule": rules.schedule,
        "due_day": due_day(rules, meeting_day),
        "term_default": rules.term_months,
        "max_amount": rules.max_amount,
    }


SCHEDULE_SHOWN = 12  # a longer schedule shows its first instalments and its last


def schedule_text(rows: list[fund.Installment]) -> T:
    """A schedule, one instalment a line: date, total, principal, interest."""
    lines: list[T | str] = [
        T(N_("{n}. {due}: {total} (principal {principal}, interest {interest})"),
          n=row.number, due=format_day(row.due), total=money(row.total),
          principal=money(row.principal), interest=money(row.interest))
        for row in rows
    ]
    if len(lines) > SCHEDULE_SHOWN:
        hidden = len(lines) - SCHEDULE_SHOWN
        lines = [*lines[:SCHEDULE_SHOWN - 1],
                 T(N_("… {count} more monthly payments …"), count=hidden), lines[-1]]
    return one_block(lines)


def as_installments(rows: Any) -> list[fund.Installment]:
    """Stored schedule rows as :class:`bot.fund.Installment`."""
    return [fund.Installment(r.number, r.due, r.principal, r.interest) for r in rows]


async def where(tx: Transaction, loan: Loan, on: date) -> fund.Position:
    """Where ``loan`` stands on ``on``."""
    rows = as_installments(await tx.schedule_of(loan.id))
    return fund.position(rows, loan.outstanding, loan.principal_paid, loan.interest_paid, on)


def loan_title(loan: Loan) -> T:
    """``10.000.000 ₫ for a cow, from 01/12/2026``."""
    return T(N_("{amount} for {purpose}, from {start}"), amount=money(loan.principal),
             purpose=purpose_label(loan.purpose), start=format_day(loan.start_date))


def loan_status(loan: Loan, at: fund.Position) -> T:
    """Balance, next due date and arrears of a loan, in a few lines."""
    if loan.outstanding == 0:
        return T(N_("Fully repaid."))
    lines = [T(N_("Still owed: {amount}"), amount=money(loan.outstanding))]
    if at.arrears:
        lines.append(T(N_("Overdue since {since}: {amount}"), since=format_day(at.overdue_since),
                       amount=money(at.arrears)))
    if at.next_due:
        lines.append(T(N_("Next payment: {amount} by {day}"), amount=money(at.next_amount),
                       day=format_day(at.next_due)))
    elif at.arrears:
        lines.append(T(N_("The term has ended: please pay {amount} now."),
                       amount=money(at.next_amount)))
    return one_block(lines)


# Finding a member by name or phone ------------------------------------------------------------

MSG_NOT_FOUND = N_(
    "I found no member called \"{query}\". Please type part of the name or the phone number, "
    "for example Hoa or 0912 345 678."
)


def _matches(members: list[Member], query: str) -> list[Member]:
    digits = re.sub(r"[\s.\-]", "", query)
    if digits.isdigit() and len(digits) >= 3:
        national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
        return [m for m in members if m.phone and national in m.phone]
    words = fold(query).split()
    exact = [m for m in members if fold(m.full_name).split() == words]
    if exact:
        return exact
    return [m for m in members if all(
        any(part.startswith(word) for part in fold(m.full_name).split()) for word in words
    )]


async def find_member(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Validator of a typed name or phone: one match is taken, several are offered."""
    assert ctx.member is not None
    members = await ctx.tx.list_members(ctx.member.club_id, ["active"])
    found = _matches(members, value)
    if not found:
        raise ParseError(MSG_NOT_FOUND, query=value)
    if len(found) == 1:
        return {"member": found[0].id, "matches": []}
    return {"member": None, "matches": [m.id for m in found[:40]]}


async def match_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The members who matched the typed name."""
    members = [await ctx.tx.get_member(int(i)) for i in data.get("matches", [])]
    return tuple(Choice(str(m.id), member_line(m)) for m in members if m is not None)


Check = Callable[[int, Ctx], Awaitable[dict[str, Any] | None]]


def member_steps(
    prompt: str,
    label: str,
    check: Check | None = None,
    then: str | None = None,
    skip: Callable[[Ctx, dict[str, Any]], bool] | None = None,
) -> tuple[Step, Step]:
    """Two steps: type a name or phone, then pick when several members match.

    Args:
        prompt: The question (with an example).
        label: The answer's name in the "what to change?" list.
        check: Raises ``ParseError`` when the chosen member cannot be used here; may return
            facts to remember about them.
        then: A step that depends on the member, asked again when the member is changed.
        skip: Skip both steps when this returns true (the member is known another way).

    The chosen member's id is :func:`chosen`.
    """

    async def who(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
        found = await find_member(value, ctx, data)
        if check is not None and found["member"] is not None:
            found.update(await check(found["member"], ctx) or {})
        return found

    async def pick(value: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any] | None:
        return await check(int(value), ctx) if check is not None else None

    return (
        Step("who", prompt, parse=lambda text, ctx: parse_text(text, max_len=60),
             validate=who, label=label, skip=skip,
             next=lambda data: "pick" if data.get("matches") else then),
        Step("pick", N_("Several members match. Which one?"), choices=match_choices,
             validate=pick, next=lambda data: then,
             skip=lambda ctx, data: not data.get("matches") or bool(skip and skip(ctx, data))),
    )


def chosen(data: dict[str, Any]) -> int:
    """The member picked by :func:`member_steps`."""
    return int(data["pick"]) if data.get("matches") else int(data["member"])


async def member_in_club(tx: Transaction, member_id: int, club_id: int) -> Member | None:
    """The member if active in ``club_id`` (checked again when an effect applies)."""
    member = await tx.get_member(member_id)
    if member is None or member.club_id != club_id or member.status != "active":
        return None
    return member


def parse_day(text: str, ctx: Ctx) -> str:
    """A typed day (``hôm nay``, ``15/12``...) as ISO text, for date questions."""
    return parse_date(text, ctx.today).isoformat()


async def today_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """A "today" button for date questions; its key is the date itself."""
    return (Choice(ctx.today.isoformat(), N_("Today"), ("hom nay", "nay")),)


def source(ctx: Ctx) -> str:
    """Where a ledger entry came from: the channel and the message."""
    return f"{ctx.inbound.channel}:{ctx.inbound.message_id or ctx.inbound.external_id}"
