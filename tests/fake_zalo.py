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
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

__all__ = ["FakeZalo", "Person", "SentMessage", "zalo_id"]

DEFAULT_TOKEN = "1459232241454765289:zalo-TEST-token"
BOT_ACCOUNT_NAME = "bot.TestIshc"
TEXT_LIMIT = 2000
SECRET_MIN, SECRET_MAX = 8, 256
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


class _Default:
    def __repr__(self) -> str:
        return "<use webhook_secret>"


_USE_WEBHOOK_SECRET: Any = _Default()


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


class _ApiError(Exception):
    def __init__(self, error_code: int, description: str = ""):
        description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        super().__init__(description)
        self.error_code = error_code
        self.description = description


@dataclass
class _Fault:
    method: str
    error_code: int
    description: str
    times: int
    http_status: int
    chat_id: str | None


@dataclass
class _Delay:
    method: str
    seconds: float
    times: int


@dataclass
class _Chat:
    chat_id: str
    sent: list[SentMessage] = field(default_factory=list)
    cursor: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _error(error_code: int, description: str = "", http_status: int = 200) -> web.Response:
    description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
    payload = {"ok": False, "error_code": error_code, "description": description}
    return web.json_response(payload, status=http_status)


def _chat_id(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        return None
    return str(value)


class FakeZalo:
    """In-process fake of the Zalo Bot API, served over HTTP on loopback."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0):
        if not _is_loopback(host):
            raise ValueError(f"FakeZalo only binds loopback addresses, not {host!r}")
        self.token = token
        self.host = host
        self.port = port
        prefix = token.split(":", 1)[0]
        self.bot_id = prefix if prefix.isdigit() else "1459232241454765289"
        self.bot_info = {
            "id": self.bot_id,
            "account_name": BOT_ACCOUNT_NAME,
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, dict]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_updated_at = _now_ms()
        self._message_ids = itertools.count(_FIRST_MESSAGE_ID)
        self._media_ids = itertools.count(1)
        self._pending: deque[dict] = deque()
        self._updates_event = asyncio.Event()
        self._closing = asyncio.Event()
        self._chats: dict[str, _Chat] = {}
        self._names: dict[str, str] = {}
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self._session: aiohttp.ClientSession | None = None
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

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind the loopback address and start serving."""
        if self._runner is not None:
            return
        self._closing, self._updates_event = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{bot_token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            await web.SockSite(runner, sock, backlog=1024).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner, self._sock = runner, sock
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        """Release long polls and delays, stop serving, close the webhook client session."""
        self._closing.set()
        self._wake_updates()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> FakeZalo:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``; the client calls ``f"{base_url}{token}/{method}"``."""
        if self._runner is None:
            raise RuntimeError("FakeZalo is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/bot"

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
        """Queue a raw event dict as is; returned by the next ``getUpdates``."""
        self._pending.append(event)
        self._wake_updates()
        return event

    def redeliver(self, event: dict) -> None:
        """Queue the very same event (same ``message_id``) again."""
        self.push_event(event)

    def _wake_updates(self) -> None:
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    @property
    def pending_events(self) -> list[dict]:
        """Events queued and not yet returned by ``getUpdates``."""
        return list(self._pending)

    # ------------------------------------------------------------------ bot -> people
    def _chat(self, chat_id: str) -> _Chat:
        chat_id = str(chat_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    def messages_to(self, chat_id: str) -> list[SentMessage]:
        """Everything the bot sent to ``chat_id``, oldest first."""
        chat = self._chats.get(str(chat_id))
        return list(chat.sent) if chat else []

    async def next_message(self, chat_id: str, timeout: float = 5.0) -> SentMessage:
        """Return the next message to ``chat_id`` not yet returned by this method."""
        chat = self._chat(chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while chat.cursor >= len(chat.sent):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_report(chat, timeout))
            try:
                await asyncio.wait_for(chat.event.wait(), remaining)
            except TimeoutError:
                raise TimeoutError(self._timeout_report(chat, timeout)) from None
        sent = chat.sent[chat.cursor]
        chat.cursor += 1
        return sent

    def _timeout_report(self, chat: _Chat, timeout: float) -> str:
        lines = [
            f"no new message to chat {chat.chat_id} within {timeout}s "
            f"({len(chat.sent)} sent to it, all already returned by next_message)."
        ]
        for sm in chat.sent[-5:]:
            extra = f" photo={sm.photo}" if sm.photo else ""
            lines.append(f"  {sm.message_id} {sm.method}: {sm.text!r}{extra}")
        chat_calls = [
            name
            for name, params in self.calls[-200:]
            if _chat_id(params.get("chat_id")) == chat.chat_id
        ]
        if chat_calls:
            lines.append(f"  recent API calls for this chat: {chat_calls[-10:]}")
        for sm in [sm for sm in self.sent[-3:] if sm.chat_id != chat.chat_id]:
            lines.append(f"  (latest to chat {sm.chat_id}: {sm.text!r})")
        if not self.sent:
            lines.append("  the bot has sent nothing at all")
        if self._pending:
            lines.append(f"  {len(self._pending)} event(s) still queued, not fetched by the bot")
        return "\n".join(lines)

    def _record(
        self,
        method: str,
        chat_id: str,
        text: str,
        *,
        photo: str | None = None,
        sticker: str | None = None,
    ) -> dict:
        message_id = self._new_message_id()
        sm = SentMessage(chat_id, text, method, message_id, time.monotonic(), photo, sticker)
        chat = self._chat(chat_id)
        self.sent.append(sm)
        chat.sent.append(sm)
        event, chat.event = chat.event, asyncio.Event()
        event.set()
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
        self._faults.append(_Fault(method, error_code, description, times, http_status, target))

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``times`` calls of ``method``."""
        self._delays.append(_Delay(method, seconds, times))

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method:
                delay.times -= 1
                if delay.times <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    def _take_fault(self, method: str, params: dict) -> _Fault | None:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and _chat_id(params.get("chat_id")) != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------ webhook client
    async def post_webhook(
        self,
        event: dict,
        *,
        url: str | None = None,
        secret: str | None = _USE_WEBHOOK_SECRET,
        wrapped: bool = True,
    ) -> int:
        """POST ``event`` to the webhook (``webhook_url`` by default); return the HTTP status.

        ``wrapped`` sends ``{"ok": true, "result": event}`` (the documented shape);
        ``wrapped=False`` sends the bare event. The secret goes in
        ``X-Bot-Api-Secret-Token`` (no header when ``secret`` is None).
        """
        url = url or self.webhook_url
        if not url:
            raise RuntimeError("no webhook url: pass url= or call setWebhook first")
        host = URL(url).host or ""
        if not _is_loopback(host):
            raise ValueError(f"post_webhook only talks to loopback addresses, not {url!r}")
        if secret is _USE_WEBHOOK_SECRET:
            secret = self.webhook_secret
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = {"ok": True, "result": event} if wrapped else event
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(url, json=body, headers=headers) as response:
            await response.read()
            return response.status

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
        delay = self._take_delay(method)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        fault = self._take_fault(method, params)
        if fault is not None:
            return _error(fault.error_code, fault.description, fault.http_status)
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
        if parsed.scheme == "http" and _is_loopback(parsed.host or ""):
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
        return self._ok(self._record("sendMessage", chat_id, text))

    async def _send_photo(self, params: dict) -> web.Response:
        chat_id = self._target(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            raise _ApiError(400, "Bad request: photo is required")
        caption = self._text(params.get("caption"), "caption", required=False)
        return self._ok(self._record("sendPhoto", chat_id, caption, photo=photo))

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
