"""Several bots: registered bots, their areas, one channel per bot, links naming the area's bot.

The storage part runs on every backend of ``tests.test_storage_contract.BACKENDS``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.app import load_bots, make_channels
from bot.bots import channel_key, club_link, platform_of, settings_for
from bot.config import Settings
from bot.handlers.telegram import TelegramChannel
from bot.outbox import OutboxWorker
from storage.base import Transaction
from storage.errors import IntegrityError
from storage.sqlite import SQLiteStorage
from tests import test_storage_contract as storage_contract
from tests.fake_telegram import FakeTelegram
from tests.harness import (
    Bot,
    TelegramHarness,
    TelegramPerson,
    ZaloHarness,
    platform_harness,
    web_server,
)
from tests.test_cli import run
from tests.test_registration import join_as_chair
from tests.test_storage_contract import NOW

backend = storage_contract.backend
storage = storage_contract.storage
tx = storage_contract.tx

NGHE_AN, THONG_THU, OTHER_COMMUNE = 40, 16744, 16750


# Storage (both backends)


async def add(tx: Transaction, name: str, platform: str = "telegram", **kw: Any) -> Any:
    values = {"token_env": f"ISHC_BOT_{name.upper()}_TOKEN", "username": f"{name}_bot",
              "rate": 29.0, "webhook_url": "", **kw}
    return await tx.add_bot(name, platform, values["token_env"], values["username"],
                            values["rate"], values["webhook_url"], NOW)


async def test_a_bot_is_stored_with_the_name_of_its_token_variable(tx: Transaction) -> None:
    bot = await add(tx, "nghean", rate=12.5)
    assert (bot.name, bot.platform, bot.channel) == ("nghean", "telegram", "telegram:nghean")
    assert (bot.token_env, bot.username, bot.rate) == ("ISHC_BOT_NGHEAN_TOKEN", "nghean_bot",
                                                       12.5)
    assert bot.created_at == NOW and bot.active
    assert await tx.get_bot("nghean") == bot
    assert await tx.get_bot("nobody") is None
    assert await tx.list_bots() == [(bot, [])]


@pytest.mark.parametrize("name, platform", [("nghean", "telegram"), ("Nghe An", "telegram"),
                                            ("x", "viber"), ("", "zalo")])
async def test_the_schema_refuses_a_taken_or_bad_name_and_an_unknown_platform(
    storage: Any, name: str, platform: str
) -> None:
    async with storage.transaction() as tx:
        await add(tx, "nghean")
    with pytest.raises(IntegrityError):
        async with storage.transaction() as tx:
            await add(tx, name, platform)


async def test_the_commune_bot_beats_the_province_bot_which_beats_the_environment_bot(
    tx: Transaction,
) -> None:
    province = await add(tx, "nghean")
    commune = await add(tx, "thongthu")
    zalo = await add(tx, "nghean_zalo", "zalo", rate=10.0)
    assert await tx.bot_for_area("telegram", NGHE_AN, THONG_THU) is None  # the environment bot
    assert await tx.assign_bot(province.id, NGHE_AN, None, NOW) == []
    assert await tx.assign_bot(commune.id, NGHE_AN, THONG_THU, NOW) == []
    assert await tx.assign_bot(zalo.id, NGHE_AN, None, NOW) == []
    assert await tx.bot_for_area("telegram", NGHE_AN, THONG_THU) == commune
    assert await tx.bot_for_area("telegram", NGHE_AN, OTHER_COMMUNE) == province
    assert await tx.bot_for_area("telegram", NGHE_AN, None) == province
    assert await tx.bot_for_area("zalo", NGHE_AN, THONG_THU) == zalo
    assert await tx.bot_for_area("telegram", 1, None) is None
    assert await tx.bot_for_area("telegram", None, None) is None
    listed = {bot.name: [(a.province_code, a.commune_code) for a in areas]
              for bot, areas in await tx.list_bots()}
    assert listed == {"nghean": [(40, None)], "thongthu": [(40, THONG_THU)],
                      "nghean_zalo": [(40, None)]}
    # Disabled: its area falls back to the next bot.
    assert await tx.disable_bot(commune.id, NOW) is True
    assert await tx.disable_bot(commune.id, NOW) is False
    assert await tx.bot_for_area("telegram", NGHE_AN, THONG_THU) == province
    assert not (await tx.get_bot("thongthu")).active


async def test_assigning_an_area_takes_it_from_the_other_bot_of_the_platform(
    tx: Transaction,
) -> None:
    first, second = await add(tx, "first"), await add(tx, "second")
    zalo = await add(tx, "zalo_one", "zalo")
    await tx.assign_bot(first.id, NGHE_AN, THONG_THU, NOW)
    await tx.assign_bot(zalo.id, NGHE_AN, THONG_THU, NOW)
    assert await tx.assign_bot(first.id, NGHE_AN, THONG_THU, NOW) == []  # already: nothing
    assert await tx.assign_bot(second.id, NGHE_AN, THONG_THU, NOW) == ["first"]
    assert await tx.bot_for_area("telegram", NGHE_AN, THONG_THU) == second
    assert await tx.bot_for_area("zalo", NGHE_AN, THONG_THU) == zalo  # another platform's
    areas = {bot.name: len(found) for bot, found in await tx.list_bots()}
    assert areas == {"first": 0, "second": 1, "zalo_one": 1}


# Channel keys and settings


def test_channel_keys_and_platforms() -> None:
    assert channel_key("telegram") == "telegram" and platform_of("telegram") == "telegram"
    assert channel_key("zalo", "nghean") == "zalo:nghean"
    assert platform_of("zalo:nghean") == "zalo" and platform_of("local") == "local"


def registered(name: str, platform: str = "telegram", **kw: Any) -> Any:
    from storage.bots import RegisteredBot

    values = {"token_env": f"ISHC_BOT_{name.upper()}_TOKEN", "username": f"{name}_bot",
              "rate": 7.0, "webhook_url": "", **kw}
    return RegisteredBot(1, name, platform, values["token_env"], values["username"],
                         values["rate"], values["webhook_url"], NOW,
                         values.get("disabled_at"))


def test_a_registered_bot_runs_with_its_own_token_rate_and_webhook_path() -> None:
    env = Settings(telegram_token="1:env", telegram_webhook_url="https://h.example/telegram",
                   telegram_webhook_secret="s3cret", telegram_bot_username="env_bot")
    own = settings_for(env, registered("nghean"), "2:own")
    assert own.telegram_token == "2:own" and own.telegram_rate == 7.0
    assert own.telegram_bot_username == "nghean_bot"
    assert own.telegram_webhook_url == "https://h.example/telegram/nghean"
    explicit = settings_for(env, registered("b", webhook_url="https://x.example/tg-b"), "3:b")
    assert explicit.telegram_webhook_url == "https://x.example/tg-b"
    polling = settings_for(Settings(telegram_token="1:env"), registered("c"), "4:c")
    assert polling.telegram_webhook_url is None


async def test_make_channels_one_per_bot_with_a_token(tmp_path: Path, caplog: Any) -> None:
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    try:
        settings = Settings(telegram_token="1:env", zalo_token="z-env")
        app = SimpleNamespace(service=bot.service, storage=bot.storage)
        bots = [registered("nghean"), registered("nghean_zalo", "zalo", rate=4.0),
                registered("missing"), registered("off", disabled_at=NOW)]
        env = {"ISHC_BOT_NGHEAN_TOKEN": "2:own", "ISHC_BOT_NGHEAN_ZALO_TOKEN": "z-own",
               "ISHC_BOT_OFF_TOKEN": "9:off"}
        with caplog.at_level(logging.WARNING, logger="bot.bots"):
            channels = make_channels(settings, app, bots, env)  # type: ignore[arg-type]
        assert [c.channel for c in channels] == ["telegram", "zalo", "telegram:nghean",
                                                 "zalo:nghean_zalo"]
        assert [c.rate for c in channels] == [29.0, 10.0, 7.0, 4.0]
        assert [c.webhook_path() for c in channels] == ["/telegram", "/zalo", "/telegram/nghean",
                                                        "/zalo/nghean_zalo"]
        warned = [r.getMessage() for r in caplog.records]
        assert warned == ["bot missing (telegram): ISHC_BOT_MISSING_TOKEN is not set; it does "
                          "not run"]
        assert not any("2:own" in text or "9:off" in text for text in caplog.messages)
        for channel in channels:
            await channel.stop()
    finally:
        await bot.close()


def test_each_bot_has_its_own_rate_budget() -> None:
    senders = [SimpleNamespace(channel="telegram", rate=29.0, chat_rate=1.0),
               SimpleNamespace(channel="telegram:nghean", rate=5.0, chat_rate=1.0),
               SimpleNamespace(channel="zalo:nghean", rate=10.0, chat_rate=1.0)]
    worker = OutboxWorker(SimpleNamespace(on_commit=lambda *a: None), senders,  # type: ignore
                          lambda: NOW)
    buckets = worker._global
    assert set(buckets) == {"telegram", "telegram:nghean", "zalo:nghean"}
    assert len({id(bucket) for bucket in buckets.values()}) == 3
    assert buckets["telegram:nghean"].rate == 5.0 and buckets["telegram"].rate == 29.0
    # Spending bot B's budget leaves bot A's whole.
    assert buckets["telegram:nghean"].delay() == 0.0
    assert buckets["telegram:nghean"].delay() > 0.0
    assert buckets["telegram"].delay() == 0.0


# Links name the area's bot


async def test_invite_links_name_the_bot_of_the_clubs_area(tmp_path: Path) -> None:
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    try:
        async with bot.storage.transaction() as tx:
            province = await add(tx, "nghean")
            commune = await add(tx, "thongthu")
            await tx.assign_bot(province.id, NGHE_AN, None, NOW)
            await tx.assign_bot(commune.id, NGHE_AN, THONG_THU, NOW)

            async def link(province_code: int | None, commune_code: int | None) -> str | None:
                club = await tx.create_club("CLB", "", "", "", 15, NOW, province_code,
                                            commune_code)
                return await club_link(tx, club, "K7M2QX9P", "env_bot")

            assert await link(NGHE_AN, THONG_THU) == "https://t.me/thongthu_bot?start=K7M2QX9P"
            assert await link(NGHE_AN, OTHER_COMMUNE) == "https://t.me/nghean_bot?start=K7M2QX9P"
            assert await link(NGHE_AN, None) == "https://t.me/nghean_bot?start=K7M2QX9P"
            assert await link(1, 7) == "https://t.me/env_bot?start=K7M2QX9P"
            assert await link(None, None) == "https://t.me/env_bot?start=K7M2QX9P"  # old text
            await add(tx, "nousername", username="")
            await tx.assign_bot((await tx.get_bot("nousername")).id, 2, None, NOW)
            assert await link(2, None) is None  # never a link to the wrong bot
    finally:
        await bot.close()


async def test_a_new_invite_code_in_the_chat_comes_with_the_area_bots_link(text_chat) -> None:
    club = await text_chat.bot.new_club()
    chair = await join_as_chair(text_chat, club)
    reply = await chair.say("/mamoi")
    assert "Đường dẫn" not in reply.text and "t.me" not in reply.text  # the environment bot
    async with text_chat.bot.storage.transaction() as tx:
        await tx.set_club_area(club["club_id"], (NGHE_AN, "Nghệ An"), (THONG_THU, "Thông Thụ"))
        nghean = await add(tx, "nghean")
        await tx.assign_bot(nghean.id, NGHE_AN, None, NOW)
    reply = await chair.say("/mamoi")
    code = reply.text.split("Mã mời thành viên mới: ")[1].split()[0]
    assert f"Hoặc họ mở đường dẫn này trên Telegram: https://t.me/nghean_bot?start={code}" \
        in reply.text
    # The chair writes from another chat: newcomers are sent to the club's bot, by name.
    assert f"họ nhắn /start {code} cho bot của câu lạc bộ @nghean_bot trên Telegram" in reply.text
    assert "cho bot này" not in reply.text


# The command line


def test_cli_add_list_assign_and_refusals(tmp_path: Path) -> None:
    db = tmp_path / "ishc.sqlite3"
    added = run(["bot", "add", "nghean", "--platform", "telegram", "--token-env",
                 "ISHC_BOT_NGHEAN_TOKEN", "--username", "@ishc_nghean_bot"], db)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Đã đăng ký bot nghean (kênh telegram:nghean, 29 tin nhắn")
    assert added.stderr == ("Cảnh báo: chưa đặt ISHC_BOT_NGHEAN_TOKEN ở đây. Hãy đặt biến này "
                            "bằng token của bot trên máy chạy dịch vụ, nếu không bot sẽ không "
                            "chạy.\n")
    zalo = run(["bot", "add", "nghean_zalo", "--platform", "zalo", "--token-env", "ZTOK",
                "--json"], db, env={"ZTOK": "secret-token-value"})
    assert zalo.returncode == 0 and zalo.stderr == ""
    shown = json.loads(zalo.stdout)
    assert shown["rate"] == 10.0 and shown["token_set"] is True
    assert "secret-token-value" not in zalo.stdout

    duplicate = run(["bot", "add", "nghean", "--platform", "zalo", "--token-env", "X"], db)
    assert (duplicate.returncode, duplicate.stderr) == (2, "Lỗi: đã có bot tên nghean\n")
    unknown = run(["bot", "add", "viber1", "--platform", "viber", "--token-env", "X"], db)
    assert unknown.returncode == 2
    assert unknown.stderr == "Lỗi: --platform phải là telegram hoặc zalo, không phải viber\n"
    pasted = run(["bot", "add", "b2", "--platform", "telegram", "--token-env",
                  "123456:AAH-secret"], db)
    assert pasted.returncode == 2 and "123456" not in pasted.stderr + pasted.stdout
    bad_name = run(["bot", "add", "Nghệ An", "--platform", "telegram", "--token-env", "X"], db)
    assert bad_name.returncode == 2 and "a-z, 0-9" in bad_name.stderr

    assigned = run(["bot", "assign", "nghean", "--province-code", "40"], db)
    assert assigned.returncode == 0, assigned.stderr
    assert assigned.stdout.startswith("Từ nay bot nghean phục vụ các câu lạc bộ của")
    commune = run(["bot", "assign", "nghean", "--province-code", "40", "--commune-code",
                   str(THONG_THU), "--json"], db)
    assert json.loads(commune.stdout)["commune_code"] == THONG_THU
    nobody = run(["bot", "assign", "hanoi", "--province-code", "1"], db)
    assert nobody.returncode == 2 and "không có bot tên hanoi" in nobody.stderr

    listed = json.loads(run(["bot", "list", "--json"], db).stdout)
    assert [(b["name"], b["channel"], b["username"], b["token_env"]) for b in listed] == [
        ("nghean", "telegram:nghean", "ishc_nghean_bot", "ISHC_BOT_NGHEAN_TOKEN"),
        ("nghean_zalo", "zalo:nghean_zalo", "", "ZTOK"),
    ]
    assert [(a["province_code"], a["commune_code"]) for a in listed[0]["areas"]] == [
        (40, None), (40, THONG_THU)]
    text = run(["bot", "list"], db, env={"ISHC_BOT_NGHEAN_TOKEN": "1:x"}).stdout.splitlines()
    assert text[0].startswith("nghean\ttelegram:nghean\t@ishc_nghean_bot\t29/s\tđã có token")
    assert text[1].startswith("nghean_zalo\tzalo:nghean_zalo\t@-\t10/s\tchưa đặt ZTOK")
    disabled = run(["bot", "disable", "nghean"], db)
    assert disabled.returncode == 0
    assert json.loads(run(["bot", "list", "--json"], db).stdout)[0]["disabled_at"]


# Two Telegram bots end to end


class SecondBot:
    """Bot B's side of a two-bot harness: its own fake Bot API server, the same service."""

    kind = "telegram"

    def __init__(self, harness: TelegramHarness, fake: FakeTelegram) -> None:
        self.harness, self.fake, self.bot = harness, fake, harness.bot
        self._people = 0

    def person(self, name: str = "Bác") -> TelegramPerson:
        self._people += 1
        return TelegramPerson(self, 6000 + self._people, name)  # type: ignore[arg-type]

    async def settle(self) -> None:
        await self.harness.settle()


