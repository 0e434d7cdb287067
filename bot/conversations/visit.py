"""Home-care visits (``/thamnom``): a volunteer records a visit in a few taps.

Which client (their own clients), when (default today), the services given (several at once),
an optional blood-pressure reading (the same questions and alerts as ``/huyetap``) and any
concern with a note. A concern goes to the chair at once, without health numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.conversations.blood_pressure import told
from bot.conversations.common import member_line
from bot.conversations.fund_common import parse_day, today_choices
from bot.conversations.health_common import (
    alert_hooks,
    reading_of,
    reading_steps,
    record,
    summary_lines,
)
from bot.engine import Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_, format_day
from bot.messages import Choice, Reply, T, joined
from bot.parsers import ParseError, parse_text
from bot.vocabulary import CONCERNS, SERVICES
from storage.base import Transaction
from storage.health import NewVisit

VOLUNTEERS = frozenset({"volunteer"})
SKIP_NOTE = (Choice("skip", N_("No note"), ("bo qua", "khong")),)


async def _clients(ctx: Ctx) -> list[Any]:
    assert ctx.member is not None
    return [c.member for c in await ctx.tx.clients_of(ctx.member.id)]


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start only for a volunteer with clients."""
    if not await _clients(ctx):
        return Done([Reply((T(N_("You have no care clients yet. The board assigns them with "
                                 "/phancong.")),))])
    return {"visit": True}


async def client_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The volunteer's own clients."""
    return tuple(Choice(str(m.id), member_line(m)) for m in await _clients(ctx))



async def check_day(value: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """Today or within the last month."""
    day = date.fromisoformat(value)
    if day > ctx.today:
        raise ParseError(N_("That day is in the future. Please type today or an earlier day, "
                            "for example hôm nay."))
    if day < ctx.today - timedelta(days=31):
        raise ParseError(N_("Please record visits within a month, for example hôm qua."))


def whose(ctx: Ctx, data: dict[str, Any]) -> int:
    """The client visited."""
    return int(data["client"])


async def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The visit, for checking."""
    client = await ctx.tx.get_member(whose(ctx, data))
    assert client is not None
    day = date.fromisoformat(data["day"])
    labels = {c.key: c.label for c in SERVICES}
    text = T(N_("Visit to {name} on {day}.\nHelp given: {services}\nConcern: {concern}"),
             name=client.full_name, day=format_day(day),
             services=joined([T(labels[k]) for k in data["services"]], ", "),
             concern=T(next(c.label for c in CONCERNS if c.key == data["concern"])))
    if data.get("note") and data["note"] != "skip":
        text = T(N_("{text}\nNote: {note}"), text=text, note=data["note"])
    if reading_of(data) is not None:
        text = T("{text}\n{bp}", text=text, bp=summary_lines(data, day))
    return text


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the visit (and its reading)."""
    return Done(effects=[RecordVisit(data, session_id)])


@dataclass(frozen=True)
class RecordVisit:
    """Effect: save a visit and its reading; a concern and an urgent reading alert at once."""

    data: dict[str, Any]
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the visit if the writer is a volunteer caring for this client."""
        if refusal := refused(ctx, VOLUNTEERS):
            return refusal
        assert ctx.member is not None and ctx.club is not None
        data, volunteer = self.data, ctx.member
        clients = {c.member.id: c.member for c in await tx.clients_of(volunteer.id)}
        client = clients.get(int(data["client"]))
        if client is None:
            return [Reply((T(N_("You do not care for this person.")),))]
        day = date.fromisoformat(data["day"])
        local = datetime.combine(day, time(12), ZoneInfo(ctx.tz))
        at = ctx.now if day == ctx.today else local
        concern = None if data["concern"] == "none" else data["concern"]
        note = "" if data.get("note") in (None, "skip") else data["note"]
        visit_id, created = await tx.add_visit(
            NewVisit(club_id=client.club_id, client_id=client.id, volunteer_id=volunteer.id,
                     visited_at=at, day=day, services=tuple(data["services"]), concern=concern,
                     note=note, key=self.key),
            ctx.now,
        )
        if not created:
            return []
        replies = [Reply((T(N_("Visit saved. Thank you!")),))]
        saved = await record(tx, ctx, client, data, reading_key(self.key), "home", visit_id)
        if saved is not None:
            replies.extend(await told(tx, client, saved, own=False))
        if concern is not None:
            label = T(next(c.label for c in CONCERNS if c.key == concern))
            why = T(N_("{volunteer} reports after a visit: {concern}. {note}"),
                    volunteer=volunteer.full_name, concern=label, note=note)
            chairs = await tx.members_with_roles(client.club_id, {"chair"})
            phone = client.phone.replace("+84", "0") if client.phone else "-"
            for chair in chairs:
                if chair.id != volunteer.id:
                    replies.append(notify(chair.id, T(
                        N_("Concern about {name} ({village}, phone {phone}): {why}"),
                        name=client.full_name, village=client.village, phone=phone, why=why)))
        return replies


def reading_key(session_id: str) -> str:
    """The idempotency key of a visit's reading."""
    return f"{session_id}:bp"


ANSWERED, ABANDON = alert_hooks(whose, lambda data: "home", reading_key)
"""An urgent reading alerts the moment it is known (see ``health_common.alert_hooks``)."""

VISIT = Flow(
    id="visit",
    command="thamnom",
    title=N_("Record a home visit"),
    steps=(
        Step("client", N_("Whom did you visit?"), choices=client_choices, label=N_("Client")),
        Step("day", N_("When? For example hôm nay or hôm qua."), parse=parse_day,
             choices=today_choices, validate=check_day, label=N_("Day")),
        Step("services", N_("What help did you give? Pick all that apply."), choices=SERVICES,
             multi=True, label=N_("Help given")),
        *reading_steps(whose, optional=True, weight=False),
        Step("concern", N_("Anything worrying?"), choices=CONCERNS, label=N_("Concern")),
        Step("note", N_("A few words about it? For example: ngã ở sân, đau chân."),
             parse=lambda text, ctx: parse_text(text, max_len=200), choices=SKIP_NOTE,
             skip=lambda ctx, data: data.get("concern") == "none", label=N_("Note")),
    ),
    roles=VOLUNTEERS,
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("tham nom", "tham"),
    answered=ANSWERED,
    abandon=ABANDON,
)
