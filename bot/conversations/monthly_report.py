"""The monthly report (``/baocao``, board): every figure of a chosen month, by section.

Figures are computed from the ledger and the logs (``bot/report.py``), never typed in. The
summary is answered at once; the spreadsheet (the form handed to the commune's association)
follows as a file, built after the commit (``bot/exports.py``).
"""

from __future__ import annotations

import re
from typing import Any

from bot import exports, report
from bot.conversations.common import BOARD, one_block
from bot.conversations.fund_common import money
from bot.conversations.parsers import ParseError
from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_, gettext
from bot.messages import Choice, Reply, T
from bot.report_xlsx import XLSX, workbook
from bot.text import fold
from storage.base import Transaction
from storage.exports import ExportJob

MSG_MONTH = N_("Please type the month like 10/2026, or tháng 10.")


async def month_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Last month as a button; any month can be typed."""
    month = report.last_month(ctx.today)
    label = gettext(N_("Last month ({month})"), ctx.locale, month=_shown(month))
    return (Choice(month, label, ("thang truoc",)),)


def _shown(month: str) -> str:
    return f"{month[5:]}/{month[:4]}"


def parse_month(text: str, ctx: Ctx) -> str:
    """``10/2026``, ``10-2026``, ``tháng 10`` (this year, or last year if still to come)."""
    folded = fold(text[:40]).strip(" .")
    match = re.fullmatch(r"(?:thang\s*)?([0-9]{1,2})(?:\s*[/\-.]\s*(?:nam\s*)?([0-9]{4}))?",
                         folded)
    if not match or not 1 <= int(match[1]) <= 12:
        raise ParseError(MSG_MONTH)
    month, year = int(match[1]), int(match[2]) if match[2] else ctx.today.year
    if not match[2] and (year, month) > (ctx.today.year, ctx.today.month):
        year -= 1
    if (year, month) > (ctx.today.year, ctx.today.month) or year < 2000:
        raise ParseError(N_("That month has not come yet. Please type a past month, like "
                            "10/2026."))
    return f"{year:04d}-{month:02d}"


def _value(figure: report.Figure) -> str:
    if figure.kind == report.MONEY:
        return money(figure.value)
    if figure.kind == report.SHARE:
        return f"{figure.value}%"
    return str(figure.value)


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """The report of the chosen month, section by section."""
    assert ctx.member is not None and ctx.club is not None
    figures = await report.monthly(ctx.tx, ctx.member.club_id, data["month"])
    parts = [T(N_("Report of {club} for {month}:"), club=ctx.club.name,
               month=_shown(data["month"]))]
    for section, title in report.SECTIONS.items():
        lines = [T(N_("- {label}: {value}"), label=T(f.label), value=_value(f))
                 for f in figures if f.section == section]
        parts.append(T(N_("{title}\n{lines}"), title=T(title), lines=one_block(lines)))
    params = {"club_id": ctx.member.club_id, "month": data["month"]}
    file = exports.RequestExport("report", params, T(N_("Making the Excel file...")))
    return Done([Reply(tuple(parts))], [file])


@exports.builder("report")
async def report_file(
    tx: Transaction, job: ExportJob, progress: exports.Progress
) -> exports.ExportFile | T:
    """The club's month as a spreadsheet, for a board member of that club."""
    club_id, month = job.params["club_id"], job.params["month"]
    found = await tx.membership(job.member_id) if job.member_id is not None else None
    if (found is None or found[0].status != "active" or found[1].id != club_id
            or not found[2] & BOARD):
        return T(N_("Only the club's board can have its report."))
    club = found[1]
    progress(1, 1, T(N_("the report")))
    figures = await report.monthly(tx, club_id, month)
    return exports.ExportFile(
        exports.file_name("bao cao", club.name, month, ext="xlsx"),
        XLSX,
        workbook(month, [(club, figures)], job.locale),
        T(N_("Report of {club} for {month} (Excel file)."), club=club.name, month=_shown(month)),
    )


MONTHLY_REPORT = Flow(
    id="monthly_report",
    command="baocao",
    title=N_("Monthly report"),
    steps=(Step("month", N_("Which month? For example 10/2026."), parse=parse_month,
                choices=month_choices),),
    roles=BOARD,
    finish=finish,
    aliases=("bao cao",),
)
