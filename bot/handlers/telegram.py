"""Telegram channel: updates in, rendered replies out. All Telegram knowledge lives here.

python-telegram-bot is used only as the Bot API client. Polling stores the offset after the
updates are committed (a crash re-delivers them; the inbox drops repeats). Webhook requests
are answered 200 only after the commit, and only with the right secret header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot import charts, outbox
from bot.bots import deep_link
from bot.config import Settings
from bot.handlers import commands, webhook
from bot.handlers.http import AiohttpRequest, get_updates_request
from bot.messages import Button, Inbound, OutMessage, decode_button
from bot.render import as_text, split_text
from bot.service import Service
from bot.supervisor import Fatal
from storage.base import Storage
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "TelegramChannel", "deep_link", "to_inbound"]

# We call known Bot API methods through do_api_request on purpose: raw JSON in and out, no
# Telegram object built per update or per sent message. PTB suggests the typed methods.
warnings.filterwarnings("ignore", message="Please use 'Bot.", category=PTBUserWarning)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 40  # more buttons than this become a numbered list to type from
ALLOWED_UPDATES = ["message", "callback_query"]
STALE = Button("?", "?", "?")
MENU_TRIES = 6  # tries to set a command menu before waiting for the person's next message


def _name(user: dict[str, Any]) -> str:
    return " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)


def to_inbound(update: dict[str, Any], channel: str = CHANNEL) -> Inbound | None:
    """Turn a Telegram update (raw JSON) into a neutral inbound message.

    Returns ``None`` for updates there is nothing to do with. Only private chats are served:
    club data never goes to group chats.
    """
    query = update.get("callback_query")
    if query is not None:
        message = query.get("message") or {}
        chat = message.get("chat") or {}
        user = query.get("from") or {}
        if chat.get("type") != "private" or "id" not in user:
            return None
        return Inbound(
            channel=channel,
            user_id=str(user["id"]),
            chat_id=str(chat["id"]),
            external_id=f"cb:{query['id']}",
            button=decode_button(query.get("data") or "") or STALE,
            message_id=str(message.get("message_id", "")),
            display_name=_name(user),
        )
    message = update.get("message")
    if not message:
        return None
    chat = message.get("chat") or {}
    user = message.get("from") or {}
    if chat.get("type") != "private" or "id" not in user:
        return None
    text = message.get("text") or ""
    contact = message.get("contact")
    contact_phone = None
    if contact and contact.get("phone_number"):
        if contact.get("user_id") == user["id"]:
            contact_phone = contact["phone_number"]
        else:
            text = contact["phone_number"]
    return Inbound(
        channel=channel,
        user_id=str(user["id"]),
        chat_id=str(chat["id"]),
        external_id=f"m:{chat['id']}:{message['message_id']}",
        text=text,
        contact_phone=contact_phone,
        message_id=str(message["message_id"]),
        display_name=_name(user),
        supported=bool(text or contact_phone),
    )


def _markup(message: OutMessage) -> dict[str, Any] | None:
    if message.buttons:
        rows = [[{"text": b.label, "callback_data": b.data}] for b in message.buttons]
        return {"inline_keyboard": rows}
    if message.ask_contact:
        button = {"text": message.ask_contact, "request_contact": True}
        return {"keyboard": [[button]], "resize_keyboard": True, "one_time_keyboard": True}
    if message.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    """The Telegram adapter: sender for the outbox, poller and webhook endpoint.

    It speaks the Bot API through python-telegram-bot's client with raw JSON
    (``do_api_request``): updates and sent messages need no object parsing here.

    Args:
        settings: Token, API URL, webhook and rate settings.
        service: The bot service.
        storage: Where the files to upload are read.
        poll_timeout: Long-poll seconds for ``getUpdates``.
        channel: Its channel key: ``"telegram"`` for the bot set by ``TELEGRAM_BOT_TOKEN``,
            ``"telegram:<name>"`` for a registered bot (see :mod:`bot.bots`); its chats'
            identities, polling offset, command menus and outbox rows carry it.
    """

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        service: Service,
        storage: Storage,
        poll_timeout: int = 25,
        channel: str = CHANNEL,
    ) -> None:
        assert settings.telegram_token, "TELEGRAM_BOT_TOKEN is not set"
        self.channel = channel
        self.settings = settings
        self.service = service
        self.storage = storage
        self.poll_timeout = poll_timeout
        self.rate = settings.telegram_rate
        self.chat_rate = settings.telegram_chat_rate
        self.bot = Bot(
            settings.telegram_token,
            base_url=settings.telegram_api_url,
            request=AiohttpRequest(pool_timeout=30.0),  # the shared keep-alive pool
            get_updates_request=get_updates_request(),  # the long poll: a connection of its own
        )
        self._background: set[asyncio.Task[None]] = set()
        self._offset = self._stored_offset = 0  # the polling offset reached, and stored
        self._offset_task: asyncio.Task[None] | None = None
        self._unavailable = 0  # batches in a row that could not be committed
        # Progress messages sent, by (chat, progress name): their message ids, for editing.
        self._progress: OrderedDict[tuple[str, str], int] = OrderedDict()
        # Each person's "/" menu follows their roles (see bot/handlers/commands.py).
        self.menus = commands.install(service, self.channel)
        self.menu_backoff = 1.0  # seconds before a failed menu is tried again (doubling)
        self._menu_tasks: set[asyncio.Task[None]] = set()
        storage.on_commit(commands.TOPIC, self._menus_committed)

    # Sending

    async def send(self, chat_id: str, message: OutMessage) -> None:
        """Send one message (split at 4096 characters), mapping errors for the outbox.

        A chart goes first as an uploaded PNG, with the text as its caption (and the buttons)
        if the text fits in 1,024 characters; otherwise the text follows as usual. A file is
        uploaded the same way (``sendDocument``). A progress update edits the progress message
        it names in place.
        """
        if len(message.buttons) > MAX_BUTTONS:  # e.g. a big club's member list
            message = replace(message, text=as_text(message), buttons=())
        try:
            if message.replaces:
                await self._edit_progress(chat_id, message)
                return
            if message.document is not None:
                sent = await self._send_document(chat_id, message)
                if sent == "caption":
                    return
                if sent is None:
                    message = replace(message, text=charts.with_note(message.text,
                                                                     message.document_note))
            if message.chart is not None:
                sent = await self._send_chart(chat_id, message)
                if sent == "caption":
                    return
                if sent is None:
                    text = charts.with_note(message.text, message.chart_note)
                    message = replace(message, text=text)
            pieces = split_text(message.text, MAX_TEXT)
            for index, piece in enumerate(pieces):
                params: dict[str, Any] = {"chat_id": int(chat_id), "text": piece}
                markup = _markup(message) if index == len(pieces) - 1 else None
                if markup is not None:
                    params["reply_markup"] = markup
                result = await self.bot.do_api_request("sendMessage", params)
                if message.progress and isinstance(result, dict):
                    self._remember(chat_id, message.progress, result["message_id"])
        except RetryAfter as error:
            raise outbox.RetryAfter(_seconds(error.retry_after)) from error
        except Forbidden as error:
            raise outbox.Blocked(str(error)) from error
        except BadRequest as error:
            raise outbox.Rejected(str(error)) from error

    # Command menus

    def _menus_committed(self, menus: list[commands.Menu]) -> None:
        """After a commit: set the menus that changed (in the background, retried)."""
        for menu in menus:
            if menu.channel != self.channel or self.menus.setting.get(menu.chat_id) == menu.digest:
                continue
            self.menus.setting[menu.chat_id] = menu.digest
            task = asyncio.create_task(self._set_menu(menu))
            self._menu_tasks.add(task)
            task.add_done_callback(self._menu_tasks.discard)

    async def _set_menu(self, menu: commands.Menu) -> None:
        """Set one chat's command menu (``setMyCommands`` scoped to it), or the default one.

        A failure is logged and tried again after a growing pause (at most
        :data:`MENU_TRIES` times; after that, at the person's next message). Once it is set
        (or refused for good), its hash is kept so that it is not sent again.
        """
        params = {
            "commands": [{"command": command, "description": description[:256] or command}
                         for command, description in menu.pairs],
            "scope": ({"type": "default"} if menu.chat_id == commands.DEFAULT
                      else {"type": "chat", "chat_id": int(menu.chat_id)}),
        }
        pause = self.menu_backoff
        try:
            for attempt in range(1, MENU_TRIES + 1):
                try:
                    await self.bot.do_api_request("setMyCommands", params)
                    break
                except (BadRequest, Forbidden) as error:
                    log.warning("Telegram refused a command menu: %s", error)
                    break  # kept as set: asking again would be refused again
                except RetryAfter as error:
                    log.warning("setMyCommands: retry after %ss", _seconds(error.retry_after))
                    await asyncio.sleep(_seconds(error.retry_after))
                except TelegramError as error:
                    log.warning("setMyCommands failed (try %d of %d): %s", attempt, MENU_TRIES,
                                error)
                    if attempt == MENU_TRIES:
                        return
                    await asyncio.sleep(pause)
                    pause = min(60.0, pause * 2)
            try:
                async with self.storage.transaction() as tx:
                    await tx.set_meta(commands.meta_key(self.channel, menu.chat_id), menu.digest)
                if menu.chat_id == commands.DEFAULT:
                    self.menus.default = menu.digest
            except StorageUnavailable as error:  # set again at the next message: harmless
                log.warning("could not record a command menu: %s", error)
        finally:
            if self.menus.setting.get(menu.chat_id) == menu.digest:
                del self.menus.setting[menu.chat_id]

    async def menus_idle(self) -> None:
        """Wait until every command menu being set is set (or given up)."""
        while self._menu_tasks:
            await asyncio.gather(*list(self._menu_tasks), return_exceptions=True)

    def _remember(self, chat_id: str, progress: str, message_id: int) -> None:
        self._progress[(chat_id, progress)] = message_id
        while len(self._progress) > 1000:
            self._progress.popitem(last=False)

    async def _edit_progress(self, chat_id: str, message: OutMessage) -> None:
        """Change a progress message's text; nothing if it is unknown (sent before a restart)."""
        message_id = self._progress.get((chat_id, message.progress))
        if message_id is None:
            return
        params = {"chat_id": int(chat_id), "message_id": message_id,
                  "text": message.text[:MAX_TEXT]}
        with contextlib.suppress(BadRequest):  # e.g. "message is not modified"
            await self.bot.do_api_request("editMessageText", params)

    async def _send_document(self, chat_id: str, message: OutMessage) -> str | None:
        """Upload the file: ``"caption"`` (text and buttons with it), ``"upload"`` or ``None``.

        ``None``: not sent (it expired from the media store, or Telegram refused it).
        """
        assert message.document is not None
        async with self.storage.transaction() as tx:
            found = await tx.get_media(message.document["token"], self.service.clock())
        if found is None:
            return None
        return await self._upload(chat_id, message, "sendDocument", "document",
                                  InputFile(found[1], filename=message.document["filename"]))

    async def _send_chart(self, chat_id: str, message: OutMessage) -> str | None:
        """Upload the chart: ``"caption"`` (text and buttons with it), ``"upload"`` or ``None``.

        ``None``: not sent (drawing failed, or Telegram refused the picture itself).
        """
        png = await charts.picture(message.chart)
        if png is None:
            return None
        return await self._upload(chat_id, message, "sendPhoto", "photo",
                                  InputFile(png, filename="chart.png"))

    async def _upload(
        self, chat_id: str, message: OutMessage, method: str, name: str, upload: InputFile
    ) -> str | None:
        """Send a picture or file with the text as its caption if it fits (1,024 characters).

        Returns ``"caption"`` (the text and buttons went with it), ``"upload"`` (the text
        still has to follow) or ``None`` (Telegram refused it for good: the text still goes,
        with a note).
        """
        params: dict[str, Any] = {"chat_id": int(chat_id), name: upload}
        caption = len(message.text) <= MAX_CAPTION
        if caption:
            if message.text:
                params["caption"] = message.text
            markup = _markup(message)
            if markup is not None:
                params["reply_markup"] = markup
        try:
            await self.bot.do_api_request(method, params)
        except BadRequest as error:
            log.warning("Telegram refused a %s: %s", name, error)
            return None
        return "caption" if caption else "upload"

    # Receiving

    async def process(self, update: dict[str, Any]) -> None:
        """Handle one update (committed when this returns) and answer a button press.

        An update that cannot be read is kept as a dead letter.

        Raises:
            StorageUnavailable: Nothing was kept; do not acknowledge the update.
        """
        [result] = await self._handle_all([update])
        if isinstance(result, BaseException):
            raise result

    async def _handle_all(self, updates: list[Any]) -> list[BaseException | None]:
        """Handle updates that came together; per update, ``None`` or what went wrong."""
        results: list[BaseException | None] = [None] * len(updates)
        readable: list[tuple[int, Inbound]] = []
        for index, update in enumerate(updates):
            try:
                inbound = to_inbound(update, self.channel)
            except Exception as error:
                try:
                    await self.service.reject(self.channel, update, error)
                except StorageUnavailable as failure:
                    results[index] = failure
                continue
            if inbound is not None:
                readable.append((index, inbound))
        handled = await self.service.handle_batch([inbound for _, inbound in readable])
        for (index, _), outcome in zip(readable, handled, strict=True):
            if isinstance(outcome, BaseException):
                results[index] = outcome
        for update, result in zip(updates, results, strict=True):
            query = update.get("callback_query") if isinstance(update, dict) else None
            if result is None and isinstance(query, dict) and "id" in query:
                task = asyncio.create_task(self._answer_callback(query["id"]))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        return results

    async def _answer_callback(self, query_id: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.do_api_request("answerCallbackQuery", {"callback_query_id": query_id})

    async def poll(self, beat: Callable[[], None]) -> None:
        """Long-poll until cancelled; the offset advances only after every update committed.

        When the database cannot be written, the batch is fetched again (Telegram resends
        it; what was committed is dropped by the inbox) a moment later, until it works.
        ``beat`` is called after each round that worked.

        Raises:
            Fatal: The token was refused.
        """
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset = await self.service.offset(self.channel)
        self._offset = self._stored_offset = offset
        backoff = 1.0
        while True:
            try:
                params = {"timeout": self.poll_timeout, "allowed_updates": ALLOWED_UPDATES}
                if offset:
                    params["offset"] = offset
                updates = await self.bot.do_api_request(
                    "getUpdates", params, read_timeout=self.poll_timeout + 10.0
                )
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error.retry_after))
                continue
            except InvalidToken as error:
                raise Fatal(f"Telegram refused the token: {error}") from error
            except TelegramError as error:
                log.warning("getUpdates failed: %s; retrying in %ss", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(60.0, backoff * 2)
                continue
            backoff = 1.0
            if not isinstance(updates, list):
                log.warning("getUpdates answered %s, not a list; asking again", type(updates))
                await asyncio.sleep(1.0)
                continue
            if updates and not await self._take(updates):
                continue
            ids = [u["update_id"] for u in updates
                   if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if ids and max(ids) + 1 > offset:
                offset = max(ids) + 1
                self._keep_offset(offset)
            beat()

    def _keep_offset(self, offset: int) -> None:
        """Store the polling offset in the background (the next poll need not wait for it).

        Telegram itself forgets the updates before the offset of the next ``getUpdates``, and
        they are committed already; the stored offset only spares a restart asking again for
        what is committed (the inbox would drop it). So it rides a later group commit; a
        failure is logged and the next batch's offset is stored instead.
        """
        self._offset = offset
        if self._offset_task is None or self._offset_task.done():
            self._offset_task = asyncio.create_task(self._store_offsets())

    async def _store_offsets(self) -> None:
        while self._offset > self._stored_offset:
            offset = self._offset
            try:
                await self.service.acknowledge(self.channel, offset)
            except StorageUnavailable as error:
                log.warning("polling offset %d not stored yet: %s", offset, error)
                return
            self._stored_offset = offset

    async def offset_stored(self) -> None:
        """Wait until the latest polling offset is stored (tests, shutting down)."""
        while self._offset_task is not None and not self._offset_task.done():
            await asyncio.gather(self._offset_task, return_exceptions=True)

    async def _take(self, updates: list[Any]) -> bool:
        """Handle a batch (chats in parallel, each in order); whether all were committed."""
        failed = [r for r in await self._handle_all(updates) if r is not None]
        if not failed:
            self._unavailable = 0
            return True
        for error in failed:
            if not isinstance(error, StorageUnavailable):
                log.error("update not handled: %r", error, exc_info=error)
        self._unavailable += 1
        # The database is the usual cause: its busy timeout already waited, so ask again
        # soon and the batch goes through within a second of it recovering.
        await asyncio.sleep(min(1.0, 0.25 * self._unavailable))
        return False

    async def webhook(self, request: web.Request) -> web.Response:
        """Webhook endpoint: check the secret, commit the update, then answer 200.

        400 for a body that is not an update, 503 while the database cannot be written (the
        update is sent again and succeeds then).
        """
        secret = self.settings.telegram_webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False}, status=403)
        update = await webhook.json_object(request)
        if update is None or not isinstance(update.get("update_id"), int):
            return webhook.bad_request("not an update")
        try:
            try:
                to_inbound(update, self.channel)
            except Exception as error:
                await self.service.reject(self.channel, update, error)
                return webhook.bad_request("malformed update")
            await self.process(update)
        except StorageUnavailable:
            return webhook.unavailable()
        return webhook.accepted()

    @property
    def webhook_url(self) -> str | None:
        """Where Telegram should send updates, if webhook mode is configured."""
        return self.settings.telegram_webhook_url

    async def set_webhook(self) -> None:
        """Register the webhook (and its secret) with Telegram."""
        await self.bot.set_webhook(
            self.settings.telegram_webhook_url,
            secret_token=self.settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    def webhook_path(self) -> str:
        """The path of the webhook URL (where this service listens for Telegram).

        Without a path in the URL: ``/telegram``, or ``/telegram/<name>`` for a registered bot.
        """
        return (urlsplit(self.settings.telegram_webhook_url or "").path
                or "/" + self.channel.replace(":", "/"))

    async def start(self) -> None:
        """Open the HTTP client (calls getMe).

        Raises:
            Fatal: Telegram refused the token.
        """
        try:
            await self.bot.initialize()
        except InvalidToken as error:
            raise Fatal(f"Telegram refused the token: {error}") from error

    async def stop(self) -> None:
        """Close the HTTP client (menus still being retried are left for the next message)."""
        for task in self._menu_tasks:
            task.cancel()
        await asyncio.gather(*self._menu_tasks, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.offset_stored()
        await self.bot.shutdown()
