"""Zalo channel (Zalo Bot Platform): a small HTTP client of our own, text and pictures.

Zalo has no buttons, keyboards or editing: choices go out as a numbered list and come back
as a typed number or word. ``getUpdates`` returns one event at a time with no offset (an
event it returned is gone), so production uses the webhook, answered 200 only after the
commit. Events are deduplicated on ``event_name:message_id`` through the inbox. Errors may
come as HTTP 200 with ``ok: false`` (408 is just an empty poll), so ``ok`` is always checked.

Zalo's ``sendPhoto`` takes an image URL, not the bytes: a chart is drawn when its message is
sent, stored for :data:`MEDIA_KEEP` under a random token and sent as
``<ISHC_PUBLIC_URL>/media/<token>.png``, which this service's web server answers. Without a
public URL, or if the chart cannot be drawn or Zalo refuses the picture, the text goes alone
with a short note. Zalo cannot send files either: a file (already in the media store) goes as
a download link, ``<ISHC_PUBLIC_URL>/media/<token>/<file name>``. Progress updates, which
would edit an earlier message, are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot import charts, outbox
from bot.config import Settings
from bot.handlers import http, webhook
from bot.messages import Inbound, OutMessage
from bot.render import as_text, for_typing, split_text
from bot.service import Service
from bot.supervisor import Fatal
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000  # also the caption limit
MEDIA_KEEP = timedelta(days=7)  # how long a picture's URL works
QUOTA_BACKOFF = 30.0  # Zalo's 429 "Quota exceeded" names no retry time


class ZaloError(Exception):
    """An ``ok: false`` answer from the Zalo Bot API."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


class ZaloClient:
    """The few Bot API calls we need, as JSON over HTTP. The token never reaches a log.

    The calls go through the shared keep-alive pool (:data:`bot.handlers.http.SHARED`),
    taken at the first call and given back by :meth:`close`.

    Args:
        token: ``ZALO_BOT_TOKEN``.
        base_url: ``ZALO_API_URL`` (the token and method name are appended).
        pool: Where the HTTP session comes from.
    """

    def __init__(self, token: str, base_url: str, pool: http.HttpPool | None = None) -> None:
        self._token = token
        self._base = base_url
        self._pool = pool if pool is not None else http.SHARED
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0
    ) -> Any:
        """Call ``method`` (case-sensitive) with JSON ``params`` and return its ``result``.

        Raises:
            ZaloError: The API answered ``ok: false``.
            aiohttp.ClientError, TimeoutError: The network failed.
        """
        if self._session is None or self._session.closed:
            self._session = self._pool.acquire()
        url = f"{self._base}{self._token}/{method}"
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with self._session.post(
            url, data=http.dumps(params or {}), headers=http.JSON_HEADERS, timeout=client_timeout
        ) as response:
            payload = await response.read()
        try:
            body = http.loads(payload) if payload.strip() else None
        except ValueError as error:
            raise ZaloError(response.status, "not JSON") from error
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            code = body.get("error_code", body.get("errorCode", response.status))
            raise ZaloError(int(code), str(body.get("description", "")))
        return body.get("result", True)

    async def close(self) -> None:
        """Give the HTTP session back to the pool (closed with its last user)."""
        session, self._session = self._session, None
        if session is not None:
            await self._pool.release(session)


def to_inbound(event: dict[str, Any], channel: str = CHANNEL) -> Inbound | None:
    """Turn a Zalo event (wrapped in ``{ok, result}`` or bare) into a neutral message.

    Returns ``None`` for events there is nothing to do with (group chats, no sender).
    """
    if "result" in event and "event_name" not in event:
        event = event["result"] or {}
    message = event.get("message") or {}
    chat = message.get("chat") or {}
    sender = message.get("from") or {}
    if not sender.get("id") or not message.get("message_id"):
        return None
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        return None
    name = event.get("event_name", "")
    text = (message.get("text") or "") if name == "message.text.received" else ""
    return Inbound(
        channel=channel,
        user_id=str(sender["id"]),
        chat_id=str(chat.get("id") or sender["id"]),
        external_id=f"{name}:{message['message_id']}",
        text=text,
        message_id=str(message["message_id"]),
        display_name=str(sender.get("display_name") or sender.get("name") or ""),
        supported=bool(text),
    )


