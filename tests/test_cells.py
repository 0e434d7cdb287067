"""The one cell writer (``bot.cells``): what a workbook and a CSV file hold for each value.

Workbooks are saved and opened again with openpyxl, so the tests see what Excel reads.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from bot import cells

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+1", "\tx", "-"]
CSV_FORMULAS = [*FORMULAS, "\rx"]  # in a workbook's XML, a carriage return reads back as \n


def saved(book: Workbook) -> Workbook:
    out = io.BytesIO()
    book.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))


def test_text_that_looks_like_a_formula_stays_exactly_the_text():
    book = Workbook()
    sheet = book.active
    for row, text in enumerate([*FORMULAS, "CLB LTHTGN bản Lốc", ""], start=1):
        cells.put(sheet.cell(row=row, column=1), text)
    again = saved(book).active
    for row, text in enumerate(FORMULAS, start=1):
        cell = again.cell(row=row, column=1)
        assert (cell.value, cell.data_type) == (text, "s")
        assert cell.quotePrefix  # Excel keeps it text when the cell is edited; no quote shows
    plain = again.cell(row=len(FORMULAS) + 1, column=1)
    assert (plain.value, plain.data_type, plain.quotePrefix) == ("CLB LTHTGN bản Lốc", "s", False)


def test_numbers_and_dates_keep_their_type_and_format():
    book = Workbook()
    sheet = book.active
    cells.append(sheet, [6_000_000, -500_000, 1.5, 0, date(2026, 10, 15),
                         datetime(2026, 10, 10, 9, 0), None, "-500000"],
                 ["#,##0", "#,##0", None, "#,##0", "dd/mm/yyyy", "yyyy-mm-dd hh:mm", "#,##0",
                  "#,##0"])
    row = saved(book).active[1]
    assert [(cell.value, cell.data_type) for cell in row] == [
        (6_000_000, "n"), (-500_000, "n"), (1.5, "n"), (0, "n"),
        (datetime(2026, 10, 15), "d"), (datetime(2026, 10, 10, 9, 0), "d"), (None, "n"),
        ("-500000", "s")]
    assert [cell.number_format for cell in row] == [
        "#,##0", "#,##0", "General", "#,##0", "dd/mm/yyyy", "yyyy-mm-dd hh:mm", "General",
        "General"]  # an empty cell and text get no number format


def test_append_adds_rows_at_the_bottom_and_checks_the_formats():
    book = Workbook()
    sheet = book.active
    cells.append(sheet, ["Câu lạc bộ", "Dư nợ"])
    cells.append(sheet, ["=A1", 5_500_000], ["General", "#,##0"])
    cells.append(sheet, ["@x"])  # fewer values than the first row
    again = saved(book).active
    assert [[cell.value for cell in row] for row in again.iter_rows()] == [
        ["Câu lạc bộ", "Dư nợ"], ["=A1", 5_500_000], ["@x", None]]
    assert again["A2"].data_type == "s" and again["B2"].number_format == "#,##0"
    with pytest.raises(ValueError):
        cells.append(sheet, [1], ["#,##0", "#,##0"])  # more formats than values


def test_csv_fields_follow_the_owasp_advice():
    assert [cells.csv_field(t) for t in CSV_FORMULAS] == ["'" + t for t in CSV_FORMULAS]
    assert cells.csv_field("CLB LTHTGN bản Lốc") == "CLB LTHTGN bản Lốc"
    assert cells.csv_field("a=b") == "a=b" and cells.csv_field("") == ""
    assert [cells.csv_field(n) for n in (6_000_000, -500_000, 1.5, 0)] == [
        6_000_000, -500_000, 1.5, 0]  # numbers, negative ones too, are not quoted
    assert cells.csv_field(date(2026, 10, 5)) == "2026-10-05"
    assert cells.csv_field(datetime(2026, 10, 10, 9, 0, 42)) == "2026-10-10 09:00"
    assert cells.csv_field(None) == ""
    out = io.StringIO()
    csv.writer(out).writerow(cells.csv_row(['=HYPERLINK("http://x","y")', -2, None, "-2"]))
    assert out.getvalue() == '"\'=HYPERLINK(""http://x"",""y"")",-2,,\'-2\r\n'
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [
        '\'=HYPERLINK("http://x","y")', "-2", "", "'-2"]


def test_sheet_titles_excel_accepts():
    assert cells.sheet_title("Huyết áp và cân nặng") == "Huyết áp và cân nặng"
    assert cells.sheet_title("=Bản [Lốc]: 1/2?*\\") == "=Bản -Lốc-- 1-2---"
    assert cells.sheet_title("x" * 40) == "x" * 31
    book = Workbook()
    book.create_sheet(cells.sheet_title("a:b/c" * 10))  # openpyxl refuses a bad title
