"""The national reminder peak: every club meets on the same day, one bot per province.

``python -m bench.reminders --national [--scale 0.1] [--window-minutes M]``.

6,000 clubs of 50 members (300,000; ``--scale`` 0.1: 600 clubs, 30,000 members) in 34
provinces, a club in each province in turn; each province has its own Telegram bot (channel
keys ``telegram:p01`` .. ``telegram:p34``, each with its own token), and every member's chat
account is on their province's bot. Every club meets in two days; the scan's moment is now, and
each member is due the meeting notice and "not measured this month" (nobody was measured):
two reminders per member, 600,000 at full scale.

The clock is real: after the build the bench waits for the next whole minute (club time),
where the send window starts and the scan runs. The window lasts ``--window-minutes``
(default 10 minutes times the scale, about the physical limit: the plan spreads each bot's
share over the window, so a window as long as the target would make the delivery last the
target by design; at this length each bot goes at its full rate). The per-bot rates are not
scaled, so the physical limit scales with the count. The quiet hours begin one window length
(at least five minutes) after the window ends and last until the window's start, so a
delivery that runs long meets them: what is left then waits for the next day's window and
counts as lost here. The bench cannot run when that would cross midnight (club time): it says so.

One process, as in production, scans (``reminders.scan`` with ``OutboxWorker.rates()``: each
bot's own rate, ``ISHC_TELEGRAM_RATE`` default 29/s) and sends with the real
:class:`bot.outbox.OutboxWorker` and one :class:`bot.handlers.telegram.TelegramChannel` per bot
(:func:`make_senders`). The fake Bot API (``tests.fake_telegram``, real HTTP on 127.0.0.1,
in the bench's own process) serves the 34 tokens and enforces 30 messages in any one-second
span per token, answering 429 with ``retry_after`` beyond it.

Reported: total reminders, seconds from the start of the scan to the last message accepted,
the share accepted inside the send window, messages accepted in the quiet hours (must be 0),
429s received, duplicates and losses, and the physical limit (reminders / (34 x 30) s).
Target at full scale: under 15 minutes (the physical limit for 600,000 is 9.8 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import reminders
from bot.config import Settings as BotSettings
from bot.outbox import ChannelSender, OutboxWorker
from bot.service import Service, utcnow
from storage.base import Storage
from storage.records import NewMember
from storage.sqlite import SQLiteStorage
from tests.fake_telegram import FakeTelegram

TZ = "Asia/Ho_Chi_Minh"
VN = ZoneInfo(TZ)
PROVINCES = 34
CLUBS = 6_000
CLUB_SIZE = 50
LIMIT = 30  # messages per second per bot the fake accepts
TARGET_MINUTES = 15.0
QUIET_AFTER = timedelta(minutes=5)  # from the window's end to the quiet hours, at least
WINDOW = 10  # minutes at full scale: about the physical limit, so each bot goes at its rate
FIRST_USER = 40_000_000
PROGRESS_EVERY = 30.0


def channel_of(province: int) -> str:
    """The channel key of a province's bot."""
    return f"telegram:p{province:02d}"


def bot_tokens() -> dict[str, str]:
    """Each province bot's channel key and token."""
    return {channel_of(n): f"{7_000_000 + n}:national-p{n:02d}"
            for n in range(1, PROVINCES + 1)}


def make_senders(
    settings: BotSettings, service: Service, storage: Storage, tokens: dict[str, str]
) -> list[ChannelSender]:
    """One Telegram sender per bot: channel key -> token (its own rate budget)."""
    from bot.handlers.telegram import TelegramChannel

    senders: list[ChannelSender] = []
    for channel, token in tokens.items():
        senders.append(TelegramChannel(replace(settings, telegram_token=token), service,
                                       storage, channel=channel))
    return senders


