"""Test harness: the real service on a temporary database, driven over a chat channel.

A transcript is written once against :class:`Person` (``say``/``pick``) and runs on every
channel: the text-only channel (numbered lists, typed numbers) and Telegram (buttons, through
the fake Bot API server on loopback). Zalo joins the same list later.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import charts
from bot.clubs import create_club
from bot.conversations.registry import FLOWS
from bot.engine import Engine, Flow
from bot.exports import Exports
from bot.messages import Inbound, OutMessage, decode_button
from bot.outbox import OutboxWorker
from bot.render import as_text
from bot.service import FloodLimit, Service
from storage.base import Storage
from storage.sqlite import SQLiteStorage


class Clock:
    """A clock tests can move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Received:
    """A message as a person sees it.

    ``photo`` is the PNG of a chart sent with it; ``document`` the name and bytes of a file.
    """

    text: str
    labels: list[str] = field(default_factory=list)
    raw: Any = None
    photo: bytes | None = None
    document: tuple[str, bytes] | None = None

    def __contains__(self, fragment: str) -> bool:
        return fragment in self.text


class TextChannel:
    """A text-only channel: collects what would be sent, choices as numbered lists.

    A chart (``raw.chart``, its labels translated) is drawn as the platforms' adapters draw
    it, so ``photo`` is set here too and a transcript can check it on every channel. A file
    is read from the media store (``document``). It cannot edit messages, so progress
    updates (``replaces``) are left out.
    """

    channel = "text"
    rate = 1000.0
    chat_rate = 1000.0

    def __init__(self) -> None:
        self.inbox: dict[str, list[Received]] = {}
        self.counter = 0
        self.storage: Any = None  # set with the clock when the bot opens
        self.clock: Any = None

    async def send(self, chat_id: str, message: OutMessage) -> None:
        if message.replaces:
            return
        photo = await charts.picture(message.chart)
        document = None
        if message.document is not None:
            async with self.storage.transaction() as tx:
                found = await tx.get_media(message.document["token"], self.clock())
            assert found is not None, "the file is not in the media store"
            document = (message.document["filename"], found[1])
        shown = Received(as_text(message), [b.label for b in message.buttons], message, photo,
                         document)
        self.inbox.setdefault(chat_id, []).append(shown)


class Bot:
    """The service with a database in ``tmp_path`` and a moveable clock."""

    busy_timeout = 5.0  # seconds; fault tests shorten it
    backend = "sqlite"  # or "postgres": a database of its own on the test cluster

    def __init__(self, db: Path) -> None:
        self.db = db
        self.clock = Clock()
        self.storage: Storage
        if self.backend == "postgres":
            from storage.postgres import PostgresStorage
            from tests.test_storage_contract import pg_cluster

            name = "h_" + hashlib.sha1(str(db).encode()).hexdigest()[:20]
            self.storage = PostgresStorage(pg_cluster().create_database(name),
                                           busy_timeout=self.busy_timeout)
        else:
            self.storage = SQLiteStorage(db, busy_timeout=self.busy_timeout)
        self.service: Service
        self.outbox: OutboxWorker
        self.exports: Exports

    async def open(self, *senders: Any) -> None:
        await self.storage.open()
        # Transcripts type faster than a person can (and the clock stands still): no flood
        # limit here; tests of the limit set their own.
        self.service = Service(self.storage, Engine(FLOWS), clock=self.clock,
                               flood=FloodLimit(10**9))
        self.outbox = OutboxWorker(self.storage, list(senders), self.clock)
        self.exports = Exports(self.storage, self.clock)

    async def close(self) -> None:
        await self.outbox.stop()
        await self.storage.close()

    def deploy(self, flows: Sequence[Flow]) -> None:
        """A deploy between two messages: the same database, an engine with ``flows``."""
        self.service.engine = Engine(flows)

    async def new_club(self, **overrides: Any) -> dict[str, Any]:
        values = {
            "name": "CLB LTHTGN bản Lốc",
            "commune": "Thông Thụ",
            "district": "Quế Phong",
            "province": "Nghệ An",
            "meeting_day": 15,
            **overrides,
        }
        async with self.storage.transaction() as tx:
            return await create_club(tx, now=self.clock(), **values)

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self.storage.transaction() as tx:
            rows = await tx._all(sql, args)  # the SQLite backend's helper, for assertions
        return [dict(row) for row in rows]


