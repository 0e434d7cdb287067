"""Command line: ``ishc-bot run``; the operator's ``club``, ``admin``, ``report``, ``reminders``.

``ishc-bot admin grant --role association --province "Nghệ An" [--district ...] [--commune
...] --name "..."`` gives an officer of the Association of the Elderly the monthly report of
every club of that area and prints a one-time code (7 days) to type in the chat
(``/hoinct CODE``); ``admin code ID`` makes a new one (another account, or an expired code);
``admin list`` shows the grants; ``admin revoke ID`` takes one back at once.

``ishc-bot reminders due --at 2026-12-13T07:00 --json`` lists what would go out at that
moment; ``reminders send --at ...`` queues it (the same code as the scheduler's scan; the
running service delivers it). ``ishc-bot triage show`` prints the blood-pressure thresholds
in force; ``ishc-bot triage set urgent_systolic=170 ...`` changes them (as agreed with the
commune health station).

``ishc-bot backup PATH`` copies the database while the bot runs (``--force`` replaces PATH);
``ishc-bot restore PATH`` puts a backup in place of the database, with the service stopped;
``ishc-bot check`` checks the database and the fund's balances against its ledger (exit 1 on
any failure). All three take ``--json``; the work is in ``bot/backup.py`` and
``bot/dbcheck.py``.

``ishc-bot deadletter list`` shows the updates the service gave up on, with their errors;
``deadletter retry ID`` handles one again once its cause is fixed (``bot/deadletters.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import association, cli_areas, cli_bots, dbcheck, deadletters, logs, reminders
from bot import backup as backups
from bot.app import run
from bot.association import Area
from bot.bots import club_link
from bot.clubs import create_club, list_clubs
from bot.config import Settings
from bot.conversations.meeting_schedule import parse_time
from bot.conversations.monthly_report import read_month
from bot.conversations.registry import FLOWS
from bot.engine import Engine
from bot.health import TRIAGE_KEY, Triage, triage
from bot.i18n import DEFAULT_LOCALE, N_, format_day, gettext
from bot.parsers import ParseError, parse_date
from bot.reminders import SETTINGS_KEY as REMINDERS_KEY
from bot.reminders import Settings as ReminderSettings
from bot.render import translate
from bot.report_xlsx import workbook
from bot.service import Service, utcnow
from storage import transfer
from storage.backends import is_postgres, sqlite_path, storage_for
from storage.errors import StorageUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ishc-bot", description=plain(__doc__ or ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the service (local terminal chat without a token)")
    cli_bots.add_parser(commands)
    club = commands.add_parser("club", help="manage clubs").add_subparsers(
        dest="action", required=True
    )
    create = club.add_parser("create", help="create a club and its invite codes")
    create.add_argument("--name", required=True)
    create.add_argument("--commune", default="", help="its commune since 1 July 2025, e.g. "
                        '"Thông Thụ" (an old one is converted when --district is given)')
    create.add_argument("--district", default="", help="the old district (a label only)")
    create.add_argument("--province", default="", help='one of the 34, e.g. "Nghệ An"')
    create.add_argument("--meeting-day", type=int, required=True, help="1 to 31")
    create.add_argument("--json", action="store_true", help="print JSON")
    listing = club.add_parser("list", help="list clubs with member counts")
    listing.add_argument("--json", action="store_true", help="print JSON")
    cli_areas.add_commands(club)
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
        step.add_argument("--at", help='a moment, club time unless it has an offset: '
                          '"13/12/2026 7:00", "hôm nay 7h" or 2026-12-13T07:00 (default: now)')
        step.add_argument("--json", action="store_true", help="print JSON")
    admin = commands.add_parser("admin", help="association officers: grants over an area")
    grants = admin.add_subparsers(dest="action", required=True)
    give = grants.add_parser("grant", help="give an officer the report of an area's clubs, "
                             "with a one-time code for the chat")
    give.add_argument("--role", required=True, choices=association.GRANT_ROLES)
    give.add_argument("--province", required=True)
    give.add_argument("--district", default="", help="narrow the area to the new communes "
                      "of this old district (when they come from it alone)")
    give.add_argument("--commune", default="", help="narrow the area to this commune")
    give.add_argument("--name", required=True, help="who the officer is")
    give.add_argument("--by", default=None, help="who gives it (default: this system user)")
    give.add_argument("--force", action="store_true",
                      help="give it even though no club is in the area yet")
    give.add_argument("--json", action="store_true", help="print JSON")
    code = grants.add_parser("code", help="a new one-time code for a grant")
    code.add_argument("id", type=int)
    code.add_argument("--json", action="store_true", help="print JSON")
    shown = grants.add_parser("list", help="every grant, revoked ones too")
    shown.add_argument("--json", action="store_true", help="print JSON")
    take = grants.add_parser("revoke", help="take a grant back (at once)")
    take.add_argument("id", type=int)
    take.add_argument("--json", action="store_true", help="print JSON")
    monthly = commands.add_parser("report", help="the monthly report of clubs as a spreadsheet")
    monthly.add_argument("--month", required=True,
                         help='11/2026, 2026-11, 11-2026 or "tháng 11/2026"')
    for area in ("province", "district", "commune"):
        monthly.add_argument(f"--{area}", help=f"only the clubs of this {area}")
    monthly.add_argument("--club", type=int, help="only this club")
    monthly.add_argument("--xlsx", required=True,
                         help="the file to write (its folder must exist)")
    letters = commands.add_parser("deadletter", help="updates the service gave up on")
    letter_actions = letters.add_subparsers(dest="action", required=True)
    shown = letter_actions.add_parser("list", help="the newest dead letters and their errors")
    shown.add_argument("--all", action="store_true", help="retried ones too")
    shown.add_argument("--json", action="store_true", help="print JSON (with the raw update)")
    again = letter_actions.add_parser("retry", help="handle a dead letter's update again")
    again.add_argument("id", type=int)
    again.add_argument("--json", action="store_true", help="print JSON")
    tune = steps.add_parser("settings", help="show or change when reminders go out, e.g. "
                            "send_at=07:30 meeting_days=2,0 send_window=07:00-11:00")
    tune.add_argument("values", nargs="*", metavar="NAME=VALUE")
    copy = commands.add_parser("backup", help="copy the database to PATH, safely while the "
                               "bot runs (checked, then renamed into place)")
    copy.add_argument("path", metavar="PATH")
    copy.add_argument("--force", action="store_true", help="replace PATH if it exists")
    copy.add_argument("--json", action="store_true", help="print JSON")
    back = commands.add_parser("restore", help="put the backup at PATH in place of the "
                               "database (stop the service first); the old one is kept aside")
    back.add_argument("path", metavar="PATH")
    back.add_argument("--json", action="store_true", help="print JSON")
    db = commands.add_parser("db", help="the database: migrate it, or copy a SQLite file "
                             "into PostgreSQL").add_subparsers(dest="action", required=True)
    migrate = db.add_parser("migrate", help="apply pending migrations to ISHC_DB (SQLite or "
                            "PostgreSQL) and print its schema version")
    migrate.add_argument("--json", action="store_true", help="print JSON")
    move = db.add_parser("copy", help="copy a SQLite database into an empty PostgreSQL one, "
                         "then check every table's count and every balance")
    move.add_argument("--from", dest="source", required=True, metavar="PATH",
                      help="the SQLite file (e.g. the province's, service stopped)")
    move.add_argument("--to", dest="target", required=True, metavar="postgresql://...",
                      help="the empty PostgreSQL database")
    move.add_argument("--json", action="store_true", help="print JSON")
    sound = commands.add_parser("check", help="integrity, foreign keys, schema version, and "
                                "the fund's balances against its ledger (exit 1 on a failure)")
    sound.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _sqlite_only(command: str, settings: Settings) -> int | None:
    """Exit code 2 with a note when ``command`` is asked of a PostgreSQL database."""
    if not is_postgres(settings.db):
        return None
    print(f"error: '{command}' works on a SQLite file; for PostgreSQL use its own tools "
          "(pg_dump, pg_basebackup, amcheck)", file=sys.stderr)
    return 2


def _db(args: argparse.Namespace, settings: Settings) -> int:
    """``db migrate`` and ``db copy``: print what was done; exit 1 if it was refused."""
    try:
        if args.action == "migrate":
            version = asyncio.run(transfer.migrate(settings.db))
            result: dict[str, Any] = {"db": transfer.safe_dsn(settings.db), "schema": version}
        else:
            result = asyncio.run(transfer.copy(args.source, args.target)).to_json()
    except (transfer.CopyError, StorageUnavailable, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.action == "migrate":
        print(f"{result['db']}: schema version {result['schema']}")
    else:
        total = sum(result["rows"].values())
        print(f"copied {total} rows in {len(result['rows'])} tables from {result['source']} "
              f"to {result['target']}; balances equal ("
              + ", ".join(f"{n} {t}" for t, n in result["balances_checked"].items()) + ")")
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """``check``: print what was found; exit 1 on any failure."""
    refused = _sqlite_only("check", settings)
    if refused is not None:
        return refused
    try:
        report = dbcheck.check(sqlite_path(settings.db))
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            print(f"FAILED {problem.check}: {problem.message}")
        for warning in report.warnings:
            print(f"warning {warning.check}: {warning.message}")
        version = "unreadable" if report.schema_version is None else report.schema_version
        print(f"{report.db}: {'ok' if report.ok else f'{len(report.problems)} failure(s)'} "
              f"(schema {version}, code {report.code_schema_version}; "
              f"{report.loans} loan(s), {report.ledger_entries} ledger entries)")
    return 0 if report.ok else 1


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    """``backup`` and ``restore``: print the outcome; exit 1 if nothing was done."""
    refused = _sqlite_only(args.command, settings)
    if refused is not None:
        return refused
    db = sqlite_path(settings.db)
    try:
        if args.command == "backup":
            result = backups.backup(db, args.path, force=args.force).to_json()
        else:
            result = backups.restore(args.path, db).to_json()
    except (backups.BackupError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.command == "backup":
        print(f"backup written to {result['path']}: {result['bytes']} bytes, schema "
              f"{result['schema_version']}, {result['members']} member(s), {result['loans']} "
              f"loan(s), {result['ledger_entries']} ledger entries, {result['seconds']} s")
    else:
        print(f"{result['db']} restored from {result['restored_from']} (schema "
              f"{result['schema_version']}; the code's is {result['code_schema_version']})")
        if result["kept_aside"]:
            print(f"the database it replaced is kept at {result['kept_aside']}")
        if result["litestream_meta"]:
            print(f"Litestream kept state for the replaced database in "
                  f"{result['litestream_meta']}: with Litestream stopped, run `litestream reset "
                  f"{result['db']}` before starting it again")
    return 0


def plain(text: str) -> str:
    """Help text without reStructuredText markup (````code```` and ``:func:`name```)."""
    return re.sub(r":\w+:`([^`]*)`", r"\1", text).replace("``", "")


def _say(message: str, **params: object) -> str:
    """An operator's message, in Vietnamese (the catalogs' default language)."""
    return gettext(message, DEFAULT_LOCALE, **params)


def _error(code: int, reason: str) -> int:
    """Print an error (no traceback) and return the exit status."""
    print(_say(N_("Error: {reason}"), reason=reason), file=sys.stderr)
    return code


def _fail(code: int, message: str, **params: object) -> int:
    """Print an error from a message of the catalogs and return the exit status."""
    return _error(code, _say(message, **params))


WHY = {
    errno.ENOENT: N_("the folder does not exist"),
    errno.ENOTDIR: N_("the folder does not exist"),
    errno.EACCES: N_("no permission to write there"),
    errno.EPERM: N_("no permission to write there"),
    errno.EROFS: N_("the disk is read-only"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EISDIR: N_("that is a folder"),
}


def why(error: OSError) -> str:
    """Why a file could not be written, in words (the system's own words if unusual)."""
    known = WHY.get(error.errno or 0)
    return _say(known) if known else (error.strerror or str(error))


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a new file, then renamed into place).

    Raises:
        OSError: The folder does not exist, or cannot be written.
    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def parse_moment(text: str, tz: str, now: datetime) -> datetime:
    """A moment as the chat reads it: ``13/12/2026 7:00``, ``hôm nay 7h``, or ISO.

    Without an offset the moment is club time (``tz``); a day without a year is this year's.

    Raises:
        ParseError: Not a day followed by a time.
    """
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        words, today = text.split(), now.astimezone(ZoneInfo(tz)).date()
        for cut in range(1, len(words)):
            try:
                day = parse_date(" ".join(words[:cut]), today)
                clock = parse_time(" ".join(words[cut:]))
            except ParseError:
                continue
            at = datetime.combine(day, time.fromisoformat(clock))
            break
        else:
            raise ParseError(MSG_AT) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo(tz))


