"""Telegram transport: buttons, contact sharing, stale taps, webhook security, delivery errors."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest

from bot.config import Settings
from bot.handlers.telegram import TelegramChannel
from tests.fake_telegram import FakeTelegram
from tests.harness import Bot, _buttons, web_server
from tests.test_registration import join_as_chair


async def start_registration(chat, club, name="Lò Thị Mai"):
    person = chat.person(name)
    await person.say(f"/start {club['member_code']}")
    await person.say(name)
    await person.pick("Nữ")
    reply = await person.say("1950")
    return person, reply


async def test_phone_step_offers_share_contact_and_accepts_own_contact(telegram_chat):
    club = await telegram_chat.bot.new_club()
    person, reply = await start_registration(telegram_chat, club)
    keyboard = reply.raw.reply_markup["keyboard"]
    assert keyboard == [[{"text": "Gửi số điện thoại của tôi", "request_contact": True}]]
    reply = await person.share_contact("84912345678")
    assert "thôn, bản" in reply.text
    assert reply.raw.reply_markup == {"remove_keyboard": True}
    session = await telegram_chat.bot.rows("SELECT data FROM sessions")
    assert '"phone": "+84912345678"' in session[0]["data"]


async def test_someone_elses_contact_is_read_as_a_typed_number(telegram_chat):
    club = await telegram_chat.bot.new_club()
    person, _ = await start_registration(telegram_chat, club)
    reply = await person.share_contact("0987 654 321", own=False)
    assert "thôn, bản" in reply.text


async def test_buttons_carry_the_conversation_and_double_taps_do_nothing(telegram_chat):
    club = await telegram_chat.bot.new_club()
    await join_as_chair(telegram_chat, club)
    person = telegram_chat.person("Lò Thị Mai")
    await person.say(f"/start {club['member_code']}")
    question = await person.say("Lò Thị Mai")
    data = _buttons(question.raw.reply_markup)
    assert all(len(value.encode()) <= 64 for value in data.values())
    session = (await telegram_chat.bot.rows("SELECT session_id FROM sessions"))[-1]
    assert all(value.split("|")[1] == session["session_id"][:8] for value in data.values())

    reply = await person.pick("Nữ")
    assert "sinh năm nào" in reply.text
    fake = telegram_chat.fake
    fake.push_callback(person.user_id, data["Nữ"], message=question.raw.message)  # tapped again
    await telegram_chat.settle()
    again = person.last_new()
    assert "Nút này thuộc câu hỏi cũ" in again.text and "sinh năm nào" in again.text
    rows = await telegram_chat.bot.rows("SELECT step_id FROM sessions WHERE chat_id = ?",
                                        str(person.user_id))
    assert rows == [{"step_id": "birth"}]
    assert len(fake.answered_callbacks) >= 2


async def test_unsupported_messages_get_a_polite_answer(telegram_chat):
    club = await telegram_chat.bot.new_club()
    person = telegram_chat.person()
    await person.say(f"/start {club['member_code']}")
    telegram_chat.fake.push_photo(person.user_id)
    await telegram_chat.settle()
    reply = person.last_new()
    assert "chỉ đọc được chữ" in reply.text and "họ và tên" in reply.text


async def test_group_messages_are_ignored(telegram_chat):
    update = telegram_chat.fake.push_text(6001, "/menu")
    update["message"]["chat"] = {"id": -100123, "type": "group", "title": "CLB"}
    await telegram_chat.settle()
    assert telegram_chat.fake.messages_to(-100123) == []
    assert await telegram_chat.bot.rows("SELECT * FROM identities") == []


async def test_offset_is_stored_after_commit(telegram_chat):
    person = telegram_chat.person()
    await person.say("/menu")
    await telegram_chat.channel.offset_stored()  # in the background: polling does not wait
    rows = await telegram_chat.bot.rows("SELECT value FROM meta WHERE key = 'telegram_offset'")
    pushed = [c for c in telegram_chat.fake.calls if c[0] == "getupdates"]
    assert rows and int(rows[0]["value"]) > 0 and pushed


# Delivery errors (outbox)

async def test_429_is_retried_after_retry_after(telegram_chat):
    fake = telegram_chat.fake
    person = telegram_chat.person()
    fake.fail_next("sendMessage", status=429, retry_after=3)
    fake.push_text(person.user_id, "/menu")
    await telegram_chat.settle()
    assert fake.messages_to(person.user_id) == []
    row = (await telegram_chat.bot.rows("SELECT attempts, last_error, status FROM outbox"))[0]
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "retry after 3" in row["last_error"]
    telegram_chat.bot.clock.advance(seconds=3)
    telegram_chat.bot.outbox._paused_until.clear()  # the monotonic pause has no fake clock
    telegram_chat.bot.outbox.wake()
    await telegram_chat.settle()
    assert "Bác muốn làm gì" in fake.messages_to(person.user_id)[-1].text
    rows = await telegram_chat.bot.rows("SELECT status FROM outbox")
    assert rows == [{"status": "sent"}]


async def test_403_marks_the_person_unreachable_and_stops(telegram_chat):
    fake = telegram_chat.fake
    person = telegram_chat.person()
    fake.fail_next("sendMessage", status=403)
    fake.push_text(person.user_id, "/menu")
    await telegram_chat.settle()
    rows = await telegram_chat.bot.rows("SELECT status, last_error FROM outbox")
    assert rows[0]["status"] == "dropped" and "blocked" in rows[0]["last_error"]
    identity = await telegram_chat.bot.rows("SELECT unreachable FROM identities")
    assert identity == [{"unreachable": 1}]


async def test_server_errors_are_retried_with_backoff(telegram_chat):
    fake = telegram_chat.fake
    person = telegram_chat.person()
    fake.fail_next("sendMessage", status=502, times=2)
    fake.push_text(person.user_id, "/menu")
    await telegram_chat.settle()
    for _ in range(2):
        telegram_chat.bot.clock.advance(seconds=5)
        telegram_chat.bot.outbox.wake()
        await telegram_chat.settle()
    assert "Bác muốn làm gì" in fake.messages_to(person.user_id)[-1].text
    rows = await telegram_chat.bot.rows("SELECT status, attempts FROM outbox")
    assert rows == [{"status": "sent", "attempts": 3}]


# Webhook

@pytest.fixture
async def webhook(tmp_path):
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeTelegram() as fake:
        settings = Settings(
            db=str(bot.db),
            telegram_token=fake.token,
            telegram_api_url=fake.base_url,
            telegram_webhook_url="https://bot.example.org/telegram/hook",
            telegram_webhook_secret="s3cret-Token_1",
        )
        channel = TelegramChannel(settings, bot.service, bot.storage)
        await channel.start()
        try:
            async with web_server([channel], bot.storage) as base:
                yield bot, fake, f"{base}/telegram/hook"
        finally:
            await channel.stop()
            await bot.close()


def update(update_id, text="/menu", user=7001, message_id=1):
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id, "date": 1764300000, "text": text,
            "chat": {"id": user, "type": "private", "first_name": "Lan"},
            "from": {"id": user, "is_bot": False, "first_name": "Lan"},
        },
    }


async def test_webhook_refuses_missing_or_wrong_secret(webhook):
    bot, fake, url = webhook
    assert await fake.post_webhook(update(1), url=url, secret=None) == 403
    assert await fake.post_webhook(update(1), url=url, secret="wrong") == 403
    assert await bot.rows("SELECT * FROM inbox") == []


async def test_webhook_commits_before_200_and_applies_duplicates_once(webhook):
    bot, fake, url = webhook
    assert await fake.post_webhook(update(1), url=url, secret="s3cret-Token_1") == 200
    assert len(await bot.rows("SELECT * FROM inbox")) == 1
    assert len(await bot.rows("SELECT * FROM outbox")) == 1
    assert await fake.post_webhook(update(1), url=url, secret="s3cret-Token_1") == 200
    assert len(await bot.rows("SELECT * FROM outbox")) == 1


async def test_webhook_rejects_bad_bodies(webhook):
    bot, _fake, url = webhook
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=b"not json", headers=headers) as response:
            assert response.status == 400
        big = b'{"update_id": 1, "x": "' + b"a" * (1024 * 1024 + 10) + b'"}'
        async with session.post(url, data=io.BytesIO(big), headers=headers) as response:
            assert response.status == 413
        async with session.get(url.replace("/telegram/hook", "/healthz")) as response:
            assert response.status == 200
    await asyncio.sleep(0)
    assert await bot.rows("SELECT * FROM inbox") == []


async def test_one_chat_in_order_while_chats_run_concurrently(telegram_chat):
    club = await telegram_chat.bot.new_club()
    fake = telegram_chat.fake
    people = [telegram_chat.person(f"P{i}") for i in range(5)]
    for person in people:  # every message pushed before the bot polls: one batch
        for text in (f"/start {club['member_code']}", "Lò Thị Mai", "nu"):
            fake.push_text(person.user_id, text)
    await telegram_chat.settle()
    for person in people:
        texts = [m.text for m in person.unread()]
        assert len(texts) == 3
        assert "họ và tên" in texts[0] and "nam hay nữ" in texts[1] and "sinh năm" in texts[2]
    steps = await telegram_chat.bot.rows("SELECT DISTINCT step_id FROM sessions")
    assert steps == [{"step_id": "birth"}]


async def test_a_long_choice_list_becomes_a_numbered_list_to_type_from(telegram_chat):
    club = await telegram_chat.bot.new_club()
    chair = await join_as_chair(telegram_chat, club)
    from storage.base import NewMember

    async with telegram_chat.bot.storage.transaction() as tx:
        for i in range(45):
            await tx.add_member(NewMember(
                club_id=1, full_name=f"Thành Viên {chr(65 + i // 26)}{chr(65 + i % 26)}",
                sex="female", birth_year=1950, birth_date=None, phone=None, village="Bản Lốc",
                household="ordinary", ethnicity=None, status="active", assisted_by=None,
                registration_key=f"bulk{i}"), telegram_chat.bot.clock())
    reply = await chair.say("/vaitro")
    assert reply.raw.reply_markup is None
    assert "46. Vi Thi Lan (1956, Bản Lốc)" in reply.text
    assert reply.text.endswith("Bác trả lời một số từ 1 đến 46")
    reply = await chair.say("46")
    assert reply.labels == ["Phó chủ nhiệm", "Thủ quỹ", "Tình nguyện viên"]
