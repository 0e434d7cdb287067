"""The bot's HTTP client: pooled keep-alive aiohttp sessions and PTB's request class on them.

python-telegram-bot's default transport (httpx, httpcore, anyio) costs more CPU per call than
the rest of a message's handling. :class:`AiohttpRequest` does PTB's part of the work on an
:class:`aiohttp.ClientSession` instead: a call without files goes as one JSON body, built
straight from the parameters; one with files as multipart/form-data, as PTB's own class
sends it.

:data:`SHARED` is the pool that the senders use: one session (a keep-alive connector of at most
:data:`POOL_LIMIT` connections) per event loop, taken by Telegram's sends and by the Zalo
client and closed when the last of them lets go. Telegram's long poll gets a small session of
its own (:func:`get_updates_request`), so it never holds a connection that a send waits for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

POOL_LIMIT = 100  # connections of the shared pool (all hosts)
KEEPALIVE = 15.0  # seconds an idle connection is kept open
JSON_HEADERS = {"Content-Type": "application/json"}
# orjson was measured here (bench.registration): no difference in CPU per update, so not used.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return _encode(value).encode()


def loads(payload: bytes | str) -> Any:
    """The value of a JSON document (``ValueError`` if it is not one)."""
    return json.loads(payload)


class HttpPool:
    """One keep-alive :class:`aiohttp.ClientSession` per event loop, shared by its users.

    Each user calls :meth:`acquire` once and :meth:`release` once; the session is closed when
    the last user releases it.

    Args:
        limit: Most connections open at once (a request beyond waits for one).
        keepalive: Seconds an idle connection is kept for the next request.
    """

    def __init__(self, limit: int = POOL_LIMIT, keepalive: float = KEEPALIVE) -> None:
        self.limit = limit
        self.keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._users = 0

    def acquire(self) -> aiohttp.ClientSession:
        """The session (opened on the running loop if needed), counting one more user."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # A session left open on another (finished) loop cannot be closed from here.
            connector = aiohttp.TCPConnector(
                limit=self.limit, limit_per_host=0, keepalive_timeout=self.keepalive
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=None)
            )
            self._loop = loop
            self._users = 0
        self._users += 1
        return self._session

    async def release(self, session: aiohttp.ClientSession) -> None:
        """Let go of ``session`` (from :meth:`acquire`); the last user's release closes it."""
        if session is not self._session:
            if not session.closed:  # from an earlier loop's pool, or private: just close it
                await session.close()
            return
        self._users -= 1
        if self._users <= 0:
            self._session, self._loop, self._users = None, None, 0
            await session.close()

    @property
    def users(self) -> int:
        """How many users hold the current session."""
        return self._users if self._session is not None else 0


SHARED = HttpPool()


def _timeout(
    connect: float | None, read: float | None, write: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """PTB's four timeouts as aiohttp's.

    aiohttp's ``connect`` includes the wait for a free connection, so it is ``pool +
    connect``; it has no write timeout, so the whole call is bounded by the sum of all four
    (the read timeout alone bounds the wait for each piece of the answer).
    """
    limits = (connect, read, write, pool)
    total = None if None in limits else sum(limits)  # type: ignore[arg-type]
    wait = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=wait, sock_connect=connect, sock_read=read)


class AiohttpRequest(BaseRequest):
    """PTB's :class:`~telegram.request.BaseRequest` on a pooled keep-alive aiohttp session.

    Args:
        pool: Where the session comes from (:data:`SHARED` by default).
        read_timeout: Default seconds to wait for the answer.
        write_timeout: Default seconds to send a request without files.
        connect_timeout: Default seconds to open a connection.
        pool_timeout: Default seconds to wait for a free connection.
        media_write_timeout: Default seconds to send a request with files.
    """

    __slots__ = ("_defaults", "_media_write_timeout", "_pool", "_session")

    def __init__(
        self,
        pool: HttpPool | None = None,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool = pool if pool is not None else SHARED
        self._session: aiohttp.ClientSession | None = None
        self._defaults = (connect_timeout, read_timeout, write_timeout, pool_timeout)
        self._media_write_timeout = media_write_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (seconds); PTB adds it to a long poll's own timeout."""
        return self._defaults[1]

    async def initialize(self) -> None:
        """Take a session from the pool (if not already holding one)."""
        if self._session is None or self._session.closed:
            self._session = self._pool.acquire()

    async def shutdown(self) -> None:
        """Give the session back to the pool (closed with its last user)."""
        session, self._session = self._session, None
        if session is not None:
            await self._pool.release(session)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make the call; its HTTP status and body.

        Raises:
            TimedOut: A timeout expired (the call may or may not have reached Telegram).
            NetworkError: The connection failed.
        """
        if self._session is None or self._session.closed:
            await self.initialize()  # used before Bot.initialize (e.g. a test's first call)
            assert self._session is not None
        files = request_data is not None and request_data.contains_files
        connect, read, write, pool = self._defaults
        if not isinstance(connect_timeout, DefaultValue):
            connect = connect_timeout
        if not isinstance(read_timeout, DefaultValue):
            read = read_timeout
        if not isinstance(write_timeout, DefaultValue):
            write = write_timeout
        elif files:
            write = self._media_write_timeout
        if not isinstance(pool_timeout, DefaultValue):
            pool = pool_timeout
        headers = {"User-Agent": self.USER_AGENT}
        body: Any = None
        if files:
            assert request_data is not None
            body = _form(request_data)
        elif request_data is not None:
            body = dumps(request_data.parameters)
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=body, headers=headers,
                timeout=_timeout(connect, read, write, pool),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # asyncio's, and aiohttp's ServerTimeoutError
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        """Parse Telegram's answer.

        Raises:
            TelegramError: It is not JSON.
        """
        try:
            return loads(payload)
        except ValueError:
            try:  # as PTB does: bytes that are not UTF-8 are replaced, not refused
                return loads(payload.decode("utf-8", "replace"))
            except ValueError as error:
                log.error("Telegram answered something that is not JSON: %r", payload[:200])
                raise TelegramError("Invalid server response") from error


def _form(request_data: RequestData) -> aiohttp.FormData:
    """A call with files as multipart/form-data: JSON-encoded fields, then the files."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def get_updates_request() -> AiohttpRequest:
    """A request object for the long poll, on a small session of its own."""
    return AiohttpRequest(HttpPool(limit=2))
