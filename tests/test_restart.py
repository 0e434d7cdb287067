"""Crash safety: the bot process is killed with SIGKILL mid-registration and restarted.

The conversation continues at the same step, and a redelivered update is not applied twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from bot.clubs import create_club
from bot.service import utcnow
from storage.sqlite import SQLiteStorage
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
USER = 4242


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """One ``python -m bot run`` process polling the fake Telegram (``db``: a path or a DSN)."""

    def __init__(self, fake: FakeTelegram, db: Path | str, log: Path) -> None:
        self.env = {
            **os.environ,
            "ISHC_DB": str(db),
            "ISHC_REMINDERS": "0",  # real time: reminders would depend on the date
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "ISHC_LISTEN": f"127.0.0.1:{free_port()}",
            "PYTHONPATH": str(ROOT),
        }
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()


async def say(fake: FakeTelegram, text: str) -> tuple[dict, str]:
    update = fake.push_text(USER, text)
    message = await fake.next_message(USER, timeout=20)
    return update, message.text


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


async def restarted(fake: FakeTelegram, bot: BotProcess) -> int:
    """Restart; wait until the new process polls. Returns replies re-sent after the crash.

    A reply sent just before the kill but not yet marked sent goes out again (at least once).
    """
    polls = sum(1 for call in fake.calls if call[0] == "getupdates")
    await bot.start()
    for _ in range(2000):
        if sum(1 for call in fake.calls if call[0] == "getupdates") > polls:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    resent = 0
    while True:
        try:
            await fake.next_message(USER, timeout=0.05)
            resent += 1
        except TimeoutError:
            return resent


async def settled(fake: FakeTelegram) -> None:
    for _ in range(400):
        if not fake.pending_updates:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)


async def test_sigkill_mid_registration_then_restart(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    storage = SQLiteStorage(db)
    await storage.open()
    async with storage.transaction() as tx:
        club = await create_club(tx, name="CLB bản Lốc", commune="Thông Thụ", district="Quế Phong",
                                 province="Nghệ An", meeting_day=15, now=utcnow())
    await storage.close()

    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db, tmp_path / "bot.log")
        try:
            await bot.start()
            _, text = await say(fake, f"/start {club['member_code']}")
            assert "họ và tên" in text
            await say(fake, "Lò Thị Mai")
            await say(fake, "nu")
            birth, text = await say(fake, "1950")
            assert "Số điện thoại" in text

            await bot.kill()  # mid-flow, no goodbye
            assert await restarted(fake, bot) <= 1
            _, text = await say(fake, "0987 654 321")
            assert "thôn, bản" in text, "the flow continues at the same step after restart"

            sent_before = len(fake.messages_to(USER))
            fake.redeliver(birth)
            await settled(fake)
            assert len(fake.messages_to(USER)) == sent_before, "a redelivered update is ignored"
            assert rows(db, "SELECT step_id FROM sessions") == [("village",)]

            for answer in ("Bản Lốc", "2", "Thái", "đồng ý"):
                await say(fake, answer)
            confirm, text = await say(fake, "1")
            assert "đã được gửi tới ban chủ nhiệm" in text

            await bot.kill()
            assert await restarted(fake, bot) <= 1
            sent_before = len(fake.messages_to(USER))
            fake.redeliver(confirm)
            await settled(fake)
            assert len(fake.messages_to(USER)) == sent_before
            _, text = await say(fake, "/menu")
            assert "chờ ban chủ nhiệm duyệt" in text
            members = rows(db, "SELECT full_name, phone, status FROM members")
            assert members == [("Lò Thị Mai", "+84987654321", "pending")]
            assert len(rows(db, "SELECT * FROM consents")) == 1

            log = (tmp_path / "bot.log").read_text(encoding="utf-8")
            assert "polling mode" in log and fake.token not in log  # tokens never logged
        finally:
            if bot.process and bot.process.returncode is None:
                await bot.kill()
