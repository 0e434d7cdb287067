"""Zalo transport: text-only choices, unsupported events, webhook security, limits."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from bot.handlers.zalo import ZaloChannel, to_inbound
from tests.fake_zalo import FakeZalo
from tests.harness import Bot, web_server

SECRET = "zalo-secret-123"


async def test_choices_are_a_numbered_list_chosen_by_number_or_word(zalo_chat):
    club = await zalo_chat.bot.new_club()
    person = zalo_chat.person("Lan")
    await person.say(club["member_code"])
    reply = await person.say("lo thi lan")
    assert reply.text == "Bác là nam hay nữ?\n\n1. Nữ\n2. Nam\nTrả lời 1 hoặc 2"
    reply = await person.say("NU")
    assert "sinh năm nào" in reply.text
    sent = zalo_chat.fake.messages_to(person.user_id)
    assert all(m.method == "sendMessage" for m in sent)


@pytest.mark.parametrize("push", ["push_image", "push_sticker", "push_unsupported"])
async def test_images_stickers_and_withheld_messages_get_a_polite_answer(zalo_chat, push):
    club = await zalo_chat.bot.new_club()
    person = zalo_chat.person()
    await person.say(f"/start {club['member_code']}")
    getattr(zalo_chat.fake, push)(person.user_id)
    zalo_chat.pushed += 1
    await zalo_chat.settle()
    reply = person.last_new()
    assert "chỉ đọc được chữ" in reply.text and "họ và tên" in reply.text


async def test_a_redelivered_event_is_applied_once(zalo_chat):
    club = await zalo_chat.bot.new_club()
    person = zalo_chat.person()
    await person.send(f"/start {club['member_code']}", external_id="first")
    await person.send("again", external_id="first")  # the same event delivered twice
    assert len(person.unread()) == 1
    assert len(await zalo_chat.bot.rows("SELECT * FROM inbox")) == 1


async def test_long_messages_are_split_at_line_breaks_under_2000(zalo_chat):
    club = await zalo_chat.bot.new_club()
    chair = zalo_chat.person("Chair")
    await chair.say(f"/start {club['board_code']}")
    for answer in ("Vi Thi Lan", "1", "1956", "0912000111", "Ban Loc", "4", "1", "1", "1"):
        await chair.say(answer)
    from storage.base import NewMember

    async with zalo_chat.bot.storage.transaction() as tx:
        for i in range(60):
            await tx.add_member(NewMember(
                club_id=1, full_name=f"Thành Viên Số {'ABCDEFGHIJ'[i // 10]}{'ABCDEFGHIJ'[i % 10]}"
                [:40],
                sex="female", birth_year=1950, birth_date=None, phone=None,
                village="Thôn Trung Tâm Xã Thông Thụ", household="ordinary", ethnicity=None,
                status="active", assisted_by=None, registration_key=f"bulk{i}"),
                zalo_chat.bot.clock())
    await chair.say("/thanhvien")
    pieces = [m.text for m in zalo_chat.fake.messages_to(chair.user_id)[-2:]]
    assert all(len(piece) <= 2000 for piece in pieces)
    assert "61 thành viên" in pieces[0] and "Vi Thi Lan" in pieces[1]
    assert not pieces[1].startswith("\n")


async def test_quota_exceeded_is_retried_later(zalo_chat):
    fake = zalo_chat.fake
    person = zalo_chat.person()
    fake.fail_next("sendMessage", error_code=429, description="Quota exceeded")
    await person.send("/menu")
    assert fake.messages_to(person.user_id) == []
    row = (await zalo_chat.bot.rows("SELECT status, attempts FROM outbox"))[0]
    assert row == {"status": "pending", "attempts": 1}
    zalo_chat.bot.clock.advance(seconds=30)
    zalo_chat.bot.outbox._paused_until.clear()  # the monotonic pause has no fake clock
    zalo_chat.bot.outbox.wake()
    await zalo_chat.settle()
    assert "Bác muốn làm gì" in fake.messages_to(person.user_id)[-1].text


def test_events_are_read_wrapped_or_bare_and_groups_ignored():
    event = {"event_name": "message.text.received", "message": {
        "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
        "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
        "text": "Xin chào", "message_id": "2d758cb5e222177a4e35", "date": 1750316131602}}
    bare = to_inbound(event)
    assert bare == to_inbound({"ok": True, "result": event})
    assert bare.external_id == "message.text.received:2d758cb5e222177a4e35"
    assert bare.text == "Xin chào" and bare.user_id == "6ede9afa66b88fe6d6a9"
    group = {**event, "message": {**event["message"], "chat": {"id": "g1", "chat_type": "GROUP"}}}
    assert to_inbound(group) is None


@pytest.fixture
async def webhook(tmp_path):
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeZalo() as fake:
        settings = Settings(db=str(bot.db), zalo_token=fake.token, zalo_api_url=fake.base_url,
                            zalo_webhook_url="https://bot.example.org/zalo/hook",
                            zalo_webhook_secret=SECRET)
        channel = ZaloChannel(settings, bot.service)
        try:
            async with web_server([channel], bot.storage) as base:
                yield bot, fake, f"{base}/zalo/hook"
        finally:
            await channel.stop()
            await bot.close()


def text_event(fake: FakeZalo, text: str = "/menu") -> dict:
    return fake.push_text("6ede9afa66b88fe6d6a9", text)  # nobody polls: posted by hand


async def test_webhook_refuses_missing_or_wrong_secret(webhook):
    bot, fake, url = webhook
    event = text_event(fake)
    assert await fake.post_webhook(event, url=url, secret=None) == 403
    assert await fake.post_webhook(event, url=url, secret="wrong-secret") == 403
    assert await bot.rows("SELECT * FROM inbox") == []


async def test_webhook_takes_both_shapes_and_applies_a_duplicate_once(webhook):
    bot, fake, url = webhook
    event = text_event(fake)
    assert await fake.post_webhook(event, url=url, secret=SECRET, wrapped=True) == 200
    assert await fake.post_webhook(event, url=url, secret=SECRET, wrapped=False) == 200
    assert len(await bot.rows("SELECT * FROM inbox")) == 1
    assert len(await bot.rows("SELECT * FROM outbox")) == 1
    other = text_event(fake, "tro giup")
    assert await fake.post_webhook(other, url=url, secret=SECRET, wrapped=False) == 200
    assert len(await bot.rows("SELECT * FROM outbox")) == 2


def test_zalo_webhook_secret_must_be_8_to_256_characters():
    with pytest.raises(ValueError, match="8-256"):
        Settings.from_env({"ZALO_WEBHOOK_URL": "https://x/z", "ZALO_WEBHOOK_SECRET": "short"})
    settings = Settings.from_env({"ZALO_BOT_TOKEN": "1:abc", "ZALO_WEBHOOK_URL": "https://x/z",
                                  "ZALO_WEBHOOK_SECRET": SECRET})
    assert "abc" not in repr(settings) and SECRET not in repr(settings)


async def test_the_service_runs_on_zalo_and_telegram_together(tmp_path):
    import asyncio
    import os
    import signal
    import sys
    from pathlib import Path

    from tests.fake_telegram import FakeTelegram
    from tests.test_restart import free_port

    root = Path(__file__).resolve().parent.parent
    async with FakeZalo() as zalo, FakeTelegram() as telegram:
        env = {**os.environ, "ISHC_DB": str(tmp_path / "db.sqlite3"), "ISHC_REMINDERS": "0",
               "PYTHONPATH": str(root),
               "ZALO_BOT_TOKEN": zalo.token, "ZALO_API_URL": zalo.base_url,
               "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
               "ISHC_LISTEN": f"127.0.0.1:{free_port()}"}
        log = tmp_path / "bot.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=root,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            zalo.push_text("6ede9afa66b88fe6d6a9", "xin chao")
            reply = await zalo.next_message("6ede9afa66b88fe6d6a9", timeout=20)
            assert "mã mời" in reply.text and "Trả lời 1" in reply.text
            telegram.push_text(4242, "/menu")
            reply = await telegram.next_message(4242, timeout=20)
            assert "mã mời" in reply.text
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 20) == 0
        text = log.read_text(encoding="utf-8")
        assert "zalo: polling mode" in text and "telegram: polling mode" in text
        assert zalo.token not in text and telegram.token not in text


async def test_concurrent_webhook_requests_share_commits_and_each_is_answered_after_its_own(
    webhook,
):
    bot, fake, url = webhook
    commits: list[float] = []
    bot.storage.on_transaction(commits.append)
    events = [fake.push_text(f"user{n:02d}", "/menu") for n in range(12)]
    statuses = await asyncio.gather(
        *(fake.post_webhook(event, url=url, secret=SECRET) for event in events)
    )
    assert statuses == [200] * 12  # each answered 200 only once its update was committed
    assert len(await bot.rows("SELECT * FROM inbox")) == 12
    outbox = await bot.rows("SELECT chat_id FROM outbox ORDER BY chat_id")
    assert [row["chat_id"] for row in outbox] == [f"user{n:02d}" for n in range(12)]
    assert len(commits) < 12  # requests that arrived during a COMMIT share the next one
