"""Never fail silently: a locked or unwritable database never consumes an update, a bad update
becomes a dead letter without stalling anything, floods are contained.

Each test here reproduces a failure found by injecting faults into the running service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot import deadletters, outbox
from bot.engine import Engine
from bot.messages import Inbound, Reply, T
from bot.service import ATTEMPTS, FloodLimit
from storage.errors import StorageUnavailable, is_transient
from tests.harness import Bot

APOLOGY = "Xin lỗi bác, tôi chưa đọc được tin nhắn vừa rồi"
SLOW_DOWN = "Bác nhắn chậm lại giúp tôi"


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch):
    """Transactions give up on another process's lock after 0.2 s, not 5 s."""
    monkeypatch.setattr(Bot, "busy_timeout", 0.2)


@contextlib.contextmanager
def locked(db: Path) -> Iterator[sqlite3.Connection]:
    """Another process holds the database's write lock inside the block (then commits)."""
    other = sqlite3.connect(db, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("COMMIT")
        other.close()


async def start_registration(chat) -> object:
    club = await chat.bot.new_club()
    person = chat.person("Lò Thị Mai")
    await person.say(f"/start {club['member_code']}")
    await person.say("Lò Thị Mai")
    reply = await person.say("nu")
    assert "sinh năm nào" in reply.text
    return person


def step_of(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return [row[0] for row in conn.execute("SELECT step_id FROM sessions")]


# A locked database never consumes an update


async def test_an_answer_sent_during_a_long_lock_is_applied_once_the_lock_ends(telegram_chat):
    person = await start_registration(telegram_chat)
    fake, db = telegram_chat.fake, telegram_chat.bot.db
    with locked(db):
        fake.push_text(person.user_id, "1950")
        await asyncio.sleep(1.0)  # several tries, each refused after the busy timeout
        assert fake.pending_updates, "the update was acknowledged while nothing was kept"
        assert person.unread() == [], "no error message while the database is locked"
    assert step_of(db) == ["birth"]
    await telegram_chat.settle()
    [reply] = person.unread()
    assert "Số điện thoại" in reply.text
    assert step_of(db) == ["phone"]
    assert len(await telegram_chat.bot.rows("SELECT * FROM inbox")) == 4


async def test_a_zalo_event_taken_during_a_lock_is_held_and_applied_after(zalo_chat):
    person = await start_registration(zalo_chat)
    fake, db = zalo_chat.fake, zalo_chat.bot.db
    with locked(db):
        fake.push_text(person.user_id, "1950")
        zalo_chat.pushed += 1
        await asyncio.sleep(1.0)
        assert not fake.pending_events, "the poller took it (Zalo forgets it now)"
        assert person.unread() == []
    await zalo_chat.settle()
    [reply] = person.unread()
    assert "Số điện thoại" in reply.text
    assert step_of(db) == ["phone"]


async def test_the_service_leaves_nothing_behind_when_the_database_refuses(text_chat):
    person = await start_registration(text_chat)
    bot = text_chat.bot
    inbound = Inbound(channel="text", user_id=person.user_id, chat_id=person.user_id,
                      external_id="late-1", text="1950", locale="vi")
    with locked(bot.db), pytest.raises(StorageUnavailable):
        await bot.service.handle(inbound)
    assert step_of(bot.db) == ["birth"]
    assert await bot.rows("SELECT * FROM inbox WHERE external_id = 'late-1'") == []
    handled = await bot.service.handle(inbound)  # the platform's redelivery
    assert not handled.duplicate and "Số điện thoại" in handled.queued[0].payload["text"]
    assert step_of(bot.db) == ["phone"]


async def test_a_read_only_database_refuses_updates_without_consuming_them(text_chat):
    person = await start_registration(text_chat)
    bot = text_chat.bot
    bot.storage._conn.execute("PRAGMA query_only = 1")  # what a read-only file does to writes
    inbound = Inbound(channel="text", user_id=person.user_id, chat_id=person.user_id,
                      external_id="ro-1", text="1950", locale="vi")
    with pytest.raises(StorageUnavailable, match=r"READONLY"):
        await bot.service.handle(inbound)
    bot.storage._conn.execute("PRAGMA query_only = 0")
    assert "Số điện thoại" in (await bot.service.handle(inbound)).queued[0].payload["text"]


def test_which_errors_mean_try_again_later():
    assert is_transient(_error("database is locked", sqlite3.SQLITE_BUSY))
    assert is_transient(_error("disk I/O error", sqlite3.SQLITE_IOERR | (3 << 8)))
    assert is_transient(_error("database or disk is full", sqlite3.SQLITE_FULL))
    assert is_transient(_error("attempt to write a readonly database", sqlite3.SQLITE_READONLY))
    assert is_transient(OSError(27, "File too large"))  # EFBIG: a file-size limit
    assert not is_transient(_error("CHECK constraint failed", sqlite3.SQLITE_CONSTRAINT))
    assert not is_transient(KeyError("chat"))


def _error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


# Poison updates: retried, then a dead letter; the conversation is kept


class Poison(list):
    """The attempts at handling "boom"; :meth:`fix` ships the fix."""

    def fix(self) -> None:
        self.monkeypatch.setattr(Engine, "advance", self.real)


@pytest.fixture
def poison(monkeypatch):
    """The engine fails (a bug) on the text "boom"; counts the attempts."""
    attempts = Poison()
    attempts.monkeypatch, attempts.real = monkeypatch, Engine.advance

    async def advance(self, session, ctx):
        if ctx.inbound.text == "boom":
            attempts.append(ctx.inbound.external_id)
            raise RuntimeError("a bug in a flow")
        return await attempts.real(self, session, ctx)

    monkeypatch.setattr(Engine, "advance", advance)
    monkeypatch.setattr("bot.service.RETRY_PAUSE", 0.0)
    return attempts


async def test_a_failing_update_becomes_a_dead_letter_and_the_conversation_goes_on(chat, poison):
    person = await start_registration(chat)
    reply = await person.say("boom")
    assert APOLOGY in reply.text
    assert len(poison) == ATTEMPTS
    [letter] = await chat.bot.rows("SELECT channel, status, attempts, error, inbound "
                                   "FROM dead_letters")
    assert letter["status"] == "dead" and letter["attempts"] == ATTEMPTS
    assert "RuntimeError: a bug in a flow" in letter["error"]
    assert '"text": "boom"' in letter["inbound"]
    assert step_of(chat.bot.db) == ["birth"], "the conversation is kept"
    reply = await person.say("1950")
    assert "Số điện thoại" in reply.text
    if chat.kind == "telegram":
        assert not chat.fake.pending_updates, "acknowledged: nothing stalls behind it"


async def test_one_apology_for_several_failures_in_a_row(text_chat, poison):
    person = await start_registration(text_chat)
    await person.say("boom")
    await person.send("boom")
    assert sum(APOLOGY in m.text for m in person.messages) == 1
    assert len(await text_chat.bot.rows("SELECT * FROM dead_letters")) == 2


async def test_an_operator_retries_a_dead_letter_once_the_bug_is_fixed(text_chat, poison):
    person = await start_registration(text_chat)
    await person.say("boom")
    [letter] = await deadletters.listed(text_chat.bot.storage)
    result = await deadletters.retry(text_chat.bot.service, letter.id)
    assert result.error and "a bug in a flow" in result.error  # not fixed yet: kept
    assert (await deadletters.listed(text_chat.bot.storage))[0].attempts == ATTEMPTS + 1
    poison.fix()
    result = await deadletters.retry(text_chat.bot.service, letter.id)
    assert result.error is None and result.replies == 1
    await text_chat.bot.outbox.drain()
    assert "năm" in person.unread()[-1].text  # "boom" is no birth year: asked again
    rows = await text_chat.bot.rows("SELECT status, retried_at FROM dead_letters")
    assert rows[0]["status"] == "retried" and rows[0]["retried_at"]
    with pytest.raises(deadletters.CannotRetry, match="retried already"):
        await deadletters.retry(text_chat.bot.service, letter.id)
    assert await deadletters.listed(text_chat.bot.storage) == []


# Malformed updates: dead letters, never a stall


MALFORMED_TELEGRAM = [
    {"message": "hello"},
    {"message": {"message_id": 5, "chat": "private", "from": {"id": 1}, "text": "hi"}},
    {"callback_query": {"id": "q", "message": {"chat": "x"}, "from": {"id": 2}}},
    {"message": {"chat": {"id": 3, "type": "private"}, "from": {"id": 3}, "text": "no id"}},
]


async def test_malformed_telegram_updates_do_not_stall_the_poller(telegram_chat):
    fake = telegram_chat.fake
    for body in MALFORMED_TELEGRAM:
        fake.push_update(dict(body))
    person = telegram_chat.person("Lan")
    reply = await person.say("/menu")
    assert "mã mời" in reply.text
    assert not fake.pending_updates
    letters = await telegram_chat.bot.rows("SELECT channel, external_id, raw FROM dead_letters")
    assert len(letters) == len(MALFORMED_TELEGRAM)
    assert {row["channel"] for row in letters} == {"telegram"}


async def test_malformed_zalo_events_do_not_stop_the_poller(zalo_chat):
    fake = zalo_chat.fake
    for body in ({"event_name": "message.text.received", "message": "oops"},
                 {"ok": True, "result": "nonsense"}, ["not", "an", "event"]):
        fake.push_event(body)
    zalo_chat.pushed += 5  # the list is taken as three events
    person = zalo_chat.person("Lan")
    reply = await person.say("/menu")
    assert "mã mời" in reply.text
    letters = await zalo_chat.bot.rows("SELECT channel FROM dead_letters")
    assert len(letters) == 5


# Webhooks: 400 for what is not an update, 503 while the database refuses


@pytest.fixture
async def hooks(tmp_path):
    """Both platforms in webhook mode on one web server."""
    from bot.config import Settings
    from bot.handlers.telegram import TelegramChannel
    from bot.handlers.zalo import ZaloChannel
    from tests.fake_telegram import FakeTelegram
    from tests.fake_zalo import FakeZalo
    from tests.harness import web_server

    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeTelegram() as telegram, FakeZalo() as zalo:
        settings = Settings(
            db=str(bot.db), telegram_token=telegram.token, telegram_api_url=telegram.base_url,
            telegram_webhook_url="https://x.org/tg", telegram_webhook_secret="tg-secret",
            zalo_token=zalo.token, zalo_api_url=zalo.base_url,
            zalo_webhook_url="https://x.org/zl", zalo_webhook_secret="zalo-secret",
        )
        channels = [TelegramChannel(settings, bot.service, bot.storage),
                    ZaloChannel(settings, bot.service)]
        await channels[0].start()
        try:
            async with web_server(channels, bot.storage) as base:
                yield bot, base
        finally:
            for channel in channels:
                await channel.stop()
            await bot.close()


def telegram_update(update_id: int, text: str = "/menu") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764300000, "text": text,
        "chat": {"id": 7001, "type": "private"}, "from": {"id": 7001, "first_name": "Lan"}}}


