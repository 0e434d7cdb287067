"""The club's data as files (``/xuatdulieu``), so a club can always take its records away.

Six sheets, read from one snapshot (``storage/archive.py``): members, loans, the fund's
ledger, blood-pressure and weight readings, home visits and meeting attendance. Headers are
in the asker's language; money is in whole đồng, days are dates and moments are in the
club's local time. The file is either one Excel workbook or a ``.zip`` of CSV files (UTF-8
with a byte-order mark, so Excel shows Vietnamese letters); values are written with
:mod:`bot.cells`, so typed text is never taken for a formula. Secrets (invite codes,
registration keys, chat accounts) are never read; erased members are already reduced to
their number.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import cells, exports, health
from bot.i18n import N_, format_day, gettext
from bot.messages import Choice, T, joined
from bot.render import translate
from bot.report_xlsx import XLSX
from bot.vocabulary import (
    CONCERNS,
    HOUSEHOLDS,
    ROLE_LABELS,
    SCHEDULE_LABELS,
    SERVICES,
    SEXES,
    SYMPTOMS,
    purpose_label,
)
from bot.vocabulary import ENTRY_KINDS as KIND_LABELS
from storage.archive import Row
from storage.base import BOARD_ROLES as BOARD
from storage.base import Transaction
from storage.exports import ExportJob

KIND = "data"
# Members' personal and health data: a download link (Zalo) works for a day, not a week.
KEEP = timedelta(days=1)
ZIP = "application/zip"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"

TEXT, NUMBER, MONEY, DAY, MOMENT = "text", "number", "money", "day", "moment"
FORMATS = {MONEY: "#,##0", DAY: "yyyy-mm-dd", MOMENT: "yyyy-mm-dd hh:mm"}
WIDTHS = {TEXT: 18, NUMBER: 10, MONEY: 14, DAY: 12, MOMENT: 17}

STATUSES = {
    "pending": N_("waiting for approval"),
    "active": N_("active member"),
    "rejected": N_("not approved"),
    "erased": N_("data erased"),
}
PLACES = {
    "self": N_("by themselves"),
    "meeting": N_("at the meeting"),
    "home": N_("on a home visit"),
}
YES, NO = N_("Yes"), N_("No")


@dataclass(frozen=True)
class Column:
    """One column: its header (a message id), how to get its value from a row, its kind.

    ``get`` returns text, a number, a date, a UTC moment, a :class:`T` or ``None``.
    """

    head: str
    get: Callable[[Row], Any]
    kind: str = TEXT
    width: int | None = None


@dataclass(frozen=True)
class Sheet:
    """One sheet: its title (a message id), how to read its rows, its columns."""

    title: str
    read: Callable[[Transaction, int], Awaitable[list[Row]]]
    columns: tuple[Column, ...]


def _col(head: str, key: str, kind: str = TEXT, width: int | None = None) -> Column:
    """A column showing ``row[key]`` as it is."""
    return Column(head, lambda row: row[key], kind, width)


def _label(choices: tuple[Choice, ...] | dict[str, str], key: str | None) -> T | str | None:
    """The label of a stored key (the key itself if it is not known)."""
    if key is None:
        return None
    labels = choices if isinstance(choices, dict) else {c.key: c.label for c in choices}
    return T(labels[key]) if key in labels else key


def _labels(choices: tuple[Choice, ...] | dict[str, str], keys: list[str]) -> T | str:
    """Several labels, comma-separated."""
    return joined([_label(choices, key) for key in keys], ", ") if keys else ""


def _rank(role: str) -> int:
    """Roles in the order of :data:`ROLE_LABELS` (chair first)."""
    order = list(ROLE_LABELS)
    return order.index(role) if role in order else len(order)


def _yes(value: bool) -> T:
    return T(YES if value else NO)


def _phone(phone: str | None) -> str | None:
    """A phone as people write it (``0912...``), not the stored ``+84912...``."""
    return "0" + phone[3:] if phone and phone.startswith("+84") else phone


def _tenths(value: int | None) -> int | float | None:
    """``525`` -> ``52.5``; whole numbers stay integers."""
    if value is None:
        return None
    return value // 10 if value % 10 == 0 else value / 10


def _rate(rate_bp: int) -> int | float:
    """A monthly rate in percent: ``150`` -> ``1.5``."""
    return rate_bp // 100 if rate_bp % 100 == 0 else rate_bp / 100


def _first(row: Row) -> str | None:
    if row["first_systolic"] is None:
        return None
    return f"{row['first_systolic']}/{row['first_diastolic']}"


MEMBER_ID = N_("Member ID")
LOCAL = N_("Recorded at (local time)")

SHEETS = (
    Sheet(N_("Members"), lambda tx, club: tx.archive_members(club), (
        _col(MEMBER_ID, "id", NUMBER),
        _col(N_("Name"), "full_name", width=24),
        Column(N_("Sex"), lambda r: _label(SEXES, r["sex"]), width=9),
        _col(N_("Birth year"), "birth_year", NUMBER),
        _col(N_("Date of birth"), "birth_date", DAY),
        Column(N_("Phone"), lambda r: _phone(r["phone"]), width=13),
        _col(N_("Village"), "village"),
        Column(N_("Household"), lambda r: _label(HOUSEHOLDS, r["household"]), width=20),
        _col(N_("Ethnic group"), "ethnicity", width=10),
        Column(N_("Status"), lambda r: _label(STATUSES, r["status"]), width=16),
        Column(N_("Roles"), lambda r: _labels(ROLE_LABELS, sorted(r["roles"], key=_rank)),
               width=20),
        _col(N_("Registered at (local time)"), "registered_at", MOMENT, 20),
        _col(N_("Approved or decided at (local time)"), "decided_at", MOMENT, 20),
    )),
    Sheet(N_("Loans"), lambda tx, club: tx.archive_loans(club), (
        _col(N_("Loan ID"), "id", NUMBER),
        _col(MEMBER_ID, "member_id", NUMBER),
        _col(N_("Borrower"), "member_name", width=24),
        _col(N_("Amount lent (đồng)"), "principal", MONEY),
        Column(N_("Purpose"), lambda r: purpose_label(r["purpose"])),
        Column(N_("Monthly interest (%)"), lambda r: _rate(r["rate_bp"]), NUMBER),
        _col(N_("Term (months)"), "term_months", NUMBER),
        Column(N_("How loans are repaid"), lambda r: _label(SCHEDULE_LABELS, r["schedule"]),
               width=30),
        _col(N_("Given on"), "start_date", DAY),
        _col(N_("First payment due"), "first_due", DAY),
        _col(N_("Due day of the month"), "due_day", NUMBER),
        Column(N_("Carried over from the paper notebook"), lambda r: _yes(r["carried_over"]),
               width=12),
        _col(N_("Principal repaid (đồng)"), "principal_paid", MONEY),
        _col(N_("Interest paid (đồng)"), "interest_paid", MONEY),
        _col(N_("Principal still owed (đồng)"), "outstanding", MONEY),
        _col(N_("Recorded by"), "created_by_name", width=24),
        _col(LOCAL, "created_at", MOMENT, 20),
    )),
    Sheet(N_("Fund ledger"), lambda tx, club: tx.archive_ledger(club), (
        _col(N_("Entry ID"), "id", NUMBER),
        _col(N_("Day"), "day", DAY),
        Column(N_("Kind"), lambda r: _label(KIND_LABELS, r["kind"])),
        _col(MEMBER_ID, "member_id", NUMBER),
        _col(N_("Member"), "member_name", width=24),
        _col(N_("Loan ID"), "loan_id", NUMBER),
        _col(N_("Change in principal owed (đồng)"), "principal", MONEY, 16),
        _col(N_("Interest received (đồng)"), "interest", MONEY),
        _col(N_("Change in cash (đồng)"), "cash", MONEY),
        _col(N_("Undoes entry"), "reverses", NUMBER, 12),
        _col(N_("Undone by entry"), "reversed_by", NUMBER, 12),
        _col(N_("Note"), "note", width=30),
        _col(N_("Recorded by"), "recorded_by_name", width=24),
        _col(N_("Confirmed by"), "confirmed_by_name", width=24),
        _col(LOCAL, "created_at", MOMENT, 20),
    )),
    Sheet(N_("Blood pressure and weight"), lambda tx, club: tx.archive_readings(club), (
        _col(N_("Day"), "day", DAY),
        _col(N_("Measured at (local time)"), "measured_at", MOMENT, 20),
        _col(MEMBER_ID, "member_id", NUMBER),
        _col(N_("Member"), "member_name", width=24),
        _col(N_("Systolic (upper number)"), "systolic", NUMBER, 12),
        _col(N_("Diastolic (lower number)"), "diastolic", NUMBER, 12),
        _col(N_("Pulse"), "pulse", NUMBER),
        Column(N_("Weight (kg)"), lambda r: _tenths(r["weight_tenths"]), NUMBER),
        Column(N_("Grade"), lambda r: _label(health.GRADE_LABELS, r["grade"]), width=26),
        Column(N_("High blood pressure"), lambda r: _yes(r["high"]), width=10),
        Column(N_("Told to get help now"), lambda r: _yes(r["urgent"]), width=12),
        Column(N_("First measure, before resting"), _first, width=12),
        Column(N_("Warning signs"), lambda r: _labels(SYMPTOMS, r["symptoms"]), width=30),
        Column(N_("Where measured"), lambda r: _label(PLACES, r["place"]), width=16),
        _col(N_("Taken by"), "recorded_by_name", width=24),
    )),
    Sheet(N_("Visits at home"), lambda tx, club: tx.archive_visits(club), (
        _col(N_("Day"), "day", DAY),
        _col(MEMBER_ID, "client_id", NUMBER),
        _col(N_("Member visited"), "client_name", width=24),
        _col(N_("Volunteer ID"), "volunteer_id", NUMBER),
        _col(N_("Volunteer"), "volunteer_name", width=24),
        Column(N_("Help given"), lambda r: _labels(SERVICES, r["services"]), width=36),
        Column(N_("Concern"), lambda r: _label(CONCERNS, r["concern"] or "none"), width=22),
        _col(N_("Note"), "note", width=30),
    )),
    Sheet(N_("Meeting attendance"), lambda tx, club: tx.archive_attendance(club), (
        _col(N_("Meeting day"), "day", DAY),
        _col(MEMBER_ID, "member_id", NUMBER),
        _col(N_("Member"), "member_name", width=24),
        Column(N_("Present"), lambda r: _yes(r["present"]), width=9),
        _col(N_("Recorded by"), "recorded_by_name", width=24),
    )),
)


def _value(value: Any, kind: str, zone: ZoneInfo, locale: str) -> Any:
    """A cell's value: text translated, moments in local time (without zone, for Excel)."""
    if isinstance(value, T):
        return translate(value, locale)
    if kind == MOMENT and isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    return value