class TwoBots(TelegramHarness):
    """The environment bot (``telegram``) and a registered bot ``b`` (``telegram:b``)."""

    def __init__(self, bot: Bot, fake: FakeTelegram, fake_b: FakeTelegram) -> None:
        super().__init__(bot, fake)
        self.fake_b = fake_b
        self.b = SecondBot(self, fake_b)

    async def start(self) -> None:
        await super().start()
        settings = Settings(db=str(self.bot.db), telegram_token="1:env",
                            telegram_api_url=self.fake.base_url, telegram_rate=1000.0,
                            telegram_chat_rate=1000.0)
        own = settings_for(settings, registered("b", rate=1000.0), self.fake_b.token)
        own = replace(own, telegram_api_url=self.fake_b.base_url, telegram_chat_rate=1000.0)
        self.channel_b = TelegramChannel(own, self.bot.service, self.bot.storage, 1,
                                         channel="telegram:b")
        await self.channel_b.start()
        self.bot.outbox.add_channel(self.channel_b)
        self.tasks.append(asyncio.create_task(self.channel_b.poll(lambda: None)))

    async def stop(self) -> None:
        await super().stop()
        await self.channel_b.stop()

    def taken_in(self) -> bool:
        return not self.fake.pending_updates and not self.fake_b.pending_updates