def zalo_event(message_id: str, text: str = "/menu") -> dict:
    return {"ok": True, "result": {"event_name": "message.text.received", "message": {
        "message_id": message_id, "text": text, "date": 1764300000000,
        "chat": {"id": "abc123", "chat_type": "PRIVATE"},
        "from": {"id": "abc123", "display_name": "Lan"}}}}


DEEP = b"[" * 10_000 + b"]" * 10_000


async def test_webhooks_answer_400_to_bodies_that_are_not_updates(hooks):
    bot, base = hooks
    telegram = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    zalo = {"X-Bot-Api-Secret-Token": "zalo-secret"}
    chat_as_text = {"update_id": 9, "message": {"message_id": 1, "chat": "7001",
                                                "from": {"id": 7001}, "text": "hi"}}
    bodies = [b"not json", DEEP, b'{"update_id": 1, "message": "hello"}', b"[1, 2]", b'"text"',
              b'{"update_id": "one"}', b"\xff\xfe"]
    async with aiohttp.ClientSession() as session:
        for body in [*bodies, _json(chat_as_text)]:
            async with session.post(f"{base}/tg", data=body, headers=telegram) as response:
                assert response.status == 400, body[:40]
        for body in [b"not json", DEEP, b"[1]", _json({"event_name": "message.text.received",
                                                       "message": "oops"})]:
            async with session.post(f"{base}/zl", data=body, headers=zalo) as response:
                assert response.status == 400, body[:40]
    letters = await bot.rows("SELECT channel FROM dead_letters ORDER BY id")
    assert [r["channel"] for r in letters] == ["telegram", "telegram", "zalo"]


