"""The board's one-picture summary: the twelve months' figures from storage, and the picture."""

from __future__ import annotations

import struct
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import charts, report
from bot.messages import Reply, T
from bot.render import render, translate_all
from bot.report_chart import first_month, summary_chart
from storage.base import NewMember
from storage.health import NewReading, NewVisit
from storage.ledger import NewEntry, NewLoan, ScheduleRow
from storage.sqlite import SQLiteStorage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAME = "CLB LTHTGN bản Lốc"


def at(day: date, minute: int = 0) -> datetime:
    """09:00 (and some minutes) in Vietnam on ``day``, as stored (UTC)."""
    return datetime(day.year, day.month, day.day, 2, minute, tzinfo=UTC)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">II", data[16:24])


async def small_history(storage: SQLiteStorage) -> int:
    """A club from 09/2025 to 11/2026 (and another club's records, which must not count).

    Month ends in the window 11/2025-10/2026, worked out by hand:
    - cash 41,100,000 from 11/2025, 41,300,000 from 01/2026 (a contribution; a loan given and
      reversed in 03/2026 changes nothing), 43,390,000 in 10/2026;
    - principal owed 9,000,000, then 7,000,000 in 10/2026;
    - measured 2 in 11/2025 (one high: Páo's second reading of the day was normal), 3 in
      10/2026 (two high);
    - visits 2 in 11/2025, 1 in 06/2026, 1 in 10/2026.
    """
    async with storage.transaction() as tx:
        club = await tx.create_club(NAME, "Thông Thụ", "Quế Phong", "Nghệ An", 15,
                                    at(date(2025, 9, 1)))
        other = await tx.create_club("CLB bản Na", "", "", "Nghệ An", 15, at(date(2025, 9, 1)))
        ids = []
        for n, (club_id, sex, year) in enumerate([(club.id, "male", 1950),
                                                  (club.id, "female", 1958),
                                                  (club.id, "female", 1941),
                                                  (other.id, "male", 1955)]):
            member_id, _ = await tx.add_member(NewMember(
                club_id, f"Người {n}", sex, year, None, None, "Bản Lốc", "poor", None, "active",
                None, f"m{n}"), at(date(2025, 9, 1)))
            ids.append(member_id)
        a, b, c, stranger = ids

        async def loan(club_id: int, member: int, amount: int, day: date, key: str) -> int:
            loan_id, _ = await tx.add_loan(NewLoan(
                club_id, member, amount, "cow", 100, 10, "equal_principal", day,
                day + timedelta(days=30), 15, False, None, None, key,
                tuple(ScheduleRow(k, date(2026, k, 15), amount // 10, 10_000)
                      for k in range(1, 11))), at(day))
            await entry(club_id, "disbursement", day, key + "-d", loan_id=loan_id,
                        member_id=member, principal=amount, cash=-amount)
            return loan_id

        async def entry(club_id: int, kind: str, day: date, key: str, **amounts) -> int:
            entry_id, _ = await tx.add_entry(NewEntry(club_id, kind, day, key, **amounts),
                                             at(day))
            return entry_id

        await entry(club.id, "capital", date(2025, 9, 1), "cap", cash=50_000_000)
        first = await loan(club.id, a, 10_000_000, date(2025, 10, 5), "l1")
        await entry(club.id, "repayment", date(2025, 11, 15), "p1", loan_id=first, member_id=a,
                    principal=-1_000_000, interest=100_000, cash=1_100_000)
        await entry(club.id, "contribution", date(2026, 1, 10), "g1", member_id=b,
                    cash=200_000)
        second = await loan(club.id, b, 5_000_000, date(2026, 3, 5), "l2")
        given = (await tx.entries(club.id, loan_id=second))[0].id
        await entry(club.id, "disbursement", date(2026, 3, 20), "l2-r", loan_id=second,
                    member_id=b, principal=-5_000_000, cash=5_000_000, reverses=given)
        await entry(club.id, "repayment", date(2026, 10, 15), "p2", loan_id=first, member_id=a,
                    principal=-2_000_000, interest=90_000, cash=2_090_000)
        await entry(club.id, "contribution", date(2026, 11, 2), "g2", member_id=b,
                    cash=300_000)  # after the window
        await entry(other.id, "capital", date(2026, 1, 1), "cap2", cash=9_000_000)

        readings = [
            (a, date(2025, 10, 20), 0, 150, 95),  # before the window
            (a, date(2025, 11, 15), 0, 150, 95),
            (a, date(2025, 11, 15), 10, 132, 84),  # re-measured after rest: normal
            (b, date(2025, 11, 20), 0, 160, 92),
            (a, date(2026, 10, 15), 0, 128, 80),
            (b, date(2026, 10, 15), 0, 145, 85),
            (b, date(2026, 10, 25), 0, 142, 88),
            (c, date(2026, 10, 31), 30, 170, 100),
            (a, date(2026, 11, 1), 0, 150, 95),  # after the window
            (stranger, date(2026, 10, 15), 0, 165, 99),  # another club
        ]
        for n, (member, day, minute, systolic, diastolic) in enumerate(readings):
            high = systolic >= 140 or diastolic >= 90
            owner = other.id if member == stranger else club.id
            await tx.add_reading(NewReading(
                owner, member, at(day, minute), day, systolic, diastolic, None, None,
                "grade_1" if high else "normal", high, False, None, None, (), "meeting", None,
                f"r{n}"), at(day, minute))
        await tx.link_care(b, c, None, at(date(2025, 10, 1)))
        for n, day in enumerate([date(2025, 10, 31), date(2025, 11, 1), date(2025, 11, 30),
                                 date(2026, 6, 10), date(2026, 10, 31), date(2026, 11, 1)]):
            await tx.add_visit(NewVisit(club.id, c, b, at(day), day, ("meal",), None, "",
                                        f"v{n}"), at(day))
    return club.id


@pytest.fixture
async def storage(tmp_path):
    store = SQLiteStorage(tmp_path / "ishc.sqlite3")
    await store.open()
    yield store
    await store.close()


async def test_the_twelve_months_of_figures(storage):
    club_id = await small_history(storage)
    async with storage.transaction() as tx:
        spec = await summary_chart(tx, club_id, "2026-10", NAME)
        october = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-10")}
    million = 1_000_000
    series = spec["series"]
    assert series["cash"] == [41_100_000] * 2 + [41_300_000] * 9 + [43_390_000]
    assert series["outstanding"] == [9 * million] * 11 + [7 * million]
    assert series["measured"] == [2] + [0] * 10 + [3]
    assert series["high"] == [1] + [0] * 10 + [2]
    assert series["visits"] == [2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    # The last month is the report's month, figure for figure.
    assert (series["cash"][-1], series["outstanding"][-1]) == (
        october["closing_cash"], october["outstanding"])
    assert (series["measured"][-1], series["high"][-1], series["visits"][-1]) == (
        october["measured"], october["measured_high"], october["visits"])

    shown = translate_all(spec, "vi")
    assert shown["kind"] == "summary" and shown["title"] == NAME
    assert shown["subtitle"] == "12 tháng, đến hết tháng 10/2026"
    assert shown["months"][0] == "T11/25" and shown["months"][-1] == "T10/26"
    assert len(shown["months"]) == 12
    assert shown["labels"]["money"] == "Quỹ (triệu đồng)"
    assert shown["labels"]["outstanding"] == "Dư nợ"
    assert translate_all(spec, "en")["months"][-1] == "M10/26"


async def test_a_new_club_has_zeros_before_it_began(storage):
    club_id = await small_history(storage)
    async with storage.transaction() as tx:
        spec = await summary_chart(tx, club_id, "2025-11", NAME)
    assert spec["series"]["cash"] == [0] * 9 + [50_000_000, 40_000_000, 41_100_000]
    assert spec["series"]["visits"][-2:] == [1, 2]
    assert translate_all(spec["months"], "vi")[0] == "T12/24"


def test_first_month_crosses_the_year():
    assert first_month("2026-10") == "2025-11"
    assert first_month("2026-12") == "2026-01"
    assert first_month("2026-01") == "2025-02"


async def test_the_spec_draws_a_tall_png_with_vietnamese_letters(storage):
    club_id = await small_history(storage)
    async with storage.transaction() as tx:
        spec = await summary_chart(tx, club_id, "2026-10", NAME)
    shown = render(Reply((T("Is this correct?"),), chart=spec), "vi").chart
    assert shown == translate_all(spec, "vi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a letter missing from the font would warn
        png = charts.draw(shown)
    assert png_size(png) == (charts.WIDTH, charts.SUMMARY_HEIGHT) == (800, 1100)
    assert 10_000 < len(png) < 300_000
    assert await charts.picture(shown) == png


def test_an_empty_year_draws_too():
    spec = {"kind": "summary", "title": NAME, "subtitle": "",
            "months": [f"T{m}/26" for m in range(1, 13)],
            "series": {key: [0] * 12 for key in charts.SUMMARY_SERIES}, "labels": {}}
    assert png_size(charts.draw(spec)) == (800, 1100)


@pytest.mark.parametrize("change", [
    {"months": []},
    {"series": {"cash": [1] * 12}},
    {"series": {key: [1] * 11 for key in charts.SUMMARY_SERIES}},
    {"series": {key: ["1"] * 12 for key in charts.SUMMARY_SERIES}},
])
def test_a_bad_summary_spec_raises(change):
    spec = {"kind": "summary", "title": NAME, "months": [f"T{m}/26" for m in range(1, 13)],
            "series": {key: [1] * 12 for key in charts.SUMMARY_SERIES}, **change}
    with pytest.raises(ValueError):
        charts.draw(spec)
