"""Several bots: one per province or commune, each with its own rate budget.

The bot set by ``TELEGRAM_BOT_TOKEN`` / ``ZALO_BOT_TOKEN`` (the *environment bot*) keeps the
channel key ``"telegram"`` / ``"zalo"``. Operators register more (``ishc-bot bot add``,
stored in the ``bots`` table with the NAME of the environment variable that holds the token,
never the token) and assign them to areas (``ishc-bot bot assign``). A registered bot named
``nghean`` is channel ``"telegram:nghean"``: identities, the inbox, the outbox and operator
accounts carry the key, so replies and reminders leave through the bot the person talks to.
A chat with bot A and a chat with bot B are two chat accounts; ``/lienket`` links them to one
member, as for Telegram and Zalo.

A club is served by the bot of its commune, else of its province, else the environment bot;
its invite links name that bot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace

from bot.config import Settings
from storage.base import Club, Reads
from storage.bots import PLATFORMS, RegisteredBot

log = logging.getLogger(__name__)

ENV_TOKENS = {"telegram": "TELEGRAM_BOT_TOKEN", "zalo": "ZALO_BOT_TOKEN"}
"""The environment bot's token variable, by platform."""
DEFAULT_RATES = {"telegram": 29.0, "zalo": 10.0}
"""Messages per second a bot sends at most unless told otherwise (Telegram allows 30)."""
NAME = re.compile(r"^[a-z0-9_]{1,32}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
USERNAME = re.compile(r"^[A-Za-z0-9_]{5,64}$")

__all__ = ["DEFAULT_RATES", "ENV_TOKENS", "PLATFORMS", "channel_key", "club_bot", "club_link",
           "platform_of", "settings_for"]


def platform_of(channel: str) -> str:
    """The platform of a channel key: ``"telegram:nghean"`` and ``"telegram"`` -> telegram."""
    return channel.split(":", 1)[0]


def channel_key(platform: str, name: str | None = None) -> str:
    """The channel key of a bot: ``platform`` alone for the environment bot."""
    return f"{platform}:{name}" if name else platform


def deep_link(bot_username: str | None, code: str) -> str | None:
    """The Telegram link that opens the bot with ``/start CODE``, if its username is known."""
    return f"https://t.me/{bot_username}?start={code}" if bot_username else None


async def club_bot(tx: Reads, club: Club, platform: str) -> RegisteredBot | None:
    """The registered bot serving ``club`` on ``platform``; ``None``: the environment bot.

    The bot assigned to the club's commune wins over the one of its province. A club not
    yet converted to the official units (no codes) has the environment bot.
    """
    return await tx.bot_for_area(platform, club.province_code, club.commune_code)


async def club_link(tx: Reads, club: Club, code: str, env_username: str | None) -> str | None:
    """The Telegram deep link for an invite code of ``club``, naming the club's bot.

    Args:
        tx: A transaction (reads only).
        club: The club.
        code: The invite code.
        env_username: The environment bot's username (``TELEGRAM_BOT_USERNAME``).

    Returns:
        The link, or ``None`` if the serving bot's username is not known.
    """
    bot = await club_bot(tx, club, "telegram")
    return deep_link(bot.username if bot else env_username, code)


def _beside(url: str | None, name: str) -> str | None:
    """The environment bot's webhook URL with ``/<name>`` added (``None`` if it has none)."""
    return f"{url.rstrip('/')}/{name}" if url else None


def settings_for(settings: Settings, bot: RegisteredBot, token: str) -> Settings:
    """The settings a registered bot's channel runs with.

    The environment's, with the bot's own token, rate and username. Its webhook: its own
    URL if registered with one, else the environment bot's URL followed by ``/<name>`` (e.g.
    ``https://bot.example.org/telegram/nghean``) with the same secret, else polling. Without
    a webhook secret it polls (with a warning).
    """
    if bot.platform == "telegram":
        url = bot.webhook_url or _beside(settings.telegram_webhook_url, bot.name)
        if url and not settings.telegram_webhook_secret:
            log.warning("bot %s: a webhook needs TELEGRAM_WEBHOOK_SECRET; polling", bot.name)
            url = None
        return replace(settings, telegram_token=token, telegram_rate=bot.rate,
                       telegram_bot_username=bot.username or None, telegram_webhook_url=url)
    url = bot.webhook_url or _beside(settings.zalo_webhook_url, bot.name)
    if url and not settings.zalo_webhook_secret:
        log.warning("bot %s: a webhook needs ZALO_WEBHOOK_SECRET; polling", bot.name)
        url = None
    return replace(settings, zalo_token=token, zalo_rate=bot.rate, zalo_webhook_url=url)


def serving(
    bots: list[RegisteredBot], env: Mapping[str, str]
) -> list[tuple[RegisteredBot, str]]:
    """The enabled registered bots whose token variable is set, with their tokens.

    A bot whose variable is missing is left out with a warning (naming the variable, never
    a token).
    """
    found = []
    for bot in bots:
        if not bot.active:
            continue
        token = env.get(bot.token_env) or ""
        if not token:
            log.warning("bot %s (%s): %s is not set; it does not run", bot.name, bot.platform,
                        bot.token_env)
            continue
        found.append((bot, token))
    return found