async def test_webhooks_answer_503_while_the_database_refuses_then_200(hooks):
    bot, base = hooks
    telegram = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
    zalo = {"X-Bot-Api-Secret-Token": "zalo-secret"}
    async with aiohttp.ClientSession() as session:
        with locked(bot.db):
            async with session.post(f"{base}/tg", json=telegram_update(1),
                                    headers=telegram) as response:
                assert response.status == 503
                assert response.headers["Retry-After"]
            async with session.post(f"{base}/zl", json=zalo_event("m1"),
                                    headers=zalo) as response:
                assert response.status == 503
        assert await bot.rows("SELECT * FROM inbox") == []
        async with session.post(f"{base}/tg", json=telegram_update(1),
                                headers=telegram) as response:
            assert response.status == 200
        async with session.post(f"{base}/zl", json=zalo_event("m1"), headers=zalo) as response:
            assert response.status == 200
    assert len(await bot.rows("SELECT * FROM inbox")) == 2
    assert len(await bot.rows("SELECT * FROM outbox")) == 2


def _json(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


# Floods


async def test_a_flooding_chat_gets_one_note_and_is_not_answered_beyond_the_limit(text_chat):
    bot = text_chat.bot
    bot.service.flood = FloodLimit(messages=5, seconds=60)
    flooder, other = text_chat.person("Flood"), text_chat.person("Calm")
    for _ in range(30):
        await flooder.send("/menu")
    texts = [m.text for m in flooder.unread()]
    assert len(texts) == 6 and SLOW_DOWN in texts[5]
    assert sum(SLOW_DOWN in t for t in texts) == 1
    assert len(await bot.rows("SELECT * FROM inbox WHERE channel = 'text' AND external_id "
                              "LIKE 'u%'")) == 30, "every message is recorded"
    reply = await other.say("/menu")
    assert "mã mời" in reply.text, "other chats are answered as usual"
    bot.clock.advance(seconds=61)
    reply = await flooder.say("/menu")
    assert "mã mời" in reply.text and SLOW_DOWN not in reply.text


async def test_replies_waiting_for_one_chat_are_capped_but_alerts_are_not(text_chat):
    bot = text_chat.bot
    here = ("text", "p9", "vi")
    async with bot.storage.transaction() as tx:
        for n in range(outbox.BACKLOG + 10):
            await outbox.queue(tx, here, [Reply((T("{n}", n=n),))], bot.clock())
        waiting = await tx.waiting_for_chat("text", "p9")
    assert waiting == outbox.BACKLOG


# The outbox sender outlives the database's faults


class Collecting:
    channel, rate, chat_rate = "text", 1000.0, 1000.0

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, chat_id: str, message) -> None:
        self.sent.append(message.text)


