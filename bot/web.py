"""The service's web server: health, readiness, metrics, webhooks and media.

- ``/healthz`` — liveness: the process answers. It reads nothing, so a process manager
  restarts only a process that is truly hung.
- ``/readyz`` — readiness, checked for real each time: the database takes a write (a small
  committed probe), the oldest reply that is due is not stuck, and every background task
  (pollers, outbox, reminder scan, sweeper, exports) did its work recently. 200 with the
  checks, or 503 with the reasons as JSON.
- ``/metrics`` — Prometheus text format (:mod:`bot.metrics`).
- ``/media/<token>.png`` and ``/media/<token>/<file name>`` — pictures and files sent to Zalo
  by URL, until they expire; the tokens are random and long.
- each channel's webhook path, if configured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import metrics
from bot.outbox import OutboxWorker
from bot.supervisor import Supervisor
from storage.base import Storage

MAX_BODY = 1024 * 1024
PROBE_TIMEOUT = 3.0  # seconds /readyz waits for the database
OUTBOX_STUCK = 60.0  # a due reply waiting this long, with no delivery meanwhile, is stuck


class Webhook(Protocol):
    """A channel that can serve its webhook here."""

    @property
    def webhook_url(self) -> str | None:
        """The public webhook URL, or ``None`` to poll."""

    def webhook_path(self) -> str:
        """The path this service serves the webhook on."""

    async def webhook(self, request: web.Request) -> web.Response:
        """Handle one webhook request (answer only after the commit)."""


@dataclass
class Readiness:
    """What ``/readyz`` checks."""

    storage: Storage
    clock: Callable[[], datetime]
    supervisor: Supervisor | None = None
    outbox: OutboxWorker | None = None

    async def check(self) -> dict[str, Any]:
        """The problems found now, by check (empty: ready)."""
        problems: dict[str, Any] = {}
        try:
            failure = await asyncio.wait_for(self.storage.probe(), PROBE_TIMEOUT)
        except TimeoutError:
            failure = f"no answer to a write within {PROBE_TIMEOUT:.0f}s"
        if failure:
            problems["database"] = failure
        try:
            waiting, oldest = await self.backlog()
        except Exception as error:  # an unreadable database is already reported above
            problems.setdefault("database", repr(error))
        else:
            late = (self.clock() - oldest).total_seconds() if oldest else 0.0
            quiet = time.monotonic() - self.outbox.delivered_at if self.outbox else 0.0
            if late > OUTBOX_STUCK and quiet > OUTBOX_STUCK:
                problems["outbox"] = {"oldest_due_seconds": round(late), "pending": waiting,
                                      "seconds_since_a_delivery": round(quiet)}
        stale = self.supervisor.stale() if self.supervisor else {}
        if stale:
            problems["tasks"] = stale
        return problems

    async def backlog(self) -> tuple[dict[str, int], datetime | None]:
        """Pending replies per channel and the oldest due one, from a read-only snapshot."""
        now = self.clock()
        waiting, oldest = await self.storage.reading(lambda tx: tx.outbox_backlog(now))
        for channel, count in waiting.items():
            metrics.OUTBOX_PENDING.labels(channel).set(count)
        metrics.OUTBOX_OLDEST_DUE.set((now - oldest).total_seconds() if oldest else 0.0)
        return waiting, oldest


def web_app(
    channels: list[Webhook],
    storage: Storage,
    clock: Callable[[], datetime],
    readiness: Readiness | None = None,
) -> web.Application:
    """The service's web server (see the module docstring).

    Args:
        channels: The chat platform adapters (their webhooks are served if configured).
        storage: The open database.
        clock: Current UTC time (for the media's expiry and the outbox check).
        readiness: What ``/readyz`` checks (default: the database and the outbox only).

    Returns:
        The aiohttp application.
    """
    app = web.Application(client_max_size=MAX_BODY)
    ready = readiness or Readiness(storage, clock)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(request: web.Request) -> web.Response:
        problems = await ready.check()
        if problems:
            return web.json_response({"ready": False, "reasons": problems}, status=503)
        return web.json_response({"ready": True})

    async def metrics_page(request: web.Request) -> web.Response:
        try:
            await ready.backlog()
        except Exception:  # the counters are still worth reading
            metrics.OUTBOX_OLDEST_DUE.set(float("nan"))
        if ready.supervisor is not None:
            ready.supervisor.stale()  # refreshes the tasks' ages
        body = generate_latest(metrics.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def stored(request: web.Request) -> tuple[str, bytes] | None:
        token, now = request.match_info["token"], clock()
        return await storage.reading(lambda tx: tx.get_media(token, now))

    async def media(request: web.Request) -> web.Response:
        found = await stored(request)
        if found is None or found[0] != "image/png":
            raise web.HTTPNotFound()
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return web.Response(body=found[1], content_type=found[0], headers=headers)

    async def download(request: web.Request) -> web.Response:
        found = await stored(request)
        if found is None or found[0] == "image/png":
            raise web.HTTPNotFound()
        headers = {
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{request.match_info["name"]}"',
        }
        return web.Response(body=found[1], content_type=found[0], headers=headers)

    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get(r"/media/{token:[A-Za-z0-9_-]{8,64}}.png", media)
    app.router.add_get(r"/media/{token:[A-Za-z0-9_-]{8,64}}/{name:[A-Za-z0-9_.-]{1,100}}",
                       download)
    for channel in channels:
        if channel.webhook_url:
            app.router.add_post(channel.webhook_path(), channel.webhook)
    return app
