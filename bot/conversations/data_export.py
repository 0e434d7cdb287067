"""The club's data export (``/xuatdulieu``, board): every record as Excel or CSV files.

A club is never locked in: the board can take all its records (members, loans, the ledger,
readings, visits, attendance) to another tool at any time. One question, the format; the file
is built after the commit from a snapshot (``bot/archive.py``, ``bot/exports.py``).
"""

from __future__ import annotations

from typing import Any

from bot import archive, exports
from bot.conversations.common import BOARD
from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_
from bot.messages import Choice, T

FORMATS = (
    Choice("xlsx", N_("Excel (.xlsx)"), ("excel", "xlsx", "exel", "file excel", "tep excel")),
    Choice("csv", N_("CSV (.zip)"), ("csv", "zip", "file csv", "tep csv")),
)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Ask for the file; it comes once it is written."""
    assert ctx.member is not None
    params = {"club_id": ctx.member.club_id, "format": data["format"], "tz": ctx.tz}
    note = T(N_("Making the file with the club's data. It will come in a moment..."))
    return Done([], [exports.RequestExport(archive.KIND, params, note)])


DATA_EXPORT = Flow(
    id="data_export",
    command="xuatdulieu",
    title=N_("Export the club's data"),
    steps=(Step("format", N_("Which kind of file would you like? For example Excel, which "
                             "opens in Excel or Google Sheets; CSV is for other programs."),
                choices=FORMATS),),
    roles=BOARD,
    finish=finish,
    aliases=("xuat du lieu",),
)