@pytest.fixture
async def two_bots(tmp_path: Path) -> Any:
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeTelegram("111:env-token") as fake, FakeTelegram("222:b-token") as fake_b:
        harness = TwoBots(bot, fake, fake_b)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
            await bot.close()


async def test_a_member_of_bot_b_is_answered_and_reminded_by_bot_b_only(two_bots: Any) -> None:
    club = await two_bots.bot.new_club()
    chair = await join_as_chair(two_bots, club)  # on the environment bot
    hoa = two_bots.b.person("Mồng Thị Hoa")
    reply = await hoa.say(f"/start {club['member_code']}")
    assert "họ và tên" in reply.text
    await hoa.say("Mồng Thị Hoa")
    await hoa.pick("Nữ")
    await hoa.say("1958")
    await hoa.say("0912 345 678")
    await hoa.say("Bản Na Công")
    await hoa.pick("Bình thường")
    await hoa.pick("Bỏ qua")
    await hoa.pick("Tôi đồng ý")
    reply = await hoa.pick("Đúng, lưu lại")
    assert "đã được gửi tới ban chủ nhiệm" in reply.text

    # Bot B's chats: only through bot B's token; the environment bot never wrote to her.
    assert two_bots.fake_b.messages_to(hoa.user_id)
    assert two_bots.fake.messages_to(hoa.user_id) == []
    identities = await two_bots.bot.rows(
        "SELECT i.channel FROM identities i JOIN members m ON m.id = i.member_id "
        "WHERE m.full_name = 'Mồng Thị Hoa'")
    assert identities == [{"channel": "telegram:b"}]
    # The chair (environment bot) is told, through the environment bot.
    notice = chair.unread()[-1]
    assert "Mồng Thị Hoa, sinh năm 1958" in notice.text
    assert two_bots.fake_b.messages_to(chair.user_id) == []

    # A message the bot starts (the approval) goes to her through bot B.
    before = len(two_bots.fake_b.messages_to(hoa.user_id))
    await chair.say("/duyet")
    await chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    await chair.pick("Duyệt")
    told = two_bots.fake_b.messages_to(hoa.user_id)[before:]
    assert any("đã duyệt bác" in m.text for m in told)
    assert two_bots.fake.messages_to(hoa.user_id) == []
    rows = await two_bots.bot.rows("SELECT channel, status FROM outbox WHERE chat_id = ? "
                                   "ORDER BY id", str(hoa.user_id))
    assert {row["channel"] for row in rows} == {"telegram:b"}
    assert {row["status"] for row in rows} == {"sent"}


