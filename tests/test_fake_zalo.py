"""The fake Zalo server speaks the Zalo Bot API as documented (platforms.md §1)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import aiohttp
import pytest
from aiohttp import web

try:
    from tests.fake_zalo import FakeZalo, Person, zalo_id
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fake_zalo import FakeZalo, Person, zalo_id

USER = "6ede9afa66b88fe6d6a9"
OTHER = "0a1b2c3d4e5f60718293"
HEX20 = re.compile(r"[0-9a-f]{20}")


@pytest.fixture
async def fake():
    async with FakeZalo() as server:
        yield server


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def call(fake, http):
    """POST JSON like the bot's client; return (HTTP status, body)."""

    async def _call(method: str, token: str | None = None, **params):
        url = f"{fake.base_url}{token or fake.token}/{method}"
        async with http.post(url, json=params) as response:
            return response.status, await response.json()

    return _call


async def test_base_url_and_get_me(fake, call):
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/bot")
    status, body = await call("getMe")
    assert status == 200
    assert body == {
        "ok": True,
        "result": {
            "id": "1459232241454765289",
            "account_name": "bot.TestIshc",
            "account_type": "BASIC",
            "can_join_groups": False,
        },
    }
    assert fake.calls == [("getMe", {})]


async def test_get_with_query_string_and_form_body(fake, http):
    url = f"{fake.base_url}{fake.token}/sendMessage"
    async with http.get(url, params={"chat_id": USER, "text": "qua GET"}) as response:
        assert (await response.json())["ok"] is True
    async with http.post(url, data={"chat_id": USER, "text": "123"}) as response:
        assert (await response.json())["ok"] is True
    assert [(m.chat_id, m.text) for m in fake.sent] == [(USER, "qua GET"), (USER, "123")]


async def test_method_names_are_case_sensitive(fake, call):
    for wrong in ("getme", "GetMe", "sendmessage", "noSuchMethod"):
        status, body = await call(wrong)
        assert status == 200
        assert body == {"ok": False, "error_code": 404, "description": "Not found"}
    assert [name for name, _ in fake.calls] == ["getme", "GetMe", "sendmessage", "noSuchMethod"]


async def test_wrong_token_is_401(fake, call):
    status, body = await call("getMe", token="1:wrong")
    assert status == 200
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert fake.calls == []


async def test_send_message_recorded_and_too_long_refused(fake, call):
    status, body = await call("sendMessage", chat_id=USER, text="Chào bác")
    assert status == 200
    assert body["ok"] is True
    result = body["result"]
    assert HEX20.fullmatch(result["message_id"])
    assert isinstance(result["date"], int)
    assert abs(result["date"] - time.time() * 1000) < 60_000
    (sent,) = fake.sent
    assert (sent.chat_id, sent.text, sent.method) == (USER, "Chào bác", "sendMessage")
    assert sent.message_id == result["message_id"]
    assert sent.photo is None

    # exactly 2000 characters (Vietnamese, NFC) is fine; 2001 is refused
    assert (await call("sendMessage", chat_id=USER, text="ệ" * 2000))[1]["ok"] is True
    status, body = await call("sendMessage", chat_id=USER, text="a" * 2001)
    assert status == 200
    assert body == {"ok": False, "error_code": 400, "description": "text too long"}
    status, body = await call("sendMessage", chat_id=USER, text="")
    assert (body["ok"], body["error_code"]) == (False, 400)
    status, body = await call("sendMessage", text="no chat")
    assert (body["ok"], body["error_code"]) == (False, 400)
    assert len(fake.sent) == 2
    assert [m.text[:1] for m in fake.messages_to(USER)] == ["C", "ệ"]
    assert fake.messages_to(OTHER) == []


