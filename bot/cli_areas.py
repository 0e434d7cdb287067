"""Command line for areas since 1 July 2025: ``ishc-bot club move-area``, and areas read.

``ishc-bot club move-area [--club ID] [--yes]`` converts the clubs that still have their old
typed address (commune, district, province) to the official units (bot/areas.py). Each
conversion is printed (old address -> new commune, province and codes) and saved only once
the operator confirms (``y``, or ``--yes``); an old commune divided between several new ones,
or not found, is listed with the reason and left unchanged (``--club ID --commune NAME``
then puts that club in the commune chosen). The old district stays as a label. A club
already converted is skipped, so running it again changes nothing.

``ishc-bot report`` and ``admin grant`` read their ``--province``/``--commune``/``--district``
with :func:`report_area` (bot/placing.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from bot import areas, placing
from bot.association import Area
from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, N_, gettext
from storage.backends import storage_for
from storage.base import Club, Transaction


def _say(message: str, **params: object) -> str:
    return gettext(message, DEFAULT_LOCALE, **params)


def add_commands(club: Any) -> None:
    """Add ``move-area`` to the ``club`` sub-commands."""
    move = club.add_parser("move-area", help="convert clubs' old addresses (commune, district, "
                           "province) to the official units since 1 July 2025")
    move.add_argument("--club", type=int, help="only this club")
    move.add_argument("--commune", help="with --club: put the club in this commune (a name "
                      "or code), e.g. when its old commune was divided")
    move.add_argument("--province", help="with --club --commune: the commune's province "
                      "(default: the club's)")
    move.add_argument("--yes", action="store_true", help="save without asking")


def report_area(province: str | None, district: str | None, commune: str | None) -> Area:
    """The area of ``report``: every club when nothing is given, else official units.

    Raises:
        placing.AreaError: A name not understood (its message names the candidates).
    """
    if not (province or district or commune):
        return Area()
    return Area.at(placing.place(province or "", district or "", commune or ""))


def club_area(club: dict[str, Any]) -> str:
    """A club's area for ``club list``: official, or its old text marked as not converted."""
    if club.get("province_code") is not None:
        return ", ".join(p for p in (club["commune"], club["province"]) if p)
    old = ", ".join(p for p in (club["commune"], club["district"], club["province"]) if p)
    return _say(N_("{address} (old address, not converted)"), address=old) if old else "-"


def unconverted_note(count: int) -> str | None:
    """The line saying how many clubs were matched by their old address, if any."""
    if not count:
        return None
    return _say(N_("Of these, {count} club(s) have their old address, not converted yet: they "
                   "are matched by its text (convert them with: ishc-bot club move-area)."),
                count=count)


@dataclass(frozen=True)
class Move:
    """A club and what its old address converts to."""

    club: Club
    conversion: areas.Conversion


def _old(club: Club) -> str:
    return ", ".join(p for p in (club.commune, club.district, club.province) if p) or "-"


def _chosen(club: Club, commune: str, province: str | None) -> areas.Conversion:
    """The conversion the operator chose for one club (``--club ID --commune NAME``)."""
    code = areas.province_of(club.province) if province is None else None
    where = (areas.province_by_code(code) if code is not None
             else placing.province(province or club.province))
    assert where is not None
    unit = placing.commune(where, commune, club.district)
    return areas.Conversion(areas.CONVERTED, _old(club), where, unit)


async def _moves(tx: Transaction, args: argparse.Namespace) -> list[Move] | str:
    clubs = [club for club, _ in await tx.list_clubs()
             if args.club is None or club.id == args.club]
    if args.club is not None and not clubs:
        return _say(N_("there is no club number {club} (see: ishc-bot club list)."),
                    club=args.club)
    if args.commune:
        [club] = clubs
        return [Move(club, _chosen(club, args.commune, args.province))]
    return [Move(club, areas.convert_old(club.commune, club.district, club.province))
            for club in clubs if club.province_code is None]


def _line(move: Move) -> str:
    club, found = move.club, move.conversion
    if found.status == areas.CONVERTED:
        assert found.province is not None and found.commune is not None
        return _say(N_("Club {id} ({name}): {old} -> {commune}, {province} (province code "
                       "{province_code}, commune code {commune_code})"), id=club.id,
                    name=club.name, old=_old(club), commune=found.commune.name,
                    province=found.province.name, province_code=found.province.code,
                    commune_code=found.commune.code)
    if found.status == areas.AMBIGUOUS:
        return _say(N_("Club {id} ({name}): {old}: left unchanged, the old commune is now in "
                       "several communes: {candidates}. Choose one with: ishc-bot club "
                       "move-area --club {id} --commune CODE"), id=club.id, name=club.name,
                    old=_old(club), candidates=areas.names(found.candidates))
    if found.province is None:
        return _say(N_("Club {id} ({name}): {old}: left unchanged, the province is not "
                       "found."), id=club.id, name=club.name, old=_old(club))
    return _say(N_("Club {id} ({name}): {old}: left unchanged, the commune is not found in "
                   "{province}. Give it with: ishc-bot club move-area --club {id} --commune "
                   "NAME"), id=club.id, name=club.name, old=_old(club),
                province=found.province.name)


def _confirmed() -> bool:
    try:
        answer = input(_say(N_("Save these conversions? Type y to save, anything else to "
                               "stop [y/N]: ")))
    except EOFError:
        return False
    return answer.strip().casefold() in ("y", "yes", "c", "co", "có")


async def _save(tx: Transaction, moves: list[Move], forced: bool) -> int:
    saved = 0
    for move in moves:
        club, found = await tx.get_club(move.club.id), move.conversion
        if club is None or (club.province_code is not None and not forced):
            continue  # converted meanwhile
        assert found.province is not None and found.commune is not None
        saved += await tx.set_club_area(club.id, (found.province.code, found.province.name),
                                        (found.commune.code, found.commune.name))
    return saved


async def _move_area(args: argparse.Namespace, settings: Settings) -> int:
    storage = storage_for(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            moves = await _moves(tx, args)
        if isinstance(moves, str):
            print(_say(N_("Error: {reason}"), reason=moves), file=sys.stderr)
            return 2
        if not moves:
            print(_say(N_("Every club is already in the official units: nothing to convert.")))
            return 0
        for move in moves:
            print(_line(move))
        ready = [m for m in moves if m.conversion.status == areas.CONVERTED]
        print(_say(N_("To convert: {ready} club(s); left unchanged: {left}."), ready=len(ready),
                   left=len(moves) - len(ready)))
        if not ready:
            return 1
        if not args.yes and not _confirmed():
            print(_say(N_("Nothing was saved.")))
            return 1
        async with storage.transaction() as tx:
            saved = await _save(tx, ready, bool(args.commune))
        print(_say(N_("Saved: {count} club(s) are now in the official units (the old district "
                      "is kept as a label)."), count=saved))
        return 0 if len(ready) == len(moves) else 1
    finally:
        await storage.close()


def move_area(args: argparse.Namespace, settings: Settings) -> int:
    """``club move-area``: the exit status (0 all converted, 1 some left, 2 bad arguments)."""
    if (args.commune or args.province) and args.club is None:
        print(_say(N_("Error: {reason}"), reason=_say(N_(
            "--commune needs --club (the club to put in that commune)."))), file=sys.stderr)
        return 2
    try:
        return asyncio.run(_move_area(args, settings))
    except placing.AreaError as error:
        print(_say(N_("Error: {reason}"), reason=str(error)), file=sys.stderr)
        return 2
