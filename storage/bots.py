"""Registered bots and the areas they serve (several bots, one per province or commune).

A registered bot has a name (``[a-z0-9_]``, unique), a platform (``telegram`` or ``zalo``),
the NAME of the environment variable holding its token (the token itself is a secret and
never stored), a Telegram username for ``t.me`` links, its own rate budget and an optional
webhook URL. It is assigned to areas by official code: a whole province or one commune.
A bot is disabled, never deleted.

:class:`BotStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PLATFORMS = ("telegram", "zalo")


@dataclass(frozen=True)
class RegisteredBot:
    """One registered bot (see the module docstring)."""

    id: int
    name: str
    platform: str
    token_env: str
    username: str
    rate: float
    webhook_url: str
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def channel(self) -> str:
        """Its channel key: ``"<platform>:<name>"``, e.g. ``"telegram:nghean"``."""
        return f"{self.platform}:{self.name}"

    @property
    def active(self) -> bool:
        """Whether it serves (not disabled)."""
        return self.disabled_at is None


@dataclass(frozen=True)
class BotArea:
    """An area a bot serves: a province, or one of its communes."""

    bot_id: int
    province_code: int
    commune_code: int | None


class BotReads(Protocol):
    """What may be read of these records."""

    async def get_bot(self, name: str) -> RegisteredBot | None:
        """One bot by name, disabled or not."""

    async def list_bots(self) -> list[tuple[RegisteredBot, list[BotArea]]]:
        """Every bot with its areas, oldest first."""

    async def bot_for_area(
        self, platform: str, province_code: int | None, commune_code: int | None
    ) -> RegisteredBot | None:
        """The enabled bot of ``platform`` serving the area.

        The commune's bot, else the province's; ``None``: the environment bot serves it.
        """


class BotStore(BotReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def add_bot(
        self,
        name: str,
        platform: str,
        token_env: str,
        username: str,
        rate: float,
        webhook_url: str,
        now: datetime,
    ) -> RegisteredBot:
        """Register a bot.

        Raises:
            storage.errors.IntegrityError: The name is taken or not ``[a-z0-9_]``, or the
                platform is unknown.
        """

    async def assign_bot(
        self, bot_id: int, province_code: int, commune_code: int | None, now: datetime
    ) -> list[str]:
        """Make the bot serve the area (a province, or one commune).

        Returns:
            The names of the other bots of its platform that served exactly this area before
            (they no longer do); nothing if this bot already does.
        """

    async def disable_bot(self, bot_id: int, now: datetime) -> bool:
        """Disable a bot; ``False`` if there is none or it already was."""
