"""Wiring: settings -> storage -> engine -> service -> channels, outbox and sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.backup import ServiceLock
from bot.config import Settings
from bot.conversations.registry import FLOWS
from bot.demo import seed
from bot.engine import Engine
from bot.handlers.local import LocalChannel, repl
from bot.i18n import LOCALES_DIR, catalog
from bot.outbox import ChannelSender, OutboxWorker
from bot.service import Service, utcnow
from storage.sqlite import SQLiteStorage

log = logging.getLogger(__name__)


@dataclass
class App:
    """The running pieces, for the entry point and for tests."""

    settings: Settings
    storage: SQLiteStorage
    service: Service
    outbox: OutboxWorker


@contextlib.asynccontextmanager
async def open_app(settings: Settings, senders: list[ChannelSender]) -> AsyncIterator[App]:
    """Open the database and start the outbox worker and the sweeper; stop them on exit."""
    if not catalog("vi"):
        raise RuntimeError(f"no Vietnamese catalog found in {LOCALES_DIR}")
    lock = ServiceLock(settings.db).acquire()  # one service per database file, or fail here
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        service = Service(storage, Engine(FLOWS), settings.tz, settings.flow_timeout)
        outbox = OutboxWorker(storage, senders, utcnow)
        service.on_queued(outbox.submit)
        scheduler = AsyncIOScheduler(
            timezone=settings.tz,
            job_defaults={"coalesce": True, "misfire_grace_time": 60, "max_instances": 1},
        )
        scheduler.add_job(service.sweep, "interval", minutes=1, id="sweep")
        # Reminders are computed from the database each minute, and once at start (what was
        # missed while the service was down still goes out if it is still relevant).
        if settings.reminders:
            scheduler.add_job(service.remind, "interval", minutes=1, id="reminders",
                              next_run_time=datetime.now(UTC))
        scheduler.start()
        worker = asyncio.create_task(outbox.run())
        await service.exports.resume()  # files a restart interrupted
        try:
            yield App(settings, storage, service, outbox)
        finally:
            scheduler.shutdown(wait=False)
            await outbox.stop()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    finally:
        await storage.close()
        lock.release()


async def run_local(settings: Settings) -> None:
    """The terminal chat on the demo club (no chat platform needed)."""
    async with open_app(settings, []) as app:
        code = await seed(app.storage, utcnow())
        channel = LocalChannel(app.service)
        app.outbox.add_channel(channel)
        banner = (
            "ishc-bot local chat (database: {db})\n"
            "You are typing as the chair. Switch with /as chair | treasurer | volunteer | "
            "member | new | <any name>.\n"
            "Demo member invite code: {code} (as a new person, type it or /start {code}).\n"
            "Type /menu to begin, /quit to leave.\n"
        ).format(db=settings.db, code=code or "-")
        async def drain() -> None:
            await app.service.exports.wait()  # files asked for are built, then everything sent
            await app.outbox.drain()

        await repl(channel, drain, banner)


MAX_BODY = 1024 * 1024


class Channel(ChannelSender, Protocol):
    """What the runner needs from a chat platform adapter (see ``bot/handlers/``)."""

    @property
    def webhook_url(self) -> str | None:
        """The public webhook URL, or ``None`` to poll."""

    def webhook_path(self) -> str:
        """The path this service serves the webhook on."""

    async def webhook(self, request: web.Request) -> web.Response:
        """Handle one webhook request (answer only after the commit)."""

    async def set_webhook(self) -> None:
        """Tell the platform where the webhook is."""

    async def poll(self, stopping: asyncio.Event) -> None:
        """Fetch updates until ``stopping`` is set."""

    async def start(self) -> None:
        """Connect (check the token)."""

    async def stop(self) -> None:
        """Disconnect."""


def web_app(
    channels: list[Channel],
    storage: SQLiteStorage,
    clock: Callable[[], datetime] = utcnow,
) -> web.Application:
    """The service's web server.

    It serves ``/healthz``, each channel's webhook if configured, ``/media/<token>.png``: the
    pictures (charts) sent to Zalo by URL, and ``/media/<token>/<file name>``: the files
    (reports, data exports) sent to Zalo as download links, until they expire. The tokens are
    random and long; nothing else is served.

    Args:
        channels: The chat platform adapters.
        storage: The open database.
        clock: Current UTC time (for the pictures' expiry).

    Returns:
        The aiohttp application.
    """
    app = web.Application(client_max_size=MAX_BODY)

    async def health(request: web.Request) -> web.Response:
        async with storage.transaction() as tx:
            await tx.get_meta("health")
        return web.json_response({"ok": True})

    async def media(request: web.Request) -> web.Response:
        async with storage.transaction() as tx:
            found = await tx.get_media(request.match_info["token"], clock())
        if found is None or found[0] != "image/png":
            raise web.HTTPNotFound()
        headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
        return web.Response(body=found[1], content_type=found[0], headers=headers)

    async def download(request: web.Request) -> web.Response:
        async with storage.transaction() as tx:
            found = await tx.get_media(request.match_info["token"], clock())
        if found is None or found[0] == "image/png":
            raise web.HTTPNotFound()
        headers = {
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{request.match_info["name"]}"',
        }
        return web.Response(body=found[1], content_type=found[0], headers=headers)

    app.router.add_get("/healthz", health)
    app.router.add_get(r"/media/{token:[A-Za-z0-9_-]{8,64}}.png", media)
    app.router.add_get(r"/media/{token:[A-Za-z0-9_-]{8,64}}/{name:[A-Za-z0-9_.-]{1,100}}",
                       download)
    for channel in channels:
        if channel.webhook_url:
            app.router.add_post(channel.webhook_path(), channel.webhook)
    return app


def make_channels(settings: Settings, app: App) -> list[Channel]:
    """The chat platforms that have a token set."""
    channels: list[Channel] = []
    if settings.telegram_token:
        from bot.handlers.telegram import TelegramChannel

        channels.append(TelegramChannel(settings, app.service, app.storage))
    if settings.zalo_token:
        from bot.handlers.zalo import ZaloChannel

        channels.append(ZaloChannel(settings, app.service))
    return channels


async def run_channels(settings: Settings) -> None:
    """Serve every configured platform until SIGINT or SIGTERM: webhook or polling each."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    async with open_app(settings, []) as app:
        channels = make_channels(settings, app)
        pollers: list[asyncio.Task[None]] = []
        for channel in channels:
            await channel.start()
            app.outbox.add_channel(channel)
        server = web_app(channels, app.storage, app.service.clock)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("listening on %s (public URL: %s)", settings.listen, settings.public_url or "-")
        try:
            for channel in channels:
                if channel.webhook_url:
                    await channel.set_webhook()
                    log.info("%s: webhook mode", channel.channel)
                else:
                    log.info("%s: polling mode", channel.channel)
                    pollers.append(asyncio.create_task(channel.poll(stopping)))
            await stopping.wait()
        finally:
            for poller in pollers:
                poller.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            await runner.cleanup()
            await app.outbox.stop()
            for channel in channels:
                await channel.stop()


async def run(settings: Settings) -> None:
    """Start the service: every platform with a token, or else the local terminal chat."""
    if settings.telegram_token or settings.zalo_token:
        await run_channels(settings)
    else:
        await run_local(settings)