async def test_the_same_telegram_user_on_two_bots_is_two_chat_accounts(two_bots: Any) -> None:
    club = await two_bots.bot.new_club()
    chair = await join_as_chair(two_bots, club)
    same = TelegramPerson(two_bots.b, chair.user_id, "Vi Thị Lan")  # type: ignore[arg-type]
    reply = await same.say("/menu")
    assert "mã mời" in reply.text or "câu lạc bộ" in reply.text  # a stranger to bot B
    rows = await two_bots.bot.rows("SELECT channel, member_id FROM identities WHERE user_id = ? "
                                   "ORDER BY channel", str(chair.user_id))
    assert [row["channel"] for row in rows] == ["telegram", "telegram:b"]
    assert rows[0]["member_id"] is not None and rows[1]["member_id"] is None
    # Only /lienket makes the two chats one member (as for Telegram and Zalo).
    code = (await chair.say("/lienket")).text.split("Mã liên kết của bác: ")[1][:6]
    two_bots.bot.clock.advance(minutes=1)
    reply = await same.say(f"/lienket {code}")
    assert reply.text.startswith("Đã liên kết. Chào bác Vi Thi Lan")
    rows = await two_bots.bot.rows("SELECT channel, member_id FROM identities WHERE user_id = ? "
                                   "ORDER BY channel", str(chair.user_id))
    assert rows[0]["member_id"] == rows[1]["member_id"] is not None
    two_bots.bot.clock.advance(minutes=1)
    reply = await same.say("/thanhvien")  # the chair's roles, on bot B
    assert "Chủ nhiệm" in reply.text
    reply = await same.say("/dulieu")
    assert "Tài khoản nhắn tin: Telegram\n" in reply.text  # one name for both bots
    await two_bots.channel.offset_stored()
    await two_bots.channel_b.offset_stored()
    offsets = await two_bots.bot.rows("SELECT key FROM meta WHERE key LIKE 'telegram%offset' "
                                      "ORDER BY key")
    assert [row["key"] for row in offsets] == ["telegram:b_offset", "telegram_offset"]