MSG_AT = N_('Please give the day and the time, like "13/12/2026 7:00" or 2026-12-13T07:00.')


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    """``report``: the month of the chosen clubs into ``--xlsx``.

    Returns:
        The exit status: 2 for a month, club or area not understood or not found (nothing is
        written), 1 if the file cannot be written, else 0.
    """
    now = utcnow()
    try:
        month = read_month(args.month, now.astimezone(ZoneInfo(settings.tz)).date())
    except ParseError as error:
        return _fail(2, N_("--month {month}: {reason}"), month=args.month,
                     reason=error.text(DEFAULT_LOCALE))
    target = Path(args.xlsx)
    if not target.parent.is_dir():
        return _fail(1, N_("cannot write {path}: {reason}"), path=target,
                     reason=_say(WHY[errno.ENOENT]))
    try:
        area = cli_areas.report_area(args.province, args.district, args.commune)
    except ValueError as error:
        return _error(2, str(error))
    storage = storage_for(settings.db)
    await storage.open()
    try:
        async def work(tx: Any) -> association.AreaReport | int:
            if args.club is not None and await tx.get_club(args.club) is None:
                return _fail(2, N_("there is no club number {club} (see: ishc-bot club list)."),
                             club=args.club)
            clubs = [club for club in await association.clubs_in(tx, area)
                     if args.club is None or club.id == args.club]
            if not clubs and area == Area():
                return _fail(2, N_("there is no club yet (make one with: ishc-bot club "
                                   "create)."))
            if not clubs:
                return _fail(2, N_("there is no club in {area}{club} (see: ishc-bot club "
                                   "list)."), area=area.name,
                             club="" if args.club is None else f" (#{args.club})")
            return await association.area_report(tx, clubs, month, tz=settings.tz,
                                                 today=now.astimezone(ZoneInfo(settings.tz))
                                                 .date())

        done = await storage.reading(work)
    finally:
        await storage.close()
    if isinstance(done, int):
        return done
    try:
        write_file(target, workbook(month, done.rows, quiet=done.quiet))
    except OSError as error:
        return _fail(1, N_("cannot write {path}: {reason}"), path=target, reason=why(error))
    print(_say(N_("The report of {month} for {count} club(s) is written to {path}."),
               month=f"{month[5:]}/{month[:4]}", count=len(done.rows), path=target))
    note = cli_areas.unconverted_note(association.unconverted(club for club, _ in done.rows))
    if note:
        print(note)
    return 0


