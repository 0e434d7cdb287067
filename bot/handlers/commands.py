"""Each person's command menu on channels that have one (Telegram's "/" menu).

The menu lists, in the person's language, the commands their roles allow (the engine's
``menu_flows``), with ``/menu`` first and ``/huy`` and ``/trogiup`` last. It is worked out in the
update's transaction (a service hook, :class:`CommandMenus`) for the person writing and for every
member a reply of that update goes to (approval, a role given or taken away...). When it differs
from the menu last set for that chat (a hash kept in ``meta`` once the channel has set it), it
is published after the commit (topic :data:`TOPIC`); the channel adapter sets it (Telegram:
``setMyCommands`` with a chat scope), retries a failure, and records the hash only once the
menu is set, so a menu never set (a crash, an outage) is tried again at the person's next
message. Replies never wait for it.

Most chats that write first are newcomers, and their menu is the same for all: the guests'
menu in Vietnamese. It is set once as the default menu (Telegram: the default scope), which
every chat without a menu of its own sees; a guest's chat gets no call of its own, and a chat
gets one only when its menu differs (a member, an officer, another language, or a chat that
had another menu before).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from bot.engine import Ctx
from bot.i18n import N_, gettext
from bot.messages import Choice, Recipient, Reply
from bot.service import Service
from storage.base import Identity, Transaction

FIRST = (Choice("menu", N_("See everything you can do")),)
LAST = (
    Choice("huy", N_("Stop the current task without saving")),
    Choice("trogiup", N_("Help")),
)
MAX_COMMANDS = 100  # Telegram's limit
TOPIC = "commands"
"""The after-commit topic of menus to set (values: :class:`Menu`)."""
DEFAULT = ""
"""The ``chat_id`` of the default menu: the one every chat without a menu of its own sees."""
DEFAULT_LOCALE = "vi"


def meta_key(channel: str, chat_id: str) -> str:
    """Where the hash of the menu last queued for a chat is kept."""
    return f"commands:{channel}:{chat_id}"


def digest(pairs: tuple[tuple[str, str], ...]) -> str:
    """A short hash of a menu as the person reads it (commands and translated descriptions)."""
    text = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Menu:
    """A menu to set for one chat (or the default one, :data:`DEFAULT`): pairs and hash."""

    channel: str
    chat_id: str
    digest: str
    pairs: tuple[tuple[str, str], ...]


class CommandMenus:
    """A service hook keeping the command menus of one channel's chats up to date.

    Args:
        service: The service (its engine, read at each call, says which flows exist).
        channel: The channel whose chats have a command menu.

    Attributes:
        setting: The hash of the menu being set now, by chat (not published again meanwhile).
        default: The hash of the default menu, once it is known to be set.
    """

    def __init__(self, service: Service, channel: str) -> None:
        self.service = service
        self.channel = channel
        self.setting: dict[str, str] = {}
        self.default: str | None = None  # the hash of the default menu, once known to be set

    async def __call__(
        self, tx: Transaction, ctx: Ctx, replies: list[Reply], wrote: bool
    ) -> list[Reply]:
        """Publish the menus that changed: the writer's, and (after a write) its recipients'.

        Args:
            tx: The update's transaction.
            ctx: The update, as the engine saw it (before the effects).
            replies: The replies so far.
            wrote: Whether effects ran: roles or membership may have changed.

        Returns:
            No replies: menus are published on :data:`TOPIC` after the commit.
        """
        if ctx.inbound.channel == self.channel:
            writer = ctx
            if wrote:  # e.g. registered, linked or made an association officer just now
                writer = await self._fresh(tx, ctx, ctx.inbound.user_id, ctx.inbound.chat_id)
            await self._menu(tx, writer)
        if wrote:
            told = {r.to.member_id for r in replies if isinstance(r.to, Recipient)}
            for member_id in sorted(told):
                for identity in await tx.identities_of(member_id):
                    if identity.channel == self.channel and not identity.unreachable:
                        person = await self._fresh(tx, ctx, identity.user_id, identity.chat_id,
                                                   identity)
                        await self._menu(tx, person)
        return []

    async def _fresh(
        self, tx: Transaction, ctx: Ctx, user_id: str, chat_id: str,
        identity: Identity | None = None,
    ) -> Ctx:
        """The context of a chat account as it is now, in this transaction."""
        inbound = replace(ctx.inbound, channel=self.channel, user_id=user_id, chat_id=chat_id,
                          button=None, text="")
        if identity is None:  # the writer: their account as this update left it
            return await self.service.context(tx, inbound, ctx.now)
        return await self.service.context_of(tx, inbound, identity, ctx.now)

    async def _menu(self, tx: Transaction, ctx: Ctx) -> None:
        """Publish the person's menu if it differs from the one their chat shows."""
        flows = self.service.engine.menu_flows(ctx)
        commands = (*FIRST, *(Choice(f.command, f.title) for f in flows), *LAST)
        locale = ctx.identity.locale
        pairs = tuple((c.key, gettext(c.label, locale)) for c in commands[:MAX_COMMANDS])
        chat_id = ctx.inbound.chat_id
        value = digest(pairs)
        if self.setting.get(chat_id) == value:
            return  # being set now
        own = await tx.get_meta(meta_key(self.channel, chat_id))
        if own == value:
            return
        if own is None and _guest(ctx) and locale == DEFAULT_LOCALE:
            await self._default(tx, Menu(self.channel, DEFAULT, value, pairs))
            return
        tx.after_commit(TOPIC, Menu(self.channel, chat_id, value, pairs))

    async def _default(self, tx: Transaction, menu: Menu) -> None:
        """Publish the guests' menu as the default one, unless it is set already."""
        if self.default == menu.digest or self.setting.get(DEFAULT) == menu.digest:
            return
        if await tx.get_meta(meta_key(self.channel, DEFAULT)) == menu.digest:
            self.default = menu.digest
            return
        tx.after_commit(TOPIC, menu)


def _guest(ctx: Ctx) -> bool:
    """Whether the person sees the guests' menu: not in a club, no role, no grant."""
    return ctx.member is None and ctx.operator is None and not ctx.roles


def install(service: Service, channel: str) -> CommandMenus:
    """Keep ``channel``'s command menus up to date from now on (one hook per channel)."""
    for hook in service.hooks:
        if isinstance(hook, CommandMenus) and hook.channel == channel:
            return hook
    hook = CommandMenus(service, channel)
    service.hooks.append(hook)
    return hook
