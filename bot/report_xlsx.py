"""The monthly report as a spreadsheet (openpyxl): one row per club, and the definitions.

Sheet "Báo cáo" has a header row of figure names and one row per club (the association's
view sums them in a last row); sheet "Định nghĩa" says how each figure is computed; for the
association's view, sheet "Chưa họp, chưa ghi chép" lists the clubs that did not meet or
recorded nothing that month. Written from :data:`bot.report.FIGURES`, so the file and the
chat show the same numbers (the total comes from :func:`bot.association.sum_figures`).
Every value is written with :mod:`bot.cells`, so a club named ``=...`` is text, not a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from io import BytesIO

from bot import cells, report
from bot.association import Quiet, sum_figures
from bot.i18n import N_, gettext
from storage.base import Club

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTHING = N_("Nothing recorded")
NO_MEETING = N_("No meeting recorded")


NUMBER_FORMATS = {report.DAY: "dd/mm/yyyy", report.MONEY: "#,##0"}


def _cell(figure: report.Figure) -> int | date | None:
    """A figure as a spreadsheet value: a day as a date (empty when there is none)."""
    return report.day_of(figure.value) if figure.kind == report.DAY else figure.value


def workbook(
    month: str,
    rows: Sequence[tuple[Club, list[report.Figure]]],
    locale: str = "vi",
    quiet: Sequence[Quiet] | None = None,
    on_sheet: Callable[[int, int, str], None] | None = None,
) -> bytes:
    """The report of ``month`` for ``rows`` (club and its figures) as ``.xlsx`` bytes.

    Shares in the total row are recomputed from the summed counts, not added up.

    Args:
        month: ``YYYY-MM``.
        rows: Each club with its figures, in the order to show.
        locale: The reader's language.
        quiet: The clubs that did not meet or recorded nothing (the association's view):
            they get a sheet of their own. ``None``: no such sheet.
        on_sheet: Called as ``on_sheet(number, sheets, title)`` before each sheet is
            written, ``title`` being the sheet's message id (for progress messages).
    """
    from openpyxl import Workbook  # only when a file is made: it costs 20 MiB per process
    from openpyxl.styles import Font

    def tr(message: str) -> str:
        return gettext(message, locale)

    sheets = 2 if quiet is None else 3
    book = Workbook()
    sheet = book.active
    if on_sheet is not None:
        on_sheet(1, sheets, N_("Report"))
    sheet.title = cells.sheet_title(tr(N_("Report")))
    where = [tr(N_("Club")), tr(N_("Commune")), tr(N_("District")), tr(N_("Province"))]
    labels = [tr(label) for _key, _section, label, _definition, _kind in report.FIGURES]
    cells.append(sheet, [*where, tr(N_("Month")), *labels])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    formats: list[str | None] = [None] * (len(where) + 1)  # the club's place and the month
    formats += [NUMBER_FORMATS.get(kind) for _key, _section, _label, _definition, kind
                in report.FIGURES]
    for club, figures in rows:
        cells.append(sheet, [club.name, club.commune, club.district, club.province, month,
                             *[_cell(f) for f in figures]], formats)
    if len(rows) > 1:
        cells.append(sheet, [tr(N_("All clubs")), "", "", "", month,
                             *[_cell(f) for f in sum_figures(rows)]], formats)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "F2"
    if on_sheet is not None:
        on_sheet(2, sheets, N_("Definitions"))
    defined = book.create_sheet(cells.sheet_title(tr(N_("Definitions"))))
    cells.append(defined, [tr(N_("Part")), tr(N_("Figure")), tr(N_("How it is computed"))])
    for cell in defined[1]:
        cell.font = Font(bold=True)
    for _key, section, label, definition, kind in report.FIGURES:
        unit = {report.MONEY: N_("(đồng)"), report.SHARE: N_("(%)"),
                report.DAY: N_("(empty in the total row)")}.get(kind)
        cells.append(defined, [tr(report.SECTIONS[section]), tr(label),
                               tr(definition) + (" " + tr(unit) if unit else "")])
    for column, width in zip("ABC", (18, 36, 90), strict=True):
        defined.column_dimensions[column].width = width
    if quiet is not None:
        if on_sheet is not None:
            on_sheet(3, sheets, N_("Not meeting or recording"))
        idle = book.create_sheet(cells.sheet_title(tr(N_("Not meeting or recording"))))
        cells.append(idle, [*where, tr(N_("What is missing"))])
        for cell in idle[1]:
            cell.font = Font(bold=True)
        for item in quiet:
            club = item.club
            cells.append(idle, [club.name, club.commune, club.district, club.province,
                                tr(NOTHING if item.nothing else NO_MEETING)])
        if not quiet:
            cells.append(idle, [tr(N_("None: every club met and recorded something."))])
        for column, width in zip("ABCDE", (36, 20, 20, 20, 36), strict=True):
            idle.column_dimensions[column].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()