async def test_send_photo_and_chat_action(fake, call):
    photo = "https://example.com/clb.jpg"
    status, body = await call("sendPhoto", chat_id=USER, photo=photo, caption="Ảnh CLB")
    assert body["ok"] is True
    assert HEX20.fullmatch(body["result"]["message_id"])
    _, body = await call("sendPhoto", chat_id=USER, photo=photo)
    assert body["ok"] is True
    first, second = fake.messages_to(USER)
    assert (first.method, first.photo, first.text) == ("sendPhoto", photo, "Ảnh CLB")
    assert (second.photo, second.text) == (photo, "")

    status, body = await call("sendChatAction", chat_id=USER, action="typing")
    assert status == 200
    assert body == {"ok": True}
    assert len(fake.sent) == 2
    assert fake.calls[-1] == ("sendChatAction", {"chat_id": USER, "action": "typing"})


async def test_get_updates_returns_one_event_object_at_a_time(fake, call):
    first = fake.push_text(USER, "Xin chào", name="Ted")
    second = fake.push_text(USER, "lần hai")
    assert fake.pending_events == [first, second]
    _, body = await call("getUpdates", timeout="1")
    assert body["ok"] is True
    event = body["result"]
    assert isinstance(event, dict)
    assert event == first
    assert event["event_name"] == "message.text.received"
    message = event["message"]
    assert message["from"] == {"id": USER, "display_name": "Ted", "is_bot": False}
    assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert message["text"] == "Xin chào"
    assert HEX20.fullmatch(message["message_id"])
    assert isinstance(message["date"], int)
    assert message["date"] > 1_700_000_000_000  # epoch milliseconds

    _, body = await call("getUpdates", timeout="1")
    assert body["result"] == second
    assert second["message"]["message_id"] != first["message"]["message_id"]
    assert fake.pending_events == []

    started = time.monotonic()
    status, body = await call("getUpdates", timeout="1")
    elapsed = time.monotonic() - started
    assert status == 200
    assert body == {"ok": False, "error_code": 408, "description": "Request timeout"}
    assert 0.9 <= elapsed < 2


async def test_other_event_kinds(fake, call):
    image = fake.push_image(USER)
    sticker = fake.push_sticker(USER)
    unsupported = fake.push_unsupported(USER)
    assert image["event_name"] == "message.image.received"
    assert image["message"]["photo"].startswith("https://")
    assert image["message"]["photo"].endswith(".jpg")
    assert "text" not in image["message"]
    assert sticker["event_name"] == "message.sticker.received"
    assert sticker["message"]["sticker"]
    assert sticker["message"]["url"].startswith("https://")
    assert unsupported["event_name"] == "message.unsupported.received"
    assert "text" not in unsupported["message"]
    ids = {e["message"]["message_id"] for e in (image, sticker, unsupported)}
    assert len(ids) == 3
    got = [(await call("getUpdates", timeout="0"))[1]["result"] for _ in range(3)]
    assert got == [image, sticker, unsupported]

    raw = fake.push_event({"event_name": "message.voice.received", "message": {"x": 1}})
    assert (await call("getUpdates", timeout="0"))[1]["result"] == raw


async def test_waiting_poll_returns_promptly_when_pushed(fake, call):
    poll = asyncio.create_task(call("getUpdates", timeout="10"))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    event = fake.push_text(USER, "dậy đi")
    status, body = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 0.5
    assert status == 200
    assert body["result"] == event


async def test_redeliver_requeues_same_message_id(fake, call):
    event = fake.push_text(USER, "một")
    _, body = await call("getUpdates", timeout="0")
    assert body["result"] == event
    assert fake.pending_events == []
    fake.redeliver(event)
    assert fake.pending_events == [event]
    _, again = await call("getUpdates", timeout="0")
    assert again["result"]["message"]["message_id"] == event["message"]["message_id"]
    assert again["result"] == event