async def test_the_sender_keeps_going_through_a_lock_and_delivers_after(tmp_path):
    bot = Bot(tmp_path / "ishc.sqlite3")
    sender = Collecting()
    await bot.open(sender)
    beats: list[int] = []
    worker = asyncio.create_task(bot.outbox.run(lambda: beats.append(1)))
    try:
        await asyncio.sleep(0.1)
        with locked(bot.db) as other:
            other.execute("INSERT INTO outbox (channel, chat_id, payload, next_attempt_at, "
                          "created_at) VALUES ('text', 'p1', ?, '2000-01-01T00:00:00+00:00', "
                          "'2000-01-01T00:00:00+00:00')", (_payload("committed before"),))
            before = len(beats)
            await asyncio.sleep(1.5)
            assert not worker.done(), "the sender stopped"
            assert bot.outbox.unavailable and len(beats) == before
        for _ in range(100):
            if sender.sent:
                break
            await asyncio.sleep(0.05)
        assert sender.sent == ["committed before"]
        assert bot.outbox.unavailable is None
    finally:
        await bot.outbox.stop()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await bot.close()


def _payload(text: str) -> str:
    import json

    return json.dumps({"text": text, "buttons": []})


# The operator's command line


async def test_deadletter_list_and_retry_on_the_command_line(text_chat, poison):
    from tests.test_cli import run

    person = await start_registration(text_chat)
    await person.say("boom")
    await text_chat.bot.service.reject("zalo", {"message": "oops"}, "AttributeError: oops")
    db = text_chat.bot.db
    listed = run(["deadletter", "list", "--json"], db)
    assert listed.returncode == 0, listed.stderr
    rows = {row["channel"]: row for row in json.loads(listed.stdout)}
    assert rows["text"]["error"] == "RuntimeError: a bug in a flow"
    assert rows["text"]["readable"] and not rows["zalo"]["readable"]
    assert "oops" in rows["zalo"]["raw"] and "Traceback" in rows["text"]["trace"]
    unreadable = run(["deadletter", "retry", str(rows["zalo"]["id"])], db)
    assert unreadable.returncode == 2 and "could not be read" in unreadable.stderr
    retried = run(["deadletter", "retry", str(rows["text"]["id"])], db)  # no bug in that process
    assert retried.returncode == 0, retried.stderr
    assert "1 reply(ies) queued" in retried.stdout
    assert "1 dead letter(s)" in run(["deadletter", "list"], db).stdout  # the unreadable one
