"""Plumbing shared by the fake bot API servers (``fake_telegram``, ``fake_zalo``).

``LoopbackFake`` serves ``/{bot_token}/{method}`` over real HTTP on a loopback
address (aiohttp.web) and keeps what the fakes have in common: the lifecycle,
the per-chat inbox the bot's replies land in (``messages_to``, ``next_message``),
``delay_next`` and fault bookkeeping (``flaky`` and ``slow``: a share of calls fail or answer
late, at random; ``rate_limit_for``: a burst of 429s), and the client session
``post_webhook`` uses. Routes, wire formats, error envelopes, update queues and message
shapes stay in each fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import web
from yarl import URL


class _Default:
    def __repr__(self) -> str:
        return "<use webhook_secret>"


USE_WEBHOOK_SECRET: Any = _Default()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Fault:
    method: str
    times: int
    chat_id: Any  # None: any chat


@dataclass
class Delay:
    method: str
    seconds: float
    times: int


@dataclass
class Flaky:
    methods: frozenset[str]
    rate: float  # the share of calls that fail (or answer late)
    rng: random.Random
    seconds: float = 0.0  # how late, for ``slow``


@dataclass
class Chat:
    chat_id: Any
    sent: list = field(default_factory=list)
    cursor: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)


class LoopbackFake:
    """Base of the fake bot API servers: HTTP on loopback plus the bot's per-chat inbox.

    Subclasses provide ``_handle`` (the ``/{bot_token}/{method}`` route) and may
    override the hooks ``_method_key``, ``_chat_key``, ``_chat_of``,
    ``_describe`` and ``_timeout_notes``.
    """

    _chat_type: type[Chat] = Chat

    def __init__(self, token: str, *, host: str, port: int):
        if not is_loopback(host):
            raise ValueError(f"{type(self).__name__} only binds loopback addresses, not {host!r}")
        self.token = token
        self.host = host
        self.port = port
        self.sent: list[Any] = []
        self.calls: list[tuple[str, dict]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._updates_event = asyncio.Event()
        self._closing = asyncio.Event()
        self._chats: dict[Any, Chat] = {}
        self._faults: list[Any] = []
        self._delays: list[Delay] = []
        self._flaky: Flaky | None = None
        self._slow: Flaky | None = None
        self._limited_until = 0.0  # ``rate_limit_for``: every call of these methods gets 429
        self._limited_methods: frozenset[str] = frozenset()
        self.limited: list[str] = []  # the methods of the calls refused by ``rate_limit_for``
        self.slowed: list[str] = []  # the methods of the calls ``slow`` delayed
        self.flaky_failures: list[str] = []  # the methods of the calls ``flaky`` failed
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ hooks
    def _method_key(self, method: str) -> str:
        """How ``fail_next``/``delay_next`` method names match request methods."""
        return method

    def _chat_key(self, chat_id: Any) -> Any:
        """Normalise a chat id given by test code."""
        return chat_id

    def _chat_of(self, params: dict) -> Any:
        """The chat a request's parameters address (for faults and timeout reports)."""
        return params.get("chat_id")

    def _describe(self, sent: Any) -> str:
        """One line about a sent message in a ``next_message`` timeout report."""
        return f"  {sent.message_id} {sent.method}: {sent.text!r}"

    def _timeout_notes(self) -> list[str]:
        """Extra lines at the end of a ``next_message`` timeout report."""
        return []

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bind the loopback address and start serving."""
        if self._runner is not None:
            return
        self._closing, self._updates_event = asyncio.Event(), asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{bot_token}/{method}", self._handle)
        # The same API under a client's name (``base_url_for``): who called is recorded.
        app.router.add_route("*", "/client/{client}/{bot_token}/{method}", self._handle)
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

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``; the bot calls ``f"{base_url}{token}/{method}"``."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/bot"

    def base_url_for(self, client: str) -> str:
        """``base_url`` under a client's name, for several processes sharing one fake.

        Requests through it are served as through ``base_url``; ``request.match_info``
        carries ``client`` (the fake Telegram records which client polled, and when).
        """
        return f"{self.base_url.removesuffix('/bot')}/client/{client}/bot"

    def _wake_updates(self) -> None:
        """Wake every long poll waiting for updates."""
        event, self._updates_event = self._updates_event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ bot -> people
    def _chat(self, chat_id: Any) -> Any:
        chat_id = self._chat_key(chat_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = self._chat_type(chat_id)
        return chat

    def messages_to(self, chat_id: Any) -> list:
        """Everything the bot sent to ``chat_id``, oldest first."""
        chat = self._chats.get(self._chat_key(chat_id))
        return list(chat.sent) if chat else []

    async def next_message(self, chat_id: Any, timeout: float = 5.0) -> Any:
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

    def _timeout_report(self, chat: Chat, timeout: float) -> str:
        lines = [
            f"no new message to chat {chat.chat_id} within {timeout}s "
            f"({len(chat.sent)} sent to it, all already returned by next_message)."
        ]
        lines.extend(self._describe(sm) for sm in chat.sent[-5:])
        chat_calls = [
            name for name, params in self.calls[-200:] if self._chat_of(params) == chat.chat_id
        ]
        if chat_calls:
            lines.append(f"  recent API calls for this chat: {chat_calls[-10:]}")
        for sm in [sm for sm in self.sent[-3:] if sm.chat_id != chat.chat_id]:
            lines.append(f"  (latest to chat {sm.chat_id}: {sm.text!r})")
        if not self.sent:
            lines.append("  the bot has sent nothing at all")
        lines.extend(self._timeout_notes())
        return "\n".join(lines)

    def _deliver(self, sent: Any) -> None:
        """Record a message the bot sent and wake ``next_message`` waiters on its chat."""
        chat = self._chat(sent.chat_id)
        self.sent.append(sent)
        chat.sent.append(sent)
        event, chat.event = chat.event, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ faults
    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``times`` calls of ``method``."""
        self._delays.append(Delay(self._method_key(method), seconds, times))

    def slow(self, methods: Any, rate: float, seconds: float, *, seed: int = 0) -> None:
        """Answer about ``rate`` of the calls of ``methods`` ``seconds`` late (0: stop)."""
        if rate <= 0:
            self._slow = None
            return
        keys = frozenset(self._method_key(m) for m in methods)
        self._slow = Flaky(keys, rate, random.Random(seed), seconds)

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method:
                delay.times -= 1
                if delay.times <= 0:
                    self._delays.remove(delay)
                return delay.seconds
        slow = self._slow
        if slow is not None and method in slow.methods and slow.rng.random() < slow.rate:
            self.slowed.append(method)
            return slow.seconds
        return 0.0

    async def _apply_delay(self, method: str) -> None:
        """Sleep as ``delay_next`` asked, cut short by ``stop``."""
        delay = self._take_delay(method)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)

    def flaky(self, methods: Any, rate: float, *, seed: int = 0) -> None:
        """Fail about ``rate`` of the calls of ``methods`` with a 5xx, at random (0: stop)."""
        if rate <= 0:
            self._flaky = None
            return
        keys = frozenset(self._method_key(m) for m in methods)
        self._flaky = Flaky(keys, rate, random.Random(seed))

    def rate_limit_for(self, seconds: float, methods: Any) -> None:
        """A burst of flood control: every call of ``methods`` in the next ``seconds`` gets
        429 (with ``retry_after``, on platforms that say it)."""
        self._limited_until = time.monotonic() + seconds
        self._limited_methods = frozenset(self._method_key(m) for m in methods)

    def _take_limit(self, method: str) -> float | None:
        """Seconds left of a ``rate_limit_for`` burst this call falls in, else ``None``."""
        left = self._limited_until - time.monotonic()
        if left <= 0 or method not in self._limited_methods:
            return None
        self.limited.append(method)
        return left

    def _take_flaky(self, method: str) -> bool:
        """Whether this call of ``method`` fails at random (see ``flaky``)."""
        flaky = self._flaky
        if flaky is None or method not in flaky.methods or flaky.rng.random() >= flaky.rate:
            return False
        self.flaky_failures.append(method)
        return True

    def _take_fault(self, method: str, params: dict) -> Any:
        for fault in self._faults:
            if fault.method != method:
                continue
            if fault.chat_id is not None and self._chat_of(params) != fault.chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------ webhook client
    async def _post_to_webhook(
        self, body: Any, *, url: str | None, secret: str | None, secret_header: str
    ) -> int:
        """POST ``body`` as JSON to a loopback webhook; return the HTTP status."""
        url = url or self.webhook_url
        if not url:
            raise RuntimeError("no webhook url: pass url= or call setWebhook first")
        host = URL(url).host or ""
        if not is_loopback(host):
            raise ValueError(f"post_webhook only talks to loopback addresses, not {url!r}")
        if secret is USE_WEBHOOK_SECRET:
            secret = self.webhook_secret
        headers = {secret_header: secret} if secret is not None else {}
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(url, json=body, headers=headers) as response:
            await response.read()
            return response.status