async def test_webhook_set_info_conflict_delete(fake, call):
    status, body = await call("getWebhookInfo")
    assert body["ok"] is True
    assert body["result"]["url"] == ""

    # validation: https (or loopback http) and an 8-256 char secret
    _, body = await call("setWebhook", url="http://example.com/hook", secret_token="s3cret-ok")
    assert (body["ok"], body["error_code"]) == (False, 400)
    _, body = await call("setWebhook", url="https://example.com/hook", secret_token="short")
    assert (body["ok"], body["error_code"]) == (False, 400)
    _, body = await call("setWebhook", url="https://example.com/hook", secret_token="x" * 257)
    assert (body["ok"], body["error_code"]) == (False, 400)
    _, body = await call("setWebhook", url="https://example.com/hook")
    assert (body["ok"], body["error_code"]) == (False, 400)
    assert fake.webhook_url is None

    _, body = await call("setWebhook", url="https://example.com/hook", secret_token="s3cret-ok")
    assert body["ok"] is True
    assert body["result"]["url"] == "https://example.com/hook"
    assert isinstance(body["result"]["updated_at"], int)
    assert (fake.webhook_url, fake.webhook_secret) == ("https://example.com/hook", "s3cret-ok")
    _, body = await call("getWebhookInfo")
    assert body["result"]["url"] == "https://example.com/hook"

    fake.push_text(USER, "x")
    status, body = await call("getUpdates", timeout="0")
    assert status == 200
    assert (body["ok"], body["error_code"]) == (False, 409)
    assert len(fake.pending_events) == 1

    _, body = await call("deleteWebhook")
    assert body["ok"] is True
    assert body["result"]["url"] == ""
    assert fake.webhook_url is None and fake.webhook_secret is None
    _, body = await call("getUpdates", timeout="0")
    assert body["result"]["message"]["text"] == "x"


async def test_post_webhook_secret_header_wrapped_and_bare(fake, call):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/hook"
        _, body = await call("setWebhook", url=url, secret_token="s3cret-token")
        assert body["ok"] is True

        event = fake.push_text(USER, "qua webhook")
        assert await fake.post_webhook(event) == 200
        assert await fake.post_webhook(event, wrapped=False) == 200
        assert await fake.post_webhook(event, secret=None) == 200
        assert await fake.post_webhook(event, secret="wrong") == 200
        assert [h for h, _ in received] == ["s3cret-token", "s3cret-token", None, "wrong"]
        assert received[0][1] == {"ok": True, "result": event}
        assert received[1][1] == event

        with pytest.raises(ValueError, match="loopback"):
            await fake.post_webhook(event, url="http://example.com/hook")
        assert await fake.post_webhook(event, url=f"http://localhost:{port}/missing") == 404
    finally:
        await runner.cleanup()


async def test_post_webhook_without_url_is_an_error(fake):
    with pytest.raises(RuntimeError, match="no webhook url"):
        await fake.post_webhook({"event_name": "x"})


async def test_fail_next_quota_exceeded(fake, call):
    fake.fail_next("sendMessage", error_code=429, description="Quota exceeded")
    status, body = await call("sendMessage", chat_id=USER, text="một")
    assert status == 200
    assert body == {"ok": False, "error_code": 429, "description": "Quota exceeded"}
    assert fake.sent == []
    _, body = await call("sendMessage", chat_id=USER, text="một")
    assert body["ok"] is True
    assert [m.text for m in fake.sent] == ["một"]


async def test_fail_next_times_chat_and_http_status(fake, call):
    fake.fail_next("sendMessage", error_code=403, times=2, chat_id=OTHER)
    _, body = await call("sendMessage", chat_id=USER, text="ok")
    assert body["ok"] is True  # other chats unaffected
    for _ in range(2):
        status, body = await call("sendMessage", chat_id=OTHER, text="x")
        assert status == 200
        assert body == {"ok": False, "error_code": 403, "description": "Internal server error"}
    assert (await call("sendMessage", chat_id=OTHER, text="x"))[1]["ok"] is True

    fake.fail_next("getMe", error_code=502, description="Bad Gateway", http_status=502)
    status, body = await call("getMe")
    assert status == 502
    assert body == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    fake.fail_next("getMe", error_code=401)  # case-sensitive: "getme" would not match
    assert (await call("getMe"))[1]["description"] == "Unauthorized"


async def test_delay_next(fake, call):
    fake.delay_next("sendMessage", 0.3)
    started = time.monotonic()
    assert (await call("sendMessage", chat_id=USER, text="chậm"))[1]["ok"] is True
    assert time.monotonic() - started >= 0.28
    started = time.monotonic()
    assert (await call("sendMessage", chat_id=USER, text="nhanh"))[1]["ok"] is True
    assert time.monotonic() - started < 0.25


