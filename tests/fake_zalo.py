"""A fake Zalo Bot API server (Zalo Bot Platform) for tests and benchmarks.

Real HTTP on a loopback address (aiohttp.web), so the bot's own Zalo client
(``f"{fake.base_url}{fake.token}/{method}"``) is exercised end to end.

Wire behaviour follows the Zalo Bot Platform docs (see
``/work/shared/reference/platforms.md`` §1): case-sensitive method names,
string ids, epoch-millisecond dates, errors reported as HTTP 200 with
``{"ok": false, "error_code": N, "description": ...}``, ``getUpdates``
returning ONE event object per call (no offset, at-most-once) or
``error_code`` 408 when nothing arrived within ``timeout``.

People talk to the bot with ``push_*``; the bot's replies land in ``sent``
and can be awaited per chat with ``next_message``. Faults (``fail_next``,
``delay_next``) provoke the error paths.

``sendPhoto`` takes an image URL. A loopback URL is fetched over HTTP (GET,
5 s timeout) before answering, as Zalo must fetch the picture to deliver it,
and the bytes land in ``SentMessage.photo_bytes``; other URLs are never
fetched (the fake stays on this machine) and are accepted as before. What the
real API answers for a URL it cannot fetch is not documented (platforms.md
§1.3): the fake answers ``error_code`` 400 ("Bad request: cannot download
photo") for a refused connection, a non-200 answer, a body that is not an
image or one over 5 MB.

Zalo sends no files: the bot sends a download link in the text. A loopback link of the form
``.../media/<token>/<file name>`` in a sent text is downloaded as the person would tap it,
into ``SentMessage.download`` (file name and bytes; ``None`` if it did not download).

With ``deliver_webhooks=True`` the fake pushes events to the webhook the bot set, as Zalo does
in production: each event (and each raw body given to ``post_raw_webhook``) is POSTed until it
is answered, retried after a 5xx, a 429, a refused connection or a timeout (backing off from
0.1 s to 2 s), and given up on after any other answer (200, or a 4xx: the bot refused it for
good). Every attempt is kept in ``deliveries`` (``WebhookDelivery``). Zalo's own retry policy is
not documented (platforms.md §1.6); this is the contract the bot is built for: an event
answered 200 was committed. ``timeout_next_webhooks`` makes the next posts give up waiting
early, ``impatient_webhooks`` a share of them (the bot may have committed: the retry must be a
harmless duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

try:
    from tests.loopback_fake import USE_WEBHOOK_SECRET, Fault, LoopbackFake, is_loopback
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from loopback_fake import USE_WEBHOOK_SECRET, Fault, LoopbackFake, is_loopback

__all__ = ["FakeZalo", "Person", "SentMessage", "WebhookDelivery", "zalo_id"]

DEFAULT_TOKEN = "1459232241454765289:zalo-TEST-token"
BOT_ACCOUNT_NAME = "bot.TestIshc"
TEXT_LIMIT = 2000
PHOTO_LIMIT = 5 * 1024 * 1024  # bytes (OpenClaw's cap; Zalo's own is not published)
PHOTO_TIMEOUT = 5.0  # seconds to fetch a photo URL
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")
SECRET_MIN, SECRET_MAX = 8, 256
_FILE_LINK = re.compile(r"https?://[^\s/]+/media/[A-Za-z0-9_-]+/([A-Za-z0-9_.-]+)")
SECRET_HEADER = "X-Bot-Api-Secret-Token"

# First message id: looks like the docs' samples ("2d758cb5e222177a4e35"), 20 hex chars.
_FIRST_MESSAGE_ID = 0x2D758CB5E222177A0000

_DEFAULT_DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",  # sic: Zalo's documented meaning of 403
    404: "Not found",
    408: "Request timeout",
    426: "Daily quota exceeded",
    429: "Quota exceeded",
}


def zalo_id(n: int) -> str:
    """A Zalo-looking user id (20 lowercase hex chars) derived from ``n``."""
    return f"{(0x6EDE9AFA66B88FE60000 + n * 7_919) % 16**20:020x}"


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SentMessage:
    """One message the bot sent to a chat."""

    chat_id: str
    text: str
    method: str
    message_id: str
    at: float
    photo: str | None = None
    sticker: str | None = None
    photo_bytes: bytes | None = None  # what the photo URL served (loopback URLs only)
    download: tuple[str, bytes] | None = None  # a file link in the text, downloaded


class _ApiError(Exception):
    def __init__(self, error_code: int, description: str = ""):
        description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        super().__init__(description)
        self.error_code = error_code
        self.description = description


@dataclass
class WebhookDelivery:
    """One event (or raw body) the fake pushes to the webhook, with every attempt's answer.

    ``statuses`` holds the HTTP status of each attempt, or ``"refused"``/``"timeout"``;
    ``final`` the answer that ended the delivery (``None`` while it is still being retried).
    """

    body: Any  # the JSON value posted, or bytes for a raw body
    raw: bool = False
    statuses: list = field(default_factory=list)
    final: int | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


WEBHOOK_RETRY_FIRST = 0.1  # seconds before the first retry, doubled up to:
WEBHOOK_RETRY_MAX = 2.0


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


@dataclass
class _Fault(Fault):
    error_code: int
    description: str
    http_status: int


def _error(error_code: int, description: str = "", http_status: int = 200) -> web.Response:
    description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
    payload = {"ok": False, "error_code": error_code, "description": description}
    return web.json_response(payload, status=http_status)


def _chat_id(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        return None
    return str(value)


class FakeZalo(LoopbackFake):
    """In-process fake of the Zalo Bot API, served over HTTP on loopback.

    The bot's client calls ``f"{fake.base_url}{fake.token}/{method}"``. Chat ids
    are strings (``messages_to``/``next_message`` accept anything ``str()`` turns
    into one).
    """

    sent: list[SentMessage]

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        deliver_webhooks: bool = False,
        webhook_timeout: float = 30.0,
    ):
        super().__init__(token, host=host, port=port)
        self.deliver_webhooks = deliver_webhooks
        self.webhook_timeout = webhook_timeout
        self.deliveries: list[WebhookDelivery] = []
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._short_timeouts: list[float] = []  # per next post: give up waiting after this
        self._impatient: tuple[float, float, random.Random] | None = None  # rate, timeout
        prefix = token.split(":", 1)[0]
        self.bot_id = prefix if prefix.isdigit() else "1459232241454765289"
        self.bot_info = {
            "id": self.bot_id,
            "account_name": BOT_ACCOUNT_NAME,
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.webhook_updated_at = _now_ms()
        self._message_ids = itertools.count(_FIRST_MESSAGE_ID)
        self._media_ids = itertools.count(1)
        self._pending: deque[dict] = deque()
        self._names: dict[str, str] = {}
        # Zalo method names are case-sensitive: exact keys only.
        self._handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # ------------------------------------------------------------------ hooks
    def _chat_key(self, chat_id: Any) -> str:
        return str(chat_id)

    def _chat_of(self, params: dict) -> str | None:
        return _chat_id(params.get("chat_id"))

    def _describe(self, sm: SentMessage) -> str:
        extra = f" photo={sm.photo}" if sm.photo else ""
        return f"  {sm.message_id} {sm.method}: {sm.text!r}{extra}"

    def _timeout_notes(self) -> list[str]:
        if self._pending:
            return [f"  {len(self._pending)} event(s) still queued, not fetched by the bot"]
        return []

    # ------------------------------------------------------------------ people -> bot
    def _new_message_id(self) -> str:
        return f"{next(self._message_ids) % 16**20:020x}"

    def _user_event(self, event_name: str, user_id: str, **content: Any) -> dict:
        user_id = str(user_id)
        message = {
            "from": {
                "id": user_id,
                "display_name": self._names.get(user_id, "Bác"),
                "is_bot": False,
            },
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            **content,
            "message_id": self._new_message_id(),
            "date": _now_ms(),
        }
        return self.push_event({"event_name": event_name, "message": message})

    def push_text(self, user_id: str, text: str, *, name: str = "Bác") -> dict:
        """Queue a text message from a person (private chat: chat id == user id)."""
        self._names[str(user_id)] = name
        return self._user_event("message.text.received", user_id, text=text)

    def push_image(self, user_id: str) -> dict:
        """Queue an image message (a ``photo`` URL, no text)."""
        n = next(self._media_ids)
        photo = f"https://photo.fake-zalo.test/user/{n}.jpg"
        return self._user_event("message.image.received", user_id, photo=photo)

    def push_sticker(self, user_id: str) -> dict:
        """Queue a sticker message (``sticker`` id and ``url``, no text)."""
        n = next(self._media_ids)
        sticker = f"sticker{n:04d}"
        url = f"https://sticker.fake-zalo.test/{sticker}.png"
        return self._user_event("message.sticker.received", user_id, sticker=sticker, url=url)

    def push_unsupported(self, user_id: str) -> dict:
        """Queue a ``message.unsupported.received`` event (content withheld: no text)."""
        return self._user_event("message.unsupported.received", user_id)

    def push_event(self, event: dict) -> dict:
        """Queue a raw event dict as is; returned by the next ``getUpdates``.

        With ``deliver_webhooks`` and a webhook set, it is POSTed there instead (until answered).
        """
        if self.deliver_webhooks and self.webhook_url:
            self._start_delivery(WebhookDelivery({"ok": True, "result": event}))
            return event
        self._pending.append(event)
        self._wake_updates()
        return event

    def redeliver(self, event: dict) -> None:
        """Queue the very same event (same ``message_id``) again."""
        self.push_event(event)

    @property
    def pending_events(self) -> list[dict]:
        """Events queued and not yet returned by ``getUpdates``."""
        return list(self._pending)

    # ------------------------------------------------------------------ bot -> people
    def _record(
        self,
        method: str,
        chat_id: str,
        text: str,
        *,
        photo: str | None = None,
        sticker: str | None = None,
        photo_bytes: bytes | None = None,
        download: tuple[str, bytes] | None = None,
    ) -> dict:
        message_id = self._new_message_id()
        self._deliver(
            SentMessage(
                chat_id, text, method, message_id, time.monotonic(), photo, sticker, photo_bytes,
                download,
            )
        )
        return {"message_id": message_id, "date": _now_ms()}

    # ------------------------------------------------------------------ faults
    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str = "",
        times: int = 1,
        http_status: int = 200,
        chat_id: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail.

        Zalo reports errors as HTTP 200 with ``{"ok": false, "error_code": N}``;
        ``http_status`` lets a test use a real HTTP error status as well.
        """
        description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        target = None if chat_id is None else str(chat_id)
        self._faults.append(
            _Fault(
                method=method,
                times=times,
                chat_id=target,
                error_code=error_code,
                description=description,
                http_status=http_status,
            )
        )

    # ------------------------------------------------------------------ webhook client
    async def post_webhook(
        self,
        event: dict,
        *,
        url: str | None = None,
        secret: str | None = USE_WEBHOOK_SECRET,
        wrapped: bool = True,
    ) -> int:
        """POST ``event`` to the webhook (``webhook_url`` by default); return the HTTP status.

        ``wrapped`` sends ``{"ok": true, "result": event}`` (the documented shape);
        ``wrapped=False`` sends the bare event. The secret goes in
        ``X-Bot-Api-Secret-Token`` (no header when ``secret`` is None).
        """
        body = {"ok": True, "result": event} if wrapped else event
        return await self._post_to_webhook(
            body, url=url, secret=secret, secret_header=SECRET_HEADER
        )

    def post_raw_webhook(self, body: bytes) -> WebhookDelivery:
        """Push ``body`` (any bytes, e.g. not JSON) to the webhook, retried like an event."""
        if not self.webhook_url:
            raise RuntimeError("no webhook url: the bot has not called setWebhook")
        return self._start_delivery(WebhookDelivery(body, raw=True))

    def push_webhook_json(self, value: Any) -> WebhookDelivery:
        """Push any JSON value as the webhook body as is (no ``{ok, result}`` wrapper)."""
        if not self.webhook_url:
            raise RuntimeError("no webhook url: the bot has not called setWebhook")
        return self._start_delivery(WebhookDelivery(value))

    def timeout_next_webhooks(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` webhook posts stop waiting for the answer after ``seconds``."""
        self._short_timeouts.extend([seconds] * times)

    def impatient_webhooks(self, rate: float, seconds: float, *, seed: int = 0) -> None:
        """About ``rate`` of the webhook posts stop waiting after ``seconds`` (0: stop)."""
        self._impatient = (rate, seconds, random.Random(seed)) if rate > 0 else None

    @property
    def webhooks_pending(self) -> list[WebhookDelivery]:
        """Deliveries still being retried."""
        return [d for d in self.deliveries if d.final is None]

    def _start_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.deliveries.append(delivery)
        task = asyncio.create_task(self._deliver_webhook(delivery))
        self._delivery_tasks.add(task)
        task.add_done_callback(self._delivery_tasks.discard)
        return delivery

    async def _deliver_webhook(self, delivery: WebhookDelivery) -> None:
        """POST until an answer that is not 5xx/429 (refused connections and timeouts retry)."""
        wait = WEBHOOK_RETRY_FIRST
        while not self._closing.is_set():
            status = await self._post_once(delivery)
            delivery.statuses.append(status)
            if isinstance(status, int) and not _retryable(status):
                delivery.final = status
                delivery.done.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), wait)
            wait = min(WEBHOOK_RETRY_MAX, wait * 2)

    async def _post_once(self, delivery: WebhookDelivery) -> int | str:
        url = self.webhook_url
        if not url:
            return "no webhook"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = self._short_timeouts.pop(0) if self._short_timeouts else self.webhook_timeout
        if self._impatient is not None and self._impatient[2].random() < self._impatient[0]:
            timeout = self._impatient[1]
        headers = {SECRET_HEADER: self.webhook_secret or ""}
        if delivery.raw:
            kwargs: dict[str, Any] = {"data": delivery.body}
            headers["Content-Type"] = "application/json"
        else:
            kwargs = {"json": delivery.body}
        try:
            async with self._session.post(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout), **kwargs
            ) as response:
                await response.read()
                return response.status
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError:
            return "refused"

    async def stop(self) -> None:
        """Stop pushing to the webhook, then stop serving."""
        self._closing.set()
        for task in list(self._delivery_tasks):
            task.cancel()
        if self._delivery_tasks:
            await asyncio.gather(*self._delivery_tasks, return_exceptions=True)
        await super().stop()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["bot_token"] != f"bot{self.token}":
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    return _error(400, "Bad request: invalid JSON body")
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if not isinstance(v, web.FileField)})
        self.calls.append((method, params))
        handler = self._handlers.get(method)
        if handler is None:
            return _error(404, "Not found")
        await self._apply_delay(method)
        fault = self._take_fault(method, params)
        if fault is not None:
            return _error(fault.error_code, fault.description, fault.http_status)
        if self._take_limit(method) is not None:
            return _error(429)  # "Quota exceeded", no retry time (platforms.md §1.7)
        if self._take_flaky(method):  # a proxy in front of Zalo failing: not even JSON
            return web.Response(status=502, text="<html>502 Bad Gateway</html>",
                                content_type="text/html")
        try:
            return await handler(params)
        except _ApiError as exc:
            return _error(exc.error_code, exc.description)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _get_me(self, params: dict) -> web.Response:
        return self._ok(self.bot_info)

    async def _get_updates(self, params: dict) -> web.Response:
        if self.webhook_url:
            raise _ApiError(
                409, "Conflict: getUpdates is disabled while a webhook is set; call deleteWebhook"
            )
        raw = params.get("timeout")
        try:
            timeout = 30.0 if raw is None or raw == "" else max(float(raw), 0.0)
        except (TypeError, ValueError):
            raise _ApiError(400, f"Bad request: invalid timeout {raw!r}") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pending and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            waiter = self._updates_event
            try:
                await asyncio.wait_for(waiter.wait(), remaining)
            except TimeoutError:
                break
        if not self._pending:
            raise _ApiError(408, "Request timeout")
        return self._ok(self._pending.popleft())

    def _check_webhook_url(self, url: Any) -> str:
        if not isinstance(url, str) or not url:
            raise _ApiError(400, "Bad request: url is required")
        parsed = URL(url)
        if parsed.scheme == "https" and parsed.host:
            return url
        if parsed.scheme == "http" and is_loopback(parsed.host or ""):
            return url  # the fake allows loopback http so tests need no TLS
        raise _ApiError(400, "Bad request: url must be https")

    async def _set_webhook(self, params: dict) -> web.Response:
        url = self._check_webhook_url(params.get("url"))
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise _ApiError(
                400, f"Bad request: secret_token must be {SECRET_MIN}-{SECRET_MAX} characters"
            )
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = _now_ms()
        if self.deliver_webhooks:  # what was queued before the webhook was set goes there now
            while self._pending:
                self.push_event(self._pending.popleft())
        return self._ok({"url": url, "updated_at": self.webhook_updated_at})

    async def _delete_webhook(self, params: dict) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        self.webhook_updated_at = _now_ms()
        return self._ok({"url": "", "updated_at": self.webhook_updated_at})

    async def _get_webhook_info(self, params: dict) -> web.Response:
        return self._ok({"url": self.webhook_url or "", "updated_at": self.webhook_updated_at})

    @staticmethod
    def _target(params: dict) -> str:
        chat_id = _chat_id(params.get("chat_id"))
        if chat_id is None:
            raise _ApiError(400, "Bad request: chat_id is required")
        return chat_id

    @staticmethod
    def _text(value: Any, name: str, *, required: bool) -> str:
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        if not text:
            if required:
                raise _ApiError(400, f"Bad request: {name} is empty")
            return ""
        if len(text) > TEXT_LIMIT:
            raise _ApiError(400, f"{name} too long")
        return text

    async def _send_message(self, params: dict) -> web.Response:
        chat_id = self._target(params)
        text = self._text(params.get("text"), "text", required=True)
        download = await self._download(text)
        return self._ok(self._record("sendMessage", chat_id, text, download=download))

    async def _download(self, text: str) -> tuple[str, bytes] | None:
        """Download a loopback file link in ``text``, as the person would tap it."""
        found = _FILE_LINK.search(text)
        if found is None or not is_loopback(URL(found[0]).host or ""):
            return None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            timeout = aiohttp.ClientTimeout(total=PHOTO_TIMEOUT)
            async with self._session.get(found[0], timeout=timeout) as response:
                if response.status != 200:
                    return None
                return found[1], await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def _send_photo(self, params: dict) -> web.Response:
        chat_id = self._target(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise _ApiError(400, "Bad request: photo is required")
        caption = self._text(params.get("caption"), "caption", required=False)
        data = await self._fetch_photo(photo)
        return self._ok(
            self._record("sendPhoto", chat_id, caption, photo=photo, photo_bytes=data)
        )

    async def _fetch_photo(self, url: str) -> bytes | None:
        """GET a loopback photo URL as Zalo would; ``None`` for URLs it must not fetch."""
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not is_loopback(parsed.host or ""):
            return None
        if self._session is None:
            self._session = aiohttp.ClientSession()
        refused = _ApiError(400, "Bad request: cannot download photo")
        try:
            timeout = aiohttp.ClientTimeout(total=PHOTO_TIMEOUT)
            async with self._session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise refused
                data = await response.content.read(PHOTO_LIMIT + 1)
        except (aiohttp.ClientError, TimeoutError):
            raise refused from None
        if len(data) > PHOTO_LIMIT or not data.startswith(_IMAGE_MAGIC):
            raise refused
        return data

    async def _send_sticker(self, params: dict) -> web.Response:
        chat_id = self._target(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _ApiError(400, "Bad request: sticker is required")
        return self._ok(self._record("sendSticker", chat_id, "", sticker=sticker))

    async def _send_chat_action(self, params: dict) -> web.Response:
        self._target(params)
        return web.json_response({"ok": True})  # no "result" key, as documented


class Person:
    """A simulated person chatting with the bot through a FakeZalo."""

    def __init__(self, fake: FakeZalo, user_id: str, name: str = "Bác"):
        self.fake = fake
        self.user_id = str(user_id)
        self.name = name

    async def say(self, text: str, timeout: float = 5.0) -> SentMessage:
        """Send ``text`` and return the next message the bot sends to this chat."""
        self.fake.push_text(self.user_id, text, name=self.name)
        return await self.fake.next_message(self.user_id, timeout)

    async def send_image(self, timeout: float = 5.0) -> SentMessage:
        """Send an image; return the next message the bot sends to this chat."""
        self.fake.push_image(self.user_id)
        return await self.fake.next_message(self.user_id, timeout)

    async def send_unsupported(self, timeout: float = 5.0) -> SentMessage:
        """Send withheld content (``message.unsupported.received``); return the next message."""
        self.fake.push_unsupported(self.user_id)
        return await self.fake.next_message(self.user_id, timeout)
