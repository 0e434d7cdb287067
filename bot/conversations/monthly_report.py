"""The monthly report (``/baocao``): a club's month for its board, an area's for the association.

Figures are computed from the ledger and the logs (``bot/report.py``), never typed in.

- The board gets its club's summary at once, with a picture of the last 12 months (fund,
  blood pressure, visits: ``bot/report_chart.py``); the spreadsheet (the form handed to the
  commune's association) follows as a file, built after the commit (``bot/exports.py``).
- An officer of the Association of the Elderly (a chat account linked to a grant with
  ``/hoinct``, see ``bot/association.py``) gets the month of every club of their area. An
  area can have a thousand clubs, so everything is computed in the export job, not in the
  update's transaction: the summed figures with the number of clubs, the clubs that did not
  meet or recorded nothing, then the spreadsheet (one row per club, the total, the
  definitions and the quiet clubs). The job checks the grant again when it runs.
- Someone who is both (a chair who is also an officer) is asked which report first.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot import association, exports, report
from bot.association import Area
from bot.conversations.common import BOARD, one_block
from bot.conversations.fund_common import money
from bot.engine import Ctx, Done, Flow, Step
from bot.i18n import N_, format_day, gettext
from bot.messages import Choice, Reply, T, joined
from bot.parsers import ParseError
from bot.report_chart import summary_chart
from bot.report_xlsx import XLSX, workbook
from bot.text import fold
from storage.base import Transaction
from storage.exports import ExportJob
from storage.reports import CLUB_TZ

MSG_MONTH = N_("Please type the month like 10/2026, or tháng 10.")
QUIET_SHOWN = 15  # quiet clubs named in the chat; the file lists them all


async def month_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """Last month as a button; any month can be typed."""
    month = report.last_month(ctx.today)
    label = gettext(N_("Last month ({month})"), ctx.locale, month=_shown(month))
    return (Choice(month, label, ("thang truoc",)),)


def _shown(month: str) -> str:
    return f"{month[5:]}/{month[:4]}"


def read_month(text: str, today: date) -> str:
    """A month as typed: ``10/2026``, ``10-2026``, ``tháng 10 năm 2026``, ``2026-10``...

    Also ``tháng 10`` and ``10`` alone.

    Without a year, this year's (or last year's, if this year's is still to come). The chat
    and the command line (``ishc-bot report --month``) read months with this.

    Args:
        text: What was typed.
        today: The current day (club time).

    Returns:
        The month as ``YYYY-MM``.

    Raises:
        ParseError: Not a month, or a month still to come.
    """
    folded = fold(text[:40]).strip(" .")
    iso = re.fullmatch(r"([0-9]{4})\s*[/\-.]\s*([0-9]{1,2})", folded)
    match = iso or re.fullmatch(
        r"(?:thang\s*)?([0-9]{1,2})(?:(?:\s*[/\-.]\s*|\s+)(?:nam\s*)?([0-9]{4}))?",
        folded)
    if not match:
        raise ParseError(MSG_MONTH)
    number, written = (match[2], match[1]) if iso else (match[1], match[2])
    if not 1 <= int(number) <= 12:
        raise ParseError(MSG_MONTH)
    month, year = int(number), int(written) if written else today.year
    if not written and (year, month) > (today.year, today.month):
        year -= 1
    if (year, month) > (today.year, today.month) or year < 2000:
        raise ParseError(N_("That month has not come yet. Please type a past month, like "
                            "10/2026."))
    return f"{year:04d}-{month:02d}"


def parse_month(text: str, ctx: Ctx) -> str:
    """The month typed in the chat (see :func:`read_month`)."""
    return read_month(text, ctx.today)


def _value(figure: report.Figure) -> str:
    if figure.kind == report.MONEY:
        return money(figure.value)
    if figure.kind == report.SHARE:
        return f"{figure.value}%"
    if figure.kind == report.DAY:
        day = report.day_of(figure.value)
        return format_day(day) if day else "-"
    return _count(figure.value)


def _count(number: int) -> str:
    return f"{number:,}".replace(",", ".")  # 60.000 members in a province


# The short summary: one sentence per section, the figures by key (every figure and its
# definition are in the spreadsheet).
SUMMARY = (
    N_("Members: {members} (women {women}, {share_women}; aged 60 or more {older}, "
       "{share_older}; poor and near-poor {poor_near_poor}). Joined {joined}, left "
       "{left_club}."),
    N_("Fund: cash {opening_cash} at the start of the month, {closing_cash} at the end. Lent "
       "{disbursed} ({loans_given} loans); repaid {repaid} and {interest} interest; "
       "contributions {contributions}. Outstanding {outstanding}; overdue {overdue_amount} "
       "({overdue_loans} loans). {borrowers} members have a loan ({share_borrowers})."),
    N_("Health: {measured} measured, {measured_high} high at the last reading "
       "({share_high}); {urgent_readings} urgent readings, {referred} people referred."),
    N_("Home care: {clients} people cared for by {volunteers} volunteers, {visits} visits; "
       "{clients_unvisited} not visited in 14 days."),
    N_("Reminders sent: {reminders}."),
)
MET = N_("Meeting: {meeting_day}, {attended} came.")
MET_MORE = N_("Meetings: {meetings}, the last on {meeting_day} with {attended} present.")
NO_MEETING = N_("Meeting: none recorded this month.")
ALERTS = N_("Health alerts: {alerts}; {alerts_answered} answered, {alerts_escalated} sent to "
            "the whole board.")  # said only in a month with alerts
AREA_MET = N_("Meetings held: {meetings}; at each club's last one, {attended} came in all.")


def sections(figures: list[report.Figure], area: bool = False) -> list[T]:
    """The month in a few short sentences (a club's, or an area's summed figures)."""
    values = {f.key: _value(f) for f in figures}
    counts = {f.key: f.value for f in figures}
    values["older"] = _count(report.older_members(counts))
    meeting = AREA_MET if area else {0: NO_MEETING, 1: MET}.get(counts["meetings"], MET_MORE)
    members, *others = SUMMARY
    parts = [T(members, **values), T(meeting, **values), *(T(text, **values) for text in others)]
    if counts.get("alerts"):
        parts.insert(4, T(ALERTS, **values))  # after the health sentence
    return [joined(parts), T(N_("Every figure, and how it is computed, is in the Excel file."))]


def _both(ctx: Ctx) -> bool:
    """A board member of a club who is also an association officer."""
    return ctx.operator is not None and ctx.club is not None and bool(ctx.roles & BOARD)


async def scope_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    """The club's report, or the area's."""
    assert ctx.club is not None and ctx.operator is not None
    area = gettext(N_("The clubs of {area}"), ctx.locale, area=Area.of(ctx.operator).name)
    return (Choice("club", ctx.club.name, ("clb",)), Choice("area", area, ("hoi",)))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """The club's report at once (board), or the area's as an export job (association)."""
    if ctx.operator is not None and (data.get("scope") == "area" or not _both(ctx)):
        return _area(ctx, data["month"])
    assert ctx.member is not None and ctx.club is not None
    figures = await report.monthly(ctx.tx, ctx.member.club_id, data["month"], ctx.tz,
                                   ctx.today)
    parts = [T(N_("Report of {club} for {month}:"), club=ctx.club.name,
               month=_shown(data["month"])), *sections(figures)]
    picture = await summary_chart(ctx.tx, ctx.club.id, data["month"], ctx.club.name)
    params = {"club_id": ctx.member.club_id, "month": data["month"], "tz": ctx.tz,
              "today": ctx.today.isoformat()}
    file = exports.RequestExport("report", params, T(N_("Making the Excel file...")))
    return Done([Reply(tuple(parts), chart=picture)], [file])


def _area(ctx: Ctx, month: str) -> Done:
    assert ctx.operator is not None
    area = Area.of(ctx.operator)
    params = {"operator_id": ctx.operator.id, "month": month, "tz": ctx.tz,
              "today": ctx.today.isoformat(), **area.as_params()}
    note = T(N_("Adding up the report of the clubs of {area} for {month}. It takes a moment; "
                "I will send it here."), area=area.name, month=_shown(month))
    return Done(effects=[exports.RequestExport("area_report", params, note)])


def _today(job: ExportJob) -> date | None:
    """The day the report was asked for (jobs queued before it was kept: the month's end)."""
    day = job.params.get("today")
    return date.fromisoformat(day) if day else None


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
    figures = await report.monthly(tx, club_id, month, job.params.get("tz", CLUB_TZ),
                                   _today(job))
    return exports.ExportFile(
        exports.file_name("bao cao", club.name, month, ext="xlsx"),
        XLSX,
        workbook(month, [(club, figures)], job.locale),
        T(N_("Report of {club} for {month} (Excel file)."), club=club.name, month=_shown(month)),
    )


def quiet_text(area: Area, month: str, quiet: list[association.Quiet]) -> T:
    """The clubs that did not meet or recorded nothing, the first :data:`QUIET_SHOWN` named."""
    if not quiet:
        return T(N_("Every club of {area} met and recorded something in {month}."),
                 area=area.name, month=_shown(month))
    lines: list[T] = [T(N_("Clubs that did not meet or recorded nothing in {month}: {count}"),
                        month=_shown(month), count=len(quiet))]
    for item in quiet[:QUIET_SHOWN]:
        what = N_("- {club} ({commune}): nothing recorded") if item.nothing else N_(
            "- {club} ({commune}): no meeting recorded")
        lines.append(T(what, club=item.club.name, commune=item.club.commune or "-"))
    if len(quiet) > QUIET_SHOWN:
        lines.append(T(N_("... and {more} more (see the file)."), more=len(quiet) - QUIET_SHOWN))
    return one_block(lines)


@exports.builder("area_report")
async def area_report_file(
    tx: Transaction, job: ExportJob, progress: exports.Progress
) -> exports.ExportFile | T:
    """The month of every club of an officer's area: summary, quiet clubs and spreadsheet.

    The grant is read again: a revoked grant (or one whose area is not the one asked for)
    gets no report.
    """
    month = job.params["month"]
    grant = await tx.get_operator(int(job.params["operator_id"]))
    if grant is None or not grant.active or grant.role != association.ROLE:
        return T(N_("Sorry, this account no longer has the association's access, so the "
                    "report was not made. Please ask the association if this is a mistake."))
    area = Area.of(grant)
    if area != Area.from_params(job.params):
        return T(N_("Sorry, your access is now for another area. Please ask for the report "
                    "again with /baocao."))
    clubs = await association.clubs_in(tx, area)
    if not clubs:
        return T(N_("There is no club in {area} in the bot yet."), area=area.name)
    counting = T(N_("the clubs' figures"))
    done = await association.area_report(
        tx, clubs, month, lambda number, total: progress(number, total, counting),
        job.params.get("tz", CLUB_TZ), _today(job))
    data = workbook(month, done.rows, job.locale, done.quiet,
                    lambda number, total, title: progress(number, total, T(title)))
    summary = joined([T(N_("Report of the clubs of {area} for {month}: {count} clubs."),
                        area=area.name, month=_shown(month), count=len(clubs)),
                      *sections(done.total, area=True)], "\n\n")
    return exports.ExportFile(
        exports.file_name("bao cao", area.name, month, ext="xlsx"),
        XLSX,
        data,
        T(N_("Report of the clubs of {area} for {month}, one row per club (Excel file)."),
          area=area.name, month=_shown(month)),
        before=(summary, quiet_text(area, month, done.quiet)),
    )


MONTHLY_REPORT = Flow(
    id="monthly_report",
    command="baocao",
    title=N_("Monthly report"),
    steps=(
        Step("scope", N_("Which report: your club's, or all the clubs of your area?"),
             choices=scope_choices, skip=lambda ctx, data: not _both(ctx)),
        Step("month", N_("Which month? For example 10/2026."), parse=parse_month,
             choices=month_choices),
    ),
    roles=BOARD | {association.ROLE},
    who="anyone",  # the board (active members only hold roles) and association officers
    finish=finish,
    aliases=("bao cao",),
)
