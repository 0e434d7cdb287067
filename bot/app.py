"""Wiring: settings -> storage -> engine -> service -> channels, outbox and background tasks.

Every background task runs under one :class:`bot.supervisor.Supervisor`: the outbox sender,
each poller, the reminder scan, the alert escalation, the timeout sweeper and the export
runner. A failure is logged and retried; the process exits non-zero only when it cannot go
on (exit code 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot import alerts, bots, metrics, reminders
from bot.backup import ServiceLock
from bot.config import Settings
from bot.conversations.registry import FLOWS
from bot.demo import seed
from bot.engine import Engine
from bot.exports import Exports
from bot.handlers.local import LocalChannel, repl
from bot.i18n import LOCALES_DIR, N_, catalog, gettext
from bot.outbox import ChannelSender, OutboxWorker
from bot.service import FloodLimit, Service, utcnow
from bot.supervisor import Beat, Fatal, Supervisor
from bot.web import Readiness, Webhook, web_app
from storage.backends import is_postgres, sqlite_path, storage_for
from storage.base import Storage
from storage.bots import RegisteredBot

log = logging.getLogger(__name__)

TICK = 60.0  # seconds between runs of the reminder scan, the sweeper and the export runner
BANNER = N_(
    "ishc-bot local chat (database: {db})\n"
    "You are typing as the chair. Switch with /as chunhiem | thuquy | tnv | thanhvien | moi "
    "| <any name>.\n"
    "Demo member invite code: {code} (as a new person, type it or /start {code}).\n"
    "Type /menu to begin, /quit to leave."
)


@dataclass
class App:
    """The running pieces, for the entry point and for tests."""

    settings: Settings
    storage: Storage
    service: Service
    outbox: OutboxWorker
    exports: Exports
    supervisor: Supervisor


@contextlib.asynccontextmanager
async def open_app(
    settings: Settings, senders: list[ChannelSender], stopping: asyncio.Event | None = None
) -> AsyncIterator[App]:
    """Open the database and start the background tasks; stop them on exit."""
    if not catalog("vi"):
        raise RuntimeError(f"no Vietnamese catalog found in {LOCALES_DIR}")
    # One service per SQLite file, or fail here (PostgreSQL serves several processes).
    lock = None if is_postgres(settings.db) else ServiceLock(sqlite_path(settings.db)).acquire()
    storage = storage_for(settings.db, claim_lease=settings.claim_lease)
    await storage.open()
    storage.on_transaction(metrics.TRANSACTION_SECONDS.observe)
    try:
        flood = FloodLimit(settings.flood_messages, settings.flood_seconds)
        service = Service(storage, Engine(FLOWS), settings.tz, settings.flow_timeout,
                          flood=flood, commit_batch=settings.commit_batch)
        outbox = OutboxWorker(storage, senders, utcnow, tz=settings.tz)
        exports = Exports(storage, utcnow)
        supervisor = Supervisor(stopping)
        supervisor.loop("outbox", outbox.run, stale_after=30)
        # Tasks one process runs for all (several may share a PostgreSQL database): the
        # others stand by and take over within seconds when it dies.
        lead = storage.lead
        supervisor.every("sweeper", TICK, service.sweep, lead=lead)
        supervisor.every("exports", TICK, exports.resume, lead=lead)  # interrupted files
        # Reminders are computed from the database each minute, and once at start (what was
        # missed while the service was down still goes out if it is still relevant).
        if settings.reminders:
            supervisor.every("reminders", TICK,
                             lambda: reminders.scan(storage, settings.tz, utcnow(),
                                                    rate=outbox.rates()), lead=lead)
        # Health alerts nobody answered go to the whole board (once each), whatever the hour.
        supervisor.every("alerts", TICK,
                         lambda: alerts.escalate(storage, utcnow(), settings.alert_escalate),
                         lead=lead)
        try:
            yield App(settings, storage, service, outbox, exports, supervisor)
        finally:
            await outbox.stop()
            await supervisor.stop()
    finally:
        await storage.close()
        if lock is not None:
            lock.release()


async def run_local(settings: Settings) -> int:
    """The terminal chat on the demo club (no chat platform needed)."""
    async with open_app(settings, []) as app:
        code = await seed(app.storage, utcnow(), settings.tz)
        channel = LocalChannel(app.service)
        app.outbox.add_channel(channel)
        banner = gettext(BANNER, db=settings.db, code=code or "-") + "\n"

        async def drain() -> None:
            await app.exports.wait()  # files asked for are built, then everything sent
            await app.outbox.drain()

        await repl(channel, drain, banner)
    return 0


class Channel(ChannelSender, Webhook, Protocol):
    """What the runner needs from a chat platform adapter (see ``bot/handlers/``)."""

    poll_timeout: int

    async def set_webhook(self) -> None:
        """Tell the platform where the webhook is."""

    async def poll(self, beat: Beat) -> None:
        """Fetch and handle updates until cancelled, calling ``beat`` after each round."""

    async def start(self) -> None:
        """Connect (check the token); raise :class:`Fatal` if it is refused."""

    async def stop(self) -> None:
        """Disconnect."""


async def registered_bots(storage: Storage) -> list[RegisteredBot]:
    """Every registered bot (``ishc-bot bot add``), disabled ones too."""
    async with storage.transaction() as tx:
        return [bot for bot, _ in await tx.list_bots()]


def make_channels(
    settings: Settings,
    app: App,
    registered: Sequence[RegisteredBot] = (),
    env: Mapping[str, str] | None = None,
) -> list[Channel]:
    """The bots that have a token: the environment bots, then each registered bot.

    Args:
        settings: The service's settings (the environment bots' tokens).
        app: The running pieces.
        registered: The registered bots (see :mod:`bot.bots`); a disabled one, or one whose
            token variable is not set in ``env`` (a warning), is left out.
        env: Where the registered bots' tokens are read (default: the process environment).
    """
    from bot.handlers.telegram import TelegramChannel
    from bot.handlers.zalo import ZaloChannel

    channels: list[Channel] = []
    if settings.telegram_token:
        channels.append(TelegramChannel(settings, app.service, app.storage))
    if settings.zalo_token:
        channels.append(ZaloChannel(settings, app.service))
    for bot, token in bots.serving(list(registered), os.environ if env is None else env):
        own = bots.settings_for(settings, bot, token)
        if bot.platform == "telegram":
            channels.append(TelegramChannel(own, app.service, app.storage, channel=bot.channel))
        else:
            channels.append(ZaloChannel(own, app.service, channel=bot.channel))
    return channels


async def _retrying(
    what: str, attempt: Callable[[], Awaitable[object]], stopping: asyncio.Event
) -> bool:
    """Run a start-up step until it works, waiting longer each time (at most a minute).

    Args:
        what: What failed, for the log (e.g. ``"telegram: cannot connect"``).
        attempt: The step; :class:`Fatal` from it is not retried.
        stopping: Set when the service is told to stop.

    Returns:
        ``True`` once it worked, ``False`` if the service was stopped meanwhile.
    """
    wait = 1.0
    while not stopping.is_set():
        try:
            await attempt()
            return True
        except Fatal:
            raise
        except Exception as error:
            log.warning("%s (%r); retrying in %.0fs", what, error, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)
            wait = min(60.0, wait * 2)
    return False


async def _connect(channel: Channel, stopping: asyncio.Event) -> bool:
    """Start a channel, trying again while the platform cannot be reached."""
    return await _retrying(f"{channel.channel}: cannot connect", channel.start, stopping)


async def _set_webhook(channel: Channel, stopping: asyncio.Event) -> bool:
    """Register a channel's webhook, trying again while the platform fails (5xx, timeouts).

    Meanwhile the web server already answers the webhook the platform may still have from
    the last run.
    """
    return await _retrying(f"{channel.channel}: cannot set the webhook", channel.set_webhook,
                           stopping)


async def load_bots(storage: Storage, stopping: asyncio.Event) -> list[RegisteredBot] | None:
    """The registered bots, read again while the database is unavailable (locked, full).

    Returns:
        The bots, or ``None`` if the service was stopped meanwhile.
    """
    found: list[RegisteredBot] = []

    async def read() -> None:
        found[:] = await registered_bots(storage)

    return found if await _retrying("cannot read the registered bots", read, stopping) else None


async def run_channels(settings: Settings) -> int:
    """Serve every configured platform until SIGINT or SIGTERM: webhook or polling each.

    Returns:
        The exit code: 0 after a signal, 1 if the service could not go on.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    async with open_app(settings, [], stopping) as app:
        registered = await load_bots(app.storage, stopping)
        if registered is None:
            return 0
        channels = make_channels(settings, app, registered)
        started: list[Channel] = []
        runner: web.AppRunner | None = None
        try:
            for channel in channels:
                if not await _connect(channel, stopping):
                    return 0
                started.append(channel)
                app.outbox.add_channel(channel)
            readiness = Readiness(app.storage, utcnow, app.supervisor, app.outbox)
            server = web_app(channels, app.storage, utcnow, readiness)
            runner = web.AppRunner(server, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, settings.host, settings.port).start()
            log.info("listening on %s (public URL: %s)", settings.listen,
                     settings.public_url or "-")
            for channel in channels:
                if channel.webhook_url:
                    if not await _set_webhook(channel, stopping):
                        return 0
                    log.info("%s: webhook mode", channel.channel)
                else:
                    log.info("%s: polling mode", channel.channel)
                    app.supervisor.loop(f"{channel.channel}_poller", channel.poll,
                                        stale_after=channel.poll_timeout + 35.0,
                                        lead=app.storage.lead)
            await stopping.wait()
        except Fatal as error:
            log.critical("cannot go on: %s", error)
            return 1
        finally:
            if runner is not None:
                await runner.cleanup()  # no more webhooks
            await app.outbox.stop()  # the sends in flight finish and are recorded
            await app.supervisor.stop()
            for channel in started:
                await channel.stop()
        return 1 if app.supervisor.fatal else 0


async def run(settings: Settings) -> int:
    """Start the service: every bot with a token, or else the local terminal chat.

    Returns:
        The process exit code.
    """
    if settings.telegram_token or settings.zalo_token or await _any_bot(settings):
        return await run_channels(settings)
    return await run_local(settings)


async def _any_bot(settings: Settings) -> bool:
    """Whether a registered bot would run (enabled, its token variable set)."""
    storage = storage_for(settings.db, claim_lease=settings.claim_lease)
    await storage.open()
    try:
        return bool(bots.serving(await registered_bots(storage), os.environ))
    finally:
        await storage.close()
