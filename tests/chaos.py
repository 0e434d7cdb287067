"""Chaos suite: the real service under faults, and nothing acknowledged may be lost or doubled.

The service runs as its own process (``python -m bot run``) against the fake Telegram server
(polling) and the fake Zalo server (webhook: the fake posts each event until it is answered)
on 127.0.0.1, on a fresh database with one club. Simulated people type, one message at a
time, waiting for each answer: newcomers register with the member code, treasurers give loans
and record repayments, members record blood-pressure readings. Each script has its own
amounts and values, so a duplicate in the database can be seen. Meanwhile one scenario's
faults are injected (:data:`SCENARIOS`): a 10 s database lock, a full disk, SIGKILL every few
seconds, 5xx and 429 bursts from both platforms, answers slower than the client waits, and
1 % malformed updates in every scenario.

Then the faults stop, everything settles, the service is stopped, and the database and the
fakes' records are compared:

- every update the platform saw acknowledged (Telegram: the offset moved past it; Zalo: answered
  200) is in the inbox, was not made a dead letter, and its script's row (member, ledger entry,
  reading) is there exactly once;
- malformed updates are acknowledged, and those the bot cannot read are dead letters;
- every reply committed to the outbox was sent and received by the fake; one received twice
  (a SIGKILL between the send and its record) is allowed and counted;
- ``/readyz`` is 503 during the lock and the full disk and 200 within 5 s after each ends;
  ``/healthz`` answers 200 whenever the process lives;
- no reminder goes out in the quiet hours or after it expired: every scenario seeds some
  around the present moment with quiet hours set around it (:func:`seed_reminders`).

On PostgreSQL (``--backend postgres``: a database of a throwaway cluster, see
``tests/postgres.py``) the same load and checks run with one or several service processes
(``--processes N``) on the one database, each listening on its own port. Telegram is polled
by the leader only; the Zalo webhook goes to a round-robin reverse proxy
(``tests/chaos_proxy.py``) that hands each event to the processes in turn and passes a refused
connection on to the next. The scenario ``kill_one`` SIGKILLs one process every few seconds
(every other time the poller's leader) and starts it again a moment later, while the others
go on; the seconds from the leader's kill to the first getUpdates of another process (the fake
records which process polled) are the takeover, which must be within 5 s. The SQLite file's
faults (lock, full disk) do not apply there. The database is read with the same SQL on both
backends (``tests/chaos_db.py``).

Usage: ``python -m tests.chaos [--scenario NAME ...] [--seconds N] [--keep]
[--backend sqlite|postgres] [--processes N]``; exit status 1 on any loss, duplicate or failed
check. ``tests/test_chaos.py`` runs short versions in ``make test``; ``make chaos`` runs the
full suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot.clubs import create_club
from bot.messages import OutMessage, T
from bot.reminders import SETTINGS_KEY as REMINDERS_KEY
from bot.reminders import Due, out_of_quiet
from bot.reminders import Settings as ReminderSettings
from bot.reminders import queue as queue_reminders
from bot.render import as_text, split_text
from storage.backends import storage_for
from storage.base import NewMember
from storage.ledger import NewEntry
from tests.chaos_db import ChaosDatabase, describe, drop_postgres, fresh_postgres
from tests.chaos_faults import (
    DEAD,
    IGNORED,
    REFUSED,
    DatabaseLock,
    FullDisk,
    Malformed,
    telegram_malformed,
    zalo_malformed,
)
from tests.chaos_proxy import RoundRobinProxy
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo, WebhookDelivery, zalo_id

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM, ZALO = "telegram", "zalo"
ZALO_SECRET = "chaos-webhook-secret"
GREEN_WITHIN = 5.0  # seconds: /readyz must be 200 again this soon after a fault ends
TAKEOVER_WITHIN = 5.0  # seconds: another process polls Telegram this soon after the leader dies
MALFORMED_EVERY = 100  # one malformed update per this many updates (1 %)
SEND_METHODS = {TELEGRAM: ("sendMessage",), ZALO: ("sendMessage",)}

# --- the people's scripts --------------------------------------------------------------------

Step = tuple[str, str]  # what the person types, a piece of text the answer must contain


def person_name(n: int) -> str:
    families = ("Lò", "Vi", "Mồng", "Quàng", "Lương", "Hà", "Nguyễn", "Trần")
    givens = ("Mai", "Hoa", "Lan", "Sơn", "Tâm", "Vinh", "Yến", "Phúc", "Oanh", "Dũng")
    return f"{families[n % 8]} {('Thị', 'Văn')[n % 2]} {givens[(n // 8) % 10]}"


def member_phone(n: int) -> str:
    return f"098{n:07d}"


def typed(amount: int) -> str:
    """An amount as a treasurer types it: 1.234.000."""
    return f"{amount:,}".replace(",", ".")


def registration(code: str, n: int) -> list[Step]:
    """A newcomer registers with the member code (phone 091nnnnnnn)."""
    return [
        (f"/start {code}", "họ và tên"),
        (person_name(n), "nam hay nữ"),
        ("nam", "sinh năm nào"),
        ("1958", "Số điện thoại"),
        (f"091{n:07d}", "thôn, bản"),
        ("Bản Lốc", "thuộc diện nào"),
        ("1", "Dân tộc"),
        ("bo qua", "Bác có đồng ý không?"),
        ("dong y", f"+8491{n:07d}"),
        ("1", "đã được gửi tới ban chủ nhiệm"),
    ]


def loan(borrower: int, amount: int) -> list[Step]:
    """The treasurer gives ``borrower`` a loan of ``amount`` from today, for 12 months."""
    return [
        ("/giaingan", "Ai vay ạ?"),
        (member_phone(borrower), "Cho vay bao nhiêu tiền ạ?"),
        (typed(amount), "Vay để làm gì ạ?"),
        ("1", "Giao tiền ngày nào ạ?"),
        ("hom nay", "12 tháng"),
        ("12", "Tổng phải trả"),
        ("1", "Đã lưu: cho bác"),
    ]


def repayment(borrower: int, amount: int) -> list[Step]:
    """The treasurer records ``amount`` received from ``borrower`` today."""
    return [
        ("/thutien", "Ai trả"),
        (member_phone(borrower), "Thành viên đã trả bao nhiêu tiền ạ?"),
        (typed(amount), "Trả vào ngày nào"),
        ("hom nay", "cho khoản vay"),
        ("1", "Đã ghi"),
    ]


def reading(systolic: int, diastolic: int, pulse: int, weight: str) -> list[Step]:
    """A member records their blood pressure."""
    return [
        ("/huyetap", "Huyết áp của bác đo được bao nhiêu ạ?"),
        (f"{systolic}/{diastolic} {pulse}", "Cân nặng bao nhiêu kg ạ?"),
        (weight, f"Huyết áp: {systolic}/{diastolic}, mạch {pulse}"),
        ("1", f"Đã lưu: {systolic}/{diastolic}"),
    ]


@dataclass
class Script:
    """One person's conversation and the row it must leave exactly once."""

    kind: str
    channel: str
    chat: str
    steps: list[Step]
    check: tuple[str, tuple[Any, ...]]  # SQL counting the row, and its arguments
    done: int = 0  # steps answered
    confirm: Sent | None = None  # the last step's update: the one that saves
    stalled: str | None = None