async def test_a_registered_bots_webhook_has_its_own_path(tmp_path: Path) -> None:
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    async with FakeTelegram("222:b-token") as fake_b:
        env = Settings(telegram_token="1:env", telegram_webhook_url="https://h.example/telegram",
                       telegram_webhook_secret="s3cret-b", telegram_api_url=fake_b.base_url)
        own = settings_for(env, registered("b"), fake_b.token)
        channel = TelegramChannel(own, bot.service, bot.storage, 1, channel="telegram:b")
        await channel.start()
        bot.outbox.add_channel(channel)
        try:
            async with web_server([channel], bot.storage, bot.clock) as url:
                update = fake_b.push_text(7001, "/menu")
                async with aiohttp.ClientSession() as session:
                    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-b"}
                    async with session.post(f"{url}/telegram/b", json=update,
                                            headers=headers) as answer:
                        assert answer.status == 200
                    async with session.post(f"{url}/telegram", json=update,
                                            headers=headers) as answer:
                        assert answer.status == 404  # the environment bot is not configured
            rows = await bot.rows("SELECT channel, user_id FROM identities")
            assert rows == [{"channel": "telegram:b", "user_id": "7001"}]
        finally:
            await channel.stop()
            await bot.close()


class ZaloBotB(ZaloHarness):
    """The bot on Zalo as a registered bot ``b`` (channel ``zalo:b``)."""

    def make_channel(self) -> Any:
        from bot.handlers.zalo import ZaloChannel

        channel = super().make_channel()
        own = settings_for(channel.settings, registered("b", "zalo", rate=1000.0),
                           self.fake.token)
        return ZaloChannel(own, self.bot.service, poll_timeout=1, channel="zalo:b")