class _Book:
    """An Excel workbook, one sheet at a time."""

    def __init__(self) -> None:
        from openpyxl import Workbook  # only when a file is made: it costs 20 MiB per process

        self.book = Workbook()
        self.book.remove(self.book.active)

    def add(self, title: str, columns: tuple[Column, ...], heads: list[str],
            rows: list[list[Any]]) -> None:
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        sheet = self.book.create_sheet(cells.sheet_title(title))
        cells.append(sheet, heads)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        formats = [FORMATS.get(column.kind) for column in columns]
        for values in rows:
            cells.append(sheet, values, formats)
        for index, (column, head) in enumerate(zip(columns, heads, strict=True), start=1):
            width = column.width or WIDTHS[column.kind]
            sheet.column_dimensions[get_column_letter(index)].width = max(width,
                                                                          min(len(head), 24))
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions

    def data(self) -> bytes:
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()


class _Zip:
    """A ``.zip`` of CSV files (UTF-8 with a byte-order mark), one per sheet."""

    def __init__(self, made: datetime) -> None:
        self.out = io.BytesIO()
        self.zip = zipfile.ZipFile(self.out, "w", zipfile.ZIP_DEFLATED)
        self.made = made.timetuple()[:6]
        self.count = 0

    def add(self, title: str, columns: tuple[Column, ...], heads: list[str],
            rows: list[list[Any]]) -> None:
        self.count += 1
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(cells.csv_row(heads))
        writer.writerows(cells.csv_row(values) for values in rows)
        info = zipfile.ZipInfo(exports.file_name(str(self.count), title, ext="csv"), self.made)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, text.getvalue().encode("utf-8-sig"))

    def data(self) -> bytes:
        self.zip.close()
        return self.out.getvalue()


