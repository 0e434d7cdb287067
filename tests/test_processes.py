"""Two service processes on one PostgreSQL database, one of them killed mid-conversation.

The real service runs twice (``python -m bot run``) on the same database, polling the fake
Telegram server: only the leader polls. People register while the leader is SIGKILLed; the
other process takes over polling within seconds, every registration is kept once, and every
question reaches its person (a reply the dead process had committed but not sent is sent by
the survivor once its claim lapses).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from bot.clubs import create_club
from bot.service import utcnow
from storage.postgres import PostgresStorage
from tests.fake_telegram import FakeTelegram
from tests.test_restart import BotProcess
from tests.test_storage_contract import pg_cluster

PEOPLE = 6


class Service(BotProcess):
    """One ``python -m bot run`` process on the shared database."""

    def __init__(self, fake: FakeTelegram, dsn: str, log: Path) -> None:
        super().__init__(fake, dsn, log)
        self.env["ISHC_CLAIM_LEASE_SECONDS"] = "2"
        self.env["ISHC_TELEGRAM_CHAT_RATE"] = "50"

    def leads_polling(self) -> bool:
        text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return "task telegram_poller: this process leads it now" in text

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            await asyncio.wait_for(self.process.wait(), 20)


def answers(code: str, n: int) -> list[str]:
    return [f"/start {code}", f"Lò Thị Mai {chr(65 + n)}", "nu", "1950", f"0987 654 3{n:02d}",
            "Bản Lốc", "2", "Thái", "đồng ý", "1"]


async def register(fake: FakeTelegram, user: int, texts: list[str]) -> None:
    for text in texts:
        fake.push_text(user, text)
        await fake.next_message(user, timeout=30)
        await asyncio.sleep(0.2)  # reading, then typing the next answer


async def test_the_other_process_takes_over_when_the_leader_is_killed(tmp_path: Path) -> None:
    dsn = pg_cluster().create_database(f"procs_{os.getpid()}")
    storage = PostgresStorage(dsn)
    await storage.open()
    async with storage.transaction() as tx:
        club = await create_club(tx, name="CLB bản Lốc", commune="Thông Thụ",
                                 district="Quế Phong", province="Nghệ An", meeting_day=15,
                                 now=utcnow())
    await storage.close()

    async with FakeTelegram() as fake:
        services = [Service(fake, dsn, tmp_path / f"bot{n}.log") for n in range(2)]
        try:
            for service in services:
                await service.start()
            for _ in range(300):
                if any(s.leads_polling() for s in services):
                    break
                await asyncio.sleep(0.05)
            leader = next(s for s in services if s.leads_polling())
            other = next(s for s in services if s is not leader)
            people = [register(fake, 20_000 + n, answers(club["member_code"], n))
                      for n in range(PEOPLE)]
            crowd = asyncio.gather(*people)
            await asyncio.sleep(0.8)  # conversations under way
            assert not crowd.done()
            await leader.stop(signal.SIGKILL)
            killed = time.monotonic()
            for _ in range(200):
                if other.leads_polling():
                    break
                await asyncio.sleep(0.05)
            takeover = time.monotonic() - killed
            await asyncio.wait_for(crowd, 90)
        finally:
            for service in services:
                await service.stop()
        logs = "\n".join(s.log.read_text(encoding="utf-8") for s in services)

    assert other.leads_polling(), logs[-3000:]
    assert takeover < 5.0, f"the other process took {takeover:.1f}s to lead"
    for n in range(PEOPLE):
        texts = [m.text for m in fake.messages_to(20_000 + n)]
        assert "đã được gửi tới ban chủ nhiệm" in texts[-1], texts
    storage = PostgresStorage(dsn)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            members = await tx._all("SELECT full_name FROM members ORDER BY full_name")
            inbox = await tx._all("SELECT count(*) AS n FROM inbox")
    finally:
        await storage.close()
    assert [m["full_name"] for m in members] == [f"Lò Thị Mai {chr(65 + n)}"
                                                 for n in range(PEOPLE)]
    assert inbox[0]["n"] == PEOPLE * 10  # each answer applied once