# --- what was sent, and what became of it ----------------------------------------------------


@dataclass
class Sent:
    """One update the platform offered to the bot."""

    channel: str
    external_id: str | None  # the inbox key; None for malformed updates
    expect: str  # "applied", DEAD, IGNORED or REFUSED
    update_id: int | None = None  # Telegram
    delivery: WebhookDelivery | None = None  # Zalo
    label: str = ""


@dataclass
class Row:
    """One line of the table."""

    scenario: str
    sent: int = 0
    acked: int = 0
    applied: int = 0
    lost: int = 0
    duplicated: int = 0
    replies: int = 0
    delivered: int = 0
    twice: int = 0
    dead: int = 0
    red_seconds: float = 0.0
    green_after: list[float] = field(default_factory=list)
    takeovers: list[float] = field(default_factory=list)  # seconds to a new poller, per kill
    kills: list[float] = field(default_factory=list)  # when a process was SIGKILLed (monotonic)
    strict_twice: bool = False  # only a SIGKILL may explain a second delivery (no timeouts)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- the world: one club, its board and members, built through the storage API --------------


@dataclass
class Worker:
    """A loop of scripts on one channel: its treasurer's chat and its own members."""

    channel: str
    treasurer_chat: str
    members: list[tuple[int, str]]  # (n, chat id) of members whose chat is on this channel
    next_member: int = 0


def chat_of(channel: str, n: int) -> str:
    return str(10_000 + n) if channel == TELEGRAM else zalo_id(n)


async def build_world(db: str | Path, workers: int,
                      members_each: int) -> tuple[str, list[Worker]]:
    """A club with 1 tỷ đồng of capital, a chair, one treasurer per worker and its members.

    Args:
        db: The database (a SQLite path or a PostgreSQL URL), through the storage interface.
        workers: Loops of scripts (half on Telegram, half on Zalo).
        members_each: Members per worker.

    Returns:
        The member invite code and the workers (half on Telegram, half on Zalo).
    """
    now = datetime.now(UTC)
    # What it queues (the seeded reminders) is nobody's to send: no claim held by this
    # process (on PostgreSQL a claim would keep the services off them for its lease).
    storage = storage_for(str(db), claim_lease=0)
    await storage.open()
    made: list[Worker] = []
    try:
        async with storage.transaction() as tx:
            info = await create_club(tx, name="CLB LTHTGN bản Lốc", commune="Thông Thụ",
                                     district="Quế Phong", province="Nghệ An", meeting_day=15,
                                     now=now)
            club_id = info["club_id"]

            async def member(n: int, channel: str, roles: tuple[str, ...] = ()) -> str:
                member_id, _ = await tx.add_member(NewMember(
                    club_id=club_id, full_name=person_name(n), sex="female", birth_year=1950,
                    birth_date=None, phone=f"+84{member_phone(n)[1:]}", village="Bản Lốc",
                    household="ordinary", ethnicity="Thái", status="active", assisted_by=None,
                    registration_key=f"chaos-{n}"), now)
                for role in roles:
                    await tx.grant_role(member_id, role, None, now)
                chat = chat_of(channel, n)
                await tx.touch_identity(channel, chat, chat, person_name(n), "vi", now)
                await tx.link_identity(channel, chat, member_id)
                return chat

            chair_chat = await member(0, TELEGRAM, ("chair", "member"))
            numbers = itertools.count(1)
            for index in range(workers):
                channel = (TELEGRAM, ZALO)[index % 2]
                treasurer = await member(next(numbers), channel, ("treasurer", "member"))
                pool = []
                for _ in range(members_each):
                    n = next(numbers)
                    pool.append((n, await member(n, channel, ("member",))))
                made.append(Worker(channel, treasurer, pool))
            await tx.add_entry(NewEntry(club_id=club_id, kind="capital", day=now.date(),
                                        key="chaos-capital", cash=1_000_000_000,
                                        note="Vốn hỗ trợ dự án"), now)
            await seed_reminders(tx, club_id, chair_chat, now)
    finally:
        await storage.close()
    return info["member_code"], made


REMINDER_TZ = "Asia/Ho_Chi_Minh"  # the service's ISHC_TZ (its default)


async def seed_reminders(tx: Any, club_id: int, chair_chat: str, now: datetime) -> None:
    """Reminders the sender must hold back during the whole run.

    The quiet hours are set around the present moment (two hours either side), so:
    a weekly digest queued by the real code now waits for their end; a digest already due
    (queued before the quiet hours began) must be postponed, not sent; and one whose moment
    passed must expire. :func:`reminder_check` then finds none of them sent.
    """
    zone = ZoneInfo(REMINDER_TZ)
    local = now.astimezone(zone)
    quiet = ReminderSettings(quiet_start=(local - timedelta(hours=2)).strftime("%H:%M"),
                             quiet_end=(local + timedelta(hours=2)).strftime("%H:%M"))
    await tx.set_meta(REMINDERS_KEY, quiet.to_json())
    [chair] = [i for i in [await tx.touch_identity(TELEGRAM, chair_chat, chair_chat, "", "vi",
                                                   now)]]
    guard = {"kind": "digest", "club": club_id, "member": chair.member_id}
    digest = Due(f"digest:{club_id}:chaos:{chair.member_id}", club_id, chair.member_id,
                 "digest", now, now + timedelta(days=1), (T("{n}", n="chaos digest"),),
                 guard=guard)
    await queue_reminders(tx, [digest], now, REMINDER_TZ)
    for name, not_before, expires_at in (
        ("due in the quiet hours", now - timedelta(minutes=5), now + timedelta(hours=3)),
        ("expired", now - timedelta(hours=3), now - timedelta(minutes=1)),
    ):
        item = await tx.enqueue(TELEGRAM, chair_chat, {"text": f"chaos reminder {name}",
                                                       "buttons": []}, now,
                                f"reminder:chaos:{name}", not_before=not_before,
                                expires_at=expires_at, quiet=True, guard=guard)
        await tx.record_reminder(f"chaos:{name}", club_id, chair.member_id, "digest",
                                 not_before, now, item)


# --- the service process ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CLAIM_LEASE = 3  # seconds: a killed process's unsent replies wait this long for another