async def test_a_registered_zalo_bot_serves_its_chats_as_zalo_b(tmp_path: Path) -> None:
    from tests.fake_zalo import FakeZalo

    async with platform_harness(tmp_path, FakeZalo, ZaloBotB) as chat:
        club = await chat.bot.new_club()
        person = chat.person("Lò Thị Mai")
        reply = await person.say(f"/start {club['member_code']}")
        assert "họ và tên" in reply.text
        assert chat.channel.webhook_path() == "/zalo/b" and chat.channel.rate == 1000.0
        assert await chat.bot.rows("SELECT channel FROM identities") == [{"channel": "zalo:b"}]
        assert {row["channel"] for row in await chat.bot.rows("SELECT channel FROM outbox")} \
            == {"zalo:b"}


async def test_the_service_runs_when_only_registered_bots_have_tokens(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from bot.app import _any_bot
    from storage.sqlite import SQLiteStorage

    db = tmp_path / "ishc.sqlite3"
    settings = Settings(db=str(db))
    assert await _any_bot(settings) is False
    store = SQLiteStorage(db)
    await store.open()
    async with store.transaction() as tx:
        await add(tx, "nghean")
    await store.close()
    monkeypatch.delenv("ISHC_BOT_NGHEAN_TOKEN", raising=False)
    assert await _any_bot(settings) is False  # its variable is not set: local chat
    monkeypatch.setenv("ISHC_BOT_NGHEAN_TOKEN", "2:own")
    assert await _any_bot(settings) is True


def test_bot_assign_by_area_names(tmp_path: Path) -> None:
    db = tmp_path / "ishc.sqlite3"
    assert run(["bot", "add", "nghean", "--platform", "telegram", "--token-env", "T"],
               db).returncode == 0
    province = run(["bot", "assign", "nghean", "--province", "nghe an", "--json"], db)
    assert province.returncode == 0, province.stderr
    assert json.loads(province.stdout)["province_code"] == NGHE_AN
    commune = run(["bot", "assign", "nghean", "--province", "Nghệ An", "--commune",
                   "thong thu"], db)
    assert commune.returncode == 0, commune.stderr
    assert "Thông Thụ" in commune.stdout and "Nghệ An" in commune.stdout
    listed = json.loads(run(["bot", "list", "--json"], db).stdout)[0]["areas"]
    assert [(a["province_code"], a["commune_code"]) for a in listed] == [(NGHE_AN, None),
                                                                          (NGHE_AN, THONG_THU)]
    unknown = run(["bot", "assign", "nghean", "--province", "Nghe Ann"], db)
    assert unknown.returncode == 2 and "không có tỉnh nào tên Nghe Ann" in unknown.stderr


async def test_the_bots_are_read_again_while_the_database_is_locked_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart during a lock (the chaos suite's lock fault) waits for it, it does not die."""
    storage = SQLiteStorage(tmp_path / "ishc.sqlite3", busy_timeout=0.1)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            await add(tx, "nghean")
        holder = sqlite3.connect(tmp_path / "ishc.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the database
        loading = asyncio.create_task(load_bots(storage, asyncio.Event()))
        await asyncio.sleep(0.5)
        assert not loading.done()
        holder.execute("COMMIT")
        holder.close()
        found = await asyncio.wait_for(loading, 10)
        assert found is not None and [bot.name for bot in found] == ["nghean"]
        assert "cannot read the registered bots" in caplog.text
        stopping = asyncio.Event()
        stopping.set()
        assert await load_bots(storage, stopping) is None  # told to stop: no bots, no wait
    finally:
        await storage.close()