def _whoami() -> str:
    """The system user running the command (kept with a grant as who gave it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


async def _admin(args: argparse.Namespace, settings: Settings) -> Any:
    storage = storage_for(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            if args.action == "grant":
                area = Area(args.province, args.district, args.commune)
                return await association.grant(
                    tx, role=args.role, name=args.name, area=area,
                    granted_by=args.by or _whoami(), now=utcnow(), force=args.force)
            if args.action == "code":
                return await association.issue_code(tx, args.id, utcnow())
            if args.action == "revoke":
                return association.grant_json(await association.revoke(tx, args.id, utcnow()))
            return [association.grant_json(operator, accounts)
                    for operator, accounts in await tx.list_operators()]
    finally:
        await storage.close()


def _print_admin(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.action == "list":
        for grant in result:
            where = Area(grant["province"], grant["district"], grant["commune"]).name
            state = _say(N_("revoked {day}"), day=format_day(
                datetime.fromisoformat(grant["revoked_at"]).date())) if grant["revoked_at"] \
                else _say(N_("{count} chat account(s)"), count=grant["accounts"])
            print(f"{grant['id']}\t{grant['role']}\t{where}\t{grant['name']}\t{state}")
    elif args.action == "revoke":
        print(_say(N_("Access {id} ({name}) is revoked: its chat accounts no longer see the "
                      "report."), id=result["id"], name=result["name"]))
    else:
        where = Area(result["province"], result["district"], result["commune"]).name
        print(_say(N_("Access {id}: {name}, association of {area}."), id=result["id"],
                   name=result["name"], area=where))
        if "clubs" in result:
            print(_say(N_("Clubs there now: {count}."), count=result["clubs"]))
            note = cli_areas.unconverted_note(result.get("unconverted", 0))
            if note:
                print(note)
        print(_say(N_("One-time code: {code} (valid until {until} UTC; only its hash is "
                      "kept)."), code=result["code"], until=result["code_expires"][:16]
                   .replace("T", " ")))
        print(_say(N_("The officer sends this to the bot on Telegram or Zalo: {text}"),
                   text=result["type_in_chat"]))


def _clock_text(name: str, value: str) -> str:
    """``value`` as ``HH:MM`` (``7:30`` -> ``07:30``).

    Raises:
        ValueError: It is not a time of day.
    """
    hour, _, minute = value.strip().partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"{name}: expected a time like 07:30")
    return f"{int(hour):02d}:{int(minute):02d}"


async def _reminder_settings(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    current_fields = {f.name: f for f in fields(ReminderSettings)}
    storage = storage_for(settings.db)
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
                if name == "send_window":
                    start, _, end = value.partition("-")
                    changes[name] = "-".join(_clock_text(name, part) for part in (start, end))
                elif isinstance(old, tuple):
                    changes[name] = tuple(int(v) for v in value.split(",") if v.strip())
                elif isinstance(old, int):
                    changes[name] = int(value)
                else:
                    changes[name] = _clock_text(name, value)
            updated = replace(current, **changes)
            problem = reminders.window_problem(updated)
            if problem is not None:
                raise ValueError(translate(problem, DEFAULT_LOCALE))
            if changes:
                await tx.set_meta(REMINDERS_KEY, updated.to_json())
        return asdict(updated)
    finally:
        await storage.close()


async def _reminders(args: argparse.Namespace, settings: Settings) -> list[dict[str, object]]:
    at = utcnow()
    if args.at:
        at = parse_moment(args.at, settings.tz, at)
    storage = storage_for(settings.db)
    await storage.open()
    try:
        found = await reminders.scan(storage, settings.tz, at.astimezone(UTC),
                                     send=args.action == "send")
    finally:
        await storage.close()
    return [{"key": d.key, "club_id": d.club_id, "member_id": d.member_id, "kind": d.kind,
             "at": d.at.astimezone(ZoneInfo(settings.tz)).isoformat(),
             "text": "\n\n".join(translate(part, "vi") for part in d.parts)} for d in found]


async def _deadletter(args: argparse.Namespace, settings: Settings) -> int:
    storage = storage_for(settings.db)
    await storage.open()
    try:
        if args.action == "list":
            found = await deadletters.listed(storage, args.all)
            if args.json:
                rows = [{**deadletters.shown(letter), "raw": letter.raw, "trace": letter.error}
                        for letter in found]
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            else:
                for letter in map(deadletters.shown, found):
                    print(f"{letter['id']}\t{letter['status']}\t{letter['channel']}\t"
                          f"{letter['received_at']}\t{letter['error']}")
                print(f"{len(found)} dead letter(s)")
            return 0
        service = Service(storage, Engine(FLOWS), settings.tz, settings.flow_timeout)
        try:
            result = await deadletters.retry(service, args.id)
        except deadletters.CannotRetry as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(asdict(result), ensure_ascii=False, indent=2))
        elif result.error:
            print(f"dead letter {result.letter_id} failed again: {result.error}")
        else:
            print(f"dead letter {result.letter_id} handled; {result.replies} reply(ies) queued "
                  "(the running service sends them)")
        return 1 if result.error else 0
    finally:
        await storage.close()


async def _triage(args: argparse.Namespace, settings: Settings) -> dict[str, int]:
    known = {f.name for f in fields(Triage)}
    changes: dict[str, int] = {}
    for item in getattr(args, "values", []):
        name, _, value = item.partition("=")
        if name not in known or not value.isdigit():
            raise ValueError(f"expected NAME=NUMBER with NAME among: {', '.join(sorted(known))}")
        changes[name] = int(value)
    storage = storage_for(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            rules = replace(await triage(tx), **changes)
            if changes:
                await tx.set_meta(TRIAGE_KEY, rules.to_json())
        return asdict(rules)
    finally:
        await storage.close()


def _print_club(club: dict[str, Any], tz: str) -> None:
    """A new club as plain labelled lines (the links only when there are some)."""
    def until(moment: str) -> str:
        return format_day(datetime.fromisoformat(moment).astimezone(ZoneInfo(tz)).date())

    print(_say(N_("Club number {id}: {name}"), id=club["club_id"], name=club["name"]))
    if club.get("province"):
        print(_say(N_("Area: {area}"), area=cli_areas.club_area(club)))
    print(_say(N_("Board code (whoever joins with it becomes the chair; one use, until "
                  "{until}): {code}"), until=until(club["board_code_expires"]),
               code=club["board_code"]))
    print(_say(N_("Member code (until {until}): {code}"),
               until=until(club["member_code_expires"]), code=club["member_code"]))
    if club.get("board_link"):
        print(_say(N_("Telegram link for the board: {link}"), link=club["board_link"]))
    if club.get("member_link"):
        print(_say(N_("Telegram link for members: {link}"), link=club["member_link"]))


async def _club(args: argparse.Namespace, settings: Settings) -> object:
    if args.action == "create" and not 1 <= args.meeting_day <= 31:
        raise ValueError(_say(N_("--meeting-day: the meeting day must be from 1 to 31, for "
                                 "example 15.")))
    storage = storage_for(settings.db)
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
            # The links name the bot of the club's area (see bot/bots.py).
            record = await tx.get_club(club["club_id"])
            assert record is not None
            username = settings.telegram_bot_username
            club["board_link"] = await club_link(tx, record, club["board_code"], username)
            club["member_link"] = await club_link(tx, record, club["member_code"], username)
        return club
    finally:
        await storage.close()



def event_loop(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop the service runs on: uvloop when it is installed, else asyncio's.

    Args:
        choice: ``auto`` (the default), ``uvloop`` or ``asyncio``; ``None`` reads
            ``ISHC_EVENT_LOOP``.

    Returns:
        A loop factory for :class:`asyncio.Runner` (``None``: asyncio's own).

    Raises:
        SystemExit: ``uvloop`` was asked for and is not installed, or the choice is unknown.
    """
    choice = (choice or os.environ.get("ISHC_EVENT_LOOP") or "auto").strip().lower()
    if choice not in ("auto", "uvloop", "asyncio"):
        raise SystemExit(f"error: ISHC_EVENT_LOOP must be auto, uvloop or asyncio, not {choice!r}")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("error: ISHC_EVENT_LOOP=uvloop but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop

def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    args = _parser().parse_args(argv)
    serving = bool(os.environ.get("TELEGRAM_BOT_TOKEN") or os.environ.get("ZALO_BOT_TOKEN"))
    logs.setup(os.environ.get("ISHC_LOG_FORMAT", "text"),
               os.environ.get("ISHC_LOG_LEVEL", "INFO" if serving else "WARNING"))
    settings = Settings.from_env()
    if args.command == "run":
        try:
            with asyncio.Runner(loop_factory=event_loop()) as runner:
                return runner.run(run(settings))
        except KeyboardInterrupt:
            return 0
        except backups.ServiceRunning as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.command == "bot":
        return cli_bots.main(args, settings)
    if args.command == "db":
        return _db(args, settings)
    if args.command == "check":
        return _check(args, settings)
    if args.command == "deadletter":
        return asyncio.run(_deadletter(args, settings))
    if args.command in ("backup", "restore"):
        return _backup(args, settings)
    try:
        if args.command == "admin":
            _print_admin(args, asyncio.run(_admin(args, settings)))
            return 0
        if args.command == "report":
            return asyncio.run(_report(args, settings))
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
                print(_say(N_("Reminders queued: {count}.") if args.action == "send" else
                           N_("Reminders due: {count}."), count=len(found)))
            return 0
        if args.command == "triage":
            print(json.dumps(asyncio.run(_triage(args, settings)), indent=2))
            return 0
        if args.command == "club" and args.action == "move-area":
            return cli_areas.move_area(args, settings)
        result = asyncio.run(_club(args, settings))
    except ParseError as error:
        return _fail(2, N_("--at {at}: {reason}"), at=getattr(args, "at", ""),
                     reason=error.text(DEFAULT_LOCALE))
    except ValueError as error:
        return _error(2, str(error))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif args.action == "list":
        for club in result:  # type: ignore[union-attr]
            print(f"{club['club_id']}\t{club['members']}\t{club['name']}\t"
                  f"{cli_areas.club_area(club)}")
    else:
        _print_club(result, settings.tz)  # type: ignore[arg-type]
    return 0
