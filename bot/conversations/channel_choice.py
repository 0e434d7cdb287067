"""Where messages go (``/kenh``): a member with Telegram and Zalo picks the account.

By default notices and reminders go to the account used last; a member may fix one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from storage.base import Transaction

CHOICES = (
    Choice("here", N_("Always to this account"), ("day", "o day", "tai khoan nay")),
    Choice("last", N_("To the account I used last"), ("gan nhat", "dung gan nhat")),
)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Record the choice."""
    return Done(effects=[PreferChannel(data["where"] == "here")])


@dataclass(frozen=True)
class PreferChannel:
    """Effect: fix this account for the member's messages, or go back to 'used last'."""

    here: bool

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Store the choice for the writer's own membership."""
        assert ctx.member is not None
        member_id = ctx.member.id if self.here else None
        await tx.prefer_identity(ctx.inbound.channel, ctx.inbound.user_id, member_id)
        text = (
            N_("Done. Your messages will come to this account.")
            if self.here
            else N_("Done. Your messages will come to the account you used last.")
        )
        return [Reply((T(text),))]


CHANNEL_CHOICE = Flow(
    id="channel_choice",
    command="kenh",
    title=N_("Where my messages go"),
    steps=(Step("where", N_("Where should the club's messages reach you?"), choices=CHOICES),),
    who="member",
    finish=finish,
    in_menu=False,  # offered after linking a second account
)
