"""Language (``/ngonngu``): read the bot in Vietnamese (the default) or English."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from storage.base import Transaction

LANGUAGES = (
    Choice("vi", N_("Tiếng Việt"), ("tieng viet", "viet")),
    Choice("en", N_("English"), ("tieng anh", "anh")),
)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Switch this chat account's language."""
    return Done(effects=[SetLanguage(data["language"])])


@dataclass(frozen=True)
class SetLanguage:
    """Effect: remember the writer's language for every later message."""

    locale: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Store the choice and confirm it in the new language."""
        await tx.set_locale(ctx.inbound.channel, ctx.inbound.user_id, self.locale)
        return [Reply((T(N_("Done.")),), locale=self.locale)]


LANGUAGE = Flow(
    id="language",
    command="ngonngu",
    title=N_("Language"),
    steps=(Step("language", N_("Which language?"), choices=LANGUAGES),),
    who="anyone",
    finish=finish,
    in_menu=False,
    aliases=("ngon ngu", "language"),
)
