"""The fake Telegram server speaks the Bot API well enough for python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import warnings

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

try:
    from tests.fake_telegram import FakeTelegram, Person
except ImportError:  # tests/ is not a package: pytest puts tests/ itself on sys.path
    from fake_telegram import FakeTelegram, Person

USER = 700_001


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake):
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t, callback_data=f"cb:{t}")] for t in labels]
    )


async def test_base_url_and_get_me(fake, bot):
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/bot")
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "ishc_test_bot"
    assert me.id == 123456
    assert fake.calls[0] == ("getme", {})


async def test_send_message_records_inline_keyboard(fake, bot):
    msg = await bot.send_message(USER, "Chào bác", reply_markup=keyboard("Có", "Không"))
    assert msg.text == "Chào bác"
    assert msg.chat.id == USER
    assert msg.from_user.username == "ishc_test_bot"
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "cb:Có"
    (sent,) = fake.sent
    assert sent.chat_id == USER
    assert sent.text == "Chào bác"
    assert sent.method == "sendMessage"
    assert sent.message_id == msg.message_id
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "Có", "callback_data": "cb:Có"}],
            [{"text": "Không", "callback_data": "cb:Không"}],
        ]
    }
    second = await bot.send_message(USER, "123")
    assert second.message_id == msg.message_id + 1
    assert fake.sent[-1].text == "123"  # numeric-looking text stays a string
    assert [m.text for m in fake.messages_to(USER)] == ["Chào bác", "123"]
    assert fake.messages_to(USER + 1) == []


async def test_send_message_records_reply_keyboard(fake, bot):
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton("Chia sẻ số điện thoại", request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
    msg = await bot.send_message(USER, "Cho xin số điện thoại", reply_markup=markup)
    assert msg.reply_markup is None  # Telegram only echoes inline keyboards
    sent = fake.sent[-1]
    assert sent.reply_markup["keyboard"] == [
        [{"text": "Chia sẻ số điện thoại", "request_contact": True}]
    ]
    assert sent.reply_markup["one_time_keyboard"] is True
    assert Person(fake, USER).buttons() == ["Chia sẻ số điện thoại"]


async def test_empty_text_is_bad_request(bot):
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, " ")


async def test_get_updates_parses_text_callback_contact_photo(fake, bot):
    fake.push_text(USER, "xin chào", first_name="Lan")
    await bot.send_message(USER, "Chọn", reply_markup=keyboard("A"))
    fake.push_callback(USER, "cb:A")
    fake.push_contact(USER, "+84912345678")
    fake.push_photo(USER)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)
    text, callback, contact, photo = updates
    assert text.message.text == "xin chào"
    assert text.message.from_user.first_name == "Lan"
    assert text.message.from_user.language_code == "vi"
    assert text.message.chat.type == "private"
    assert callback.callback_query.data == "cb:A"
    assert callback.callback_query.from_user.id == USER
    assert callback.callback_query.message.text == "Chọn"
    assert callback.callback_query.message.from_user.is_bot
    assert contact.message.contact.phone_number == "+84912345678"
    assert contact.message.contact.user_id == USER
    assert contact.message.text is None
    assert photo.message.photo[0].file_id
    # message ids are shared by person and bot inside one chat, as in Telegram
    ids = [text.message.message_id, callback.callback_query.message.message_id]
    ids += [contact.message.message_id, photo.message.message_id]
    assert ids == sorted(set(ids))


async def test_push_callback_without_bot_message_is_an_error(fake):
    with pytest.raises(ValueError, match="no bot message"):
        fake.push_callback(USER, "x")


async def test_update_dicts_are_valid_for_ptb(fake, bot):
    raw = fake.push_text(USER, "hi")
    update = Update.de_json(raw, bot)
    assert update.message.text == "hi"
    assert update.effective_user.id == USER


async def test_offset_confirms_and_redeliver_requeues(fake, bot):
    first = fake.push_text(USER, "một")
    second = fake.push_text(USER, "hai")
    assert second["update_id"] == first["update_id"] + 1
    assert first["update_id"] >= 100_000
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["một", "hai"]
    # not confirmed yet: delivered again
    assert len(await bot.get_updates(timeout=0)) == 2
    # offset confirms both
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()
    assert fake.pending_updates == []
    # redeliver re-queues the very same update even though it was confirmed
    fake.redeliver(first)
    again = await bot.get_updates(offset=second["update_id"] + 1, timeout=0)
    assert [u.update_id for u in again] == [first["update_id"]]
    assert again[0].message.text == "một"
    # once delivered, the redelivered copy is confirmed like any other
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()


async def test_offset_confirms_only_older_updates_and_limit(fake, bot):
    ups = [fake.push_text(USER, str(i)) for i in range(5)]
    got = await bot.get_updates(offset=ups[2]["update_id"], limit=2, timeout=0)
    assert [u.message.text for u in got] == ["2", "3"]
    assert [u["update_id"] for u in fake.pending_updates] == [u["update_id"] for u in ups[2:]]


async def test_push_update_raw_assigns_id(fake, bot):
    raw = fake.push_update({"message": fake.push_text(USER, "x")["message"]})
    assert "update_id" in raw
    got = await bot.get_updates(timeout=0)
    assert [u.update_id for u in got][-1] == raw["update_id"]


async def test_long_poll_returns_promptly_when_pushed(fake, bot):
    started = time.monotonic()
    empty = await bot.get_updates(timeout=0.3)
    assert empty == ()
    assert 0.25 <= time.monotonic() - started < 2

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    fake.push_text(USER, "dậy đi")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 0.5
    assert updates[0].message.text == "dậy đi"


async def test_stop_releases_long_poll():
    fake = FakeTelegram()
    await fake.start()
    async with Bot(fake.token, base_url=fake.base_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.stop()
        assert time.monotonic() - started < 2
        with contextlib.suppress(NetworkError):
            assert await poll == ()


async def test_fail_next_429_retry_after(fake, bot):
    fake.fail_next("sendMessage", status=429, retry_after=3)
    with warnings.catch_warnings():  # PTB 22.2+ warns: retry_after becomes a timedelta
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(RetryAfter) as err:
            await bot.send_message(USER, "x")
        retry_after = err.value.retry_after
    assert retry_after == 3 or retry_after == datetime.timedelta(seconds=3)
    assert fake.sent == []
    await bot.send_message(USER, "x")  # only the next call failed
    assert len(fake.sent) == 1


async def test_fail_next_403_forbidden_for_one_chat_only(fake, bot):
    fake.fail_next("sendmessage", status=403, chat_id=USER, times=2)
    await bot.send_message(USER + 1, "other chat is fine")
    for _ in range(2):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "unblocked")
    assert [m.text for m in fake.sent] == ["other chat is fine", "unblocked"]
    assert [name for name, _ in fake.calls] == ["getme"] + ["sendmessage"] * 4


async def test_fail_next_500_network_error(fake, bot):
    fake.fail_next("getUpdates", status=500)
    with pytest.raises(NetworkError):
        await bot.get_updates(timeout=0)
    assert await bot.get_updates(timeout=0) == ()


async def test_fail_next_400_bad_request(fake, bot):
    fake.fail_next("editMessageText", status=400, description="Bad Request: whatever")
    msg = await bot.send_message(USER, "a")
    with pytest.raises(BadRequest, match=r"(?i)whatever"):
        await msg.edit_text("b")


async def test_delay_next_provokes_client_timeout(fake, bot):
    fake.delay_next("sendMessage", 0.4)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.1)
    # Telegram still delivered it, as the real one may after a client timeout
    msg = await fake.next_message(USER, timeout=2)
    assert msg.text == "slow"


async def test_wrong_token_invalid(fake):
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass


async def test_unknown_method_404_and_json_and_query_bodies(fake):
    base = fake.base_url + fake.token
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with session.post(f"{base}/SENDMESSAGE", json={"chat_id": 5, "text": "j"}) as resp:
            body = await resp.json()
            assert resp.status == 200
            assert body["ok"] is True
            assert body["result"]["text"] == "j"
        async with session.get(f"{base}/sendMessage?chat_id=6&text=q") as resp:
            assert (await resp.json())["result"]["chat"]["id"] == 6
        async with session.post(f"{fake.base_url}nope/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"
    assert [(m.chat_id, m.text) for m in fake.sent] == [(5, "j"), (6, "q")]


async def test_edits_chat_action_commands_callbacks(fake, bot):
    msg = await bot.send_message(USER, "Chọn", reply_markup=keyboard("A", "B"))
    fake.push_callback(USER, "cb:A")
    (update,) = await bot.get_updates(timeout=0)
    assert await update.callback_query.answer("ok")
    assert fake.answered_callbacks == [update.callback_query.id]
    edited = await msg.edit_text("Đã chọn A")
    assert edited.text == "Đã chọn A"
    assert edited.reply_markup is None  # editing text without a markup drops the keyboard
    assert fake.sent[-1].method == "editMessageText"
    assert fake.sent[-1].message_id == msg.message_id
    with pytest.raises(BadRequest, match="not modified"):
        await msg.edit_text("Đã chọn A")
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=keyboard("C"))
    assert Person(fake, USER).buttons() == ["C"]
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.set_my_commands([("start", "Bắt đầu")])
    photo = await bot.send_photo(USER, "some-file-id", caption="Ảnh")
    assert photo.caption == "Ảnh"
    assert fake.sent[-1].method == "sendPhoto"
    assert fake.sent[-1].text == "Ảnh"


async def test_next_message_cursor_and_helpful_timeout(fake, bot):
    waiter = asyncio.create_task(fake.next_message(USER, timeout=2))
    await asyncio.sleep(0.05)
    await bot.send_message(USER, "một")
    await bot.send_message(USER, "hai")
    assert (await waiter).text == "một"
    assert (await fake.next_message(USER)).text == "hai"
    with pytest.raises(TimeoutError, match=r"chat 700001(?s:.*)'hai'"):
        await fake.next_message(USER, timeout=0.05)


async def test_webhook_conflict_and_post_webhook(fake, bot):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
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
        assert await bot.set_webhook(url, secret_token="s3cret")
        assert fake.webhook_url == url
        assert fake.webhook_secret == "s3cret"
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        update = fake.push_text(USER, "qua webhook")
        assert await fake.post_webhook(update) == 200
        assert await fake.post_webhook(update, secret=None) == 200
        assert await fake.post_webhook(update, secret="wrong") == 200
        assert [h for h, _ in received] == ["s3cret", None, "wrong"]
        assert received[0][1] == update
        assert Update.de_json(received[0][1], bot).message.text == "qua webhook"

        with pytest.raises(ValueError, match="loopback"):
            await fake.post_webhook(update, url="http://example.com/hook")

        assert await bot.delete_webhook(drop_pending_updates=True)
        assert fake.webhook_url is None
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_push_to_webhooks_spreads_updates_in_order_per_chat(fake, bot):
    received: list[tuple[str, str | None, dict]] = []
    refused: list[int] = []

    def hook(name: str):
        async def handle(request: web.Request) -> web.Response:
            update = await request.json()
            if name == "b" and not refused:  # the first update b gets is refused once
                refused.append(update["update_id"])
                return web.Response(status=503)
            received.append((name, request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                             update))
            return web.Response(text="ok")
        return handle

    app = web.Application()
    app.router.add_post("/a", hook("a"))
    app.router.add_post("/b", hook("b"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        sent = [fake.push_text(USER + n % 2, f"tin {n}") for n in range(6)]
        fake.push_to_webhooks([f"{base}/a", f"{base}/b"])
        await asyncio.sleep(0.2)
        assert received == []  # nothing is pushed before setWebhook
        assert await bot.set_webhook("https://bot.example/telegram", secret_token="s3cret",
                                     max_connections=3)
        assert fake.webhook_max_connections == 3
        for _ in range(100):
            if fake.webhook_pushed == len(sent):
                break
            await asyncio.sleep(0.05)
        assert fake.webhook_pushed == len(sent)
        assert fake.pending_updates == []
        assert len(refused) == 1
        assert {name for name, _, _ in received} == {"a", "b"}
        assert {secret for _, secret, _ in received} == {"s3cret"}
        for chat in (USER, USER + 1):
            texts = [u["message"]["text"] for _, _, u in received
                     if u["message"]["chat"]["id"] == chat]
            assert texts == [u["message"]["text"] for u in sent
                             if u["message"]["chat"]["id"] == chat]
    finally:
        await fake.stop()
        await runner.cleanup()


async def echo_bot(bot: Bot) -> None:
    offset = 0
    while True:
        for update in await bot.get_updates(offset=offset, timeout=5):
            offset = update.update_id + 1
            if update.callback_query:
                await update.callback_query.answer()
                await bot.send_message(
                    update.callback_query.from_user.id, f"bấm {update.callback_query.data}"
                )
            elif update.message and update.message.contact:
                await bot.send_message(update.message.chat_id, update.message.contact.phone_number)
            elif update.message and update.message.text:
                await bot.send_message(
                    update.message.chat_id,
                    f"echo: {update.message.text}",
                    reply_markup=keyboard("Có", "Không"),
                )


@pytest.fixture
async def echo(fake, bot):
    task = asyncio.create_task(echo_bot(bot))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_person_say_tap_share_contact(fake, echo):
    lan = Person(fake, USER, "Lan")
    reply = await lan.say("chào")
    assert reply.text == "echo: chào"
    assert lan.buttons() == ["Có", "Không"]
    assert (await lan.tap("Không")).text == "bấm cb:Không"
    assert len(fake.answered_callbacks) == 1
    assert (await lan.share_contact("+84912345678")).text == "+84912345678"
    with pytest.raises(LookupError, match=r"'Nope'(?s:.*)available: \[\]"):
        await lan.tap("Nope")


async def test_many_people_concurrently(fake, echo):
    people = [Person(fake, 800_000 + i) for i in range(50)]

    async def chat(person: Person) -> None:
        assert (await person.say(f"hi {person.user_id}")).text == f"echo: hi {person.user_id}"
        assert (await person.tap("Có")).text == "bấm cb:Có"

    await asyncio.wait_for(asyncio.gather(*(chat(p) for p in people)), 20)
    assert len(fake.sent) == 100


PNG_1x1 = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


async def test_send_photo_upload_keeps_the_bytes_and_checks_them(fake, bot):
    photo = await bot.send_photo(USER, PNG_1x1, caption="Biểu đồ", reply_markup=keyboard("A"))
    sent = fake.sent[-1]
    assert (sent.method, sent.text, sent.photo, sent.photo_ref) == (
        "sendPhoto", "Biểu đồ", PNG_1x1, None
    )
    assert Person(fake, USER).buttons() == ["A"]
    assert (photo.photo[0].width, photo.photo[0].height) == (1, 1)
    await bot.send_photo(USER, "some-file-id")
    assert (fake.sent[-1].photo, fake.sent[-1].photo_ref) == (None, "some-file-id")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(USER, b"not a picture")
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(USER, PNG_1x1, caption="x" * 1025)
    assert len(fake.sent) == 2


async def test_several_bots_each_with_its_own_flood_window():
    """Telegram's limit is per bot: two tokens on one fake, each held to 3 messages a second."""
    async with FakeTelegram("111:first", tokens=["222:second"], flood_limit=3) as fake, \
            aiohttp.ClientSession() as http:
        async def send(token: str, chat: int) -> int:
            async with http.post(f"{fake.base_url}{token}/sendMessage",
                                 json={"chat_id": chat, "text": "x"}) as response:
                return response.status

        first = [await send("111:first", n) for n in range(1, 5)]
        second = [await send("222:second", n) for n in range(1, 5)]
        assert first == second == [200, 200, 200, 429]  # the first bot's 4th does not count...
        assert await send("333:unknown", 1) == 401  # ...against the second; unknown: refused
    assert fake.accepted_by_token == {"111:first": 3, "222:second": 3}
    assert fake.limited_by_token == {"111:first": 1, "222:second": 1}
    assert len(fake.rate_limited) == 2