class TextPerson:
    """A person typing on the text-only channel."""

    def __init__(self, harness: TextHarness, user_id: str, name: str) -> None:
        self.harness = harness
        self.user_id = user_id
        self.name = name
        self.seen = 0
        self.message_ids = iter(range(1, 10**6))

    @property
    def messages(self) -> list[Received]:
        return self.harness.channel.inbox.get(self.user_id, [])

    async def send(self, text: str, external_id: str | None = None) -> None:
        self.harness.channel.counter += 1
        inbound = Inbound(
            channel="text",
            user_id=self.user_id,
            chat_id=self.user_id,
            external_id=external_id or f"u{self.harness.channel.counter}",
            text=text,
            message_id=str(next(self.message_ids)),
            display_name=self.name,
            locale="vi",
        )
        await self.harness.bot.service.handle(inbound)
        await self.harness.bot.exports.wait()
        await self.harness.bot.outbox.drain()

    async def say(self, text: str) -> Received:
        """Type ``text``; return the (single) reply."""
        await self.send(text)
        return self.last_new()

    async def pick(self, label: str) -> Received:
        """Choose an answer by its label: on a text channel, type its number.

        A shortcut shown as ``- Label: /command`` is followed by typing the command.
        """
        last = self.messages[-1]
        if label not in last.labels:
            raise AssertionError(f"no choice {label!r} in {last.labels}")
        button = last.raw.buttons[last.labels.index(label)]
        key = decode_button(button.data).key
        if key.startswith("/"):
            assert f"- {label}: {key}" in last.text
            return await self.say(key)
        return await self.say(str(button.number))

    def last_new(self) -> Received:
        new = self.messages[self.seen:]
        assert new, f"{self.name} got no reply"
        self.seen = len(self.messages)
        return new[-1]

    def unread(self) -> list[Received]:
        new = self.messages[self.seen:]
        self.seen = len(self.messages)
        return new


class TextHarness:
    """The bot on the text-only channel."""

    kind = "text"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.channel = TextChannel()
        self._people = 0

    def person(self, name: str = "Bác") -> TextPerson:
        self._people += 1
        return TextPerson(self, f"p{self._people}", name)


@contextlib.asynccontextmanager
async def text_harness(tmp_path: Path) -> AsyncIterator[TextHarness]:
    bot = Bot(tmp_path / "ishc.sqlite3")
    harness = TextHarness(bot)
    await bot.open(harness.channel)
    harness.channel.storage, harness.channel.clock = bot.storage, bot.clock
    try:
        yield harness
    finally:
        await bot.close()


class TelegramPerson(TextPerson):
    """A person on Telegram: types through the fake Bot API server, taps real buttons."""

    def __init__(self, harness: TelegramHarness, user_id: int, name: str) -> None:
        self.harness = harness  # type: ignore[assignment]
        self.user_id = user_id  # type: ignore[assignment]
        self.name = name
        self.seen = 0
        self.updates: dict[str, dict] = {}

    @property
    def messages(self) -> list[Received]:
        fake = self.harness.fake
        return [
            Received(m.text, _labels(m.reply_markup), m, m.photo, m.document)
            for m in fake.messages_to(self.user_id)
        ]

    async def send(self, text: str, external_id: str | None = None) -> None:
        fake = self.harness.fake
        if external_id is not None and external_id in self.updates:
            fake.redeliver(self.updates[external_id])
        else:
            update = fake.push_text(self.user_id, text, first_name=self.name)
            if external_id is not None:
                self.updates[external_id] = update
        await self.harness.settle()

    async def pick(self, label: str) -> Received:
        """Tap the button with this label under the last message."""
        last = self.messages[-1]
        buttons = _buttons(last.raw.reply_markup)
        if label not in buttons:
            raise AssertionError(f"no button {label!r} in {list(buttons)}")
        self.harness.fake.push_callback(self.user_id, buttons[label], message=last.raw.message)
        await self.harness.settle()
        return self.last_new()

    async def share_contact(self, phone: str, own: bool = True) -> Received:
        contact_user = self.user_id if own else self.user_id + 1
        self.harness.fake.push_contact(self.user_id, phone, contact_user_id=contact_user)
        await self.harness.settle()
        return self.last_new()


