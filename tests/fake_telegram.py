"""A fake Telegram Bot API server for tests and benchmarks.

Real HTTP on a loopback address (aiohttp.web), so the bot's own HTTP client
(``telegram.Bot(token, base_url=fake.base_url)``) is exercised end to end.

People talk to the bot with ``push_*``; the bot's replies land in ``sent``
and can be awaited per chat with ``next_message``. Faults (``fail_next``,
``delay_next``) provoke the error paths PTB maps from HTTP status codes.

``sendPhoto`` takes an upload (multipart/form-data: the bytes are kept in
``SentMessage.photo`` and must be a PNG, JPEG, GIF or WebP image) or a string
(a file_id or URL, kept in ``photo_ref`` and not fetched); a caption over
1,024 characters is refused, as Telegram does. ``sendDocument`` takes an upload (name and
bytes kept in ``SentMessage.document``; over 50 MB is refused, as for bots on Telegram).

An optional overall flood limit (``flood_limit=N``, default ``None`` = off) answers
``sendMessage``, ``sendPhoto`` and ``sendDocument`` with HTTP 429 and
``parameters.retry_after`` (whole seconds, at least 1, as Telegram does) once N messages
were accepted in the last second: a sliding one-second window over the accepted messages
(refused calls do not count), so no one-second span ever holds more than N messages, a
stricter reading of "N per second" than a token bucket (which lets 2N through in a second
after a quiet one). Each 429 is kept in ``rate_limited`` (arrival time on
``time.monotonic()``, chat id); ``fail_next`` faults are applied before the limit.

Webhook mode: ``post_webhook`` sends one update by hand; ``push_to_webhooks(urls)`` makes the
fake push every queued update as Telegram does once ``setWebhook`` is called (several URLs, in
turn, stand for a reverse proxy in front of several processes).

Several bots (``tokens=[...]``, besides ``token``) can share one fake: each token is served and
has its own flood window (Telegram's limit is per bot); ``accepted_by_token`` and
``limited_by_token`` count each token's accepted messages and 429s.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import math
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

try:
    from tests.loopback_fake import USE_WEBHOOK_SECRET, Chat, Fault, LoopbackFake
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from loopback_fake import USE_WEBHOOK_SECRET, Chat, Fault, LoopbackFake

__all__ = ["FakeTelegram", "Person", "SentMessage"]

FIRST_UPDATE_ID = 731_000
BOT_USERNAME = "ishc_test_bot"
BOT_FIRST_NAME = "ISHC Test Bot"
CAPTION_LIMIT = 1024
WEBHOOK_CONNECTIONS = 40  # Telegram's default max_connections of a webhook
DOCUMENT_LIMIT = 50 * 1024 * 1024  # what a bot may upload
# What the flood limit counts:
FLOOD_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")

# Parameters that are plain strings on the wire. PTB sends strings without JSON
# encoding, so ``text=123`` must stay "123" instead of becoming the int 123.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "photo",
        "action",
        "ip_address",
        "description",
        "short_description",
        "name",
        "language_code",
        "business_connection_id",
        "message_effect_id",
    }
)


@dataclass
class SentMessage:
    """One message the bot sent (or edited) to a chat."""

    chat_id: int
    text: str
    reply_markup: dict | None
    message_id: int
    at: float
    method: str
    message: dict = field(default_factory=dict, repr=False)  # the message dict returned to the bot
    photo: bytes | None = field(default=None, repr=False)  # an uploaded photo's bytes
    photo_ref: str | None = None  # a photo given as a file_id or URL
    document: tuple[str, bytes] | None = field(default=None, repr=False)  # an uploaded file


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class _Pending:
    update_id: int
    update: dict
    protected: bool = False  # redelivered: survives offset confirmation until delivered again


@dataclass
class _Fault(Fault):
    status: int
    description: str
    retry_after: int | None


@dataclass
class _Chat(Chat):
    next_message_id: int = 1
    messages: dict[int, dict] = field(default_factory=dict)  # current state, user and bot messages


def _decode(value: Any, name: str) -> Any:
    if isinstance(value, web.FileField):
        return {
            "file_name": value.filename,
            "content_type": value.content_type,
            "data": value.file.read(),
        }
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid integer {value!r}") from None


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 403:
        return "Forbidden: bot was blocked by the user"
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return phrase if status >= 500 else f"{phrase}: fake failure"


class FakeTelegram(LoopbackFake):
    """In-process fake of the Telegram Bot API, served over HTTP on loopback.

    ``base_url`` is the value for ``telegram.Bot(token, base_url=...)``. ``sent``,
    ``messages_to`` and ``next_message`` also hold edits that changed a message's text.
    """

    _chat_type = _Chat
    sent: list[SentMessage]

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limit: float | None = None,
        tokens: Iterable[str] = (),
    ):
        super().__init__(token, host=host, port=port)
        self.flood_limit = flood_limit
        self.rate_limited: list[tuple[float, Any]] = []  # (monotonic time, chat id) of each 429
        self._accepted: deque[float] = deque()  # times of the messages in the last second
        # Further bots on this fake, each with its own flood window (the first is ``token``'s).
        self._windows: dict[str, deque[float]] = {f"bot{token}": self._accepted}
        self._windows.update({f"bot{extra}": deque() for extra in tokens})
        self.accepted_by_token: Counter[str] = Counter()
        self.limited_by_token: Counter[str] = Counter()
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_user = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.answered_callbacks: list[str] = []
        # Command menus set with setMyCommands, by scope: ("default", None), ("chat", chat id)...
        self.commands: dict[tuple[str, int | None], list[dict]] = {}
        self._next_update_id = FIRST_UPDATE_ID
        self._callback_ids = itertools.count(4_100_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._pending: list[_Pending] = []
        self.confirmed_offset = 0  # the highest getUpdates offset the bot sent (acknowledged)
        self.webhook_max_connections = WEBHOOK_CONNECTIONS  # setWebhook's max_connections
        self.webhook_pushed = 0  # updates push_to_webhooks delivered (answered 200)
        self._push_targets: list[str] = []
        self._push_event = asyncio.Event()
        self._pusher: asyncio.Task | None = None
        # Every getUpdates: when it arrived (time.monotonic) and the client it came through
        # (``base_url_for``; None through ``base_url``): which process polled, and since when.
        self.polls: list[tuple[float, str | None]] = []
        self._users: dict[int, dict] = {}
        self._handlers = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._true,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
        }

    # ------------------------------------------------------------------ hooks
    def _method_key(self, method: str) -> str:
        return method.lower()  # Telegram method names are case-insensitive

    def _describe(self, sm: SentMessage) -> str:
        return f"  #{sm.message_id} {sm.method}: {sm.text!r} buttons={_labels(sm.reply_markup)}"

    # ------------------------------------------------------------------ people -> bot
    def _user(self, user_id: int) -> dict:
        return self._users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": "Bác",
            "language_code": "vi",
        }

    def _chat_dict(self, chat_id: int) -> dict:
        user = self._users.get(chat_id)
        return {
            "id": chat_id,
            "type": "private",
            "first_name": user["first_name"] if user else "Bác",
        }

    def _new_message(self, chat_id: int, sender: dict, **content: Any) -> dict:
        chat = self._chat(chat_id)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        msg = {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat_dict(chat_id),
            "date": int(time.time()),
            **content,
        }
        chat.messages[message_id] = msg
        return msg

    def _user_message(self, user_id: int, **content: Any) -> dict:
        msg = self._new_message(user_id, self._user(user_id), **content)
        return self.push_update({"message": msg})

    def push_text(
        self, user_id: int, text: str, *, first_name: str = "Bác", language_code: str = "vi"
    ) -> dict:
        """Queue a text message from a person (private chat id == user id)."""
        self._users[user_id] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        return self._user_message(user_id, text=text)

    def push_callback(
        self, user_id: int, data: str, *, message: dict | SentMessage | None = None
    ) -> dict:
        """Queue a button tap; ``message`` defaults to the last bot message in that chat."""
        if isinstance(message, SentMessage):
            message = self.message(message.chat_id, message.message_id) or message.message
        if message is None:
            chat = self._chats.get(user_id)
            if chat is None or not chat.sent:
                raise ValueError(f"no bot message in chat {user_id} to attach the callback to")
            last = chat.sent[-1]
            message = chat.messages.get(last.message_id, last.message)
        query = {
            "id": str(next(self._callback_ids)),
            "from": self._user(user_id),
            "chat_instance": str(-(user_id * 7_919 % 10**15) - 1),
            "data": data,
            "message": message,
        }
        return self.push_update({"callback_query": query})

    def push_contact(
        self, user_id: int, phone: str, *, contact_user_id: int | None = None
    ) -> dict:
        """Queue a shared contact (the request_contact keyboard button)."""
        user = self._user(user_id)
        contact = {
            "phone_number": phone,
            "first_name": user["first_name"],
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        return self._user_message(user_id, contact=contact)

    def push_photo(self, user_id: int) -> dict:
        """Queue a photo message from a person."""
        n = next(self._file_ids)
        photo = [
            {"file_id": f"user-photo-{n}", "file_unique_id": f"up{n}", "width": 1, "height": 1}
        ]
        return self._user_message(user_id, photo=photo)

    def push_update(self, update: dict) -> dict:
        """Queue a raw update dict; assigns ``update_id`` if missing."""
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        self._enqueue(_Pending(update["update_id"], update))
        return update

    def redeliver(self, update: dict) -> None:
        """Queue the very same update (same ``update_id``) again, even if already confirmed."""
        self._enqueue(_Pending(update["update_id"], update, protected=True))

    def _enqueue(self, entry: _Pending) -> None:
        bisect.insort_right(self._pending, entry, key=lambda e: e.update_id)
        self._wake_updates()

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by ``getUpdates(offset=...)``."""
        return [e.update for e in self._pending]

    # ------------------------------------------------------------------ bot -> people
    def message(self, chat_id: int, message_id: int) -> dict | None:
        """Current state (after edits) of a message in a chat."""
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def _record(
        self,
        method: str,
        chat_id: int,
        msg: dict,
        markup: dict | None,
        *,
        photo: bytes | None = None,
        photo_ref: str | None = None,
        document: tuple[str, bytes] | None = None,
    ) -> None:
        text = msg.get("text", msg.get("caption", ""))
        self._deliver(
            SentMessage(
                chat_id, text, markup, msg["message_id"], time.monotonic(), method, msg,
                photo, photo_ref, document,
            )
        )

    # ------------------------------------------------------------------ faults
    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str = "",
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        description = description or _default_description(status, retry_after)
        self._faults.append(
            _Fault(
                method=method.lower(),
                times=times,
                chat_id=chat_id,
                status=status,
                description=description,
                retry_after=retry_after,
            )
        )

    # ------------------------------------------------------------------ webhook client
    async def post_webhook(
        self, update: dict, *, url: str | None = None, secret: str | None = USE_WEBHOOK_SECRET
    ) -> int:
        """POST ``update`` to the webhook (``webhook_url`` by default); return the HTTP status."""
        return await self._post_to_webhook(
            update, url=url, secret=secret, secret_header="X-Telegram-Bot-Api-Secret-Token"
        )

    def push_to_webhooks(self, urls: Sequence[str]) -> None:
        """Push queued updates to webhooks, as Telegram does, while a webhook is set.

        Each pending update is POSTed (with the secret given to ``setWebhook``) to the next
        of ``urls`` in turn, so several URLs stand for a reverse proxy spreading the webhook
        over processes. At most ``webhook_max_connections`` requests are in flight (the
        ``max_connections`` of ``setWebhook``, else Telegram's 40), one at a time per chat, in
        ``update_id`` order. An update leaves the queue once answered 200; any other answer
        (or none) sends it again 0.1 s later, to the next URL.

        Args:
            urls: The loopback URLs to POST to, in turn.
        """
        if not urls:
            raise ValueError("push_to_webhooks needs at least one URL")
        self._push_targets = list(urls)
        if self._pusher is None:
            self._pusher = asyncio.ensure_future(self._push_webhooks())

    def _wake_updates(self) -> None:
        super()._wake_updates()
        self._push_event.set()

    async def _push_webhooks(self) -> None:
        in_flight: set[int] = set()  # update ids
        busy: set[Any] = set()  # chats with an update in flight
        turn = itertools.count()
        tasks: set[asyncio.Task] = set()

        async def push(entry: _Pending, chat: Any) -> None:
            try:
                while not self._closing.is_set():
                    url = self._push_targets[next(turn) % len(self._push_targets)]
                    try:
                        status = await self.post_webhook(entry.update, url=url)
                    except (aiohttp.ClientError, OSError, TimeoutError):
                        status = 0
                    if status == 200:
                        self._pending = [e for e in self._pending if e is not entry]
                        self.webhook_pushed += 1
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), 0.1)
            finally:
                in_flight.discard(entry.update_id)
                busy.discard(chat)
                self._push_event.set()

        try:
            while not self._closing.is_set():
                self._push_event.clear()
                if self.webhook_url:
                    for entry in list(self._pending):
                        if len(in_flight) >= self.webhook_max_connections:
                            break
                        chat = _update_chat(entry.update)
                        if entry.update_id in in_flight or chat in busy:
                            continue
                        in_flight.add(entry.update_id)
                        busy.add(chat)
                        task = asyncio.ensure_future(push(entry, chat))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                await self._push_event.wait()
        finally:
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop pushing to webhooks, then as ``LoopbackFake.stop``."""
        if self._pusher is not None:
            pusher, self._pusher = self._pusher, None
            self._closing.set()
            self._push_event.set()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        await super().stop()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.Response:
        window = self._windows.get(request.match_info["bot_token"])
        if window is None:
            return _error(401, "Unauthorized")
        method = request.match_info["method"].lower()
        params: dict[str, Any] = {k: _decode(v, k) for k, v in request.query.items()}
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "Bad Request: can't parse JSON body")
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            form = await request.post()
            params.update({k: _decode(v, k) for k, v in form.items()})
        self.calls.append((method, params))
        if method == "getupdates":
            self.polls.append((time.monotonic(), request.match_info.get("client")))
        handler = self._handlers.get(method)
        if handler is None:
            return _error(404, "Not Found")
        await self._apply_delay(method)
        fault = self._take_fault(method, params)
        if fault is not None:
            return _error(fault.status, fault.description, fault.retry_after)
        if self._take_flaky(method):
            return _error(502, "Bad Gateway")
        burst = self._take_limit(method)
        if burst is not None:
            retry_after = max(1, math.ceil(burst))
            return _error(429, _default_description(429, retry_after), retry_after)
        limited = method in FLOOD_METHODS and self.flood_limit is not None
        if limited:
            retry_after = self._flood_wait(window)
            if retry_after is not None:
                self.rate_limited.append((time.monotonic(), self._chat_of(params)))
                self.limited_by_token[request.match_info["bot_token"][3:]] += 1
                return _error(429, _default_description(429, retry_after), retry_after)
        try:
            result = await handler(params)
        except _ApiError as exc:
            return _error(exc.status, exc.description, exc.retry_after)
        if limited:
            window.append(time.monotonic())
            self.accepted_by_token[request.match_info["bot_token"][3:]] += 1
        return web.json_response({"ok": True, "result": result})

    def _flood_wait(self, window: deque[float] | None = None) -> int | None:
        """Whole seconds until the window has room for one more message; ``None``: it has."""
        assert self.flood_limit is not None
        accepted = self._accepted if window is None else window
        now = time.monotonic()
        while accepted and accepted[0] <= now - 1.0:
            accepted.popleft()
        if len(accepted) < self.flood_limit:
            return None
        return max(1, math.ceil(accepted[0] + 1.0 - now))

    async def _true(self, params: dict) -> bool:
        return True

    async def _get_me(self, params: dict) -> dict:
        return self.bot_user

    @staticmethod
    def _scope(params: dict) -> tuple[str, int | None]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise _ApiError(400, "Bad Request: can't parse BotCommandScope")
        chat_id = scope.get("chat_id")
        per_chat = scope["type"] in ("chat", "chat_administrators", "chat_member")
        if per_chat and (isinstance(chat_id, bool) or not isinstance(chat_id, int)):
            raise _ApiError(400, "Bad Request: chat not found")
        return scope["type"], chat_id

    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            text = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(text, str) or not 1 <= len(text) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope(params)] = [dict(c) for c in commands]
        return True

    async def _delete_my_commands(self, params: dict) -> bool:
        self.commands.pop(self._scope(params), None)
        return True

    async def _get_my_commands(self, params: dict) -> list:
        return self.commands.get(self._scope(params), [])

    def menu_of(self, chat_id: int) -> list[str]:
        """The commands (without "/") of the menu one chat shows, in order.

        As Telegram resolves scopes for a private chat: the chat's own menu, else the default.
        """
        shown = self.commands.get(("chat", chat_id)) or self.commands.get(("default", None), [])
        return [c["command"] for c in shown]

    async def _set_webhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        self.webhook_url = url or None
        self.webhook_secret = (params.get("secret_token") or None) if url else None
        self.webhook_max_connections = _as_int(params.get("max_connections"),
                                               WEBHOOK_CONNECTIONS)
        self._push_event.set()
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _delete_webhook(self, params: dict) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: dict) -> dict:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: invalid timeout") from None
        if offset > 0:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._pending = [e for e in self._pending if e.update_id >= offset or e.protected]
        elif offset < 0:
            self._pending = self._pending[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pending and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._updates_event.wait(), remaining)
            except TimeoutError:
                break
        batch = self._pending[:limit]
        for entry in batch:
            entry.protected = False
        return [entry.update for entry in batch]

    def _target(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    async def _send_message(self, params: dict) -> dict:
        chat_id = self._target(params)
        text = params.get("text")
        if text is None or str(text).strip() == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        markup = _markup(params)
        msg = self._new_message(chat_id, self.bot_user, text=str(text), **_inline(markup))
        self._record("sendMessage", chat_id, msg, markup)
        return msg

    async def _send_photo(self, params: dict) -> dict:
        chat_id = self._target(params)
        given = params.get("photo")
        if not given:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        data = ref = None
        width = height = 1
        if isinstance(given, dict):  # an upload
            data = given.get("data") or b""
            if not data.startswith(_IMAGE_MAGIC):
                raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            if data.startswith(_IMAGE_MAGIC[0]) and len(data) >= 24:
                width, height = struct.unpack(">II", data[16:24])
        else:
            ref = str(given)
        caption = params.get("caption")
        if caption is not None and len(str(caption)) > CAPTION_LIMIT:
            raise _ApiError(400, "Bad Request: message caption is too long")
        n = next(self._file_ids)
        photo = [
            {
                "file_id": f"bot-photo-{n}",
                "file_unique_id": f"bp{n}",
                "width": width,
                "height": height,
            }
        ]
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = str(caption)
        markup = _markup(params)
        msg = self._new_message(chat_id, self.bot_user, **content, **_inline(markup))
        self._record("sendPhoto", chat_id, msg, markup, photo=data, photo_ref=ref)
        return msg

    async def _send_document(self, params: dict) -> dict:
        chat_id = self._target(params)
        given = params.get("document")
        if not isinstance(given, dict) or not given.get("data"):
            raise _ApiError(400, "Bad Request: there is no document in the request")
        if len(given["data"]) > DOCUMENT_LIMIT:
            raise _ApiError(400, "Bad Request: file is too big")
        caption = params.get("caption")
        if caption is not None and len(str(caption)) > CAPTION_LIMIT:
            raise _ApiError(400, "Bad Request: message caption is too long")
        n = next(self._file_ids)
        name = given.get("file_name") or "document"
        content: dict[str, Any] = {"document": {
            "file_id": f"bot-document-{n}", "file_unique_id": f"bd{n}", "file_name": name,
            "mime_type": given.get("content_type") or "application/octet-stream",
            "file_size": len(given["data"]),
        }}
        if caption:
            content["caption"] = str(caption)
        markup = _markup(params)
        msg = self._new_message(chat_id, self.bot_user, **content, **_inline(markup))
        self._record("sendDocument", chat_id, msg, markup, document=(name, given["data"]))
        return msg

    def _editable(self, params: dict) -> tuple[int, dict] | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._target(params)
        message_id = _as_int(params.get("message_id"), 0)
        msg = self.message(chat_id, message_id)
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if msg["from"].get("id") != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat_id, msg

    async def _edit_message_text(self, params: dict) -> dict | bool:
        target = self._editable(params)
        text = params.get("text")
        if text is None or str(text).strip() == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        if target is None:
            return True
        chat_id, old = target
        markup = _markup(params)
        new = _edited(old, **_inline(markup))
        new["text"] = str(text)
        new.pop("caption", None)
        if _same_content(old, new):
            raise _ApiError(400, _NOT_MODIFIED)
        self._chats[chat_id].messages[new["message_id"]] = new
        self._record("editMessageText", chat_id, new, markup)
        return new

    async def _edit_message_reply_markup(self, params: dict) -> dict | bool:
        target = self._editable(params)
        if target is None:
            return True
        chat_id, old = target
        new = _edited(old, **_inline(_markup(params)))
        if _same_content(old, new):
            raise _ApiError(400, _NOT_MODIFIED)
        # Not recorded in ``sent``: the text is unchanged. ``message()`` shows the new keyboard.
        self._chats[chat_id].messages[new["message_id"]] = new
        return new

    async def _answer_callback_query(self, params: dict) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired")
        self.answered_callbacks.append(str(query_id))
        return True


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


def _update_chat(update: dict) -> Any:
    """The chat an update belongs to (the sender for a button tap), or its id when none."""
    message = update.get("message") or update.get("edited_message")
    if message is None and "callback_query" in update:
        query = update["callback_query"]
        message = query.get("message") or {"chat": query.get("from")}
    chat = (message or {}).get("chat") or {}
    return chat.get("id", ("update", update.get("update_id")))


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        payload["parameters"] = {"retry_after": retry_after}
    return web.json_response(payload, status=status)


def _markup(params: dict) -> dict | None:
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) else None


def _inline(markup: dict | None) -> dict:
    # Telegram only echoes inline keyboards back in the Message object.
    if markup and "inline_keyboard" in markup:
        return {"reply_markup": markup}
    return {}


def _edited(old: dict, **content: Any) -> dict:
    new = {k: v for k, v in old.items() if k != "reply_markup"}
    new.update(content)
    new["edit_date"] = int(time.time())
    return new


def _same_content(old: dict, new: dict) -> bool:
    keys = ("text", "caption", "reply_markup")
    return all(old.get(k) == new.get(k) for k in keys)


def _labels(markup: dict | None) -> list[str]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [b if isinstance(b, str) else b.get("text", "") for row in rows for b in row]


class Person:
    """A simulated person chatting with the bot through a FakeTelegram."""

    def __init__(self, fake: FakeTelegram, user_id: int, first_name: str = "Bác"):
        self.fake = fake
        self.user_id = user_id
        self.first_name = first_name

    async def say(self, text: str, timeout: float = 5.0) -> SentMessage:
        """Send ``text`` and return the next message the bot sends to this chat."""
        self.fake.push_text(self.user_id, text, first_name=self.first_name)
        return await self.fake.next_message(self.user_id, timeout)

    async def tap(self, label: str, timeout: float = 5.0) -> SentMessage:
        """Tap the inline button ``label`` on the last message; return the next message."""
        last = self._last()
        current = self.fake.message(self.user_id, last.message_id) or last.message
        for row in (current.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == label and "callback_data" in button:
                    self.fake.push_callback(self.user_id, button["callback_data"], message=current)
                    return await self.fake.next_message(self.user_id, timeout)
        raise LookupError(
            f"no inline button {label!r} on the last message to {self.user_id} "
            f"({last.text!r}); available: {self.buttons(last)}"
        )

    async def share_contact(self, phone: str, timeout: float = 5.0) -> SentMessage:
        """Share a contact (as the request_contact button does); return the next message."""
        self.fake.push_contact(self.user_id, phone)
        return await self.fake.next_message(self.user_id, timeout)

    def buttons(self, message: SentMessage | None = None) -> list[str]:
        """Labels of the inline or reply keyboard buttons (last message by default)."""
        if message is not None:
            return _labels(message.reply_markup)
        last = self._last()
        if last.reply_markup and "inline_keyboard" not in last.reply_markup:
            return _labels(last.reply_markup)  # reply keyboards can't be edited
        current = self.fake.message(self.user_id, last.message_id) or last.message
        return _labels(current.get("reply_markup"))

    def _last(self) -> SentMessage:
        sent = self.fake.messages_to(self.user_id)
        if not sent:
            raise LookupError(f"the bot has sent nothing to {self.user_id} yet")
        return sent[-1]
