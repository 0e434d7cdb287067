"""One member on Telegram and Zalo: linking with a one-time code (/lienket)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.config import Settings
from bot.handlers.telegram import TelegramChannel
from bot.handlers.zalo import ZaloChannel
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.harness import Bot, TelegramPerson, ZaloPerson
from tests.test_registration import join_as_chair


class Both:
    """The bot serving Telegram and Zalo at once (one database, one outbox)."""

    kind = "both"

    def __init__(self, bot, telegram, zalo):
        self.bot, self.telegram_fake, self.zalo_fake = bot, telegram, zalo
        self.pushed = 0
        self.fake = telegram  # for people on Telegram

    async def settle(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.005)
            busy = self.telegram_fake.pending_updates or self.zalo.handled < self.pushed
            if busy or not self.bot.outbox.idle():
                continue
            await self.bot.outbox.flush()
            async with self.bot.storage.transaction() as tx:
                if not await tx.due_outbox(self.bot.clock(), 1):
                    return
        raise TimeoutError("the bot did not settle")

    def person(self, name="Bác"):  # the chair helper registers on Telegram
        return TelegramPerson(self, 7001, name)


class ZaloSide:
    def __init__(self, both: Both):
        self.both, self.fake = both, both.zalo_fake

    @property
    def pushed(self):
        return self.both.pushed

    @pushed.setter
    def pushed(self, value):
        self.both.pushed = value

    async def settle(self):
        await self.both.settle()


@pytest.fixture
async def both(tmp_path):
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeTelegram() as telegram, FakeZalo() as zalo:
        settings = Settings(
            db=str(bot.db), telegram_token=telegram.token, telegram_api_url=telegram.base_url,
            zalo_token=zalo.token, zalo_api_url=zalo.base_url, telegram_rate=1000.0,
            telegram_chat_rate=1000.0, zalo_rate=1000.0, zalo_chat_rate=1000.0,
        )
        harness = Both(bot, telegram, zalo)
        channels = [TelegramChannel(settings, bot.service, bot.storage, 1),
                    ZaloChannel(settings, bot.service, poll_timeout=1)]
        harness.zalo = channels[1]
        for channel in channels:
            await channel.start()
            bot.outbox.add_channel(channel)
        tasks = [asyncio.create_task(c.poll(lambda: None)) for c in channels]
        tasks.append(asyncio.create_task(bot.outbox.run()))
        try:
            yield harness
        finally:
            await bot.outbox.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for channel in channels:
                await channel.stop()
            await bot.close()


async def test_a_member_links_zalo_and_messages_follow_the_channel_used_last(both):
    club = await both.bot.new_club()
    chair = await join_as_chair(both, club)  # registered on Telegram
    reply = await chair.say("/lienket")
    code = reply.text.split("Mã liên kết của bác: ")[1][:6]
    assert code.isdigit() and "/lienket " + code in reply.text

    on_zalo = ZaloPerson(ZaloSide(both), "6ede9afa66b88fe6d6a9", "Lan")
    reply = await on_zalo.say("/lienket 000000" if code != "000000" else "/lienket 111111")
    assert "không đúng hoặc đã hết hạn" in reply.text
    reply = await on_zalo.say(f"/lienket {code[:3]} {code[3:]}")
    assert reply.text.startswith("Đã liên kết. Chào bác Vi Thi Lan")
    rows = await both.bot.rows("SELECT channel, member_id FROM identities ORDER BY channel")
    assert rows[0]["member_id"] == rows[1]["member_id"] is not None
    assert [r["channel"] for r in rows] == ["telegram", "zalo"]

    both.bot.clock.advance(minutes=1)
    reply = await on_zalo.say("/thanhvien")  # same membership, same roles, on Zalo
    assert "1 thành viên" in reply.text and "Chủ nhiệm" in reply.text
    reply = await on_zalo.say(f"/lienket {code}")
    assert "đã được liên kết" in reply.text

    both.bot.clock.advance(minutes=1)
    hoa = TelegramPerson(both, 7002, "Hoa")  # a new registration notifies the board ...
    await hoa.say(f"/start {club['member_code']}")
    for answer in ("Mong Thi Hoa", "nu", "1958", "0987654321", "Ban Na Cong", "1", "bo qua",
                   "dong y", "1"):
        await hoa.say(answer)
    notices = [m for m in both.zalo_fake.messages_to(on_zalo.user_id) if "đăng ký mới" in m.text]
    assert len(notices) == 1  # ... on Zalo, the channel the chair used last
    assert not [m for m in chair.unread() if "đăng ký mới" in m.text]


async def test_wrong_link_codes_are_limited(both):
    person = ZaloPerson(ZaloSide(both), "00000000000000000abc", "Ai")
    for _ in range(5):
        reply = await person.say("/lienket 123456")
        assert "không đúng hoặc đã hết hạn" in reply.text
    reply = await person.say("/lienket 654321")
    assert "sai mã nhiều lần" in reply.text
    reply = await person.say("/lienket")
    assert reply.text.startswith("Bác gõ mã liên kết")
    reply = await person.say("12ab")
    assert "6 chữ số" in reply.text


async def test_a_member_chooses_where_messages_go(both):
    club = await both.bot.new_club()
    chair = await join_as_chair(both, club)
    code = (await chair.say("/lienket")).text.split("Mã liên kết của bác: ")[1][:6]
    on_zalo = ZaloPerson(ZaloSide(both), "6ede9afa66b88fe6d6a9", "Lan")
    reply = await on_zalo.say(f"/lienket {code}")
    assert "/kenh" in reply.text
    both.bot.clock.advance(minutes=1)
    await chair.say("/menu")  # Telegram is now the account used last ...
    both.bot.clock.advance(minutes=1)
    reply = await on_zalo.say("/kenh")
    assert reply.text.startswith("Bác muốn nhận tin nhắn của câu lạc bộ ở đâu?")
    reply = await on_zalo.say("1")
    assert reply.text == "Xong rồi ạ. Tin nhắn của câu lạc bộ sẽ gửi về tài khoản này."
    both.bot.clock.advance(minutes=1)
    await chair.say("/menu")  # ... and is used again, but Zalo was chosen
    hoa = TelegramPerson(both, 7002, "Hoa")
    await hoa.say(f"/start {club['member_code']}")
    for answer in ("Mong Thi Hoa", "nu", "1958", "0987654321", "Ban Na Cong", "1", "bo qua",
                   "dong y", "1"):
        await hoa.say(answer)
    notices = [m for m in both.zalo_fake.messages_to(on_zalo.user_id) if "đăng ký mới" in m.text]
    assert len(notices) == 1
    assert not [m for m in chair.unread() if "đăng ký mới" in m.text]
