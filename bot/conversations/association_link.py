"""An association officer links a chat account (``/hoinct CODE``, or ``/hoinct`` then the code).

The code comes from the command line (``ishc-bot admin grant`` or ``admin code``): ten
characters, one use, 7 days, kept only as a hash. The account then serves the grant: the
officer sees the monthly report of the clubs of their area (``/baocao``); they are not a club
member. The command is ``hoinct`` (Hội NCT) rather than ``hoi``, which folds from "hỏi"
(to ask) and would start this by mistake. Five wrong codes in an hour stop further tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import association
from bot.association import Area
from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.invites import MAX_FAILURES, hash_code, recent_failures
from bot.messages import Choice, Reply, T
from storage.base import Transaction

REPORT = (Choice("/baocao", N_("Monthly report")),)


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Link with the code given after the command, or ask for it."""
    if args:
        return Done(effects=[LinkOperator(args)])
    if ctx.operator is not None:
        return Done([Reply((T(N_(
            "This account already receives the monthly report of the clubs of {area}. To "
            "change it, type /hoinct and the new code."), area=Area.of(ctx.operator).name),),
            REPORT, "-", "-")])
    return {}


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Link with the typed code."""
    return Done(effects=[LinkOperator(data["code"])])


@dataclass(frozen=True)
class LinkOperator:
    """Effect: attach the writer's chat account to the grant the code belongs to."""

    code: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Check the attempts and the code (unused, unexpired, grant in force), then link."""
        key = f"operator_code_failures:{ctx.inbound.channel}:{ctx.inbound.user_id}"
        failures = recent_failures(await tx.get_meta(key), ctx.now)
        if len(failures) >= MAX_FAILURES:
            return [Reply((T(N_("Too many wrong codes. Please try again in an hour.")),))]
        grant = await tx.use_operator_code(hash_code(self.code[:40]), ctx.now)
        if grant is None:
            await tx.set_meta(key, " ".join([*failures, ctx.now.isoformat()]))
            return [Reply((T(N_(
                "This association code is wrong, already used or expired. Please check it, "
                "or ask the person who gave it to you for a new one. Example: /hoinct "
                "K7M2QX9PAB")),))]
        await tx.link_operator(ctx.inbound.channel, ctx.inbound.user_id, grant.id, ctx.now)
        return [Reply((T(N_(
            "Welcome, {name}. This account now receives the monthly report of the clubs of "
            "{area} for the Association of the Elderly. Type /baocao to get it; /menu shows "
            "what you can do."), name=grant.name, area=Area.of(grant).name),), REPORT, "-", "-")]


ASSOCIATION_LINK = Flow(
    id="association_link",
    command="hoinct",
    title=N_("Association officer: link this account"),
    steps=(Step("code", N_("Please type the code the association gave you. Example: "
                           "K7M2QX9PAB")),),
    who="anyone",
    begin=begin,
    finish=finish,
    in_menu=False,  # the officer is told the command with the code
    typed=association.looks_like_code,  # or types the code alone, or opens a /start link
)
