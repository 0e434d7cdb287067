"""Blood pressure and weight (``/huyetap``): a member's own reading, or one entered for them.

At the monthly meeting one volunteer enters readings for many members in a row: after each
one the bot offers "next member" (``/huyetap tiep``), straight to the name question. A very
high reading leads to a second measure after rest and the warning signs; if help is needed
the person is told to call 115 and the member's volunteers and the chair are alerted at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import health
from bot.conversations.fund_common import chosen, member_in_club, member_steps
from bot.conversations.health_common import (
    RECORDERS,
    URGENT_FOR_MEMBER,
    URGENT_FOR_OTHER,
    Recorded,
    advice,
    alert_hooks,
    may_record,
    reading_steps,
    record,
    summary_lines,
)
from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from storage.base import Member, Transaction

__all__ = ["BLOOD_PRESSURE", "URGENT_FOR_MEMBER", "RecordReading", "told"]

WHOM = (
    Choice("self", N_("My own"), ("toi", "cua toi", "ban than")),
    Choice("other", N_("For another member"), ("nguoi khac", "thanh vien khac")),
)
NEXT = (Choice("/huyetap tiep", N_("Next member")),)


def _records_for_others(ctx: Ctx) -> bool:
    return bool(ctx.roles & RECORDERS)


async def begin(ctx: Ctx, args: str) -> dict[str, Any]:
    """``/huyetap tiep`` goes straight to the next member; otherwise ask whose reading."""
    if args.strip().lower() in ("tiep", "tiếp") and _records_for_others(ctx):
        return {"whom": "other"}
    return {} if _records_for_others(ctx) else {"whom": "self"}


def whose(ctx: Ctx, data: dict[str, Any]) -> int:
    """The member measured."""
    assert ctx.member is not None
    return chosen(data) if data.get("whom") == "other" else ctx.member.id


def _for_self(ctx: Ctx, data: dict[str, Any]) -> bool:
    return data.get("whom") != "other"


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """Whose reading and the numbers, for checking."""
    lines = summary_lines(data, ctx.today)
    if _for_self(ctx, data):
        return lines
    member = await ctx.tx.get_member(whose(ctx, data))
    assert member is not None
    return T(N_("Reading of {name}:\n{lines}"), name=member.full_name, lines=lines)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the reading (checked again as it is written)."""
    return Done(effects=[RecordReading(whose(ctx, data), data, session_id, "self"
                                       if _for_self(ctx, data) else "meeting")])


@dataclass(frozen=True)
class RecordReading:
    """Effect: save a confirmed reading, tell the person what it means, alert if needed.

    ``data`` holds the answers of the reading questions; ``key`` makes it happen once. An
    urgent reading was kept (not confirmed) and alerted as soon as it was known, with the
    same key: it is confirmed here and nobody is alerted twice.
    """

    member_id: int
    data: dict[str, Any]
    key: str
    place: str
    visit_id: int | None = None

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the reading if the writer may record for this member."""
        assert ctx.member is not None
        if refusal := may_record(ctx, self.member_id):
            return refusal
        own = self.member_id == ctx.member.id
        member = await member_in_club(tx, self.member_id, ctx.member.club_id)
        if member is None:
            return [Reply((T(N_("This person is not an active member of the club.")),))]
        saved = await record(tx, ctx, member, self.data, self.key, self.place, self.visit_id)
        if saved is None:
            return []
        return await told(tx, member, saved, own,
                          NEXT if not own and self.place == "meeting" else ())


async def told(
    tx: Transaction, member: Member, saved: Recorded, own: bool,
    choices: tuple[Choice, ...] = (),
) -> list[Reply]:
    """The answer to the writer after a reading, then any alerts it raised now."""
    result = saved.result
    name = T(health.label(result.reading, await health.triage(tx)))
    graded = T(N_("Saved: {reading} ({grade})."), reading=health.reading_text(result.reading),
               grade=name)
    if own:
        parts = [graded, advice(result)]
    else:
        parts = [T(N_("Saved for {name}: {reading} ({grade})."), name=member.full_name,
                   reading=health.reading_text(result.reading), grade=name)]
        if result.urgent:
            parts.append(T(URGENT_FOR_OTHER, name=member.full_name))
    if saved.told is not None:
        parts.append(saved.told)
    return [Reply(tuple(parts), choices, "-", "-"), *saved.notices]


WHO, PICK = member_steps(
    N_("Whose reading is it? Type part of the name or the phone number, for example Hoa or "
       "0912 345 678."),
    N_("Member"),
    skip=_for_self,
)

ANSWERED, ABANDON = alert_hooks(
    whose, lambda data: "meeting" if data.get("whom") == "other" else "self",
    lambda session_id: session_id,
)
"""An urgent reading alerts the moment it is known (see ``health_common.alert_hooks``)."""

BLOOD_PRESSURE = Flow(
    id="blood_pressure",
    command="huyetap",
    title=N_("Blood pressure and weight"),
    steps=(
        Step("whom", N_("Whose blood pressure?"), choices=WHOM,
             skip=lambda ctx, data: "whom" in data),
        WHO,
        PICK,
        *reading_steps(whose),
    ),
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("huyet ap", "do huyet ap", "ha"),
    answered=ANSWERED,
    abandon=ABANDON,
)
