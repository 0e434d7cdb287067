"""Golden tests of the monthly report: five years of one club, every figure worked out here.

``tests/club_history.py`` writes the club through the storage API and hands back the events
as plain records. :func:`expected` computes each figure of ``bot.report.FIGURES`` from those
records in plain Python, following the figure's definition (not the SQL), and the tests
compare it with ``report.monthly`` for chosen months and then for every month, and check the
spreadsheet's headline cells.

Rules the definitions rely on, as the bot applies them: erasing a member deletes their
readings and the visits they received and ends their care links (their ledger entries and
attendance stay); a reversal counts in the month it is recorded.

Members are counted as they were at the month's end: one erased later still counts in the
months before, and a member approved in a month and erased later still joined in that month
(the storage keeps sex, birth year, household and approval time of an erased member).
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot import report
from bot.i18n import gettext
from bot.report_xlsx import workbook
from storage import transfer
from storage.base import Storage
from storage.postgres import PostgresStorage
from storage.sqlite import SQLiteStorage
from tests.club_history import (
    EXTRA_MEETING,
    FOUNDED,
    MISSED_MEETINGS,
    MISTAKE_LOANS,
    History,
    generate,
)
from tests.test_storage_contract import pg_cluster

GOLDEN_MONTHS = {
    "2022-01": "an early month (the third)",
    "2023-09": "a loan given by mistake and reversed within the month",
    "2024-05": "a loan given by mistake, reversed in June (not counted as given)",
    "2024-06": "that loan's reversal",
    "2025-03": "two meetings",
    "2025-08": "no meeting, and a member erased",
    "2026-10": "the last full month (a member erased)",
    "2026-11": "this month so far",
}


# --- the figures, from the events -------------------------------------------------------------


def share(part: int, whole: int) -> int:
    """A percentage rounded half up; 0 when there is no whole."""
    return math.floor(Fraction(100 * part, whole) + Fraction(1, 2)) if whole else 0


def expected(h: History, month: str) -> dict[str, int]:
    """Every figure of ``month``, by its definition in ``bot.report.FIGURES``."""
    first, last = report.month_bounds(month)

    def within(day: date) -> bool:
        return first <= day <= last

    f: dict[str, int] = {}
    # Members: active at the end of the month (joined by then, not erased by then).
    members = [p for p in h.people if p.active_from is not None and p.active_from <= last
               and (p.erased is None or p.erased > last)]
    ages = [last.year - p.birth_year for p in members]
    f["members"] = len(members)
    f["women"] = sum(p.sex == "female" for p in members)
    f["age_under_60"] = sum(a < 60 for a in ages)
    f["age_60_69"] = sum(60 <= a <= 69 for a in ages)
    f["age_70_79"] = sum(70 <= a <= 79 for a in ages)
    f["age_80_up"] = sum(a >= 80 for a in ages)
    f["poor_near_poor"] = sum(p.household in ("poor", "near_poor") for p in members)
    f["joined"] = sum(p.approved is not None and within(p.approved) for p in h.people)
    f["left_club"] = sum(p.erased is not None and within(p.erased) for p in h.people)

    days = sorted(day for day in h.meetings if within(day))
    f["meetings"] = len(days)
    f["meeting_day"] = int(f"{days[-1]:%Y%m%d}") if days else 0
    f["attended"] = sum(h.meetings[days[-1]].values()) if days else 0

    ledger = h.ledger
    reversed_ids = {e.reverses for e in ledger if e.reverses is not None}
    this_month = [e for e in ledger if within(e.day)]
    f["opening_cash"] = sum(e.cash for e in ledger if e.day < first)
    f["loans_given"] = sum(e.kind == "disbursement" and e.reverses is None
                           and e.id not in reversed_ids for e in this_month)
    f["disbursed"] = sum(e.principal for e in this_month if e.kind == "disbursement")
    f["repaid"] = -sum(e.principal for e in this_month if e.kind == "repayment")
    f["interest"] = sum(e.interest for e in this_month)
    f["contributions"] = sum(e.cash for e in this_month if e.kind == "contribution")
    f["outstanding"] = sum(e.principal for e in ledger if e.day <= last)
    f["closing_cash"] = sum(e.cash for e in ledger if e.day <= last)
    owed: dict[int, int] = defaultdict(int)
    for e in ledger:
        if e.loan_id is not None and e.day <= last:
            owed[e.loan_id] += e.principal
    f["borrowers"] = len({h.loans[loan]["borrower"] for loan, left in owed.items() if left > 0})
    # Overdue at the month's end: owing principal, and what fell due by then (principal and
    # interest) is more than what had been repaid by then.
    repaid: dict[int, int] = defaultdict(int)
    for e in ledger:
        if e.kind == "repayment" and e.day <= last:
            repaid[e.loan_id] += e.interest - e.principal
    late = {}
    for loan, left in owed.items():
        due = sum(amount for day, amount in h.loans[loan]["schedule"] if day <= last)
        if left > 0 and due > repaid[loan]:
            late[loan] = due - repaid[loan]
    f["overdue_loans"] = len(late)
    f["overdue_amount"] = sum(late.values())

    gone = {p.id for p in h.people if p.erased is not None}  # their health records are deleted
    readings = [r for r in h.readings if r.member_id not in gone and within(r.day)]
    latest = {}
    for r in sorted(readings, key=lambda r: (r.measured_at, r.id)):
        latest[r.member_id] = r
    f["measured"] = len(latest)
    f["measured_high"] = sum(r.high for r in latest.values())
    f["urgent_readings"] = sum(r.urgent for r in readings)
    f["referred"] = len({r.member_id for r in readings if r.urgent})
    f["alerts"] = f["alerts_answered"] = f["alerts_escalated"] = 0  # none in the history

    live = [link for link in h.care_links
            if link.start <= last and (link.end is None or link.end > last)]
    clients = {link.client_id for link in live}
    f["clients"] = len(clients)
    f["volunteers"] = len({link.volunteer_id for link in live})
    visits = [v for v in h.visits if v.client_id not in gone]
    f["visits"] = sum(within(v.day) for v in visits)
    since = last - timedelta(days=13)
    f["clients_unvisited"] = sum(
        not any(v.client_id == client and since <= v.day <= last for v in visits)
        for client in clients)
    f["reminders"] = sum(within(moment.date()) for moment in h.reminders)

    f["share_women"] = share(f["women"], f["members"])
    f["share_older"] = share(f["age_60_69"] + f["age_70_79"] + f["age_80_up"], f["members"])
    f["share_younger"] = share(f["age_under_60"], f["members"])
    f["share_borrowers"] = share(f["borrowers"], f["members"])
    f["share_high"] = share(f["measured_high"], f["measured"])
    return f


# --- the club, built once for the module -------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, History]:
    path = tmp_path_factory.mktemp("golden") / "club.sqlite3"

    async def build() -> History:
        storage = SQLiteStorage(path)
        await storage.open()
        try:
            # Another club first, so the club's ids are not 1 and its rows must be told apart.
            await generate(storage, seed=7, name="CLB bản Na", members=30, loans_per_year=4)
            return await generate(storage)
        finally:
            await storage.close()

    return path, asyncio.run(build())


@pytest.fixture
def history(built) -> History:
    return built[1]


_copies: dict[Path, str] = {}  # the built file, copied once into PostgreSQL


@pytest.fixture(params=["sqlite", "postgres"])
async def storage(request, built):
    """The built club on each backend: the file itself, and a copy of it in PostgreSQL."""
    if request.param == "sqlite":
        store: Storage = SQLiteStorage(built[0])
    else:
        if built[0] not in _copies:
            target = pg_cluster().create_database(f"golden_{os.getpid()}_{len(_copies)}")
            await transfer.copy(str(built[0]), target)
            _copies[built[0]] = target
        store = PostgresStorage(_copies[built[0]])
    await store.open()
    yield store
    await store.close()


async def figures_of(storage: Storage, club_id: int, month: str) -> dict[str, int]:
    async with storage.transaction() as tx:
        return {f.key: f.value for f in await report.monthly(tx, club_id, month)}


def differences(got: dict[str, int], want: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {key: (got[key], want[key]) for key in want if got[key] != want[key]}


# --- tests -------------------------------------------------------------------------------------


def test_the_history_has_the_cases_the_report_must_handle(history):
    h = history
    assert h.club_id != 1 and len(h.people) == 40
    assert sum(p.erased is not None for p in h.people) == 4
    assert sum(p.rejected is not None for p in h.people) == 2
    assert sum(p.active_from is None and p.rejected is None for p in h.people) == 1  # pending
    assert any(p.approved is None and p.active_from == FOUNDED for p in h.people)  # board code
    months = {f"{day:%Y-%m}" for day in h.meetings}
    assert not months & set(MISSED_MEETINGS) and EXTRA_MEETING in h.meetings
    kinds = {e.kind for e in h.ledger}
    assert kinds == {"capital", "opening", "disbursement", "repayment", "contribution"}
    reversals = [e for e in h.ledger if e.reverses is not None]
    by_id = {e.id: e for e in h.ledger}
    assert {e.kind for e in reversals} == {"disbursement", "repayment", "contribution"}
    assert any(by_id[e.reverses].day.month != e.day.month for e in reversals)
    given = {e.day for e in h.ledger if e.kind == "disbursement" and e.reverses is None}
    assert set(MISTAKE_LOANS) <= given and len(h.loans) > 80
    assert sum(r.urgent for r in h.readings) > 5 and sum(r.high for r in h.readings) > 100
    assert any(link.end is not None for link in h.care_links)
    gone = {p.id for p in h.people if p.erased is not None}
    assert any(v.client_id in gone for v in h.visits)  # visits deleted with the client
    assert any(link.volunteer_id in gone for link in h.care_links)


@pytest.mark.parametrize("month", sorted(GOLDEN_MONTHS))
async def test_every_figure_of_a_golden_month(storage, history, month):
    got = await figures_of(storage, history.club_id, month)
    want = expected(history, month)
    assert set(got) == set(want) == {key for key, *_ in report.FIGURES}
    assert differences(got, want) == {}, GOLDEN_MONTHS[month]


async def test_the_golden_months_show_what_they_are_chosen_for(storage, history):
    h = history
    may, june = expected(h, "2024-05"), expected(h, "2024-06")
    mistake = next(e for e in h.ledger if e.day == MISTAKE_LOANS[1] and e.kind == "disbursement")
    assert any(e.reverses == mistake.id and e.day == date(2024, 6, 3) for e in h.ledger)

    def given(month: int) -> list[int]:
        return [e.principal for e in h.ledger if e.kind == "disbursement"
                and e.reverses is None and (e.day.year, e.day.month) == (2024, month)]

    assert may["loans_given"] == len(given(5)) - 1  # reversed since: not counted as given
    assert may["disbursed"] == sum(given(5))  # the money did go out in May
    assert june["disbursed"] == sum(given(6)) - mistake.principal  # and came back in June
    assert june["loans_given"] == len(given(6))
    assert expected(h, "2025-03")["meetings"] == 2
    august = expected(h, "2025-08")
    assert (august["meetings"], august["attended"], august["left_club"]) == (0, 0, 1)
    october = expected(h, "2026-10")
    assert october["left_club"] == 1 and october["members"] > 25
    assert october["outstanding"] > 0 and october["borrowers"] > 5
    assert october["measured"] > 15 and october["visits"] > 5


async def test_every_month_of_the_five_years(storage, history):
    wrong, seen = {}, defaultdict(int)
    for month in history.months():
        got = await figures_of(storage, history.club_id, month)
        want = expected(history, month)
        for key in ("overdue_loans", "referred", "meeting_day"):
            seen[key] += bool(want[key])
        if found := differences(got, want):
            wrong[month] = found
    assert wrong == {}
    # Months with overdue loans, referrals and no meeting all occur (not only zeros).
    assert seen["overdue_loans"] >= 6 and seen["referred"] >= 3
    assert 0 < seen["meeting_day"] < len(history.months())
    # Members approved in 11/2021 and erased later still joined then.
    erased_founders = [p for p in history.people if p.erased is not None and p.approved
                       is not None and f"{p.approved:%Y-%m}" == "2021-11"]
    assert len(erased_founders) == 4


async def test_a_member_erased_later_still_counts_in_the_months_before(storage, history):
    gone = next(p for p in history.people if p.erased == date(2026, 10, 8))
    september = await figures_of(storage, history.club_id, "2026-09")
    october = await figures_of(storage, history.club_id, "2026-10")
    async with storage.transaction() as tx:  # today's statuses, as the report once counted
        [row] = await tx._all(
            "SELECT COUNT(*) AS n, SUM(CASE WHEN sex = 'female' THEN 1 ELSE 0 END) AS women "
            "FROM members WHERE club_id = ?"
            " AND status = 'active' AND registered_at < '2026-10-01'", (history.club_id,))
    assert september["members"] == row["n"] + 1  # a member all September, erased on 8/10
    assert september["women"] == row["women"] + (gone.sex == "female")
    assert october["left_club"] == 1


async def test_the_twelve_month_series_matches_the_figures(storage, history):
    async with storage.transaction() as tx:
        rows = await tx.month_series(history.club_id, date(2025, 11, 1), date(2026, 10, 31))
    assert [row["month"] for row in rows][::11] == ["2025-11", "2026-10"]
    for row in rows:
        want = expected(history, str(row["month"]))
        assert row == {"month": row["month"], **{key: want[key] for key in (
            "closing_cash", "outstanding", "measured", "measured_high", "visits")}}


async def test_the_spreadsheet_has_the_headline_figures(storage, history):
    month = "2026-10"
    async with storage.transaction() as tx:
        club = await tx.get_club(history.club_id)
        assert club is not None
        rows = [(club, await report.monthly(tx, club.id, month))]
    book = load_workbook(BytesIO(workbook(month, rows)))
    sheet = book[gettext("Report")]
    head = [cell.value for cell in sheet[1]]
    assert head[:5] == ["Câu lạc bộ", "Xã", "Huyện", "Tỉnh", "Tháng"]
    assert sheet.max_row == 2  # one club, no total row
    want = expected(history, month)
    column = {key: head.index(gettext(label)) + 1 for key, _, label, _, _ in report.FIGURES}
    assert sheet.cell(2, 1).value == history.club_name and sheet.cell(2, 5).value == month
    for key, label in (("members", "Thành viên"), ("share_women", "Tỷ lệ nữ"),
                       ("disbursed", "Số tiền cho vay"), ("outstanding", "Dư nợ"),
                       ("closing_cash", "Tiền mặt cuối tháng"),
                       ("measured", "Số người được đo huyết áp"),
                       ("visits", "Số lần thăm nom")):
        assert sheet.cell(1, column[key]).value == label
        assert sheet.cell(2, column[key]).value == want[key], key