def _mapped(error: ZaloError) -> Exception | None:
    """The outbox's error for a Zalo error; ``None``: temporary, raise it as it is."""
    if error.code == 429:
        return outbox.RetryAfter(QUOTA_BACKOFF)
    if error.code in (400, 404):
        return outbox.Rejected(str(error))
    return None


class ZaloChannel:
    """The Zalo adapter: sender for the outbox, poller and webhook endpoint.

    Args:
        settings: Token, API URL, webhook and rate settings.
        service: The bot service.
        poll_timeout: Long-poll seconds for ``getUpdates``.
        channel: Its channel key: ``"zalo"`` for the bot set by ``ZALO_BOT_TOKEN``,
            ``"zalo:<name>"`` for a registered bot (see :mod:`bot.bots`).
    """

    channel = CHANNEL

    def __init__(
        self, settings: Settings, service: Service, poll_timeout: int = 25, channel: str = CHANNEL
    ) -> None:
        assert settings.zalo_token, "ZALO_BOT_TOKEN is not set"
        self.channel = channel
        self.settings = settings
        self.service = service
        self.poll_timeout = poll_timeout
        self.rate = settings.zalo_rate
        self.chat_rate = settings.zalo_chat_rate
        self.client = ZaloClient(settings.zalo_token, settings.zalo_api_url)
        self.handled = 0  # events taken in and processed (committed), since start
        self._held: list[Any] = []  # events taken from Zalo, not yet committed
        self._unavailable = 0  # tries in a row that the database refused
        self._warned_no_url = False

    async def send(self, chat_id: str, message: OutMessage) -> None:
        """Send a message as text (choices numbered), split at 2,000 characters.

        A chart goes first, as a picture with the text as its caption if that fits.
        """
        if message.replaces:
            return  # no editing on Zalo: the first progress message and the file are enough
        message = for_typing(message)  # nothing to tap on Zalo
        if message.document is not None:
            message = replace(message, text=self._with_link(message))
        text = as_text(message)
        try:
            if message.chart is not None:
                sent = await self._send_chart(chat_id, message.chart, text)
                if sent == "caption":
                    return
                if sent is None:
                    with_note = charts.with_note(message.text, message.chart_note)
                    text = as_text(replace(message, text=with_note))
            for piece in split_text(text, MAX_TEXT):
                await self.client.call("sendMessage", {"chat_id": chat_id, "text": piece})
        except ZaloError as error:
            mapped = _mapped(error)
            if mapped is None:
                raise  # 401, 403 ("Internal server error"), 5xx: try again later
            raise mapped from error

    async def _send_chart(self, chat_id: str, chart: dict[str, Any], text: str) -> str | None:
        """Send a chart as a picture: ``"caption"`` (with the text), ``"photo"`` or ``None``.

        ``None``: not sent (no public URL, drawing failed, or Zalo refused the picture).
        """
        url = await self._chart_url(chart)
        if url is None:
            return None
        params: dict[str, Any] = {"chat_id": chat_id, "photo": url}
        caption = len(text) <= MAX_TEXT  # the text, if any, goes with the photo
        if caption and text:
            params["caption"] = text
        try:
            await self.client.call("sendPhoto", params)
        except ZaloError as error:
            if error.code not in (400, 404):
                raise
            # Refused for good (e.g. Zalo could not fetch the URL): the text still goes.
            log.warning("Zalo refused a chart picture: %s", error)
            return None
        return "caption" if caption else "photo"

    def _with_link(self, message: OutMessage) -> str:
        """The text with the file's download link (or a note that it cannot be sent)."""
        assert message.document is not None
        base = self.settings.public_url
        if not base:
            return charts.with_note(message.text, message.document_note)
        url = f"{base}/media/{message.document['token']}/{message.document['filename']}"
        return f"{message.text}\n{message.document['link_note'].replace('{url}', url)}"

    async def _chart_url(self, chart: dict[str, Any] | None) -> str | None:
        """Draw and store the chart; its public URL, or ``None`` if it cannot be sent."""
        base = self.settings.public_url
        if not base:
            if not self._warned_no_url:
                self._warned_no_url = True
                log.warning("ISHC_PUBLIC_URL is not set: Zalo charts are sent as text only")
            return None
        png = await charts.picture(chart)
        if png is None:
            return None
        token = secrets.token_urlsafe(24)
        now = self.service.clock()
        async with self.service.storage.transaction() as tx:
            await tx.put_media(token, "image/png", png, now, now + MEDIA_KEEP)
        return f"{base}/media/{token}.png"

    async def process(self, event: dict[str, Any]) -> None:
        """Handle one event; it is committed (or kept as a dead letter) when this returns.

        Raises:
            StorageUnavailable: Nothing was kept; handle the event again later.
        """
        try:
            inbound = to_inbound(event, self.channel)
        except Exception as error:
            await self.service.reject(self.channel, event, error)
        else:
            if inbound is not None:
                await self.service.handle(inbound)
        self.handled += 1

    async def poll(self, beat: Callable[[], None]) -> None:
        """Poll until cancelled (development only: Zalo forgets an event it has returned).

        An event taken while the database cannot be written is kept in memory and handled
        again a moment later, until it works; nothing more is fetched meanwhile. ``beat`` is
        called after each round that worked.

        Raises:
            Fatal: Zalo refused the token.
        """
        with contextlib.suppress(ZaloError):
            await self.client.call("deleteWebhook")
        backoff = 1.0
        while True:
            if not self._held:
                try:
                    result = await self.client.call(
                        "getUpdates",
                        {"timeout": str(self.poll_timeout)},
                        timeout=self.poll_timeout + 10.0,
                    )
                except ZaloError as error:
                    if error.code == 408:  # nothing arrived: not an error
                        beat()
                        continue
                    if error.code == 401:
                        raise Fatal(f"Zalo refused the token: {error}") from error
                    log.warning("Zalo getUpdates failed: %s; retrying in %ss", error.code,
                                backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(60.0, backoff * 2)
                    continue
                except (aiohttp.ClientError, TimeoutError) as error:
                    log.warning("Zalo getUpdates failed: %r; retrying in %ss", error, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(60.0, backoff * 2)
                    continue
                backoff = 1.0
                self._held = result if isinstance(result, list) else [result] if result else []
            if await self._take():
                beat()

    async def _take(self) -> bool:
        """Handle the events held, in order; whether all were committed."""
        while self._held:
            try:
                await self.process(self._held[0])
            except StorageUnavailable as error:
                self._unavailable += 1
                if self._unavailable == 1:
                    log.warning("Zalo: an event waits for the database: %s", error)
                await asyncio.sleep(min(1.0, 0.25 * self._unavailable))
                return False
            self._held.pop(0)
        self._unavailable = 0
        return True

    async def webhook(self, request: web.Request) -> web.Response:
        """Webhook endpoint: check the secret, commit the event, then answer 200.

        400 for a body that is not an event, 503 while the database cannot be written (Zalo
        sends it again).
        """
        secret = self.settings.zalo_webhook_secret or ""
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            return web.json_response({"ok": False}, status=403)
        event = await webhook.json_object(request)
        if event is None:
            return webhook.bad_request("not an event")
        try:
            try:
                to_inbound(event, self.channel)
            except Exception as error:
                await self.service.reject(self.channel, event, error)
                return webhook.bad_request("malformed event")
            await self.process(event)
        except StorageUnavailable:
            return webhook.unavailable()
        return webhook.accepted()

    @property
    def webhook_url(self) -> str | None:
        """Where Zalo should send events, if webhook mode is configured."""
        return self.settings.zalo_webhook_url

    def webhook_path(self) -> str:
        """The path of the webhook URL, served by this service.

        Without a path in the URL: ``/zalo``, or ``/zalo/<name>`` for a registered bot.
        """
        return (urlsplit(self.settings.zalo_webhook_url or "").path
                or "/" + self.channel.replace(":", "/"))

    async def set_webhook(self) -> None:
        """Register the webhook with Zalo."""
        settings = self.settings
        params = {"url": settings.zalo_webhook_url, "secret_token": settings.zalo_webhook_secret}
        await self.client.call("setWebhook", params)

    async def start(self) -> None:
        """Check the token (getMe).

        Raises:
            Fatal: Zalo refused the token.
        """
        try:
            await self.client.call("getMe")
        except ZaloError as error:
            if error.code == 401:
                raise Fatal(f"Zalo refused the token: {error}") from error
            raise

    async def stop(self) -> None:
        """Close the HTTP client."""
        await self.client.close()
