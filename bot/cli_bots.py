"""``ishc-bot bot add|list|assign|disable``: register bots and assign them to areas.

``ishc-bot bot add nghean --platform telegram --token-env ISHC_BOT_NGHEAN_TOKEN --username
ishc_nghean_bot`` registers a bot. Its token is never given on the command line nor stored:
``--token-env`` names the environment variable the service reads it from at start (a bot
whose variable is not set does not run, with a warning). ``bot assign nghean --province "Nghệ
An"`` (or ``--province-code 40``, optionally with a commune) makes it serve that area's clubs;
``bot list`` shows the bots and their areas; ``bot disable NAME`` stops it at the next start.
See :mod:`bot.bots`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from bot.bots import DEFAULT_RATES, ENV_NAME, NAME, PLATFORMS, USERNAME
from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, N_, gettext
from bot.service import utcnow
from storage.backends import storage_for
from storage.bots import BotArea, RegisteredBot
from storage.errors import IntegrityError


class Refused(Exception):
    """The command cannot be done; the message is for the operator (in Vietnamese)."""


def _say(message: str, **params: object) -> str:
    return gettext(message, DEFAULT_LOCALE, **params)


def add_parser(commands: Any) -> None:
    """Add the ``bot`` command to the command line's subparsers."""
    bots = commands.add_parser("bot", help="several bots: register them, assign them to areas")
    actions = bots.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a bot (its token stays in an environment "
                             "variable)")
    add.add_argument("name", help="short name, a-z 0-9 _ (e.g. nghean)")
    add.add_argument("--platform", required=True, help="telegram or zalo")
    add.add_argument("--token-env", required=True,
                     help="the NAME of the environment variable holding the token, e.g. "
                     "ISHC_BOT_NGHEAN_TOKEN (never the token itself)")
    add.add_argument("--username", default="", help="Telegram username, for t.me links")
    add.add_argument("--rate", type=float, default=None,
                     help="messages per second (default: 29 Telegram, 10 Zalo)")
    add.add_argument("--webhook-url", default="",
                     help="its public webhook URL (default: the environment bot's URL + /NAME "
                     "when that bot uses a webhook, else polling)")
    add.add_argument("--json", action="store_true", help="print JSON")
    listing = actions.add_parser("list", help="the bots and their areas")
    listing.add_argument("--json", action="store_true", help="print JSON")
    assign = actions.add_parser("assign", help="make a bot serve a province or a commune")
    assign.add_argument("name")
    assign.add_argument("--province", default="", help='e.g. "Nghệ An"')
    assign.add_argument("--commune", default="", help='e.g. "Thông Thụ" (default: the whole '
                        "province)")
    assign.add_argument("--province-code", type=int, default=None, help="official code, e.g. 40")
    assign.add_argument("--commune-code", type=int, default=None,
                        help="official code, e.g. 16744")
    assign.add_argument("--json", action="store_true", help="print JSON")
    disable = actions.add_parser("disable", help="stop a bot (from the next start)")
    disable.add_argument("name")
    disable.add_argument("--json", action="store_true", help="print JSON")


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``ishc-bot bot ...``; the exit code (2 when refused)."""
    try:
        result = asyncio.run(_run(args, settings))
    except Refused as error:
        print(_say(N_("Error: {reason}"), reason=str(error)), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print(args.action, result)
    return 0


def bot_json(bot: RegisteredBot, areas: list[BotArea] | None = None) -> dict[str, Any]:
    """A bot as plain JSON (the name of its token's variable, never the token)."""
    shown: dict[str, Any] = {
        "name": bot.name, "platform": bot.platform, "channel": bot.channel,
        "token_env": bot.token_env, "token_set": bool(os.environ.get(bot.token_env)),
        "username": bot.username, "rate": bot.rate, "webhook_url": bot.webhook_url,
        "created_at": bot.created_at.isoformat(),
        "disabled_at": bot.disabled_at.isoformat() if bot.disabled_at else None,
    }
    if areas is not None:
        shown["areas"] = [_area_json(area) for area in areas]
    return shown


def _area_json(area: BotArea) -> dict[str, Any]:
    return {"province_code": area.province_code, "commune_code": area.commune_code,
            "name": area_name(area.province_code, area.commune_code)}


def area_name(province: int, commune: int | None) -> str:
    """An area's official name from its codes (the codes if they are not official)."""
    from bot import areas  # the official units, read when first needed

    unit = areas.province_by_code(province)
    place = areas.commune_by_code(commune) if commune is not None else None
    if unit is None:
        return f"{province}" if commune is None else f"{province}/{commune}"
    if commune is None:
        return str(unit.name)
    return f"{place.name}, {unit.name}" if place is not None else f"{commune}, {unit.name}"


def _codes(args: argparse.Namespace) -> tuple[int, int | None]:
    """The area asked for, as official codes (names are matched without accents)."""
    if args.province_code is None and not args.province:
        raise Refused(_say(N_('name the province: --province "Nghệ An" (or --province-code '
                              '40)')))
    from bot import areas  # the official units, read when first needed

    wanted = str(args.province_code) if args.province_code is not None else args.province
    found = areas.find_province(wanted)
    if found.unit is None:
        raise Refused(_unknown(N_("no province is named {name}"), wanted, found, areas))
    if args.commune_code is None and not args.commune:
        return found.unit.code, None
    wanted = str(args.commune_code) if args.commune_code is not None else args.commune
    place = areas.find_commune(found.unit, wanted)
    if place.unit is None:
        if place.ambiguous:
            raise Refused(_say(N_("several communes are named {name}: {names}. Give "
                                  "--commune-code, for example --commune-code {code}"),
                               name=wanted, names=areas.names(place.candidates),
                               code=place.candidates[0].code))
        raise Refused(_unknown(N_("{province} has no commune named {name}"), wanted, place,
                               areas, province=found.unit.name))
    return found.unit.code, place.unit.code


def _unknown(message: str, name: str, found: Any, areas: Any, **params: object) -> str:
    """An unknown area's message, with the close names if there are some."""
    text = _say(message, name=name, **params)
    if found.suggestions:
        text += " " + _say(N_("(Did you mean: {names}?)"), names=areas.names(found.suggestions))
    return text


async def _run(args: argparse.Namespace, settings: Settings) -> Any:
    storage = storage_for(settings.db)
    await storage.open()
    try:
        async with storage.transaction() as tx:
            if args.action == "list":
                return [bot_json(bot, areas) for bot, areas in await tx.list_bots()]
            if args.action == "add":
                return await _add(tx, args)
            bot = await tx.get_bot(args.name)
            if bot is None:
                raise Refused(_say(N_("there is no bot named {name} (see: ishc-bot bot list)"),
                                   name=args.name))
            if args.action == "disable":
                changed = await tx.disable_bot(bot.id, utcnow())
                return {**bot_json(bot), "disabled": changed}
            province, commune = _codes(args)
            moved = await tx.assign_bot(bot.id, province, commune, utcnow())
            return {**bot_json(bot), "province_code": province, "commune_code": commune,
                    "area": area_name(province, commune), "taken_from": moved}
    finally:
        await storage.close()


async def _add(tx: Any, args: argparse.Namespace) -> dict[str, Any]:
    name, platform = args.name.strip(), args.platform.strip().lower()
    if not NAME.match(name):
        raise Refused(_say(N_("the bot's name is 1 to 32 of a-z, 0-9 and _, for example "
                              "nghean")))
    if platform not in PLATFORMS:
        raise Refused(_say(N_("--platform must be telegram or zalo, not {platform}"),
                           platform=platform))
    if not ENV_NAME.match(args.token_env):  # never echoed: it may be a token pasted by mistake
        raise Refused(_say(N_("--token-env is the NAME of the environment variable that holds "
                              "the token, for example ISHC_BOT_NGHEAN_TOKEN (never the token "
                              "itself)")))
    username = args.username.strip().lstrip("@")
    if username and not USERNAME.match(username):
        raise Refused(_say(N_("--username is the bot's username without @, for example "
                              "ishc_nghean_bot")))
    rate = DEFAULT_RATES[platform] if args.rate is None else args.rate
    if not 0 < rate <= 1000:
        raise Refused(_say(N_("--rate is messages per second, more than 0, for example 29")))
    if await tx.get_bot(name) is not None:
        raise Refused(_say(N_("a bot named {name} already exists"), name=name))
    try:
        bot = await tx.add_bot(name, platform, args.token_env, username, rate,
                               args.webhook_url.strip(), utcnow())
    except IntegrityError as error:
        raise Refused(str(error)) from error
    return bot_json(bot, [])


def _print(action: str, result: Any) -> None:
    if action == "list":
        if not result:
            print(_say(N_("No bot is registered: the bots of TELEGRAM_BOT_TOKEN and "
                          "ZALO_BOT_TOKEN serve every club.")))
        for bot in result:
            areas = ", ".join(area["name"] for area in bot["areas"]) or "-"
            state = (_say(N_("disabled")) if bot["disabled_at"] else
                     _say(N_("token set")) if bot["token_set"] else
                     _say(N_("{variable} not set"), variable=bot["token_env"]))
            print(f"{bot['name']}\t{bot['channel']}\t@{bot['username'] or '-'}\t"
                  f"{bot['rate']:g}/s\t{state}\t{areas}")
        return
    if action == "add":
        print(_say(N_("Bot {name} is registered (channel {channel}, {rate} messages per "
                      "second)."), name=result["name"], channel=result["channel"],
                   rate=f"{result['rate']:g}"))
        if not result["token_set"]:
            print(_say(N_("Warning: {variable} is not set here. Set it to the bot's token "
                          "where the service runs, or the bot does not start."),
                       variable=result["token_env"]), file=sys.stderr)
        print(_say(N_("Next: ishc-bot bot assign {name} --province \"Nghệ An\", then restart "
                      "the service to start the bot."), name=result["name"]))
        return
    if action == "disable":
        print(_say(N_("Bot {name} is disabled: it stops at the next start of the service."),
                   name=result["name"]))
        return
    print(_say(N_("Bot {name} now serves the clubs of {area}."), name=result["name"],
               area=result["area"]))
    for other in result["taken_from"]:
        print(_say(N_("(Before, bot {other} served this area.)"), other=other))
    print(_say(N_("New invite links of these clubs name this bot from now on.")))
