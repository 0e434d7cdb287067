"""The aiohttp transport (bot/handlers/http.py) against the fake Bot API servers, real HTTP."""

from __future__ import annotations

import asyncio
import io
import socket
import struct
import time
import zlib
from datetime import timedelta

import pytest
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.config import Settings
from bot.handlers import http
from bot.handlers.http import AiohttpRequest, HttpPool, get_updates_request
from bot.handlers.telegram import TelegramChannel
from bot.handlers.zalo import ZaloClient, ZaloError
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo

CHAT = 7001
MARKUP = {
    "inline_keyboard": [
        [{"text": "Đồng ý ✅", "callback_data": "yes:1"},
         {"text": "Không", "callback_data": "no:1"}],
        [{"text": "Xem thêm", "url": "https://example.org/a?b=1&c=đ"}],
    ]
}


def png() -> bytes:
    """A real 2x1 PNG (the fake checks the magic bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def record_peers(fake: FakeTelegram | FakeZalo) -> list[tuple[str, int]]:
    """Before ``start``: the client address of every request the fake serves, in order."""
    peers: list[tuple[str, int]] = []
    handle = fake._handle

    async def recording(request):
        peers.append(request.transport.get_extra_info("peername")[:2])
        return await handle(request)

    fake._handle = recording  # the route is bound at start
    return peers


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake):
    client = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(HttpPool()),
                 get_updates_request=get_updates_request())
    await client.initialize()
    try:
        yield client
    finally:
        await client.shutdown()


# What arrives


async def test_send_message_keeps_nested_markup_and_text(fake, bot):
    text = "Chào bác Lan 👋\nHọp CLB lúc 8:00 \"sáng mai\" — nhớ mang sổ."
    result = await bot.do_api_request(
        "sendMessage", {"chat_id": CHAT, "text": text, "reply_markup": MARKUP}
    )
    sent = fake.messages_to(CHAT)[-1]
    assert (sent.text, sent.reply_markup) == (text, MARKUP)
    assert result["message_id"] == sent.message_id and result["text"] == text
    method, params = fake.calls[-1]
    assert method == "sendmessage" and params["chat_id"] == CHAT  # an int on the wire
    assert params["reply_markup"] == MARKUP  # an object, not a JSON string inside JSON


async def test_a_numeric_looking_text_stays_a_string(fake, bot):
    await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "123"})
    assert fake.calls[-1][1]["text"] == "123"
    assert fake.messages_to(CHAT)[-1].text == "123"


async def test_photo_upload_with_caption_and_markup(fake, bot):
    picture = png()
    result = await bot.do_api_request("sendPhoto", {
        "chat_id": CHAT, "photo": InputFile(picture, filename="chart.png"),
        "caption": "Biểu đồ quỹ tháng 5", "reply_markup": MARKUP,
    })
    sent = fake.messages_to(CHAT)[-1]
    assert sent.method == "sendPhoto"
    assert sent.photo == picture
    assert sent.text == "Biểu đồ quỹ tháng 5" and sent.reply_markup == MARKUP
    assert result["photo"]


async def test_document_upload_keeps_bytes_and_a_vietnamese_file_name(fake, bot):
    data = bytes(range(256)) * 400  # binary, 100 kB
    name = "Báo cáo tháng 5.xlsx"
    await bot.do_api_request("sendDocument", {
        "chat_id": CHAT, "document": InputFile(data, filename=name), "caption": "Báo cáo",
    })
    sent = fake.messages_to(CHAT)[-1]
    assert sent.method == "sendDocument"
    assert sent.document == (name, data)


async def test_upload_from_a_file_handle(fake, bot):
    picture = png()
    await bot.do_api_request("sendPhoto", {
        "chat_id": CHAT, "photo": InputFile(io.BytesIO(picture), filename="chart.png"),
    })
    assert fake.messages_to(CHAT)[-1].photo == picture


async def test_get_me_and_a_call_without_parameters(fake, bot):
    me = await bot.do_api_request("getMe")
    assert me["username"] == fake.bot_user["username"]
    assert bot.username == fake.bot_user["username"]  # Bot.initialize read it too


# Errors


async def test_400_is_bad_request_with_telegrams_words(fake, bot):
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "x"})


async def test_403_is_forbidden(fake, bot):
    fake.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "x"})


async def test_429_is_retry_after_with_its_seconds(fake, bot):
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "x"})
    assert seconds(caught.value.retry_after) == 7


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_network_error(fake, bot, status):
    fake.fail_next("sendMessage", status=status)
    with pytest.raises(NetworkError) as caught:
        await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "x"})
    assert type(caught.value) is NetworkError  # not TimedOut or another subclass
    await bot.do_api_request("sendMessage", {"chat_id": CHAT, "text": "y"})  # still usable
    assert fake.messages_to(CHAT)[-1].text == "y"


async def test_an_answer_that_is_not_json_is_a_telegram_error():
    with pytest.raises(TelegramError, match="Invalid server response"):
        AiohttpRequest.parse_json_payload(b"<html>502 Bad Gateway</html>")
    assert AiohttpRequest.parse_json_payload('{"ok":true,"result":"Bà Tư"}'.encode()) == {
        "ok": True, "result": "Bà Tư"}
    # Bytes that are not UTF-8 are replaced, as PTB does, not refused.
    assert AiohttpRequest.parse_json_payload(b'{"ok":true,"result":"a\xffb"}') == {
        "ok": True, "result": "a\ufffdb"}


async def test_a_server_that_does_not_answer_in_time_is_timed_out(fake):
    client = Bot(fake.token, base_url=fake.base_url,
                 request=AiohttpRequest(HttpPool(), read_timeout=0.3))
    try:
        fake.delay_next("sendMessage", 5.0)
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await client.do_api_request("sendMessage", {"chat_id": CHAT, "text": "x"})
        assert time.monotonic() - started < 2.0
        # A call's own read timeout wins over the default.
        fake.delay_next("sendMessage", 0.6)
        await client.do_api_request("sendMessage", {"chat_id": CHAT, "text": "y"},
                                    read_timeout=3.0)
        assert fake.messages_to(CHAT)[-1].text == "y"
    finally:
        await client.shutdown()
        await client._request[1].shutdown()  # used without Bot.initialize


async def test_nobody_listening_is_a_network_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    request = AiohttpRequest(HttpPool())
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{port}/bot1:x/getMe")
        assert not isinstance(caught.value, TimedOut)
    finally:
        await request.shutdown()


def test_timeouts_follow_ptb():
    timeout = http._timeout(5.0, 5.0, 5.0, 1.0)
    assert (timeout.sock_connect, timeout.connect, timeout.sock_read, timeout.total) == (
        5.0, 6.0, 5.0, 16.0)
    unbounded = http._timeout(5.0, None, 5.0, None)
    assert (unbounded.sock_read, unbounded.connect, unbounded.total) == (None, None, None)
    request = AiohttpRequest()
    assert request.read_timeout == 5.0


# Connections


async def test_sequential_calls_reuse_one_connection():
    server = FakeTelegram()
    peers = record_peers(server)
    async with server:
        client = Bot(server.token, base_url=server.base_url, request=AiohttpRequest(HttpPool()))
        await client.initialize()
        try:
            for n in range(20):
                await client.do_api_request("sendMessage", {"chat_id": CHAT, "text": str(n)})
        finally:
            await client.shutdown()
    assert len(peers) == 21  # getMe and 20 messages
    assert len(set(peers)) == 1


async def test_concurrent_calls_stay_within_the_pool_and_reuse_it():
    server = FakeTelegram()
    peers = record_peers(server)
    async with server:
        pool = HttpPool(limit=4)
        client = Bot(server.token, base_url=server.base_url, request=AiohttpRequest(pool))
        await client.initialize()
        try:
            for _ in range(5):
                await asyncio.gather(*(
                    client.do_api_request("sendMessage", {"chat_id": CHAT + n, "text": "x"})
                    for n in range(20)))
        finally:
            await client.shutdown()
    assert len(peers) == 101
    assert len(set(peers)) <= 4


async def test_the_long_poll_does_not_hold_up_sends(fake):
    # Sends on a pool of ONE connection: a long poll on it would block them for seconds.
    client = Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(HttpPool(limit=1)),
                 get_updates_request=get_updates_request())
    await client.initialize()
    try:
        poll = asyncio.create_task(
            client.do_api_request("getUpdates", {"timeout": 3}, read_timeout=10.0))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        for n in range(5):
            await client.do_api_request("sendMessage", {"chat_id": CHAT, "text": str(n)})
        assert time.monotonic() - started < 1.0
        assert not poll.done()
        fake.push_text(CHAT, "chào")
        updates = await asyncio.wait_for(poll, 5.0)
        assert updates[0]["message"]["text"] == "chào"
    finally:
        await client.shutdown()


async def test_the_channel_sends_on_the_shared_pool_and_polls_apart(fake, tmp_path):
    settings = Settings(db=str(tmp_path / "x.sqlite3"), telegram_token=fake.token,
                        telegram_api_url=fake.base_url)
    channel = TelegramChannel(settings, _NoService(), _NoStorage(), poll_timeout=1)
    sends, polls = channel.bot._request[1], channel.bot._request[0]
    assert isinstance(sends, AiohttpRequest) and isinstance(polls, AiohttpRequest)
    assert sends._pool is http.SHARED and polls._pool is not http.SHARED
    await channel.bot.initialize()
    try:
        assert sends._session is http.SHARED.acquire()  # the very session Zalo would get
        await http.SHARED.release(sends._session)
        assert polls._session is not sends._session
    finally:
        await channel.bot.shutdown()
    assert http.SHARED.users == 0


class _NoService:
    hooks: list = []


class _NoStorage:
    def on_commit(self, topic, callback):
        pass


# The shared pool with Zalo


async def test_telegram_and_zalo_share_one_session_closed_by_the_last_user():
    pool = HttpPool()
    async with FakeTelegram() as telegram, FakeZalo() as zalo:
        request = AiohttpRequest(pool)
        client = Bot(telegram.token, base_url=telegram.base_url, request=request)
        zalo_client = ZaloClient(zalo.token, zalo.base_url, pool)
        await client.initialize()
        await zalo_client.call("sendMessage", {"chat_id": "u1", "text": "Chào bác 🌸"})
        session = request._session
        assert session is not None and zalo_client._session is session and pool.users == 2
        assert zalo.messages_to("u1")[-1].text == "Chào bác 🌸"
        await client.shutdown()
        assert not session.closed  # Zalo still uses it
        await zalo_client.call("sendMessage", {"chat_id": "u1", "text": "lần 2"})
        await zalo_client.close()
        assert session.closed and pool.users == 0
        # Taken again after that: a new session.
        await client.initialize()
        assert request._session is not session and not request._session.closed
        await client.shutdown()


async def test_zalo_client_still_checks_ok_and_maps_errors():
    async with FakeZalo() as zalo:
        client = ZaloClient(zalo.token, zalo.base_url, HttpPool())
        try:
            assert (await client.call("getMe"))["id"] == zalo.bot_id
            zalo.fail_next("sendMessage", error_code=403, description="Internal server error")
            with pytest.raises(ZaloError) as caught:
                await client.call("sendMessage", {"chat_id": "u1", "text": "x"})
            assert caught.value.code == 403
            zalo.flaky(["sendMessage"], 1.0)  # a proxy's 502 HTML page: not JSON
            with pytest.raises(ZaloError) as caught:
                await client.call("sendMessage", {"chat_id": "u1", "text": "x"})
            assert (caught.value.code, caught.value.description) == (502, "not JSON")
        finally:
            await client.close()
