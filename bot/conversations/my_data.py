"""My data (``/dulieu``): a member sees exactly what the club keeps about them."""

from __future__ import annotations

from bot.bots import platform_of
from bot.conversations.common import details, member_values
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_, format_moment
from bot.messages import Reply, T, joined
from bot.vocabulary import ROLE_LABELS, STATUS_LABELS

CHANNEL_NAMES = {
    "telegram": N_("Telegram"),
    "zalo": N_("Zalo"),
    "local": N_("chat on this computer"),
}
OTHER_CHANNEL = N_("another chat app")  # never a raw channel id


async def show(ctx: Ctx, args: str) -> Done:
    """The writer's own record only: details, roles, consent evidence and linked chats."""
    assert ctx.member is not None
    member = ctx.member
    club = await ctx.tx.get_club(member.club_id)
    assert club is not None
    roles = ", ".join(f"{{r{i}}}" for i in range(len(ctx.roles)))
    role_params = {f"r{i}": T(ROLE_LABELS[r]) for i, r in enumerate(sorted(ctx.roles))}
    parts = [
        T(N_("What {club} keeps about you:"), club=club.name),
        details(member_values(member)),
        T(N_("Status: {status}\nRoles: {roles}\nRegistered: {when}"),
          status=T(STATUS_LABELS[member.status]),
          roles=T(roles, **role_params) if roles else "-",
          when=format_moment(member.registered_at, ctx.tz)),
    ]
    for consent in await ctx.tx.consents_of(member.id):
        parts.append(T(N_("You agreed to the data notice (version {version}) on {when}."),
                       version=consent.text_version, when=format_moment(consent.given_at, ctx.tz)))
    readings = len(await ctx.tx.readings_of(member.id, limit=10_000))
    loans = len(await ctx.tx.loans_of(member.id))
    if readings or loans:
        parts.append(T(N_("Health: {readings} readings (see /suckhoe). Loans: {loans} (see "
                          "/vay)."), readings=readings, loans=loans))
    # One name per platform: chats with two bots of a region are both "Telegram".
    channels = sorted({platform_of(i.channel) for i in await ctx.tx.identities_of(member.id)})
    if channels:
        names = [T(CHANNEL_NAMES.get(channel, OTHER_CHANNEL)) for channel in channels]
        parts.append(T(N_("Chat accounts: {channels}"), channels=joined(names, ", ")))
    parts.append(T(N_("To ask for your data to be erased, type /xoadulieu.")))
    return Done([Reply(tuple(parts))])


MY_DATA = Flow(
    id="my_data",
    command="dulieu",
    title=N_("See my data"),
    who="member",
    begin=show,
    aliases=("du lieu",),
)