@exports.builder(KIND)
async def data_file(
    tx: Transaction, job: ExportJob, progress: exports.Progress
) -> exports.ExportFile | T:
    """Every record of the club, for an active board member of that club."""
    club_id = job.params["club_id"]
    found = await tx.membership(job.member_id) if job.member_id is not None else None
    if (found is None or found[0].status != "active" or found[1].id != club_id
            or not found[2] & BOARD):
        return T(N_("Only the club's board can have the club's data."))
    club = found[1]
    zone = ZoneInfo(job.params.get("tz") or DEFAULT_TZ)
    made = job.requested_at.astimezone(zone)
    excel = job.params.get("format") != "csv"
    out: _Book | _Zip = _Book() if excel else _Zip(made)
    for number, sheet in enumerate(SHEETS, start=1):
        progress(number, len(SHEETS), T(sheet.title))
        rows = await sheet.read(tx, club_id)
        heads = [gettext(column.head, job.locale) for column in sheet.columns]
        values = [[_value(column.get(row), column.kind, zone, job.locale)
                   for column in sheet.columns] for row in rows]
        out.add(gettext(sheet.title, job.locale), sheet.columns, heads, values)
    what = T(N_("an Excel file")) if excel else T(N_("CSV files in a .zip"))
    return exports.ExportFile(
        exports.file_name("du lieu", club.name, made.date().isoformat(),
                          ext="xlsx" if excel else "zip"),
        XLSX if excel else ZIP,
        out.data(),
        T(N_("The data of {club} on {day}, as {what}. It holds the members' personal data: "
             "please keep it safe and do not share it."),
          club=club.name, day=format_day(made.date()), what=what),
        keep=KEEP,
    )
