"""Linking (``/lienket``): one member, several chat accounts (Telegram and Zalo).

On the account already registered, ``/lienket`` shows a one-time code (6 digits, 10
minutes). On the other account, ``/lienket CODE`` (or ``/lienket`` and then the code) links
it to the same membership: roles and history are shared, and messages go to the account
used last. Only the code's hash is kept; five wrong codes in an hour stop further tries.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.invites import MAX_FAILURES, hash_code, recent_failures
from bot.messages import Reply, T
from bot.parsers import ParseError
from storage.base import Transaction

CODE_MINUTES = 10
_DIGITS = re.compile(r"^\d{6}$")


def parse_link_code(text: str, ctx: Ctx | None = None) -> str:
    """Six digits, spaces allowed (``482 913``)."""
    code = re.sub(r"\s", "", text)
    if not _DIGITS.match(code):
        raise ParseError(N_("Please type the 6 digits of the link code, for example 482913."))
    return code


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """A member gets a code; a stranger with a code is linked; otherwise ask for the code."""
    if ctx.member is not None and args:
        return Done([Reply((T(N_("This account is already linked to your membership.")),))])
    if ctx.member is not None:
        return Done(effects=[NewLinkCode()])
    if args:
        try:
            return Done(effects=[Link(parse_link_code(args))])
        except ParseError as error:
            return Done([Reply((T(error.message),))])
    return {}


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Link with the typed code."""
    return Done(effects=[Link(data["code"])])


@dataclass(frozen=True)
class NewLinkCode:
    """Effect: make a one-time code for the writer's membership and show it."""

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Store the code's hash; show the code once."""
        assert ctx.member is not None
        code = f"{secrets.randbelow(10**6):06d}"
        expires = ctx.now + timedelta(minutes=CODE_MINUTES)
        await tx.create_link_code(ctx.member.id, hash_code(code), expires)
        text = N_(
            "Your link code: {code} (valid {minutes} minutes).\nOn your other account "
            "(Zalo or Telegram), send this bot: /lienket {code}"
        )
        return [Reply((T(text, code=code, minutes=CODE_MINUTES),))]


@dataclass(frozen=True)
class Link:
    """Effect: attach the writer's chat account to the member the code belongs to."""

    code: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Check the attempts and the code, then link."""
        if ctx.member is not None:
            return [Reply((T(N_("This account is already linked to your membership.")),))]
        key = f"link_failures:{ctx.inbound.channel}:{ctx.inbound.user_id}"
        failures = recent_failures(await tx.get_meta(key), ctx.now)
        if len(failures) >= MAX_FAILURES:
            return [Reply((T(N_("Too many wrong codes. Please try again in an hour.")),))]
        member_id = await tx.use_link_code(hash_code(self.code), ctx.now)
        if member_id is None:
            await tx.set_meta(key, " ".join([*failures, ctx.now.isoformat()]))
            return [Reply((T(N_(
                "This link code is wrong or has expired. Type /lienket on your other "
                "account to get a new one."
            )),))]
        await tx.link_identity(ctx.inbound.channel, ctx.inbound.user_id, member_id)
        member = await tx.get_member(member_id)
        assert member is not None
        return [Reply((T(N_(
            "Linked. Welcome, {name}: this account now shares your membership. Messages "
            "go to the account you used last; to choose one, type /kenh. Type /menu to start."
        ), name=member.full_name),))]


LINKING = Flow(
    id="linking",
    command="lienket",
    title=N_("Link another chat account"),
    steps=(
        Step(
            "code",
            N_("Type the link code shown on your other account. Example: 482913"),
            parse=parse_link_code,
        ),
    ),
    who="anyone",
    begin=begin,
    finish=finish,
    in_menu=False,  # the greeting and /trogiup mention it
    aliases=("lien ket",),
)
