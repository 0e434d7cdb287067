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

Usage: ``python -m bench.registration [--runs N] [--profile DIR] [--strict]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.fake_telegram import FakeTelegram

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
    cpu_seconds: float = math.nan  # the bot process's CPU time (all threads) in the phase
    commits: float = math.nan  # database COMMITs in the phase (ishc-bot only)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds / self.updates * 1000 if self.updates else math.nan

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
    """One bot subprocess talking to ``fake``; stderr kept in a temp file."""

    label = "bot"

    def __init__(self, fake: FakeTelegram, workdir: Path, profile: Path | None) -> None:
        self.fake = fake
        self.workdir = workdir
        self.profile = profile
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "bot.log"
        self._log = None

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

    def module(self) -> list[str]:
        raise NotImplementedError

    async def commits(self) -> float:
        """Database COMMITs so far (``nan``: the bot does not commit per update)."""
        return math.nan

    async def prepare(self) -> str:
        """Set up data; return the invite code people type."""
        raise NotImplementedError

    async def start(self) -> None:
        argv = [sys.executable]
        if self.profile is not None:
            argv += ["-m", "cProfile", "-o", str(self.profile / f"{self.label}.prof")]
        argv += ["-m", *self.module()]
        self._log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.workdir,
            env=self.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not any(name == "getupdates" for name, _ in self.fake.calls):
            self.check_alive()
            if time.monotonic() > deadline:
                raise BotCrashed(f"{self.label} did not poll within {START_TIMEOUT:.0f}s")
            await asyncio.sleep(0.02)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.returncode is not None:
            raise BotCrashed(f"{self.label} exited with status {self.proc.returncode}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the bot process so far, all threads."""
        assert self.proc is not None
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        """VmHWM (peak resident set) of the bot process itself."""
        assert self.proc is not None
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return math.nan

    async def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").splitlines()
            return "\n".join(text[-lines:])
        return ""


class IshcBot(BotProcess):
    label = "ishc"

    def __init__(self, fake: FakeTelegram, workdir: Path, profile: Path | None) -> None:
        super().__init__(fake, workdir, profile)
        self.listen = f"127.0.0.1:{free_port()}"

    async def commits(self) -> float:
        """``ishc_transaction_seconds_count`` from the bot's ``/metrics``."""
        url = f"http://{self.listen}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith("ishc_transaction_seconds_count"):
                return float(line.split()[-1])
        return math.nan

    def env(self) -> dict[str, str]:
        env = super().env()
        env["ISHC_DB"] = str(self.workdir / "ishc.sqlite3")
        env["ISHC_LISTEN"] = self.listen
        env["ISHC_TELEGRAM_RATE"] = "100000"
        env["ISHC_TELEGRAM_CHAT_RATE"] = "100000"
        env["ISHC_EVENT_LOOP"] = EVENT_LOOP
        env["ISHC_COMMIT_BATCH"] = str(COMMIT_BATCH)
        return env

    def module(self) -> list[str]:
        return ["bot", "run"]

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
    """Hands out user ids, phone numbers and names, unique across phases of one bot."""

    def __init__(self) -> None:
        self.next_index = 1

    async def phase(self, bot: BotProcess, code: str, people: int) -> Phase:
        phase = Phase(people)
        first, self.next_index = self.next_index, self.next_index + people
        cpu = bot.cpu_seconds()
        commits = await bot.commits()
        started = time.perf_counter()
        crowd = asyncio.gather(
            *(
                person(bot.fake, 10_000_000 + i, code, i, phase)
                for i in range(first, first + people)
            )
        )
        watchdog = asyncio.ensure_future(bot.proc.wait())  # type: ignore[union-attr]
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
        phase.commits = await bot.commits() - commits
        return phase


async def measure(
    kind: type[BotProcess], profile: Path | None, logs: Path | None = None, number: int = 1
) -> BotResult:
    result = BotResult(kind.label)
    workdir = Path(tempfile.mkdtemp(prefix=f"ishc-bench-{kind.label}-"))
    try:
        async with FakeTelegram() as fake:
            bot = kind(fake, workdir, profile)
            try:
                code = await bot.prepare()
                await bot.start()
                load = Load()
                warmup = await load.phase(bot, code, WARMUP_PEOPLE)
                result.errors += warmup.errors
                for people in PHASES:
                    await asyncio.sleep(0.3)
                    phase = await load.phase(bot, code, people)
                    result.phases[people] = phase
                result.peak_rss_mib = bot.peak_rss_mib()
            except BotCrashed as error:
                result.errors.append(str(error))
            finally:
                await bot.stop()
            if result.failed():
                result.log_tail = bot.log_tail()
            if logs is not None and bot.log_path.exists():
                shutil.copy(bot.log_path, logs / f"{kind.label}-run{number}.log")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


@dataclass
class Run:
    ishc: BotResult
    ptb: BotResult

    def figures(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for result in (self.ishc, self.ptb):
            figures: dict[str, float] = {"peak_rss_mib": result.peak_rss_mib}
            for people, phase in result.phases.items():
                figures[f"updates_per_s@{people}"] = phase.rate
                figures[f"p50_ms@{people}"] = phase.ms(50)
                figures[f"p99_ms@{people}"] = phase.ms(99)
                figures[f"cpu_ms_per_update@{people}"] = phase.cpu_ms_per_update
                figures[f"commits_per_s@{people}"] = phase.commits_per_s
                figures[f"updates_per_commit@{people}"] = phase.updates_per_commit
            out[result.name] = figures
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


def report(runs: list[Run], seconds: float) -> dict:
    summary = summarise(runs)
    ishc, ptb = summary["ishc"], summary["ptb"]
    small, big = PHASES
    ratio, ratio_small = summary["ratio"][f"@{big}"], summary["ratio"][f"@{small}"]
    p99_small = ishc.get(f"p99_ms@{small}", math.nan)
    ptb_p99_small = ptb.get(f"p99_ms@{small}", math.nan)
    rss = ishc.get("peak_rss_mib", math.nan)
    left = 31
    print()
    print(
        f"ishc-bot registration benchmark (fake Telegram on 127.0.0.1, {STEPS_PER_PERSON} "
        f"steps/person, median of {len(runs)} run{'s' if len(runs) != 1 else ''})"
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
    if len(runs) > 1:
        print("per run:")
        for number, run in enumerate(runs, 1):
            f = run.figures()
            i, p = f["ishc"], f["ptb"]
            print(
                f"  run {number}: @{big} ishc {fmt(i.get(f'updates_per_s@{big}', math.nan))} "
                f"PTB {fmt(p.get(f'updates_per_s@{big}', math.nan))} upd/s "
                f"(ratio {fmt(f['ratio'][f'@{big}'], 2)}); @{small} ishc "
                f"{fmt(i.get(f'updates_per_s@{small}', math.nan))} PTB "
                f"{fmt(p.get(f'updates_per_s@{small}', math.nan))} "
                f"(ratio {fmt(f['ratio'][f'@{small}'], 2)}); p99@{small} ishc "
                f"{fmt(i.get(f'p99_ms@{small}', math.nan), 1)} PTB "
                f"{fmt(p.get(f'p99_ms@{small}', math.nan), 1)} ms; RSS ishc "
                f"{fmt(i.get('peak_rss_mib', math.nan), 1)} MiB"
            )
    print(f"total time {seconds:.1f}s, python {platform.python_version()}, {os.cpu_count()} CPUs")
    data = {
        "runs": len(runs),
        "median": summary,
        "per_run": [run.figures() for run in runs],
        "targets": targets,
    }
    print(json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":")))
    return data


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


async def main_async(args: argparse.Namespace) -> int:
    profile = Path(args.profile).resolve() if args.profile else None
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    logs = Path(args.logs).resolve() if args.logs else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    started = time.perf_counter()
    for number in range(1, args.runs + 1):
        order = (IshcBot, ConventionalBot) if number % 2 else (ConventionalBot, IshcBot)
        results = {}
        for kind in order:
            print(f"run {number}/{args.runs}: {kind.label} ...", end=" ", flush=True)
            result = await measure(kind, profile, logs, number)
            results[kind.label] = result
            big = result.phases.get(PHASES[-1])
            print(
                "FAILED"
                if result.failed()
                else f"{big.rate:.0f} updates/s @{PHASES[-1]}"
                if big
                else "?",
                flush=True,
            )
        run = Run(results["ishc"], results["ptb"])
        runs.append(run)
        failures = [r for r in (run.ishc, run.ptb) if r.failed()]
        if failures:
            for result in failures:
                errors = result.errors + [e for p in result.phases.values() for e in p.errors]
                print(f"\n{result.name}: {len(errors)} error(s); first ones:", file=sys.stderr)
                for error in errors[:10]:
                    print(f"  {error}", file=sys.stderr)
                print(f"--- end of the {result.name} bot's log ---", file=sys.stderr)
                print(result.log_tail or "(empty)", file=sys.stderr)
            print("benchmark FAILED: not every person finished registering", file=sys.stderr)
            return 1
    data = report(runs, time.perf_counter() - started)
    if profile is not None:
        for label in ("ishc", "ptb"):
            show_profile(profile, label)
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
        "--strict", action="store_true", help="exit with status 2 when a target is missed"
    )
    args = parser.parse_args(argv)
    global EVENT_LOOP, COMMIT_BATCH
    EVENT_LOOP, COMMIT_BATCH = args.loop, args.commit_batch
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
