"""Invite code (``/mamoi``): the board creates a new member invite code to share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.bots import club_bot, deep_link
from bot.conversations.common import BOARD
from bot.engine import Ctx, Done, Flow, refused
from bot.i18n import N_, format_day
from bot.invites import MEMBER_CODE_DAYS, hash_code, new_code
from bot.messages import Reply, T
from storage.base import Transaction


async def begin(ctx: Ctx, args: str) -> Done:
    """Ask the service to create a code (random, so it is made when applied)."""
    return Done(effects=[NewInvite()])


@dataclass(frozen=True)
class NewInvite:
    """Effect: store a new member invite code for the writer's club and show it once."""

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Create the code; only its hash is kept."""
        actor = ctx.member
        if refusal := refused(ctx, BOARD):
            return refusal
        assert actor is not None
        code = new_code()
        expires = ctx.now + timedelta(days=MEMBER_CODE_DAYS)
        await tx.create_invite(actor.club_id, hash_code(code), "member", expires, None, ctx.now)
        club = await tx.get_club(actor.club_id)
        bot = await club_bot(tx, club, "telegram") if club is not None else None
        until = format_day(expires.date())
        if bot is None or bot.channel == ctx.inbound.channel or not bot.username:
            # The club is served by the bot this chat is with.
            parts = [T(N_(
                "New member invite code: {code}\nValid until {until}. Share it with people who "
                "want to join: they send /start {code} to this bot (or just type the code)."
            ), code=code, until=until)]
        else:  # the club's area has a bot of its own: newcomers write to that one
            parts = [T(N_(
                "New member invite code: {code}\nValid until {until}. Share it with people who "
                "want to join: they send /start {code} to the club's bot @{bot} on Telegram "
                "(or just type the code there)."
            ), code=code, until=until, bot=bot.username)]
        link = deep_link(bot.username, code) if bot is not None else None
        if link:  # the link opens the club's own bot
            parts.append(T(N_("Or they open this link on Telegram: {link}"), link=link))
        return [Reply(tuple(parts))]


INVITE_CODE = Flow(
    id="invite_code",
    command="mamoi",
    title=N_("New invite code"),
    roles=BOARD,
    begin=begin,
    aliases=("ma moi",),
)
