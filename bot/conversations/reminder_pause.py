"""Reminders (``/nhacnho``): a member pauses or restarts the reminders of one kind.

The choice is kept with its time and respected by every reminder scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.messages import Choice, Reply, T, joined
from storage.base import Transaction

KINDS = {
    "meeting": N_("Meeting reminders"),
    "repayment": N_("Loan payment reminders"),
    "health": N_("Blood pressure reminders"),
    "digest": N_("The board's weekly digest"),
}


KEEP = Choice("done", N_("Done, change nothing"), ("xong", "thoi", "giu nguyen", "khong"))


def _kinds(ctx: Ctx) -> list[str]:
    board = bool(ctx.roles & {"chair", "treasurer"})
    return [kind for kind in KINDS if kind != "digest" or board]


async def prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    """Each kind with whether it is on, and the question."""
    assert ctx.member is not None
    paused = await ctx.tx.paused_kinds(ctx.member.id)
    lines = [T(N_("{kind}: {state}"), kind=T(KINDS[k]),
               state=T(N_("paused")) if k in paused else T(N_("on"))) for k in _kinds(ctx)]
    return T(N_("Your reminders:\n{lines}\n\nWhich one do you want to pause or restart? For "
                "example: 1. To change nothing, pick Done."), lines=joined(lines))


async def choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The kinds this person receives, then a way out that changes nothing."""
    return (*(Choice(kind, KINDS[kind]) for kind in _kinds(ctx)), KEEP)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Toggle the chosen kind (or change nothing)."""
    assert ctx.member is not None
    if data["kind"] == KEEP.key:
        return Done([Reply((T(N_("Nothing changed: your reminders stay as they are.")),))])
    paused = data["kind"] in await ctx.tx.paused_kinds(ctx.member.id)
    return Done(effects=[SetPause(data["kind"], not paused)])


@dataclass(frozen=True)
class SetPause:
    """Effect: pause or restart the writer's own reminders of one kind."""

    kind: str
    paused: bool

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the choice with its time."""
        if ctx.member is None or not ctx.active or self.kind not in KINDS:
            return [Reply((T(N_("Sorry, you cannot use this.")),))]
        await tx.set_reminder_pause(ctx.member.id, self.kind, self.paused, ctx.now)
        text = (N_("Paused: {kind}. Type /nhacnho to restart them.") if self.paused
                else N_("Restarted: {kind}."))
        return [Reply((T(text, kind=T(KINDS[self.kind])),))]


REMINDERS = Flow(
    id="reminder_pause",
    command="nhacnho",
    title=N_("My reminders"),
    steps=(Step("kind", prompt, choices=choices),),
    finish=finish,
    aliases=("nhac nho",),
)
