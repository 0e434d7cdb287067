"""Python values as spreadsheet cells and CSV fields: the one writer of every file's values.

Every ``.xlsx`` and ``.csv`` the bot makes (the monthly report, the data export) writes its
values here, so text people typed (a club's or a member's name, a village, a note) is never
taken for a formula:

- in a workbook, text is a string cell holding exactly the text. openpyxl alone would store
  ``=...`` as a formula; here it stays a string, and text that starts like a formula
  (:data:`FORMULA_START`) is also marked "quote prefix", so Excel keeps it text even after
  the cell is edited, without showing a quote;
- in a CSV file, such text gets a leading ``'`` (OWASP's advice against CSV injection), since
  a CSV file cannot say which fields are text.

Numbers stay numbers (a negative amount too) and dates stay dates, with the caller's number
format in a workbook and ISO dates in CSV. openpyxl is imported only by the callers that make
a workbook (it costs 20 MiB per process).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""Text starting with one of these could be read as a formula by a spreadsheet."""

TITLE_LENGTH = 31
"""The longest sheet title Excel opens."""
NOT_IN_TITLES = re.compile(r"[\\/?*\[\]:]")
"""The characters Excel does not allow in a sheet title."""


def put(cell: Cell, value: Any, number_format: str | None = None) -> Cell:
    """Write ``value`` into ``cell``: text as text, numbers as numbers, dates as dates.

    Args:
        cell: An openpyxl cell of a sheet.
        value: Text, an integer or float, a date or datetime, or ``None`` (an empty cell).
        number_format: How a number or date shows, e.g. ``"#,##0"`` or ``"dd/mm/yyyy"``;
            not applied to text nor to an empty cell.

    Returns:
        The cell.
    """
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl took "=..." for a formula
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True
    elif number_format is not None and value is not None:
        cell.number_format = number_format
    return cell


def append(
    sheet: Worksheet, values: Sequence[Any], number_formats: Sequence[str | None] = ()
) -> None:
    """Add ``values`` as a row at the bottom of ``sheet``, each written with :func:`put`.

    Args:
        sheet: An openpyxl worksheet.
        values: The row's values, from the first column.
        number_formats: The number format of each column (``None``: none); shorter than
            ``values`` when the last columns have none.
    """
    from openpyxl.cell import Cell

    formats = [*number_formats, *[None] * (len(values) - len(number_formats))]
    sheet.append([put(Cell(sheet), value, number_format)
                  for value, number_format in zip(values, formats, strict=True)])


def sheet_title(text: str) -> str:
    r"""``text`` as a sheet title Excel accepts: at most 31 characters, none of ``\/?*[]:``.

    Args:
        text: The wanted title, e.g. a translated sheet name.

    Returns:
        The text, its characters Excel forbids in a title replaced by ``-``, cut to 31
        characters.
    """
    return NOT_IN_TITLES.sub("-", text)[:TITLE_LENGTH]


def csv_field(value: Any) -> Any:
    """``value`` as a CSV field: ISO days and moments, text never taken for a formula.

    Args:
        value: Text, an integer or float, a date or datetime (local, to the minute), or
            ``None``.

    Returns:
        ``""`` for ``None``; ``2026-10-05`` for a date, ``2026-10-05 09:00`` for a datetime;
        text starting with :data:`FORMULA_START` with a ``'`` before it; other values as they
        are (the CSV writer writes numbers as numbers).
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row's values as CSV fields, each with :func:`csv_field`.

    Args:
        values: The row's values.

    Returns:
        The fields, for ``csv.writer(...).writerow``.
    """
    return [csv_field(value) for value in values]