async def test_next_message_waits_per_chat(fake, call):
    waiter = asyncio.create_task(fake.next_message(USER, timeout=2))
    await asyncio.sleep(0.05)
    await call("sendMessage", chat_id=OTHER, text="người khác")
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await call("sendMessage", chat_id=USER, text="một")
    await call("sendMessage", chat_id=USER, text="hai")
    assert (await waiter).text == "một"
    assert (await fake.next_message(USER)).text == "hai"
    assert (await fake.next_message(OTHER)).text == "người khác"
    with pytest.raises(TimeoutError, match=rf"chat {USER}(?s:.*)'hai'"):
        await fake.next_message(USER, timeout=0.05)


async def test_stop_releases_waiting_poll():
    fake = FakeZalo()
    await fake.start()
    async with aiohttp.ClientSession() as http:
        url = f"{fake.base_url}{fake.token}/getUpdates"
        poll = asyncio.create_task(http.post(url, json={"timeout": "30"}))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.stop()
        with contextlib.suppress(aiohttp.ClientError):
            response = await asyncio.wait_for(poll, 3)
            response.release()
        assert time.monotonic() - started < 3


def test_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        FakeZalo(host="0.0.0.0")
    assert HEX20.fullmatch(zalo_id(1))
    assert zalo_id(1) != zalo_id(2)


async def echo_bot(fake: FakeZalo, http: aiohttp.ClientSession) -> None:
    base = f"{fake.base_url}{fake.token}"
    while True:
        async with http.post(f"{base}/getUpdates", json={"timeout": "5"}) as response:
            body = await response.json()
        if not body["ok"]:
            continue
        message = body["result"]["message"]
        text = message.get("text") or f"[{body['result']['event_name']}]"
        payload = {"chat_id": message["chat"]["id"], "text": f"echo: {text}"}
        async with http.post(f"{base}/sendMessage", json=payload) as response:
            await response.read()


async def test_many_people_concurrently(fake, http):
    task = asyncio.create_task(echo_bot(fake, http))
    try:
        people = [Person(fake, zalo_id(i), f"Người {i}") for i in range(50)]

        async def chat(person: Person) -> None:
            reply = await person.say(f"hi {person.user_id}")
            assert reply.text == f"echo: hi {person.user_id}"
            assert reply.chat_id == person.user_id
            reply = await person.send_unsupported()
            assert reply.text == "echo: [message.unsupported.received]"

        await asyncio.wait_for(asyncio.gather(*(chat(p) for p in people)), 20)
        assert len(fake.sent) == 100
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


async def test_send_photo_fetches_a_loopback_url(fake, call):
    async def picture(request):
        return web.Response(body=PNG_1x1, content_type="image/png")

    async def page(request):
        return web.Response(text="<html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/chart.png", picture)
    app.router.add_get("/page.png", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        _, body = await call("sendPhoto", chat_id=USER, photo=f"{base}/chart.png", caption="Ảnh")
        assert body["ok"] is True
        sent = fake.messages_to(USER)[-1]
        assert (sent.photo, sent.photo_bytes, sent.text) == (f"{base}/chart.png", PNG_1x1, "Ảnh")
        for url in (f"{base}/missing.png", f"{base}/page.png"):
            _, body = await call("sendPhoto", chat_id=USER, photo=url)
            assert (body["ok"], body["error_code"]) == (False, 400)
    finally:
        await runner.cleanup()
    _, body = await call("sendPhoto", chat_id=USER, photo=f"{base}/chart.png")  # nobody there
    assert (body["ok"], body["error_code"]) == (False, 400)
    assert len(fake.messages_to(USER)) == 1
    # Not loopback: accepted as given, never fetched.
    _, body = await call("sendPhoto", chat_id=USER, photo="https://example.com/clb.jpg")
    assert body["ok"] is True and fake.messages_to(USER)[-1].photo_bytes is None
