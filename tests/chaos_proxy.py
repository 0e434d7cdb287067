"""A round-robin reverse proxy on loopback: the chaos suite's stand-in for nginx.

With several service processes on one database, a platform's webhook goes to one public URL
and the reverse proxy in front hands each request to a process in turn. When a process is
dead (the connection is refused), the request goes to the next one, as nginx's
``proxy_next_upstream error`` does; only when every process refuses does the caller get a
502. A process that dies under a request it was sent gets the caller a 502 (nginx does not
resend a POST it has passed on), and an answer that comes late is not retried elsewhere: the
caller, Zalo, posts the event again, as in production.
"""

from __future__ import annotations

import socket
from collections import Counter

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
              "upgrade", "te", "trailer", "proxy-connection"}


class RoundRobinProxy:
    """Forwards every request to the upstreams in turn, skipping those that refuse.

    Args:
        upstreams: The processes' base URLs (``http://127.0.0.1:PORT``), in order.
    """

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = list(upstreams)
        self.port = 0
        self.forwarded: Counter[str] = Counter()  # answers received, by upstream
        self.refused: Counter[str] = Counter()  # connections refused or dropped, by upstream
        self.exhausted = 0  # requests every upstream refused (answered 502)
        self.dropped = 0  # requests whose upstream closed the connection unanswered (502)
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The public base URL (what the platforms are told)."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RoundRobinProxy:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, backlog=1024).start()
        # No pooled connections: a killed upstream's pooled socket would look like a refusal
        # of a request the process may have started to handle.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), auto_decompress=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        start = self._next
        self._next = (self._next + 1) % len(self.upstreams)
        for step in range(len(self.upstreams)):
            upstream = self.upstreams[(start + step) % len(self.upstreams)]
            try:
                async with self._session.request(
                    request.method, f"{upstream}{request.rel_url}", headers=headers, data=body,
                    allow_redirects=False, timeout=aiohttp.ClientTimeout(total=None, connect=2),
                ) as answer:
                    content = await answer.read()
                    self.forwarded[upstream] += 1
                    out = {k: v for k, v in answer.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                    return web.Response(status=answer.status, body=content, headers=out)
            except aiohttp.ClientConnectorError:
                self.refused[upstream] += 1  # nobody listens there (dead): the next one
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # The process died under the request: it may have begun it, so a POST is not
                # sent elsewhere (nginx does not resend one either); the caller retries.
                self.dropped += 1
                return web.Response(status=502, text="the upstream closed the connection")
        self.exhausted += 1
        return web.Response(status=502, text="no upstream answered")
