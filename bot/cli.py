"""Command line: ``ishc-bot run`` and the operator's ``club``, ``reminders`` and ``triage``.

``ishc-bot reminders due --at 2026-12-13T07:00 --json`` lists what would go out at that
moment; ``reminders send --at ...`` queues it (the same code as the scheduler's scan; the
running service delivers it). ``ishc-bot triage show`` prints the blood-pressure thresholds
in force; ``ishc-bot triage set urgent_systolic=170 ...`` changes them (as agreed with the
commune health station).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import report
from bot.app import run
from bot.clubs import create_club, list_clubs
from bot.config import Settings
from bot.conversations.registry import FLOWS
from bot.engine import Engine
from bot.handlers.telegram import deep_link
from bot.health import TRIAGE_KEY, Triage, triage
from bot.reminders import SETTINGS_KEY as REMINDERS_KEY
from bot.reminders import Settings as ReminderSettings
from bot.render import translate
from bot.report_xlsx import workbook
from bot.service import Service, utcnow
from bot.text import fold
from storage.sqlite import SQLiteStorage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ishc-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the service (local terminal chat without a token)")
    club = commands.add_parser("club", help="manage clubs").add_subparsers(
        dest="action", required=True
    )
    create = club.add_parser("create", help="create a club and its invite codes")
    create.add_argument("--name", required=True)
    create.add_argument("--commune", default="")
    create.add_argument("--district", default="")
    create.add_argument("--province", default="")
    create.add_argument("--meeting-day", type=int, required=True)
    create.add_argument("--json", action="store_true", help="print JSON")
    listing = club.add_parser("list", help="list clubs with member counts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    triage = commands.add_parser("triage", help="blood-pressure thresholds (settings)")
    actions = triage.add_subparsers(dest="action", required=True)
    actions.add_parser("show", help="print the thresholds in force as JSON")
    change = actions.add_parser("set", help="change thresholds, e.g. urgent_systolic=170")
    change.add_argument("values", nargs="+", metavar="NAME=VALUE")
    reminders = commands.add_parser("reminders", help="what reminders are due, and queue them")
    steps = reminders.add_subparsers(dest="action", required=True)
    for name, text in (("due", "list the reminders due at a moment (nothing is queued)"),
                       ("send", "queue the reminders due at a moment (each key once)")):
        step = steps.add_parser(name, help=text)
        step.add_argument("--at", help="ISO moment, club time unless it has an offset "
                          "(default: now)")
        step.add_argument("--json", action="store_true", help="print JSON")
    monthly = commands.add_parser("report", help="the monthly report of clubs as a spreadsheet")
    monthly.add_argument("--month", required=True, help="YYYY-MM")
    for area in ("province", "district", "commune"):
        monthly.add_argument(f"--{area}", help=f"only the clubs of this {area}")
    monthly.add_argument("--club", type=int, help="only this club")
    monthly.add_argument("--xlsx", required=True, help="the file to write")
    tune = steps.add_parser("settings", help="show or change when reminders go out, e.g. "
                            "send_at=07:30 meeting_days=2,0")
    tune.add_argument("values", nargs="*", metavar="NAME=VALUE")
    return parser


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", args.month):
        raise ValueError("--month must look like 2026-11")
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            clubs = [club for club, _ in await tx.list_clubs()
                     if (args.club is None or club.id == args.club)
                     and all(getattr(args, a) is None or fold(getattr(club, a)) ==
                             fold(getattr(args, a)) for a in ("province", "district", "commune"))]
            rows = [(club, await report.monthly(tx, club.id, args.month)) for club in clubs]
    finally:
        await storage.close()
    Path(args.xlsx).write_bytes(workbook(args.month, rows))
    return len(rows)


async def _reminder_settings(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    current_fields = {f.name: f for f in fields(ReminderSettings)}
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            current = ReminderSettings.from_json(await tx.get_meta(REMINDERS_KEY))
            changes: dict[str, object] = {}
            for item in args.values:
                name, _, value = item.partition("=")
                if name not in current_fields or not value:
                    raise ValueError("expected NAME=VALUE with NAME among: "
                                     + ", ".join(sorted(current_fields)))
                old = getattr(current, name)
                if isinstance(old, tuple):
                    changes[name] = tuple(int(v) for v in value.split(",") if v.strip())
                elif isinstance(old, int):
                    changes[name] = int(value)
                else:
                    hour, _, minute = value.partition(":")
                    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24
                            and int(minute) < 60):
                        raise ValueError(f"{name}: expected a time like 07:30")
                    changes[name] = f"{int(hour):02d}:{int(minute):02d}"
            updated = replace(current, **changes)
            if changes:
                await tx.set_meta(REMINDERS_KEY, updated.to_json())
        return asdict(updated)
    finally:
        await storage.close()


async def _reminders(args: argparse.Namespace, settings: Settings) -> list[dict[str, object]]:
    at = utcnow()
    if args.at:
        at = datetime.fromisoformat(args.at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(settings.tz))
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        service = Service(storage, Engine(FLOWS), settings.tz)
        found = await service.remind(at.astimezone(UTC), send=args.action == "send")
    finally:
        await storage.close()
    return [{"key": d.key, "club_id": d.club_id, "member_id": d.member_id, "kind": d.kind,
             "at": d.at.astimezone(ZoneInfo(settings.tz)).isoformat(),
             "text": "\n\n".join(translate(part, "vi") for part in d.parts)} for d in found]


async def _triage(args: argparse.Namespace, settings: Settings) -> dict[str, int]:
    known = {f.name for f in fields(Triage)}
    changes: dict[str, int] = {}
    for item in getattr(args, "values", []):
        name, _, value = item.partition("=")
        if name not in known or not value.isdigit():
            raise ValueError(f"expected NAME=NUMBER with NAME among: {', '.join(sorted(known))}")
        changes[name] = int(value)
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            rules = replace(await triage(tx), **changes)
            if changes:
                await tx.set_meta(TRIAGE_KEY, rules.to_json())
        return asdict(rules)
    finally:
        await storage.close()


async def _club(args: argparse.Namespace, settings: Settings) -> object:
    storage = SQLiteStorage(settings.db)
    await storage.open()
    try:
        if args.action == "list":
            return await list_clubs(storage)
        async with storage.transaction() as tx:
            club = await create_club(
                tx,
                name=args.name,
                commune=args.commune,
                district=args.district,
                province=args.province,
                meeting_day=args.meeting_day,
                now=utcnow(),
            )
        club["board_link"] = deep_link(settings.telegram_bot_username, club["board_code"])
        club["member_link"] = deep_link(settings.telegram_bot_username, club["member_code"])
        return club
    finally:
        await storage.close()


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    args = _parser().parse_args(argv)
    level = logging.INFO if os.environ.get("TELEGRAM_BOT_TOKEN") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines contain the token
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = Settings.from_env()
    if args.command == "run":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(settings))
        return 0
    try:
        if args.command == "report":
            count = asyncio.run(_report(args, settings))
            print(f"{count} club(s) written to {args.xlsx}")
            return 0
        if args.command == "reminders" and args.action == "settings":
            print(json.dumps(asyncio.run(_reminder_settings(args, settings)), indent=2))
            return 0
        if args.command == "reminders":
            found = asyncio.run(_reminders(args, settings))
            if args.json:
                print(json.dumps(found, ensure_ascii=False, indent=2))
            else:
                for item in found:
                    print(f"{item['at']}\t{item['kind']}\t{item['member_id']}\t{item['key']}")
                print(f"{len(found)} reminder(s) {'queued' if args.action == 'send' else 'due'}")
            return 0
        if args.command == "triage":
            print(json.dumps(asyncio.run(_triage(args, settings)), indent=2))
            return 0
        result = asyncio.run(_club(args, settings))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.action == "list":
        for club in result:  # type: ignore[union-attr]
            print(f"{club['club_id']}\t{club['members']}\t{club['name']}")
    else:
        for key, value in result.items():  # type: ignore[union-attr]
            print(f"{key}: {value}")
    return 0
