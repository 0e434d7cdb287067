"""Registration benchmark: ishc-bot (durable) vs. PTB ConversationHandler + PicklePersistence.

Simulated people register through the fake Telegram Bot API server (``tests.fake_telegram``,
real HTTP on 127.0.0.1) with each bot in turn. Each bot runs as its own subprocess, so it does
not share a GIL with the load generator. Per bot and run: a short warm-up (not counted), then
20 people at once, then 200 new people at once; each person types the ten answers of the
registration dialogue, one at a time, and waits for the bot's answer before the next.

Reported: updates/s per phase, the ishc/PTB ratios at 20 and 200, p50/p99 step latency (a
person's message pushed -> the bot's answer received) at 20 and 200, the bot process's CPU ms per
update, each bot's peak RSS (VmHWM of the bot process), and for ishc-bot the database commits
per second and updates per commit (read from its ``/metrics``: every COMMIT, of updates,
deliveries recorded, offsets and menus alike, is counted). Every answer is checked, so a
broken bot cannot produce good numbers; if any person does not finish, the benchmark exits
with status 1.

By default (``--backend all``) the same load also runs ishc-bot on PostgreSQL (a throwaway
cluster from ``tests.postgres`` with PostgreSQL's durable defaults, a fresh database per
measurement, stopped at the end): one process polling, one process in webhook mode, and two
processes in webhook mode (only one process may poll, so two need the webhook: the fake
Telegram POSTs each update to the processes' ``ISHC_LISTEN`` ports in turn, as a reverse
proxy would). These get one more table: updates/s, p50/p99, the bot's CPU ms per update
summed over its processes, and the PostgreSQL server's CPU ms per update.

Usage: ``python -m bench.registration [--runs N] [--backend all|sqlite|postgres]
[--processes N] [--webhook] [--no-ptb] [--profile DIR] [--logs DIR] [--strict]
[--statements]``.

``--statements`` loads ``pg_stat_statements`` into the PostgreSQL cluster and adds the SQL
statements the server ran per answered update (every statement of the bot's processes:
updates, deliveries recorded, offsets, BEGIN/SAVEPOINT/COMMIT too), each a round trip; the
most frequent ones of the last measurement at 200 people are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from tests.fake_telegram import FakeTelegram
from tests.postgres import DURABLE_SETTINGS, PostgresCluster
from tests.postgres import available as pg_available

ROOT = Path(__file__).resolve().parent.parent
STEPS_PER_PERSON = 10
WARMUP_PEOPLE = 5
PHASES = (20, 200)
STEP_TIMEOUT = 60.0
START_TIMEOUT = 60.0
TARGET_RATIO = 1.5  # at 200 people
TARGET_RATIO_SMALL = 1.0  # at 20 people
TARGET_RSS_MIB = 80.0
EVENT_LOOP = "auto"  # ishc-bot's ISHC_EVENT_LOOP (--loop)
COMMIT_BATCH = 64  # ishc-bot's ISHC_COMMIT_BATCH (--commit-batch; 1: no group commit)
PTB_CODE = "K7M2QX9P"
# The public webhook URL the processes register; the fake POSTs to each one's ISHC_LISTEN
# with this path, as a reverse proxy would.
WEBHOOK_URL = "https://bench.invalid/telegram"
PG_SETTINGS = DURABLE_SETTINGS  # PostgreSQL's defaults: as durable as SQLite's synchronous=FULL
STATEMENTS = False  # --statements: count the server's statements (pg_stat_statements)
TOP_STATEMENTS = 25  # how many of the most frequent statements --statements prints

FAMILIES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
    "Lò", "Vi", "Lương", "Mồng", "Quàng", "Hà",
)  # fmt: skip
MIDDLES = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Hữu", "Thanh", "Xuân")
GIVENS = (
    "An", "Bình", "Chi", "Dũng", "Giang", "Hoa", "Hùng", "Lan", "Mai", "Nam", "Oanh", "Phúc",
    "Quang", "Sơn", "Tâm", "Thảo", "Tuấn", "Uyên", "Vinh", "Yến",
)  # fmt: skip


def person_name(index: int) -> str:
    family = FAMILIES[index % len(FAMILIES)]
    middle = MIDDLES[(index // len(FAMILIES)) % len(MIDDLES)]
    given = GIVENS[(index // (len(FAMILIES) * len(MIDDLES))) % len(GIVENS)]
    return f"{family} {middle} {given}"


def dialogue(code: str, index: int) -> list[tuple[str, tuple[str, ...]]]:
    """The ten messages of one person and what each answer must contain."""
    name = person_name(index)
    return [
        (f"/start {code}", ("họ và tên",)),
        (name, ("nam hay nữ",)),
        ("nam", ("sinh năm nào",)),
        ("1958", ("Số điện thoại",)),
        (f"09{index:08d}", ("thôn, bản",)),
        ("Bản Lốc", ("thuộc diện nào",)),
        ("1", ("Dân tộc",)),
        ("bo qua", ("Bác có đồng ý không?",)),
        ("dong y", ("xem lại", f"Họ tên: {name}", f"+849{index:08d}", "Hộ nghèo")),
        ("1", ("Cảm ơn", name)),
    ]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Phase:
    people: int
    updates: int = 0
    seconds: float = 0.0
    cpu_seconds: float = math.nan  # the bot processes' CPU time (all threads) in the phase
    db_cpu_seconds: float = math.nan  # the PostgreSQL server's CPU time in the phase
    commits: float = math.nan  # database COMMITs in the phase (ishc-bot only)
    statements: float = math.nan  # SQL statements the PostgreSQL server ran (--statements)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds / self.updates * 1000 if self.updates else math.nan

    @property
    def db_cpu_ms_per_update(self) -> float:
        return self.db_cpu_seconds / self.updates * 1000 if self.updates else math.nan

    @property
    def statements_per_update(self) -> float:
        return self.statements / self.updates if self.updates else math.nan

    @property
    def commits_per_s(self) -> float:
        return self.commits / self.seconds if self.seconds else math.nan

    @property
    def updates_per_commit(self) -> float:
        return self.updates / self.commits if self.commits else math.nan

    def ms(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000 if self.latencies else math.nan


@dataclass
class BotResult:
    name: str
    phases: dict[int, Phase] = field(default_factory=dict)
    peak_rss_mib: float = math.nan
    errors: list[str] = field(default_factory=list)
    log_tail: str = ""

    def failed(self) -> bool:
        return bool(self.errors) or any(p.errors for p in self.phases.values())


class BotCrashed(RuntimeError):
    pass


class BotProcess:
    """The bot's subprocesses talking to ``fake`` (one unless ``instances``); logs in files."""

    label = "bot"
    instances = 1

    def __init__(self, fake: FakeTelegram, workdir: Path, profile: Path | None) -> None:
        self.fake = fake
        self.workdir = workdir
        self.profile = profile
        self.procs: list[asyncio.subprocess.Process] = []
        self.log_path = workdir / "bot.log"
        self._logs: list[Any] = []

    @property
    def proc(self) -> asyncio.subprocess.Process | None:
        """The first process (the only one unless ``instances`` > 1)."""
        return self.procs[0] if self.procs else None

    def log_of(self, index: int) -> Path:
        """The log file of process ``index``."""
        return self.log_path if index == 0 else self.workdir / f"bot{index}.log"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "ISHC_", "BENCH_"))
        }
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["TELEGRAM_BOT_TOKEN"] = self.fake.token
        env["TELEGRAM_API_URL"] = self.fake.base_url
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env.pop(proxy, None)
        return env

    def env_of(self, index: int) -> dict[str, str]:
        """The environment of process ``index``."""
        return self.env()

    def module(self) -> list[str]:
        raise NotImplementedError

    async def commits(self) -> float:
        """Database COMMITs so far (``nan``: the bot does not commit per update)."""
        return math.nan

    async def prepare(self) -> str:
        """Set up data; return the invite code people type."""
        raise NotImplementedError

    async def start(self) -> None:
        for index in range(self.instances):
            argv = [sys.executable]
            if self.profile is not None:
                suffix = f"-{index}" if index else ""
                argv += ["-m", "cProfile", "-o", str(self.profile / f"{self.label}{suffix}.prof")]
            argv += ["-m", *self.module()]
            log = self.log_of(index).open("wb")
            self._logs.append(log)
            self.procs.append(await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.workdir,
                env=self.env_of(index),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            ))
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise BotCrashed(f"{self.label} was not ready within {START_TIMEOUT:.0f}s")
            await asyncio.sleep(0.02)

    def ready(self) -> bool:
        """Whether the bot takes updates: it polls ``getUpdates``."""
        return any(name == "getupdates" for name, _ in self.fake.calls)

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.returncode is not None:
                raise BotCrashed(f"{self.label} exited with status {proc.returncode}")

    async def wait_any(self) -> None:
        """Return when any of the processes exits."""
        waits = [asyncio.ensure_future(proc.wait()) for proc in self.procs]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the bot's processes so far, all threads, summed."""
        return sum(process_cpu_seconds(proc.pid) for proc in self.procs)

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident set) of the largest of the bot's processes."""
        return max((peak_rss_mib(proc.pid) for proc in self.procs), default=math.nan)

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 15.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for log in self._logs:
            log.close()
        self._logs = []

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for index in range(max(1, len(self.procs))):
            with contextlib.suppress(OSError):
                text = self.log_of(index).read_text(errors="replace").splitlines()
                head = f"--- process {index} ---\n" if len(self.procs) > 1 else ""
                tails.append(head + "\n".join(text[-lines:]))
        return "\n".join(tails)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all threads (``nan``: gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of process ``pid`` in MiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return math.nan


@dataclass(frozen=True)
class Setup:
    """How ishc-bot runs: its database, how many processes, polling or webhook."""

    key: str  # the name in the JSON figures ("ishc" is SQLite polling, as before)
    backend: str = "sqlite"  # or "postgres"
    processes: int = 1
    webhook: bool = False

    @property
    def title(self) -> str:
        db = "SQLite" if self.backend == "sqlite" else "PostgreSQL"
        how = "webhook" if self.webhook else "polling"
        return f"{db} {self.processes}p {how}"


SQLITE = Setup("ishc")
SETUPS = (  # --backend all (SQLite with a webhook: --backend sqlite --webhook)
    SQLITE,
    Setup("pg", "postgres"),
    Setup("pg-webhook", "postgres", webhook=True),
    Setup("pg2-webhook", "postgres", processes=2, webhook=True),
)


class IshcBot(BotProcess):
    """ishc-bot as ``setup`` says; ``dsn`` is the PostgreSQL database when it is used.

    In webhook mode each process listens on its own port and the fake Telegram POSTs the
    updates to them in turn (standing for the reverse proxy in front of them).
    """

    label = "ishc"

    def __init__(self, fake: FakeTelegram, workdir: Path, profile: Path | None,
                 setup: Setup = SQLITE, dsn: str | None = None) -> None:
        super().__init__(fake, workdir, profile)
        if setup.backend == "postgres" and not dsn:
            raise ValueError("a PostgreSQL setup needs a dsn")
        if setup.processes > 1 and not (setup.backend == "postgres" and setup.webhook):
            raise ValueError("several processes need PostgreSQL and webhook mode")
        self.setup = setup
        self.dsn = dsn
        self.instances = setup.processes
        self.listens = [f"127.0.0.1:{free_port()}" for _ in range(setup.processes)]
        self.listen = self.listens[0]
        self.secret = secrets.token_urlsafe(16)

    async def commits(self) -> float:
        """``ishc_transaction_seconds_count`` from the processes' ``/metrics``, summed."""
        total = 0.0
        async with aiohttp.ClientSession() as session:
            for listen in self.listens:
                async with session.get(f"http://{listen}/metrics") as response:
                    text = await response.text()
                for line in text.splitlines():
                    if line.startswith("ishc_transaction_seconds_count"):
                        total += float(line.split()[-1])
                        break
                else:
                    return math.nan
        return total

    def env(self) -> dict[str, str]:
        return self.env_of(0)

    def env_of(self, index: int) -> dict[str, str]:
        env = super().env()
        env["ISHC_DB"] = self.dsn or str(self.workdir / "ishc.sqlite3")
        env["ISHC_LISTEN"] = self.listens[index]
        env["ISHC_TELEGRAM_RATE"] = "100000"
        env["ISHC_TELEGRAM_CHAT_RATE"] = "100000"
        env["ISHC_EVENT_LOOP"] = EVENT_LOOP
        env["ISHC_COMMIT_BATCH"] = str(COMMIT_BATCH)
        if self.setup.webhook:
            env["TELEGRAM_WEBHOOK_URL"] = WEBHOOK_URL
            env["TELEGRAM_WEBHOOK_SECRET"] = self.secret
        return env

    def module(self) -> list[str]:
        return ["bot", "run"]

    def ready(self) -> bool:
        """Polling: it polls. Webhook: every process set the webhook (so it listens)."""
        if not self.setup.webhook:
            return super().ready()
        calls = sum(name == "setwebhook" for name, _ in self.fake.calls)
        return calls >= self.instances

    async def start(self) -> None:
        await super().start()
        if self.setup.webhook:
            path = urlsplit(WEBHOOK_URL).path
            self.fake.push_to_webhooks([f"http://{listen}{path}" for listen in self.listens])

    async def prepare(self) -> str:
        env = {**self.env(), "TELEGRAM_BOT_TOKEN": ""}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "club", "create", "--name", "CLB bench",
            "--meeting-day", "15", "--json",
            cwd=self.workdir, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise BotCrashed(f"club create failed: {err.decode(errors='replace')}")
        return json.loads(out)["member_code"]


class ConventionalBot(BotProcess):
    label = "ptb"

    def env(self) -> dict[str, str]:
        env = super().env()
        env["BENCH_PICKLE"] = str(self.workdir / "ptb.pickle")
        env["BENCH_CODE"] = PTB_CODE
        return env

    def module(self) -> list[str]:
        return ["bench.conventional_bot"]

    async def prepare(self) -> str:
        return PTB_CODE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def person(fake: FakeTelegram, user_id: int, code: str, index: int, phase: Phase) -> None:
    first_name = person_name(index).rsplit(" ", 1)[-1]
    for step, (text, expected) in enumerate(dialogue(code, index), 1):
        started = time.perf_counter()
        update = fake.push_text(user_id, text, first_name=first_name)
        if text.startswith("/"):  # as Telegram does (the fake leaves entities out)
            command = text.split(" ", 1)[0]
            update["message"]["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command)}
            ]
        try:
            answer = await fake.next_message(user_id, STEP_TIMEOUT)
        except TimeoutError:
            phase.errors.append(f"person {index} step {step} ({text!r}): no answer")
            return
        phase.latencies.append(time.perf_counter() - started)
        phase.updates += 1
        missing = [word for word in expected if word not in answer.text]
        if missing:
            phase.errors.append(
                f"person {index} step {step} ({text!r}): answer {answer.text[:120]!r} "
                f"lacks {missing}"
            )
            return


class Load:
    """Hands out user ids, phone numbers and names, unique across phases of one bot.

    Args:
        server_cpu: The database server's CPU seconds so far, if it is a server of its own.
    """

    def __init__(self, server_cpu: Callable[[], float] | None = None,
                 statements: Callable[[], float] | None = None) -> None:
        self.next_index = 1
        self.server_cpu = server_cpu or (lambda: math.nan)
        self.statements = statements or (lambda: math.nan)

    async def phase(self, bot: BotProcess, code: str, people: int) -> Phase:
        phase = Phase(people)
        first, self.next_index = self.next_index, self.next_index + people
        cpu, db_cpu = bot.cpu_seconds(), self.server_cpu()
        commits = await bot.commits()
        statements = await asyncio.to_thread(self.statements)
        started = time.perf_counter()
        crowd = asyncio.gather(
            *(
                person(bot.fake, 10_000_000 + i, code, i, phase)
                for i in range(first, first + people)
            )
        )
        watchdog = asyncio.ensure_future(bot.wait_any())
        try:
            await asyncio.wait({crowd, watchdog}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watchdog.cancel()
        if not crowd.done():
            crowd.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await crowd
            bot.check_alive()
        await crowd
        phase.seconds = time.perf_counter() - started
        phase.cpu_seconds = bot.cpu_seconds() - cpu
        phase.db_cpu_seconds = self.server_cpu() - db_cpu
        phase.commits = await bot.commits() - commits
        phase.statements = await asyncio.to_thread(self.statements) - statements
        return phase


class Database:
    """The bench's PostgreSQL cluster (durable settings), started on first use; a fresh
    database per measurement."""

    def __init__(self) -> None:
        self.cluster: PostgresCluster | None = None
        self.count = 0
        self.current = ""  # the database being measured
        self.top = ""  # --statements: the most frequent statements of the last measurement

    def available(self) -> str | None:
        """Why PostgreSQL cannot be measured here, or None."""
        return pg_available()

    def create(self) -> tuple[str, str]:
        """A new empty database: its name and DSN."""
        if self.cluster is None:
            settings = dict(PG_SETTINGS)
            if STATEMENTS:
                settings["shared_preload_libraries"] = "'pg_stat_statements'"
                # asyncpg names each SAVEPOINT anew: room for them all, none evicted
                settings["pg_stat_statements.max"] = "100000"
            self.cluster = PostgresCluster(settings=settings)
            self.cluster.start()
            if STATEMENTS:
                self.cluster.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.count += 1
        name = self.current = f"bench{self.count}"
        return name, self.cluster.create_database(name)

    def statements(self) -> float:
        """Statements the server ran in the current database so far (``--statements``)."""
        if self.cluster is None or not STATEMENTS:
            return math.nan
        return float(self.cluster.psql(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
            f"ON d.oid = s.dbid WHERE d.datname = '{self.current}'").strip())

    def remember_top(self, updates: int) -> None:
        """Keep the current database's most frequent statements, per update, for the report."""
        if self.cluster is None or not STATEMENTS or not updates:
            return
        text = ("regexp_replace(regexp_replace(query, 'savepoint_[0-9a-f]+', 'savepoint_N'), "
                "'\\s+', ' ', 'g')")
        self.top = self.cluster.psql(
            f"SELECT round(sum(calls)::numeric / {updates}, 2) || '  ' || left({text}, 150) "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            f"WHERE d.datname = '{self.current}' GROUP BY {text} "
            f"ORDER BY sum(calls) DESC LIMIT {TOP_STATEMENTS}")

    def reset_statements(self) -> None:
        """Forget the counts so far (a measurement's top list is its own)."""
        if self.cluster is not None and STATEMENTS:
            self.cluster.psql("SELECT pg_stat_statements_reset()")

    def drop(self, name: str) -> None:
        if self.cluster is not None:
            self.cluster.drop_database(name)

    def server_cpu(self) -> float:
        """CPU seconds of the server so far: the postmaster and its children (backends,
        WAL writer, checkpointer...)."""
        if self.cluster is None or self.cluster.root is None:
            return math.nan
        try:
            postmaster = int((self.cluster.root / "data" / "postmaster.pid")
                             .read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return math.nan
        total = process_cpu_seconds(postmaster)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def version(self) -> str:
        if self.cluster is None:
            return ""
        return self.cluster.psql("SHOW server_version").strip()

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


async def measure(
    kind: type[BotProcess],
    profile: Path | None,
    logs: Path | None = None,
    number: int = 1,
    setup: Setup = SQLITE,
    database: Database | None = None,
) -> BotResult:
    label = setup.key if kind is IshcBot else kind.label
    result = BotResult(label)
    workdir = Path(tempfile.mkdtemp(prefix=f"ishc-bench-{label}-"))
    db_name = dsn = None
    server_cpu = statements = None
    if setup.backend == "postgres" and kind is IshcBot:
        assert database is not None
        db_name, dsn = await asyncio.to_thread(database.create)
        await asyncio.to_thread(database.reset_statements)
        server_cpu = database.server_cpu
        statements = database.statements
    try:
        async with FakeTelegram() as fake:
            if kind is IshcBot:
                bot: BotProcess = IshcBot(fake, workdir, profile, setup, dsn)
            else:
                bot = kind(fake, workdir, profile)
            try:
                code = await bot.prepare()
                await bot.start()
                load = Load(server_cpu, statements)
                warmup = await load.phase(bot, code, WARMUP_PEOPLE)
                result.errors += warmup.errors
                for people in PHASES:
                    await asyncio.sleep(0.3)
                    phase = await load.phase(bot, code, people)
                    result.phases[people] = phase
                result.peak_rss_mib = bot.peak_rss_mib()
                if database is not None and statements is not None:
                    await asyncio.to_thread(database.remember_top,
                                            sum(p.updates for p in result.phases.values()))
            except BotCrashed as error:
                result.errors.append(str(error))
            finally:
                await bot.stop()
            if result.failed():
                result.log_tail = bot.log_tail()
            if logs is not None:
                for index in range(bot.instances):
                    if bot.log_of(index).exists():
                        suffix = f"-{index}" if index else ""
                        shutil.copy(bot.log_of(index), logs / f"{label}{suffix}-run{number}.log")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if db_name is not None and database is not None:
            await asyncio.to_thread(database.drop, db_name)
    return result


@dataclass
class Run:
    """One run: each setup's result ("ishc": SQLite polling) and PTB's ("ptb"), when run."""

    results: dict[str, BotResult] = field(default_factory=dict)

    @property
    def ishc(self) -> BotResult | None:
        return self.results.get(SQLITE.key)

    @property
    def ptb(self) -> BotResult | None:
        return self.results.get("ptb")

    def figures(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for result in self.results.values():
            figures: dict[str, float] = {"peak_rss_mib": result.peak_rss_mib}
            for people, phase in result.phases.items():
                figures[f"updates_per_s@{people}"] = phase.rate
                figures[f"p50_ms@{people}"] = phase.ms(50)
                figures[f"p99_ms@{people}"] = phase.ms(99)
                figures[f"cpu_ms_per_update@{people}"] = phase.cpu_ms_per_update
                figures[f"db_cpu_ms_per_update@{people}"] = phase.db_cpu_ms_per_update
                figures[f"commits_per_s@{people}"] = phase.commits_per_s
                figures[f"statements_per_update@{people}"] = phase.statements_per_update
                figures[f"updates_per_commit@{people}"] = phase.updates_per_commit
            out[result.name] = figures
        if "ishc" in out and "ptb" in out:
            out["ratio"] = {}
            for people in PHASES:
                ptb_rate = out["ptb"].get(f"updates_per_s@{people}", math.nan)
                ishc_rate = out["ishc"].get(f"updates_per_s@{people}", math.nan)
                out["ratio"][f"@{people}"] = ishc_rate / ptb_rate if ptb_rate else math.nan
        return out


def median(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


def summarise(runs: list[Run]) -> dict[str, dict[str, float]]:
    per_run = [run.figures() for run in runs]
    keys = {(bot, key) for figures in per_run for bot in figures for key in figures[bot]}
    summary: dict[str, dict[str, float]] = {}
    for bot, key in sorted(keys):
        summary.setdefault(bot, {})[key] = median([f[bot].get(key, math.nan) for f in per_run])
    return summary


def fmt(value: float, digits: int = 0) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def report(runs: list[Run], seconds: float, setups: Sequence[Setup] = (SQLITE,),
           pg_version: str = "") -> dict:
    summary = summarise(runs)
    print()
    targets: dict[str, bool] = {}
    if "ishc" in summary and "ptb" in summary:
        targets = comparison(summary, len(runs))
    measured = [setup for setup in setups if setup.key in summary]
    if measured and measured != [SQLITE]:
        setups_table(summary, measured, len(runs), pg_version)
    if len(runs) > 1:
        print("per run (updates/s @200 / @20, p99 ms @20):")
        for number, run in enumerate(runs, 1):
            f = run.figures()
            cells = []
            for key in [setup.key for setup in measured] + (["ptb"] if "ptb" in f else []):
                if key not in f:
                    continue
                cells.append(
                    f"{key} {fmt(f[key].get(f'updates_per_s@{PHASES[1]}', math.nan))}/"
                    f"{fmt(f[key].get(f'updates_per_s@{PHASES[0]}', math.nan))} "
                    f"{fmt(f[key].get(f'p99_ms@{PHASES[0]}', math.nan), 1)}"
                )
            print(f"  run {number}: " + "; ".join(cells))
    print(f"total time {seconds:.1f}s, python {platform.python_version()}, {os.cpu_count()} CPUs"
          + (f", PostgreSQL {pg_version}" if pg_version else ""))
    data = {
        "runs": len(runs),
        "setups": {setup.key: setup.title for setup in measured},
        "median": summary,
        "per_run": [run.figures() for run in runs],
        "targets": targets,
    }
    print(json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":")))
    return data


def comparison(summary: dict[str, dict[str, float]], runs: int) -> dict[str, bool]:
    """Print ishc-bot (SQLite, polling) against the conventional bot; the targets met."""
    ishc, ptb = summary["ishc"], summary["ptb"]
    small, big = PHASES
    ratio, ratio_small = summary["ratio"][f"@{big}"], summary["ratio"][f"@{small}"]
    p99_small = ishc.get(f"p99_ms@{small}", math.nan)
    ptb_p99_small = ptb.get(f"p99_ms@{small}", math.nan)
    rss = ishc.get("peak_rss_mib", math.nan)
    left = 31
    print(
        f"ishc-bot registration benchmark (fake Telegram on 127.0.0.1, {STEPS_PER_PERSON} "
        f"steps/person, median of {runs} run{'s' if runs != 1 else ''})"
    )
    print(f"{'':{left}}{'ishc-bot (durable)':>20}   PTB ConversationHandler+PicklePersistence")
    rows = []
    for people in (big, small):
        key = f"updates_per_s@{people}"
        rows.append((f"updates/s @{people}", fmt(ishc[key]), fmt(ptb[key])))
    for people in (big, small):
        rows.append((f"ratio (ishc/PTB) @{people}", fmt(summary["ratio"][f"@{people}"], 2), ""))
    for people in PHASES:
        rows.append(
            (
                f"p50 / p99 ms @{people}",
                f"{fmt(ishc[f'p50_ms@{people}'], 1)} / {fmt(ishc[f'p99_ms@{people}'], 1)}",
                f"{fmt(ptb[f'p50_ms@{people}'], 1)} / {fmt(ptb[f'p99_ms@{people}'], 1)}",
            )
        )
    for people in PHASES:
        key = f"cpu_ms_per_update@{people}"
        rows.append((f"bot CPU ms/update @{people}", fmt(ishc[key], 2), fmt(ptb[key], 2)))
    for people in PHASES:
        rows.append((f"commits/s @{people}", fmt(ishc[f"commits_per_s@{people}"]), "-"))
        rows.append(
            (f"updates/commit @{people}", fmt(ishc[f"updates_per_commit@{people}"], 2), "-")
        )
    rows.append(("peak RSS MiB", fmt(rss, 1), fmt(ptb["peak_rss_mib"], 1)))
    for label, ours, theirs in rows:
        print(f"{label:{left}}{ours:>20}   {theirs}")
    targets = {
        f"ratio@{big}": ratio >= TARGET_RATIO,
        f"ratio@{small}": ratio_small >= TARGET_RATIO_SMALL,
        f"p99@{small}": p99_small <= ptb_p99_small,
        "peak_rss": rss < TARGET_RSS_MIB,
    }
    shown = {
        f"ratio@{big}": f">= {TARGET_RATIO:.1f}",
        f"ratio@{small}": f">= {TARGET_RATIO_SMALL:.1f}",
        f"p99@{small}": "<= PTB's",
        "peak_rss": f"< {TARGET_RSS_MIB:.0f} MiB",
    }
    print("targets: " + ", ".join(
        f"{name} {shown[name]} [{'ok' if ok else 'MISSED'}]" for name, ok in targets.items()
    ))
    print(
        "notes: ishc-bot commits every update (SQLite WAL, synchronous=FULL) before answering, "
        "several updates per COMMIT\n"
        "       when they arrive together (group commit); PTB keeps state in memory and "
        "pickles it every 60 s. Both unthrottled\n"
        "       (the fake has no flood limit; ishc rate limits set to 100000/s). Each bot is "
        "its own process; latency = person's\n"
        "       message pushed -> answer received. commits/s counts every COMMIT of the bot "
        "(updates, deliveries recorded,\n"
        "       offsets, menus); updates/commit = updates answered / those commits."
    )
    print()
    return targets


def setups_table(summary: dict[str, dict[str, float]], setups: Sequence[Setup], runs: int,
                 pg_version: str) -> None:
    """Print ishc-bot on each database and process count, side by side."""
    small, big = PHASES
    left, width = 26, max(len(setup.title) for setup in setups) + 3
    print(f"ishc-bot by database and processes (same load; median of {runs} "
          f"run{'s' if runs != 1 else ''})")
    print(f"{'':{left}}" + "".join(f"{setup.title:>{width}}" for setup in setups))

    def row(label: str, cell: Callable[[dict[str, float]], str]) -> None:
        print(f"{label:{left}}" + "".join(f"{cell(summary[s.key]):>{width}}" for s in setups))

    for people in (big, small):
        row(f"updates/s @{people}", lambda f, n=people: fmt(f[f"updates_per_s@{n}"]))
    for people in (small, big):
        row(f"p50 / p99 ms @{people}",
            lambda f, n=people: f"{fmt(f[f'p50_ms@{n}'], 1)} / {fmt(f[f'p99_ms@{n}'], 1)}")
    for people in (big, small):
        row(f"bot CPU ms/update @{people}",
            lambda f, n=people: fmt(f[f"cpu_ms_per_update@{n}"], 2))
    for people in (big, small):
        row(f"PG CPU ms/update @{people}",
            lambda f, n=people: fmt(f.get(f"db_cpu_ms_per_update@{n}", math.nan), 2))
    row(f"updates/commit @{big}", lambda f: fmt(f[f"updates_per_commit@{big}"], 2))
    if STATEMENTS:
        for people in (big, small):
            row(f"PG statements/update @{people}",
                lambda f, n=people: fmt(f.get(f"statements_per_update@{n}", math.nan), 2))
    row("peak RSS MiB (largest)", lambda f: fmt(f["peak_rss_mib"], 1))
    print(
        "notes: bot CPU is summed over the bot's processes; PG CPU is the PostgreSQL server's "
        "(every backend and\n"
        "       background process), SQLite's work is inside the bot's CPU. PostgreSQL "
        f"{pg_version or '-'} runs with its durable\n"
        "       defaults (fsync, synchronous_commit and full_page_writes on), on a throwaway "
        "cluster on the same disk.\n"
        "       Webhook: the fake Telegram POSTs each update (at most 40 at once, one per chat, "
        "as Telegram) to the\n"
        "       processes' ISHC_LISTEN ports in turn, standing for the reverse proxy; polling: "
        "the leader process polls."
    )
    print()


def _finite(value: object) -> object:
    """``value`` with NaN replaced by ``None`` and floats rounded, for strict JSON."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 3)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def show_profile(directory: Path, label: str) -> None:
    import pstats

    path = directory / f"{label}.prof"
    if not path.exists():
        print(f"(no profile written for {label})")
        return
    print(f"\n=== cProfile of {label} (main thread; cumulative, top 30) ===")
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(30)
    print(f"=== cProfile of {label} (own time, top 30) ===")
    stats.sort_stats("tottime").print_stats(30)


def chosen_setups(args: argparse.Namespace) -> list[Setup]:
    """The setups the command line asks for."""
    if args.backend == "all":
        return list(SETUPS)
    webhook = args.webhook or args.processes > 1
    if args.backend == "sqlite":
        key = "sqlite-webhook" if webhook else "ishc"
    else:
        key = ("pg" if args.processes == 1 else f"pg{args.processes}") + (
            "-webhook" if webhook else "")
    return [Setup(key, args.backend, args.processes, webhook)]


async def main_async(args: argparse.Namespace) -> int:
    profile = Path(args.profile).resolve() if args.profile else None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    logs = Path(args.logs).resolve() if args.logs else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    setups = chosen_setups(args)
    database = Database()
    if any(setup.backend == "postgres" for setup in setups):
        reason = database.available()
        if reason and args.backend == "postgres":
            print(f"cannot measure PostgreSQL: {reason}", file=sys.stderr)
            return 1
        if reason:
            print(f"PostgreSQL left out: {reason}")
            setups = [setup for setup in setups if setup.backend == "sqlite"]
    kinds: list[tuple[type[BotProcess], Setup]] = [(IshcBot, setup) for setup in setups]
    if SQLITE in setups and not args.no_ptb:
        kinds.append((ConventionalBot, SQLITE))
    runs: list[Run] = []
    started = time.perf_counter()
    pg_version = ""
    try:
        for number in range(1, args.runs + 1):
            shift = (number - 1) % len(kinds)
            order = kinds[shift:] + kinds[:shift]  # each goes first in turn
            run = Run()
            for kind, setup in order:
                label = setup.key if kind is IshcBot else kind.label
                print(f"run {number}/{args.runs}: {label} ...", end=" ", flush=True)
                result = await measure(kind, profile, logs, number, setup, database)
                run.results[result.name] = result
                big = result.phases.get(PHASES[-1])
                print(
                    "FAILED"
                    if result.failed()
                    else f"{big.rate:.0f} updates/s @{PHASES[-1]}"
                    if big
                    else "?",
                    flush=True,
                )
            runs.append(run)
            failures = [r for r in run.results.values() if r.failed()]
            if failures:
                for result in failures:
                    errors = result.errors + [e for p in result.phases.values() for e in p.errors]
                    print(f"\n{result.name}: {len(errors)} error(s); first ones:",
                          file=sys.stderr)
                    for error in errors[:10]:
                        print(f"  {error}", file=sys.stderr)
                    print(f"--- end of the {result.name} bot's log ---", file=sys.stderr)
                    print(result.log_tail or "(empty)", file=sys.stderr)
                print("benchmark FAILED: not every person finished registering", file=sys.stderr)
                return 1
        if database.cluster is not None:
            pg_version = await asyncio.to_thread(database.version)
        if database.top:
            print(f"\nmost frequent statements of the last PostgreSQL measurement "
                  f"(calls per update, warm-up and both phases):\n{database.top}")
    finally:
        await asyncio.to_thread(database.stop)
    data = report(runs, time.perf_counter() - started, setups, pg_version)
    if profile is not None:
        for path in sorted(profile.glob("*.prof")):
            show_profile(profile, path.stem)
    targets_met = all(data["targets"].values())
    return 0 if targets_met or not args.strict else 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.registration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the bots under cProfile, write DIR/{ishc,ptb}.prof and print "
        "the top functions (slows both bots down)",
    )
    parser.add_argument(
        "--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
        help="ishc-bot's event loop (ISHC_EVENT_LOOP; auto: uvloop when installed)",
    )
    parser.add_argument(
        "--commit-batch", type=int, default=64, metavar="N",
        help="ishc-bot's ISHC_COMMIT_BATCH: most updates per COMMIT (1: no group commit)",
    )
    parser.add_argument("--logs", metavar="DIR", help="keep each bot's log (stdout+stderr) in DIR")
    parser.add_argument(
        "--backend", choices=("all", "sqlite", "postgres"), default="all",
        help="all (default): SQLite and PostgreSQL, polling and webhook, 1 and 2 processes, "
        "and the conventional bot; sqlite or postgres: that one setup (with --processes, "
        "--webhook)",
    )
    parser.add_argument(
        "--processes", type=int, default=1, metavar="N",
        help="ishc-bot processes on one database (N > 1: --backend postgres, webhook mode)",
    )
    parser.add_argument(
        "--webhook", action="store_true",
        help="Telegram webhook mode (the fake POSTs updates to the processes in turn)",
    )
    parser.add_argument(
        "--no-ptb", action="store_true", help="leave out the conventional bot"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 2 when a target is missed"
    )
    parser.add_argument(
        "--statements", action="store_true",
        help="PostgreSQL: count the server's SQL statements per update (pg_stat_statements) "
        "and print the most frequent",
    )
    args = parser.parse_args(argv)
    global EVENT_LOOP, COMMIT_BATCH, STATEMENTS
    EVENT_LOOP, COMMIT_BATCH, STATEMENTS = args.loop, args.commit_batch, args.statements
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.processes < 1 or (args.processes > 1 and args.backend != "postgres"):
        parser.error("--processes N > 1 needs --backend postgres")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
