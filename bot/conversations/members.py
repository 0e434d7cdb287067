"""Member list (``/thanhvien``): the board sees its club's members and who is waiting."""

from __future__ import annotations

from typing import Any

from bot.conversations.common import BOARD, member_line, one_block
from bot.engine import Ctx, Done, Flow
from bot.i18n import N_
from bot.messages import Choice, Reply, T
from bot.vocabulary import ROLE_LABELS


async def show(ctx: Ctx, args: str) -> Done:
    """List active members with their roles, then pending approvals and erasure requests."""
    assert ctx.member is not None
    club_id = ctx.member.club_id
    club = await ctx.tx.get_club(club_id)
    assert club is not None
    active = await ctx.tx.list_members(club_id, ["active"])
    parts: list[Any] = [T(N_("{club}: {count} members"), club=club.name, count=len(active))]
    lines = []
    for number, member in enumerate(active, 1):
        roles = sorted((await ctx.tx.get_roles(member.id)) - {"member"})
        titles = ", ".join(f"{{r{i}}}" for i in range(len(roles)))
        params = {f"r{i}": T(ROLE_LABELS[role]) for i, role in enumerate(roles)}
        suffix = T(f" - {titles}", **params) if roles else ""
        lines.append(T("{n}. {who}{suffix}", n=number, who=member_line(member), suffix=suffix))
    parts.extend(lines)
    choices: tuple[Choice, ...] = ()
    pending = await ctx.tx.list_members(club_id, ["pending"])
    if pending:
        names = "\n".join(f"- {member_line(m)}" for m in pending)
        parts.append(T(N_("Waiting for approval ({count}):\n{names}"),
                       count=len(pending), names=names))
        choices = (Choice("/duyet", N_("Review now")),)
    erasures = await ctx.tx.open_erasure_requests(club_id)
    if erasures:
        names = "\n".join(f"- {member_line(m)}" for _, m in erasures)
        parts.append(T(N_("Asked to erase their data ({count}):\n{names}"),
                       count=len(erasures), names=names))
        choices = (*choices, Choice("/xoa", N_("Handle it now")))
    return Done([Reply(tuple(_join(parts)), choices, "-", "-")])


def _join(parts: list[Any]) -> list[T]:
    """Keep the numbered member lines in one block (a single line break between them)."""
    blocks: list[T] = []
    lines: list[T] = []
    for part in parts:
        if part.msgid == "{n}. {who}{suffix}":
            lines.append(part)
            continue
        if lines:
            blocks.append(one_block(lines))
            lines = []
        blocks.append(part)
    if lines:
        blocks.append(one_block(lines))
    return blocks




MEMBERS = Flow(
    id="members",
    command="thanhvien",
    title=N_("Member list"),
    roles=BOARD,
    begin=show,
    aliases=("thanh vien",),
)