class ServiceProcess:
    """``python -m bot run`` on the world's database; its output goes to ``log`` via a pipe.

    A pipe, not the file itself: a full-disk fault limits every file the process writes.

    Args:
        db: ``ISHC_DB`` (a SQLite path or a PostgreSQL URL).
        workdir: Where it runs and its log goes.
        telegram: The fake Telegram; each start calls it under its own client name
            (``p{index}.{start}``), so the fake records which process polled.
        zalo: The fake Zalo.
        index: Which of several processes (0: the only one, or the first).
        public_url: The reverse proxy's URL when several processes share the webhook
            (default: the process's own).
    """

    def __init__(self, db: str | Path, workdir: Path, telegram: FakeTelegram, zalo: FakeZalo,
                 *, index: int = 0, public_url: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.index = index
        self.log = workdir / ("service.log" if index == 0 else f"service-{index}.log")
        self.workdir = workdir
        self.telegram = telegram
        public = public_url or self.url
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TELEGRAM_", "ZALO_", "ISHC_"))}
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(proxy, None)
        env.update({
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "ISHC_DB": str(db),
            "ISHC_LISTEN": f"127.0.0.1:{self.port}",
            "ISHC_PUBLIC_URL": public,
            "ISHC_CLAIM_LEASE_SECONDS": str(CLAIM_LEASE),  # PostgreSQL: several processes
            "ISHC_REMINDERS": "0",  # real time: what is due would depend on the date
            "ISHC_FLOOD_MESSAGES": "1000000",  # treasurers type faster than people do
            "ISHC_TELEGRAM_RATE": "500", "ISHC_TELEGRAM_CHAT_RATE": "100",
            "ISHC_ZALO_RATE": "500", "ISHC_ZALO_CHAT_RATE": "100",
            "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_URL": telegram.base_url,
            "ZALO_BOT_TOKEN": zalo.token, "ZALO_API_URL": zalo.base_url,
            "ZALO_WEBHOOK_URL": f"{public}/zalo", "ZALO_WEBHOOK_SECRET": ZALO_SECRET,
        })
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.generation = 0
        self.alive = False  # started and not killed by us
        self.answered = False  # /healthz answered since this start
        self.exits: list[tuple[int, int | None]] = []  # (generation, code) of unexpected exits
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.returncode is None else None

    @property
    def client(self) -> str:
        """The name this start calls the fake Telegram under (see ``FakeTelegram.polls``)."""
        return f"p{self.index}.{self.generation}"

    async def start(self) -> None:
        self.generation += 1
        self.answered = False
        self.env["TELEGRAM_API_URL"] = self.telegram.base_url_for(self.client)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self.env, cwd=self.workdir,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.alive = True
        self._reader = asyncio.create_task(self._copy(self.process, self.generation))

    async def _copy(self, process: asyncio.subprocess.Process, generation: int) -> None:
        assert process.stdout is not None
        with self.log.open("ab") as log:
            log.write(f"--- start {generation} (pid {process.pid})\n".encode())
            while line := await process.stdout.readline():
                log.write(line)
                log.flush()
        code = await process.wait()
        if self.alive and self.generation == generation:  # not our SIGKILL or SIGTERM
            self.exits.append((generation, code))
            self.alive = False

    async def wait_listening(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"the service exited: see {self.log}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{self.url}/healthz",
                                       timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        self.answered = True
                        return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the service did not listen within {timeout}s: see {self.log}")

    async def kill(self) -> None:
        """SIGKILL: no goodbye."""
        self.alive = False
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> int | None:
        """SIGTERM and wait (the outbox records what it sent)."""
        self.alive = False
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader
        return self.process.returncode


# --- /healthz and /readyz --------------------------------------------------------------------


class Monitor:
    """Polls ``/healthz`` and ``/readyz`` while the scenario runs."""

    def __init__(self, service: ServiceProcess, session: aiohttp.ClientSession) -> None:
        self.service = service
        self.session = session
        self.ready: list[tuple[float, int]] = []  # (when answered, status); 0: no answer
        self.health_failures: list[str] = []
        self.health_checks = 0
        self.reasons: Counter[str] = Counter()  # why /readyz said 503

    async def readyz(self, timeout: float = 10.0) -> int:
        """``/readyz``'s status (0: no answer); the reasons of a 503 are counted."""
        try:
            async with self.session.get(f"{self.service.url}/readyz",
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
                body = await answer.json(content_type=None)
                if answer.status == 503 and isinstance(body, dict):
                    for reason, detail in (body.get("reasons") or {}).items():
                        self.reasons[f"{reason}: {str(detail)[:100]}"] += 1
                return answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return 0

    async def get(self, path: str, timeout: float) -> int:
        try:
            async with self.session.get(f"{self.service.url}{path}",
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as answer:
                await answer.read()
                return answer.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def health(self) -> None:
        while True:
            generation, alive = self.service.generation, self.service.alive
            answered = self.service.answered
            status = await self.get("/healthz", 3.0)
            if status == 200 and generation == self.service.generation:
                self.service.answered = True
            still = self.service.alive and generation == self.service.generation
            if alive and answered and still:
                self.health_checks += 1
                if status != 200:
                    self.health_failures.append(
                        f"/healthz answered {status or 'nothing'} at {time.monotonic():.1f} "
                        f"(process {generation} alive)")
            await asyncio.sleep(0.2)

    async def readiness(self) -> None:
        while True:
            if self.service.alive and self.service.answered:
                status = await self.readyz()
                if self.service.alive:
                    self.ready.append((time.monotonic(), status))
            await asyncio.sleep(0.25)

    def red_seconds(self) -> float:
        red, last = 0.0, None
        for when, status in self.ready:
            if last is not None and status != 200:
                red += when - last
            last = when
        return red

    def red_between(self, start: float, end: float) -> bool:
        return any(start <= when <= end + 1.0 and status == 503 for when, status in self.ready)

    async def time_to_green(self, since: float, limit: float = 30.0) -> float | None:
        """Poll ``/readyz`` until it is 200; seconds from ``since`` (None: not within limit)."""
        while time.monotonic() - since < limit:
            if self.service.alive and await self.readyz() == 200:
                return time.monotonic() - since
            await asyncio.sleep(0.1)
        return None


# --- people ----------------------------------------------------------------------------------


class Chats:
    """Sends what people type through the fakes and records every update offered."""

    def __init__(self, telegram: FakeTelegram, zalo: FakeZalo, seed: int) -> None:
        self.telegram = telegram
        self.zalo = zalo
        self.sent: list[Sent] = []
        self.malformed = 0
        self.valid = 0
        self.rng = random.Random(seed)

    def push(self, channel: str, chat: str, text: str) -> Sent:
        if channel == TELEGRAM:
            update = self.telegram.push_text(int(chat), text)
            message = update["message"]
            sent = Sent(TELEGRAM, f"m:{chat}:{message['message_id']}", "applied",
                        update_id=update["update_id"], label=text)
        else:
            event = self.zalo.push_text(chat, text)
            sent = Sent(ZALO, f"message.text.received:{event['message']['message_id']}",
                        "applied", delivery=self.zalo.deliveries[-1], label=text)
        self.sent.append(sent)
        self.valid += 1
        if self.valid % MALFORMED_EVERY == 0:
            self.push_malformed(channel, chat)
        return sent

    def push_malformed(self, channel: str, chat: str) -> Sent:
        index = self.malformed
        self.malformed += 1
        if channel == TELEGRAM:
            bad: Malformed = telegram_malformed(index, int(chat))
            update = self.telegram.push_update(bad.body)
            sent = Sent(TELEGRAM, None, bad.outcome, update_id=update["update_id"],
                        label=bad.kind)
        else:
            bad = zalo_malformed(index, chat)
            if isinstance(bad.body, bytes):
                delivery = self.zalo.post_raw_webhook(bad.body)
            else:
                delivery = self.zalo.push_webhook_json(bad.body)
            sent = Sent(ZALO, None, bad.outcome, delivery=delivery, label=bad.kind)
        self.sent.append(sent)
        return sent

    def received(self, channel: str, chat: str) -> list[Any]:
        fake = self.telegram if channel == TELEGRAM else self.zalo
        return fake.messages_to(int(chat) if channel == TELEGRAM else chat)

    async def run(self, script: Script, step_timeout: float) -> None:
        """Type each step and wait for an answer containing what it must."""
        for index, (text, expect) in enumerate(script.steps):
            mark = len(self.received(script.channel, script.chat))
            sent = self.push(script.channel, script.chat, text)
            if index == len(script.steps) - 1:
                script.confirm = sent
            deadline = time.monotonic() + step_timeout
            while True:
                new = self.received(script.channel, script.chat)[mark:]
                if any(expect in message.text for message in new):
                    break
                if time.monotonic() > deadline:
                    seen = [m.text[:80] for m in new[-3:]]
                    script.stalled = (f"{script.kind} on {script.channel} chat {script.chat}: "
                                      f"no answer with {expect!r} to {text!r} within "
                                      f"{step_timeout:.0f}s (got {seen})")
                    return
                await asyncio.sleep(0.05)
            script.done = index + 1


def people(code: str, worker: Worker, numbers: itertools.count) -> Any:
    """The worker's scripts, in turn: a registration, a loan and its repayment, a reading."""
    while True:
        n = next(numbers)
        chat = chat_of(worker.channel, 500_000 + n)
        yield Script("register", worker.channel, chat, registration(code, n),
                     ("SELECT count(*) FROM members WHERE phone = ?", (f"+8491{n:07d}",)))
        borrower, _ = worker.members[worker.next_member % len(worker.members)]
        worker.next_member += 1
        amount = 1_000_000 + n * 1_000
        yield Script("loan", worker.channel, worker.treasurer_chat, loan(borrower, amount),
                     ("SELECT count(*) FROM ledger WHERE kind = 'disbursement' "
                      "AND principal = ?", (amount,)))
        paid = 50_000 + n * 100
        yield Script("repay", worker.channel, worker.treasurer_chat,
                     repayment(borrower, paid),
                     ("SELECT count(*) FROM ledger WHERE kind = 'repayment' AND cash = ?",
                      (paid,)))
        reader, reader_chat = worker.members[worker.next_member % len(worker.members)]
        worker.next_member += 1
        systolic, diastolic, pulse = 100 + n % 29, 60 + n % 19, 55 + n % 40
        weight = f"{40 + n % 40},{n % 10}"
        yield Script("reading", worker.channel, reader_chat,
                     reading(systolic, diastolic, pulse, weight),
                     ("SELECT count(*) FROM readings r JOIN members m ON m.id = r.member_id "
                      "WHERE m.phone = ? AND systolic = ? AND diastolic = ? AND pulse = ?",
                      (f"+84{member_phone(reader)[1:]}", systolic, diastolic, pulse)))


# --- scenarios -------------------------------------------------------------------------------


@dataclass
class Context:
    """What a fault needs while the scenario runs.

    ``service`` and ``monitor`` are the first process's (the only one on SQLite);
    ``services`` and ``monitors`` are all of them.
    """

    db: str
    services: list[ServiceProcess]
    monitors: list[Monitor]
    telegram: FakeTelegram
    zalo: FakeZalo
    session: aiohttp.ClientSession
    row: Row
    seconds: float
    full: bool  # the full suite (longer faults, slow ones included)
    started: float = field(default_factory=time.monotonic)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def service(self) -> ServiceProcess:
        return self.services[0]

    @property
    def monitor(self) -> Monitor:
        return self.monitors[0]

    def poll_leader(self) -> ServiceProcess | None:
        """The live process that polled Telegram last (only the leader polls), if any."""
        if not self.telegram.polls:
            return None
        client = self.telegram.polls[-1][1]
        return next((s for s in self.services if s.client == client and s.pid is not None),
                    None)

    async def sleep(self, seconds: float) -> bool:
        """Wait; ``False`` if the scenario ended meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return not self.stopping.is_set()

    async def green(self, fault: str, ended: float) -> None:
        after = await self.monitor.time_to_green(ended)
        if after is None:
            self.row.problems.append(f"/readyz not 200 within 30s after the {fault} ended")
            return
        self.row.green_after.append(after)
        if after > GREEN_WITHIN:
            self.row.problems.append(f"/readyz 200 only {after:.1f}s after the {fault} ended "
                                     f"(must be within {GREEN_WITHIN:.0f}s)")


Fault = Callable[[Context], Awaitable[None]]


async def lock_fault(ctx: Context) -> None:
    """Another process holds the write lock (10 s in the full suite)."""
    hold = 10.0 if ctx.full else 3.0
    if not await ctx.sleep(min(2.0, ctx.seconds / 4)):
        return
    lock = DatabaseLock(Path(ctx.db))
    await lock.take()
    began = time.monotonic()
    red = False
    try:
        while time.monotonic() - began < hold:
            red = red or await ctx.monitor.readyz() == 503
            await asyncio.sleep(0.2)
    finally:
        await lock.release()
    ended = time.monotonic()
    if not red and not ctx.monitor.red_between(began, ended):
        ctx.row.problems.append(f"/readyz never 503 during the {hold:.0f}s database lock")
    ctx.row.notes.append(f"database locked {ended - began:.1f}s")
    await ctx.green("database lock", ended)


async def disk_fault(ctx: Context) -> None:
    """The disk is full for the service for a while, then space is freed."""
    hold = 8.0 if ctx.full else 3.0
    if not await ctx.sleep(min(2.0, ctx.seconds / 4)):
        return
    pid = ctx.service.pid
    if pid is None:
        ctx.row.notes.append("full disk skipped: no process")
        return
    disk = FullDisk(Path(ctx.db))
    limit = disk.fill(pid)
    began = time.monotonic()
    red = False
    try:
        while time.monotonic() - began < hold:
            red = red or await ctx.monitor.readyz() == 503
            await asyncio.sleep(0.2)
    finally:
        disk.free()
    ended = time.monotonic()
    if not red and not ctx.monitor.red_between(began, ended):
        ctx.row.problems.append(f"/readyz never 503 during the {hold:.0f}s full disk")
    ctx.row.notes.append(f"disk full {ended - began:.1f}s (RLIMIT_FSIZE {limit} bytes)")
    await ctx.green("full disk", ended)


async def kill_fault(ctx: Context) -> None:
    """SIGKILL every few seconds under load, and start it again at once."""
    every = 5.0 if ctx.full else 3.0
    rng = random.Random(7)
    kills = 0
    while await ctx.sleep(every * rng.uniform(0.6, 1.4)):
        ctx.row.kills.append(time.monotonic())
        await ctx.service.kill()
        kills += 1
        await ctx.service.start()
        await ctx.service.wait_listening(ctx.session)
    ctx.row.notes.append(f"{kills} SIGKILLs")


async def kill_one(ctx: Context) -> None:
    """Several processes: every few seconds SIGKILL one, start it again a moment later.

    Which one is random, except that every other kill is the Telegram poller's leader (the
    process that polled last), so each run measures the takeover: the seconds from the kill to
    the first getUpdates of another process (:func:`takeover`).
    """
    every = 5.0 if ctx.full else 3.0
    rng = random.Random(11)
    kills = leader_kills = 0
    watches: list[asyncio.Task[None]] = []
    while await ctx.sleep(every * rng.uniform(0.6, 1.4)):
        live = [s for s in ctx.services if s.pid is not None and s.answered]
        if len(live) < 2:
            continue  # the others must go on: never the last one
        leader = ctx.poll_leader()
        victim = leader if kills % 2 == 0 and leader in live else rng.choice(live)
        client, mark = victim.client, len(ctx.telegram.polls)
        killed = time.monotonic()
        ctx.row.kills.append(killed)
        await victim.kill()
        kills += 1
        if victim is leader:
            leader_kills += 1
            watches.append(asyncio.create_task(takeover(ctx, client, killed, mark)))
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        await victim.start()
        await victim.wait_listening(ctx.session)
    await asyncio.gather(*watches)
    # Only the leader polls: the poller changes hands when its leader dies, never otherwise.
    clients = [by for _, by in ctx.telegram.polls]
    changes = sum(1 for before, after in itertools.pairwise(clients) if before != after)
    if changes > leader_kills:
        ctx.row.problems.append(f"the Telegram poller changed hands {changes} times for "
                                f"{leader_kills} kills of its leader (two pollers at once?)")
    ctx.row.notes.append(f"{kills} SIGKILLs of one of {len(ctx.services)} processes "
                         f"({leader_kills} of the Telegram poller's leader; it changed hands "
                         f"{changes} times)")


async def takeover(ctx: Context, client: str, killed: float, mark: int,
                   limit: float = 30.0) -> None:
    """Seconds from the leader's kill to the first getUpdates by another process.

    Args:
        ctx: The scenario.
        client: The killed leader's name at the fake Telegram.
        killed: When it was killed (``time.monotonic``).
        mark: How many polls the fake had recorded then (later ones come after).
        limit: Seconds to wait for one.
    """
    deadline = killed + limit
    while time.monotonic() < deadline:
        after = next((when for when, by in ctx.telegram.polls[mark:]
                      if when >= killed and by != client), None)
        if after is not None:
            ctx.row.takeovers.append(after - killed)
            if after - killed > TAKEOVER_WITHIN:
                ctx.row.problems.append(
                    f"Telegram polled by another process only {after - killed:.1f}s after "
                    f"the leader was killed (must be within {TAKEOVER_WITHIN:.0f}s)")
            return
        await asyncio.sleep(0.05)
    ctx.row.problems.append(f"no other process polled Telegram within {limit:.0f}s after the "
                            "leader was killed")


async def platform_errors(ctx: Context) -> None:
    """10 % 5xx from both platforms on sends and getUpdates, and bursts of 429: for a
    moment every send and poll is refused (Telegram with ``retry_after``)."""
    ctx.telegram.flaky(["sendMessage", "getUpdates"], 0.10, seed=1)
    ctx.zalo.flaky(["sendMessage"], 0.10, seed=2)
    bursts = 0
    try:
        while await ctx.sleep(4.0):
            bursts += 1
            ctx.telegram.rate_limit_for(1.0, ["sendMessage", "getUpdates"])
            if ctx.full and bursts % 3 == 1:  # Zalo names no retry time: the bot waits 30 s
                ctx.zalo.rate_limit_for(1.0, ["sendMessage"])
    finally:
        ctx.telegram.flaky([], 0)
        ctx.zalo.flaky([], 0)
    ctx.row.notes.append(f"{len(ctx.telegram.flaky_failures)} Telegram and "
                         f"{len(ctx.zalo.flaky_failures)} Zalo 5xx, {bursts} 429 bursts "
                         f"({len(ctx.telegram.limited)} + {len(ctx.zalo.limited)} refused)")


async def timeouts(ctx: Context) -> None:
    """Answers slower than the client waits: 3 % of Telegram sends (PTB waits 5 s), 3 % of
    Zalo's webhook posts (Zalo stops waiting: the bot committed, the event comes again) and,
    in the full suite, one getUpdates (the bot waits 25 + 10 s) and one Zalo send (30 s)."""
    if ctx.full:
        ctx.telegram.delay_next("getUpdates", 40.0)
        ctx.zalo.delay_next("sendMessage", 31.0)
    ctx.telegram.slow(["sendMessage"], 0.03, 5.5, seed=3)
    ctx.zalo.impatient_webhooks(0.03, 0.02, seed=4)
    try:
        await ctx.stopping.wait()
    finally:
        ctx.telegram.slow([], 0, 0)
        ctx.zalo.impatient_webhooks(0, 0)
    ctx.row.notes.append(f"{len(ctx.telegram.slowed)} slow Telegram answers")


SCENARIOS: dict[str, tuple[Fault, ...]] = {
    "none": (),
    "lock": (lock_fault,),
    "disk": (disk_fault,),
    "kill": (kill_fault,),
    "kill_one": (kill_one,),
    "platform": (platform_errors,),
    "timeouts": (timeouts,),
    "combined": (lock_fault, disk_fault, kill_fault, platform_errors, timeouts),
}
SQLITE_ONLY = (lock_fault, disk_fault)  # the file's write lock, the disk under the file
BACKENDS = ("sqlite", "postgres")


def scenario_faults(name: str, backend: str, processes: int) -> tuple[Fault, ...]:
    """The faults of scenario ``name`` on this backend with this many processes.

    On PostgreSQL the SQLite file's faults (lock, full disk) do not apply; with several
    processes, SIGKILLs hit one process at a time (:func:`kill_one`), the others go on.

    Raises:
        ValueError: The scenario needs another backend or number of processes.
    """
    faults = SCENARIOS[name]
    if processes > 1 and backend != "postgres":
        raise ValueError("several processes need PostgreSQL (--backend postgres)")
    if name == "kill_one" and processes < 2:
        raise ValueError("kill_one needs several processes (--processes 2 or more)")
    if backend == "postgres":
        if name in ("lock", "disk"):
            raise ValueError(f"the {name} fault is SQLite's (its file); not on PostgreSQL")
        faults = tuple(f for f in faults if f not in SQLITE_ONLY)
    if processes > 1:
        faults = tuple(kill_one if f is kill_fault else f for f in faults)
    return faults


def scenario_label(name: str, backend: str, processes: int) -> str:
    """The scenario's name in the table: ``kill``, ``kill_one pg x2``."""
    if backend == "sqlite":
        return name
    return f"{name} pg" + (f" x{processes}" if processes > 1 else "")


async def run_faults(ctx: Context, name: str, backend: str) -> None:
    faults = scenario_faults(name, backend, len(ctx.services))
    if name == "combined" and lock_fault in faults:
        # The lock and the full disk one after the other (each must be seen on its own),
        # kills, platform errors and timeouts all along.
        async def sequence() -> None:
            await lock_fault(ctx)
            await disk_fault(ctx)

        others = [fault for fault in faults if fault not in SQLITE_ONLY]
        await asyncio.gather(sequence(), *(fault(ctx) for fault in others))
        return
    await asyncio.gather(*(fault(ctx) for fault in faults))


# --- one scenario ----------------------------------------------------------------------------


async def run_scenario(name: str, seconds: float, *, full: bool, workers: int = 6,
                       keep: bool = False, step_timeout: float = 90.0,
                       backend: str = "sqlite", processes: int = 1) -> Row:
    """Run one scenario on a fresh database and check what it left.

    Args:
        name: The scenario (:data:`SCENARIOS`).
        seconds: Seconds of load.
        full: The full suite's faults (longer, slow ones included).
        workers: Loops of scripts typing at once.
        keep: Keep the folder (and the PostgreSQL database) even when all is well.
        step_timeout: Seconds a person waits for each answer before the script stalls.
        backend: ``sqlite`` (a file) or ``postgres`` (a database of the test run's cluster).
        processes: Service processes on the database (more than one: PostgreSQL); the
            Zalo webhook goes to them through a round-robin reverse proxy.
    """
    scenario_faults(name, backend, processes)  # refuse what cannot run before building
    workdir = Path(tempfile.mkdtemp(prefix=f"ishc-chaos-{name}-"))
    db = fresh_postgres(name) if backend == "postgres" else str(workdir / "ishc.sqlite3")
    database = ChaosDatabase(db)
    row = Row(scenario_label(name, backend, processes))
    # Only answers later than the client waits make the bot send again while it lives.
    row.strict_twice = timeouts not in scenario_faults(name, backend, processes)
    members_each = max(8, int(seconds * 2))
    code, crew = await build_world(db, workers, members_each)
    telegram = FakeTelegram()
    zalo = FakeZalo(deliver_webhooks=True)
    proxy = RoundRobinProxy([]) if processes > 1 else None
    scripts: list[Script] = []
    async with telegram, zalo, aiohttp.ClientSession() as session, \
            proxy or contextlib.nullcontext():
        services = [ServiceProcess(db, workdir, telegram, zalo, index=index,
                                   public_url=proxy.url if proxy else None)
                    for index in range(processes)]
        if proxy is not None:
            proxy.upstreams = [service.url for service in services]
        monitors = [Monitor(service, session) for service in services]
        chats = Chats(telegram, zalo, seed=len(name))
        for service in services:
            await service.start()
        for service in services:
            await service.wait_listening(session)
        while not zalo.webhook_url:
            await asyncio.sleep(0.05)
        watchers = [asyncio.create_task(job()) for monitor in monitors
                    for job in (monitor.health, monitor.readiness)]
        ctx = Context(db, services, monitors, telegram, zalo, session, row, seconds, full)
        keeper = asyncio.create_task(keep_alive(ctx))
        faults = asyncio.create_task(run_faults(ctx, name, backend))
        numbers = itertools.count(1)
        deadline = time.monotonic() + seconds

        async def work(worker: Worker) -> None:
            for script in people(code, worker, numbers):
                if time.monotonic() >= deadline:
                    return
                scripts.append(script)
                await chats.run(script, step_timeout)
                if script.stalled:
                    return

        # Every malformed kind once at the start, then 1 % of the updates.
        for index in range(6):
            chats.push_malformed(TELEGRAM, chat_of(TELEGRAM, 900_000 + index))
            chats.push_malformed(ZALO, chat_of(ZALO, 900_000 + index))
        await asyncio.gather(*(work(worker) for worker in crew))
        ctx.stopping.set()
        await faults
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        for service in services:
            if service.pid is None:
                await service.start()
                await service.wait_listening(session)
        settled = await settle(database, telegram, zalo)
        if not settled:
            row.problems.append("not settled within 120s after the faults ended: "
                                + await settled_why(database, telegram, zalo))
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for service in services:
            code_at_exit = await service.stop()
            if code_at_exit not in (0, None):
                row.problems.append(f"the service {service.log.stem} exited with "
                                    f"{code_at_exit} on SIGTERM")
        row.red_seconds = max(monitor.red_seconds() for monitor in monitors)
        reasons = sum((monitor.reasons for monitor in monitors), Counter())
        for reason, count in reasons.most_common(4):
            row.notes.append(f"/readyz 503 x{count}: {reason}")
        for monitor in monitors:
            row.problems.extend(monitor.health_failures[:5])
        for service in services:
            for generation, exit_code in service.exits:
                row.problems.append(f"the service {service.log.stem} (start {generation}) "
                                    f"exited by itself with {exit_code}")
        await check(database, row, chats, scripts, telegram, zalo)
        await database.close()
        for service in services:
            log = service.log.read_text(encoding="utf-8", errors="replace").splitlines()
            errors = [line for line in log if " 500 " in line or "Traceback" in line]
            if errors:
                row.notes.append(f"{len(errors)} traceback line(s) in {service.log}")
        if proxy is not None:
            row.notes.append(
                f"proxy: {sum(proxy.forwarded.values())} webhooks answered "
                f"({', '.join(str(n) for n in proxy.forwarded.values())} by process), "
                f"{sum(proxy.refused.values())} refused and passed on, {proxy.dropped} "
                f"dropped by a dying process, {proxy.exhausted} with no process")
    row.notes.append(f"{len(scripts)} scripts, {sum(1 for s in scripts if s.stalled)} stalled")
    if keep or row.problems:
        row.notes.append(f"kept {workdir}" + (
            f" and {describe(db)} (until the throwaway cluster stops)" if database.postgres
            else ""))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        if database.postgres:
            drop_postgres(db)
    return row


async def keep_alive(ctx: Context) -> None:
    """A process manager: a service that exits by itself is started again (and reported)."""
    while True:
        await asyncio.sleep(0.5)
        for service in ctx.services:
            process = service.process
            if process is not None and process.returncode is not None and not service.alive \
                    and service.exits and service.exits[-1][0] == service.generation:
                await service.start()
                with contextlib.suppress(RuntimeError):
                    await service.wait_listening(ctx.session)


async def pending_outbox(database: ChaosDatabase) -> int:
    return await database.value("SELECT count(*) FROM outbox WHERE status = 'pending' "
                                "AND quiet = 0")  # reminders wait for their time


async def settle(database: ChaosDatabase, telegram: FakeTelegram, zalo: FakeZalo,
                 limit: float = 120) -> bool:
    """Wait until every update is acknowledged and every reply sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not telegram.pending_updates and not zalo.webhooks_pending \
                and await pending_outbox(database) == 0:
            await asyncio.sleep(0.5)  # the last deliveries are recorded in batches
            return True
        await asyncio.sleep(0.2)
    return False


async def settled_why(database: ChaosDatabase, telegram: FakeTelegram, zalo: FakeZalo) -> str:
    return (f"{len(telegram.pending_updates)} Telegram updates unacknowledged, "
            f"{len(zalo.webhooks_pending)} Zalo events unanswered, "
            f"{await pending_outbox(database)} replies pending")


# --- the checks ------------------------------------------------------------------------------


def wire_texts(channel: str, payload: str) -> list[str]:
    """What the fake receives for one outbox row (one text per message sent)."""
    message = OutMessage.from_json(json.loads(payload))
    if channel == TELEGRAM:
        return split_text(message.text, 4096)
    return split_text(as_text(message), 2000)


def acknowledged(sent: Sent, telegram: FakeTelegram) -> bool:
    if sent.channel == TELEGRAM:
        assert sent.update_id is not None
        return sent.update_id < telegram.confirmed_offset
    assert sent.delivery is not None
    return sent.delivery.final is not None and sent.delivery.final < 500


async def check(db: ChaosDatabase, row: Row, chats: Chats, scripts: list[Script],
                telegram: FakeTelegram, zalo: FakeZalo) -> None:
    """Compare the database (either backend, the same SQL) with what the fakes saw."""
    inbox = set(await db.rows("SELECT channel, external_id FROM inbox"))
    dead_ids = {r[0] for r in await db.rows(
        "SELECT external_id FROM dead_letters WHERE external_id IS NOT NULL")}
    unread_letters = await db.value(
        "SELECT count(*) FROM dead_letters WHERE external_id IS NULL")
    row.dead = await db.value("SELECT count(*) FROM dead_letters")
    # Updates.
    row.sent = len(chats.sent)
    outcomes: Counter[str] = Counter()
    for sent in chats.sent:
        acked = acknowledged(sent, telegram)
        row.acked += acked
        if sent.expect == "applied":
            if (sent.channel, sent.external_id) in inbox and sent.external_id not in dead_ids:
                row.applied += 1
            elif acked:
                row.lost += 1
                why = "a dead letter" if sent.external_id in dead_ids else "not in the inbox"
                row.problems.append(f"acknowledged {sent.channel} update {sent.external_id} "
                                    f"({sent.label!r}) is {why}")
            else:
                row.problems.append(f"{sent.channel} update {sent.external_id} "
                                    f"({sent.label!r}) was never acknowledged")
        else:
            outcomes[sent.expect] += 1
            if not acked:
                row.problems.append(f"malformed {sent.channel} update ({sent.label}) "
                                    "was never acknowledged")
            if sent.expect == REFUSED and sent.delivery and sent.delivery.final != 400:
                row.problems.append(f"malformed {sent.label} answered "
                                    f"{sent.delivery.final}, not 400")
    if unread_letters != outcomes[DEAD]:
        row.problems.append(f"{outcomes[DEAD]} unreadable updates sent, {unread_letters} "
                            "dead letters for them")
    row.notes.append(f"malformed: {outcomes[DEAD]} dead, {outcomes[IGNORED]} ignored, "
                     f"{outcomes[REFUSED]} refused (400)")
    # The rows the scripts made: exactly once if the saving update was acknowledged.
    for script in scripts:
        sql, args = script.check
        count = await db.value(sql, *args)
        saved = script.confirm is not None and acknowledged(script.confirm, telegram)
        if count > 1:
            row.duplicated += count - 1
            row.problems.append(f"{script.kind} {args} is in the database {count} times")
        elif saved and count == 0:
            row.lost += 1
            row.problems.append(f"{script.kind} {args} was acknowledged but is missing")
        elif script.confirm is None and count:
            row.problems.append(f"{script.kind} {args} saved without being confirmed")
        if script.stalled:
            row.problems.append(script.stalled)
    # Replies: every committed one delivered; a second delivery counted.
    replies = await db.rows("SELECT channel, chat_id, payload, status, quiet FROM outbox")
    row.replies = len(replies)
    expected: dict[tuple[str, str], Counter[str]] = {}
    for channel, chat_id, payload, status, quiet in replies:
        if status == "expired":  # a promise it could no longer keep (outbox promises)
            continue
        if status == "pending" and quiet:
            continue  # a reminder waiting for its time (reminder_check looks at them)
        if status != "sent":
            row.problems.append(f"outbox reply to {channel}:{chat_id} is {status}")
            continue
        expected.setdefault((channel, chat_id), Counter()).update(wire_texts(channel, payload))
    received: dict[tuple[str, str], Counter[str]] = {}
    moments: dict[tuple[str, str, str], list[float]] = {}  # when each text reached the chat
    for channel, fake in ((TELEGRAM, telegram), (ZALO, zalo)):
        for message in fake.sent:
            if message.method == "sendMessage":
                key = (channel, str(message.chat_id))
                received.setdefault(key, Counter())[message.text] += 1
                moments.setdefault((*key, message.text), []).append(message.at)
    undelivered = unexplained = 0
    for key in expected.keys() | received.keys():
        want, got = expected.get(key, Counter()), received.get(key, Counter())
        row.delivered += sum((want & got).values())
        row.twice += sum((got - want).values())
        undelivered += sum((want - got).values())
        for text, extra in (got - want).items():
            # A second send comes after the sender died (its claim lapsed): a SIGKILL must
            # fall between the first delivery and the last.
            times = sorted(moments[(*key, text)])
            if not any(times[0] < killed < times[-1] for killed in row.kills):
                unexplained += extra
    if unexplained and row.strict_twice:
        row.problems.append(f"{unexplained} replies delivered twice with no SIGKILL between "
                            "the two deliveries")
    elif unexplained:
        row.notes.append(f"{unexplained} delivered twice with no SIGKILL between (a send "
                         "answered later than the client waits is sent again)")
    # A reply is one outbox row, possibly several messages: count rows, not pieces.
    pieces = sum(sum(c.values()) for c in expected.values())
    if pieces != row.replies and pieces:
        row.delivered = round(row.delivered * row.replies / pieces)
    if undelivered:
        row.lost += undelivered
        row.problems.append(f"{undelivered} committed replies never reached the platform")
    reminders = await reminder_check(db)
    if reminders and reminders.startswith("PROBLEM"):
        row.problems.append(reminders)
    elif reminders:
        row.notes.append(reminders)


async def reminder_check(db: ChaosDatabase, tz: str = REMINDER_TZ) -> str | None:
    """No reminder went out before its time, after it expired, or in the quiet hours.

    Every scenario seeds reminders in quiet hours set around the present moment
    (:func:`seed_reminders`): none of them may be sent, the expired one must be ``expired``.
    """
    sent = await db.rows(
        "SELECT o.sent_at, o.not_before, o.expires_at, o.quiet FROM reminders r "
        "JOIN outbox o ON o.id = r.outbox_id WHERE o.status = 'sent'")
    stored = await db.value("SELECT value FROM meta WHERE key = 'reminders'")
    seeded = dict(await db.rows(
        "SELECT r.key, o.status FROM reminders r JOIN outbox o ON o.id = r.outbox_id "
        "WHERE r.key LIKE 'chaos:%' OR r.key LIKE 'digest:%:chaos:%'"))
    settings = ReminderSettings.from_json(stored)
    zone = ZoneInfo(tz)
    bad = 0
    for sent_at, not_before, expires_at, quiet in sent:
        at = datetime.fromisoformat(sent_at)
        if (not_before and at < datetime.fromisoformat(not_before)) or \
                (expires_at and at > datetime.fromisoformat(expires_at)) or \
                (quiet and out_of_quiet(at.astimezone(zone), settings) != at.astimezone(zone)):
            bad += 1
    if bad:
        return f"PROBLEM: {bad} of {len(sent)} reminders sent outside their window"
    wanted = {"chaos:expired": "expired", "chaos:due in the quiet hours": "pending"}
    wrong = {key: status for key, status in seeded.items()
             if status != wanted.get(key, "pending")}
    if len(seeded) != 3 or wrong:
        return f"PROBLEM: the seeded reminders ended as {seeded} (expected: none sent)"
    return (f"reminders: {len(sent)} sent, none outside its window; the 3 seeded in the quiet "
            "hours were held (one expired)")


# --- the table -------------------------------------------------------------------------------

HEADER = ("fault", "sent", "acked", "applied", "lost", "dup", "replies", "delivered",
          "twice", "dead", "red s", "green s", "takeover s")


def table(rows: list[Row]) -> str:
    lines = []
    cells = [HEADER]
    for r in rows:
        green = max(r.green_after) if r.green_after else None
        taken = max(r.takeovers) if r.takeovers else None  # the slowest leader takeover
        cells.append((r.scenario, str(r.sent), str(r.acked), str(r.applied), str(r.lost),
                      str(r.duplicated), str(r.replies), str(r.delivered), str(r.twice),
                      str(r.dead), f"{r.red_seconds:.1f}",
                      "-" if green is None else f"{green:.1f}",
                      "-" if taken is None else f"{taken:.1f}"))
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    for c in cells:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(c, widths, strict=True))))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def report(rows: list[Row]) -> str:
    out = [table(rows), ""]
    for r in rows:
        out.append(f"{r.scenario}: " + "; ".join(r.notes))
        for problem in r.problems[:20]:
            out.append(f"  PROBLEM: {problem}")
        if len(r.problems) > 20:
            out.append(f"  ... and {len(r.problems) - 20} more")
    return "\n".join(out)


def failed(rows: list[Row]) -> bool:
    return any(r.lost or r.duplicated or r.problems for r in rows)


async def main_async(names: list[str], seconds: float, full: bool, keep: bool,
                     backend: str = "sqlite", processes: int = 1) -> int:
    rows = []
    for name in names:
        label = scenario_label(name, backend, processes)
        print(f"chaos: {label} ({seconds:.0f}s of load)...", flush=True)
        rows.append(await run_scenario(name, seconds, full=full, keep=keep, backend=backend,
                                       processes=processes))
    print()
    print(report(rows))
    return 1 if failed(rows) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="run only this scenario (repeatable; default: all but 'none')")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="seconds of load per scenario (default 30)")
    parser.add_argument("--quick", action="store_true",
                        help="short faults, as in make test (no 40 s timeouts, 3 s lock)")
    parser.add_argument("--keep", action="store_true", help="keep every scenario's folder")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite",
                        help="the database: a SQLite file, or a database of a throwaway "
                             "PostgreSQL cluster (default sqlite)")
    parser.add_argument("--processes", type=int, default=1,
                        help="service processes on the database (more than 1: postgres; the "
                             "Zalo webhook goes through a round-robin proxy)")
    args = parser.parse_args(argv)
    names = args.scenario or [n for n in SCENARIOS if n != "none" and runnable(
        n, args.backend, args.processes)]
    for name in names:
        try:
            scenario_faults(name, args.backend, args.processes)
        except ValueError as error:
            parser.error(f"{name}: {error}")
    return asyncio.run(main_async(names, args.seconds, not args.quick, args.keep,
                                  args.backend, args.processes))


def runnable(name: str, backend: str, processes: int) -> bool:
    """Whether scenario ``name`` runs on this backend with this many processes."""
    try:
        scenario_faults(name, backend, processes)
    except ValueError:
        return False
    # One process's SIGKILL is kill_one's with several (the same faults twice otherwise).
    return not (processes > 1 and name == "kill")


if __name__ == "__main__":
    sys.exit(main())

