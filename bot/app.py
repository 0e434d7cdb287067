"""Wiring: settings -> storage -> engine -> service -> channels, outbox and sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

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
        scheduler.start()
        worker = asyncio.create_task(outbox.run())
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
        await repl(channel, app.outbox.drain, banner)


async def run(settings: Settings) -> None:
    """Start the service: Telegram if a token is set, otherwise the local terminal chat."""
    if settings.telegram_token:
        from bot.handlers.telegram import run_telegram

        await run_telegram(settings)
    else:
        await run_local(settings)