def _buttons(markup: dict | None) -> dict[str, str]:
    rows = (markup or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def _labels(markup: dict | None) -> list[str]:
    return list(_buttons(markup))


class PlatformHarness:
    """The bot on a chat platform, polling its fake Bot API server on loopback.

    Subclasses say how to build the channel and when every pushed update has been taken in.
    """

    kind = ""

    def __init__(self, bot: Bot, fake: Any) -> None:
        self.bot = bot
        self.fake = fake
        self._people = 0
        self.tasks: list[Any] = []
        self.pushed = 0  # updates pushed to the fake, redeliveries included

    def make_channel(self) -> Any:
        raise NotImplementedError

    def taken_in(self) -> bool:
        """Whether every pushed update has been processed (committed)."""
        raise NotImplementedError

    async def start(self) -> None:
        import asyncio

        self.channel = self.make_channel()
        await self.channel.start()
        self.bot.outbox.add_channel(self.channel)
        self.tasks = [
            asyncio.create_task(self.channel.poll(lambda: None)),
            asyncio.create_task(self.bot.outbox.run()),
        ]

    async def stop(self) -> None:
        import asyncio

        await self.bot.outbox.stop()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.channel.stop()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every pushed update is committed and every due reply is sent."""
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            if not self.taken_in() or self.bot.exports.busy():
                continue
            if not self.bot.outbox.idle():
                continue
            await self.bot.outbox.flush()
            async with self.bot.storage.transaction() as tx:
                if await tx.due_outbox(self.bot.clock(), 1):
                    self.bot.outbox.wake()  # e.g. a retry the clock just made due
                    continue
            return
        raise TimeoutError("the bot did not settle")


class TelegramHarness(PlatformHarness):
    """The bot on Telegram (updates stay pending until the bot acknowledges them)."""

    kind = "telegram"

    def person(self, name: str = "Bác") -> TelegramPerson:
        self._people += 1
        return TelegramPerson(self, 5000 + self._people, name)

    def make_channel(self) -> Any:
        from bot.config import Settings
        from bot.handlers.telegram import TelegramChannel

        settings = Settings(
            db=str(self.bot.db),
            telegram_token=self.fake.token,
            telegram_api_url=self.fake.base_url,
            telegram_rate=1000.0,
            telegram_chat_rate=1000.0,
        )
        return TelegramChannel(settings, self.bot.service, self.bot.storage, 1)

    def taken_in(self) -> bool:
        return not self.fake.pending_updates


@contextlib.asynccontextmanager
async def platform_harness(
    tmp_path: Path, fake_class: Any, harness_class: type[PlatformHarness]
) -> AsyncIterator[Any]:
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with fake_class() as fake:
        harness = harness_class(bot, fake)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
            await bot.close()


def telegram_harness(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[TelegramHarness]:
    from tests.fake_telegram import FakeTelegram

    return platform_harness(tmp_path, FakeTelegram, TelegramHarness)


def zalo_harness(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[ZaloHarness]:
    from tests.fake_zalo import FakeZalo

    return platform_harness(tmp_path, FakeZalo, ZaloHarness)


class ZaloPerson(TextPerson):
    """A person on Zalo: everything is typed, choices are read off the numbered list."""

    def __init__(self, harness: ZaloHarness, user_id: str, name: str) -> None:
        self.harness = harness  # type: ignore[assignment]
        self.user_id = user_id
        self.name = name
        self.seen = 0
        self.events: dict[str, dict] = {}

    @property
    def messages(self) -> list[Received]:
        return [
            Received(m.text, _text_choices(m.text)[0], m, m.photo_bytes, m.download)
            for m in self.harness.fake.messages_to(self.user_id)
        ]

    async def send(self, text: str, external_id: str | None = None) -> None:
        fake = self.harness.fake
        if external_id is not None and external_id in self.events:
            fake.redeliver(self.events[external_id])
        else:
            event = fake.push_text(self.user_id, text, name=self.name)
            if external_id is not None:
                self.events[external_id] = event
        self.harness.pushed += 1
        await self.harness.settle()

    async def pick(self, label: str) -> Received:
        """Type the number of the answer (or the command of a shortcut)."""
        labels, answers = _text_choices(self.messages[-1].text)
        if label not in labels:
            raise AssertionError(f"no choice {label!r} in {labels}")
        return await self.say(answers[labels.index(label)])


def _text_choices(text: str) -> tuple[list[str], list[str]]:
    """The choices at the end of a text-only message: labels and what to type for each."""
    block = text.rsplit("\n\n", 1)[-1].split("\n")
    shortcuts = [line[2:].rsplit(": /", 1) for line in block if line.startswith("- ")]
    if block and all(len(s) == 2 for s in shortcuts) and len(shortcuts) == len(block):
        return [s[0] for s in shortcuts], [f"/{s[1]}" for s in shortcuts]
    numbered = [line.split(". ", 1) for line in block[:-1]]
    if len(block) < 2 or not all(len(n) == 2 and n[0].isdigit() for n in numbered):
        return [], []
    return [n[1] for n in numbered], [n[0] for n in numbered]


class ZaloHarness(PlatformHarness):
    """The bot on Zalo (an event is gone once polled, so count the ones processed).

    The service's web server runs on loopback and is the public URL, so the fake can fetch
    the charts sent as photo URLs (``public_url=None`` before ``start``: no web server).
    """

    kind = "zalo"
    public_url: str | None = ""  # "": the web server's own address

    async def start(self) -> None:
        self._web = contextlib.AsyncExitStack()
        if self.public_url == "":
            self.public_url = await self._web.enter_async_context(
                web_server([], self.bot.storage, self.bot.clock)
            )
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            await self._web.aclose()

    def person(self, name: str = "Bác") -> ZaloPerson:
        self._people += 1
        return ZaloPerson(self, f"{self._people:020x}", name)

    def make_channel(self) -> Any:
        from bot.config import Settings
        from bot.handlers.zalo import ZaloChannel

        settings = Settings(
            db=str(self.bot.db),
            zalo_token=self.fake.token,
            zalo_api_url=self.fake.base_url,
            zalo_rate=1000.0,
            zalo_chat_rate=1000.0,
            public_url=self.public_url or None,
        )
        return ZaloChannel(settings, self.bot.service, poll_timeout=1)

    def taken_in(self) -> bool:
        return self.channel.handled >= self.pushed


@contextlib.asynccontextmanager
async def web_server(
    channels: list[Any], storage: Any, clock: Any = None, readiness: Any = None
) -> AsyncIterator[str]:
    """The service's web server (health, webhooks, media) on a free loopback port: its URL."""
    from aiohttp import web

    from bot.service import utcnow
    from bot.web import web_app

    runner = web.AppRunner(web_app(channels, storage, clock or utcnow, readiness), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