def clock_text(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def window_settings(start: datetime, minutes: int) -> tuple[reminders.Settings, datetime,
                                                            datetime, datetime]:
    """The reminder settings for a peak at ``start`` (a whole minute, club time): the send
    window from it, ``minutes`` long, and the quiet hours from :data:`QUIET_AFTER` (or one
    window length, if longer) after it.

    Returns:
        The settings, the window's start and end, and the quiet hours' start (club time).
    """
    local = start.astimezone(VN)
    assert local.second == 0 and local.microsecond == 0, local
    length = timedelta(minutes=minutes)
    end = local + length
    quiet = end + max(length, QUIET_AFTER)
    if quiet.date() != local.date():
        raise SystemExit(f"the window and the quiet hours after it would cross midnight club "
                         f"time ({local:%H:%M} + 2 x {length}); run the bench later")
    settings = reminders.Settings(
        quiet_start=clock_text(quiet), quiet_end=clock_text(local), send_at=clock_text(local),
        meeting_days=(2,), health_days=2, send_window=f"{clock_text(local)}-{clock_text(end)}")
    assert reminders.window_problem(settings) is None, reminders.window_problem(settings)
    return settings, local, end, quiet


def next_minute(now: datetime) -> datetime:
    """The start of the next whole minute after ``now`` (club time)."""
    return (now.astimezone(VN).replace(second=0, microsecond=0) + timedelta(minutes=1))


async def build(db: Path, clubs: int, settings: reminders.Settings, now: datetime) -> int:
    """The clubs, their members and each one's chat account on the province's bot."""
    meeting_day = (now.astimezone(VN) + timedelta(days=2)).day
    joined = now - timedelta(days=60)
    storage = SQLiteStorage(db)
    await storage.open()
    user = FIRST_USER
    try:
        for first in range(0, clubs, 100):
            async with storage.transaction() as tx:
                for number in range(first, min(clubs, first + 100)):
                    province = number % PROVINCES + 1
                    channel = channel_of(province)
                    club = await tx.create_club(f"CLB LTHTGN số {number + 1}", "Thông Thụ",
                                                "", f"Tỉnh số {province}", meeting_day, joined)
                    for index in range(CLUB_SIZE):
                        member_id, _ = await tx.add_member(NewMember(
                            club_id=club.id, full_name=f"Thành viên {number}-{index}",
                            sex="female", birth_year=1955, birth_date=None,
                            phone=f"+8490{user:08d}", village="Bản Lốc", household="ordinary",
                            ethnicity=None, status="active", assisted_by=None,
                            registration_key=f"national-{user}"), joined)
                        await tx.touch_identity(channel, str(user), str(user), "Bác", "vi",
                                                joined)
                        await tx.link_identity(channel, str(user), member_id)
                        user += 1
        async with storage.transaction() as tx:
            await tx.set_meta(reminders.SETTINGS_KEY, settings.to_json())
    finally:
        await storage.close()
    return user - FIRST_USER


# --- the service's side: scan and send (its own process) -------------------------------------


async def serve(db: str, api_url: str) -> None:
    """Scan now and deliver with one sender per bot until nothing is pending; print facts."""
    from bot.conversations.registry import FLOWS
    from bot.engine import Engine

    storage = SQLiteStorage(db)
    await storage.open()
    try:
        settings = replace(BotSettings.from_env({}), telegram_api_url=api_url)
        service = Service(storage, Engine(FLOWS), TZ)
        senders = make_senders(settings, service, storage, bot_tokens())
        for sender in senders:
            await sender.start()  # type: ignore[attr-defined]
        worker = OutboxWorker(storage, senders, utcnow, tz=TZ)
        running = asyncio.create_task(worker.run())
        started = time.time()
        found = await reminders.scan(storage, TZ, utcnow(), rate=worker.rates())  # as app.py
        print(json.dumps({"scan_started": started, "queued_at": time.time(),
                          "queued": len(found), "rates": worker.rates()}), flush=True)
        while True:
            await asyncio.sleep(1.0)
            async with storage.transaction() as tx:
                rows = await tx._all(  # type: ignore[attr-defined]
                    "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            if rows[0][0] == 0 and worker.idle():
                break
        await worker.stop()
        running.cancel()
        for sender in senders:
            await sender.stop()  # type: ignore[attr-defined]
    finally:
        await storage.close()


# --- the bench's side ---------------------------------------------------------------------------


def outbox_statuses(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db, timeout=10.0)
    try:
        return dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
    finally:
        conn.close()


async def run(scale: float, window_minutes: int | None, workdir: Path) -> dict:
    """Build, then let the service process scan and deliver against the fake; the figures."""
    clubs = max(PROVINCES, round(CLUBS * scale))
    minutes = window_minutes if window_minutes is not None else max(1, round(WINDOW * scale))
    db = workdir / "national.sqlite3"
    started = time.monotonic()
    settings, *_ = window_settings(next_minute(utcnow()), minutes)
    members = await build(db, clubs, settings, utcnow())
    built_s = time.monotonic() - started
    # The window starts when the scan does: at the next whole minute (club time).
    start = next_minute(utcnow())
    settings, window_start, window_end, quiet_start = window_settings(start, minutes)
    storage = SQLiteStorage(db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            await tx.set_meta(reminders.SETTINGS_KEY, settings.to_json())
    finally:
        await storage.close()
    expected = 2 * members
    print(f"  {clubs:,} clubs, {members:,} members on {PROVINCES} bots built in {built_s:.0f}s; "
          f"send window {settings.send_window}, quiet from {settings.quiet_start}; "
          f"{expected:,} reminders expected", flush=True)
    tokens = bot_tokens()
    first, *rest = tokens.values()
    facts: dict = {"scale": scale, "clubs": clubs, "members": members, "bots": PROVINCES,
                   "limit_per_bot": LIMIT, "send_window": settings.send_window,
                   "quiet_start": settings.quiet_start, "build_s": built_s}
    await asyncio.sleep(max(0.0, (start - utcnow()).total_seconds()))
    async with FakeTelegram(token=first, tokens=rest, flood_limit=LIMIT) as fake:
        wall_offset = time.time() - time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.reminders_national", "--serve", str(db),
            fake.base_url, stdout=asyncio.subprocess.PIPE, env=env)
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise SystemExit("the service process ended before it queued anything")
        scan = json.loads(line)
        queued = int(scan["queued"])
        print(f"  {queued:,} queued in {scan['queued_at'] - scan['scan_started']:.1f}s; "
              f"delivering (physical limit {queued / (PROVINCES * LIMIT):.0f}s) ...", flush=True)
        # Until everything is delivered, or the quiet hours began (the rest waits for the
        # next day's window).
        deadline = min(time.time() + max(600.0, 4 * queued / (PROVINCES * LIMIT)),
                       quiet_start.timestamp() + 10.0)
        report_at = time.time() + PROGRESS_EVERY
        while process.returncode is None and time.time() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=1.0)
            if time.time() >= report_at:
                report_at += PROGRESS_EVERY
                done = sum(fake.accepted_by_token.values())
                print(f"  {time.time() - scan['scan_started']:5.0f}s: {done:,} delivered, "
                      f"{len(fake.rate_limited)} answered 429", flush=True)
        if process.returncode is None:
            print("  stopped: the quiet hours began (or the deadline passed)", flush=True)
            process.terminate()
            await process.wait()
        sent = [m for m in fake.sent if m.method == "sendMessage"]
        limited, by_token = len(fake.rate_limited), dict(fake.accepted_by_token)
    times = sorted(m.at + wall_offset for m in sent)
    end_s = window_end.timestamp()
    quiet_s = quiet_start.timestamp()
    per_chat = Counter(m.chat_id for m in sent)
    per_message = Counter((m.chat_id, m.text) for m in sent)
    statuses = outbox_statuses(db)
    expected_per_bot = Counter(channel_of(n % PROVINCES + 1) for n in range(clubs))
    wrong_bot = sum(abs(by_token.get(tokens[ch], 0) - 2 * CLUB_SIZE * count)
                    for ch, count in expected_per_bot.items())
    facts.update({
        "reminders": queued,
        "scan_s": scan["queued_at"] - scan["scan_started"],
        "delivered": len(sent),
        "seconds": (times[-1] - scan["scan_started"]) if times else math.nan,
        "inside_window": sum(1 for t in times if t < end_s) / len(times) if times else 0.0,
        "in_quiet_hours": sum(1 for t in times if t >= quiet_s),
        "refused_429": limited,
        "duplicates": sum(n - 1 for n in per_message.values() if n > 1),
        "lost": expected - len(per_message),
        "chats": len(per_chat),
        "wrong_bot": wrong_bot,
        "outbox": statuses,
        "physical_limit_s": queued / (PROVINCES * LIMIT),
        "window_s": (window_end - window_start).total_seconds(),
    })
    return facts


def report(facts: dict) -> bool:
    full = facts["scale"] == 1
    target = TARGET_MINUTES * 60 * facts["scale"]
    ok = (facts["seconds"] < target and facts["in_quiet_hours"] == 0 and not facts["lost"]
          and not facts["duplicates"])
    scale = "full scale" if full else f"scale {facts['scale']:g}"
    print(f"\nnational reminder peak ({scale}: "
          f"{facts['clubs']:,} clubs, {facts['members']:,} members, {facts['bots']} bots; fake "
          f"Telegram enforcing {facts['limit_per_bot']}/s per bot token; send window "
          f"{facts['send_window']}, quiet hours from {facts['quiet_start']})")
    rows = [
        ("reminders", f"{facts['reminders']:,}", ""),
        ("scan (due + plan + queue) s", f"{facts['scan_s']:.1f}", ""),
        ("delivered", f"{facts['delivered']:,}", ""),
        ("time to deliver everything s", f"{facts['seconds']:.1f}",
         f"< {target:.0f} [{'ok' if facts['seconds'] < target else 'MISSED'}]"),
        ("physical limit s (reminders / (34 x 30))", f"{facts['physical_limit_s']:.1f}", ""),
        ("send window s", f"{facts['window_s']:.0f}", ""),
        ("share delivered inside the window", f"{facts['inside_window']:.1%}", ""),
        ("sent in the quiet hours", str(facts["in_quiet_hours"]), "0"),
        ("429s received", str(facts["refused_429"]), ""),
        ("duplicates", str(facts["duplicates"]), "0"),
        ("lost", str(facts["lost"]), "0"),
        ("messages on another bot than expected", str(facts["wrong_bot"]), "0"),
        ("outbox rows by status", json.dumps(facts["outbox"]), ""),
    ]
    for label, value, goal in rows:
        print(f"{label:44}{value:>16}   {goal}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders_national",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", nargs=2, metavar=("DB", "API_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve(*args.serve))
        return 0
    parser.error("run it as python -m bench.reminders --national [--scale S]")
    return 2


async def national(args: argparse.Namespace) -> int:
    """``python -m bench.reminders --national``: run, report, keep the database if asked."""
    import shutil
    import tempfile

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ishc-bench-national-"))
    try:
        facts = await run(args.scale, args.window_minutes, workdir)
    finally:
        if args.keep:
            print(f"database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    met = report(facts)
    print(f"total time {time.monotonic() - started:.0f}s, {os.cpu_count()} CPUs")
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in facts.items()},
                     ensure_ascii=False, separators=(",", ":")))
    return 0 if met or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
