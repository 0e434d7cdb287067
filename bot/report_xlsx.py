"""The monthly report as a spreadsheet (openpyxl): one row per club, and the definitions.

Sheet "Báo cáo" has a header row of figure names and one row per club (the association's
view sums them in a last row); sheet "Định nghĩa" says how each figure is computed. Written
from :data:`bot.report.FIGURES`, so the file and the chat show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from bot import report
from bot.i18n import N_, gettext
from storage.base import Club

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(
    month: str, rows: Sequence[tuple[Club, list[report.Figure]]], locale: str = "vi"
) -> bytes:
    """The report of ``month`` for ``rows`` (club and its figures) as ``.xlsx`` bytes.

    Shares in the total row are recomputed from the summed counts, not added up.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = gettext(N_("Report"), locale)
    head = [gettext(N_("Club"), locale), gettext(N_("Commune"), locale),
            gettext(N_("District"), locale), gettext(N_("Province"), locale),
            gettext(N_("Month"), locale)]
    sheet.append(head + [gettext(label, locale) for _, _, label, _, _ in report.FIGURES])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    totals: dict[str, int] = {}
    for club, figures in rows:
        sheet.append([club.name, club.commune, club.district, club.province, month]
                     + [f.value for f in figures])
        for figure in figures:
            totals[figure.key] = totals.get(figure.key, 0) + figure.value
    if len(rows) > 1:
        shares = report.shares(totals)
        sheet.append([gettext(N_("All clubs"), locale), "", "", "", month]
                     + [shares.get(key, totals.get(key, 0)) for key, *_ in report.FIGURES])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "F2"
    defined = book.create_sheet(gettext(N_("Definitions"), locale))
    defined.append([gettext(N_("Figure"), locale), gettext(N_("How it is computed"), locale)])
    for cell in defined[1]:
        cell.font = Font(bold=True)
    for _, _, label, definition, kind in report.FIGURES:
        unit = {report.MONEY: N_("(đồng)"), report.SHARE: N_("(%)")}.get(kind)
        defined.append([gettext(label, locale),
                        gettext(definition, locale) + (" " + gettext(unit, locale) if unit
                                                       else "")])
    defined.column_dimensions["A"].width = 36
    defined.column_dimensions["B"].width = 90
    out = BytesIO()
    book.save(out)
    return out.getvalue()
