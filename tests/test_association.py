"""The association's view across clubs (issue 7): grants from the command line, linking a chat
account with a one-time code, ``/baocao`` over an area built as an export job (summary, quiet
clubs, spreadsheet), and who may see what. The clock is at 28/11/2026: last month is 10/2026.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot import association, report
from bot.association import Area
from bot.cli import main
from bot.conversations.monthly_report import area_report_file
from bot.render import translate
from storage.base import NewMember
from storage.exports import ExportJob
from storage.health import NewReading, NewVisit
from storage.ledger import NewEntry, NewLoan, ScheduleRow
from tests.test_report import FORMULAS, history
from tests.test_roles import MEMBER_MENU, REFUSAL
from tests.test_roles import club as club  # the fixture

SEPT = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
OCT = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
WELCOME = "Từ nay tài khoản này nhận báo cáo tháng của các câu lạc bộ ở"
WRONG = "Mã của Hội không đúng, đã dùng rồi hoặc đã hết hạn."


async def person_in(tx, club_id: int, key: str, *, at=SEPT, sex="female", year=1950) -> int:
    member_id, _ = await tx.add_member(NewMember(
        club_id, f"Người {key}", sex, year, None, None, "Bản", "ordinary", None, "active",
        None, key), at)
    await tx.set_member_status(member_id, "active", None, at)
    return member_id


def reading(club_id: int, member_id: int, day: date, key: str, *, high=False, urgent=False):
    systolic, diastolic = (185, 115) if urgent else (160, 95) if high else (120, 80)
    moment = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    return NewReading(club_id, member_id, moment, day, systolic, diastolic, None, None,
                      "grade_2" if high or urgent else "normal", high or urgent, urgent, None,
                      None, (), "self", None, key)


async def chair_id(chat) -> int:
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'")
    return row["id"]


async def province(chat, club) -> dict[str, dict]:
    """Around the fixture's club (Thông Thụ, Quế Phong, Nghệ An, with the October of
    test_report): a club of Nghệ An that recorded nothing in October, one that recorded a
    reading but held no meeting (its old commune, Châu Kim, is now Xã Quế Phong), and a club
    of Phú Thọ (Mai Hạ, once of Mai Châu, Hòa Bình) that did both."""
    await history(chat, club.info["club_id"], await chair_id(chat))
    na = await chat.bot.new_club(name="CLB LTHTGN bản Na", commune="Tiền Phong")
    muong = await chat.bot.new_club(name="CLB LTHTGN bản Mường", commune="Châu Kim")
    hoa_binh = await chat.bot.new_club(name="CLB LTHTGN xóm Mới", commune="Mai Hạ",
                                       district="Mai Châu", province="Phú Thọ")
    async with chat.bot.storage.transaction() as tx:
        someone = await person_in(tx, muong["club_id"], "muong-1")
        await tx.add_reading(reading(muong["club_id"], someone, date(2026, 10, 12), "m1",
                                     high=True), OCT)
        other = await person_in(tx, hoa_binh["club_id"], "hb-1")
        await tx.record_attendance(hoa_binh["club_id"], date(2026, 10, 15), [other], [], None,
                                   OCT)
    return {"na": na, "muong": muong, "hoa_binh": hoa_binh}


async def grant(chat, **area: str) -> dict:
    async with chat.bot.storage.transaction() as tx:
        return await association.grant(
            tx, role="association", name="Nguyễn Văn An", area=Area(**area),
            granted_by="test", now=chat.bot.clock())


async def officer(chat, **area: str):
    """An officer with a grant over ``area``, linked in the chat with the code."""
    given = await grant(chat, **area)
    person = chat.person("Nguyễn Văn An")
    reply = await person.say(f"/hoinct {given['code'].lower()}")
    assert WELCOME in reply.text, reply.text
    return person, given


async def area_report(person) -> tuple[str, list]:
    """Ask for last month's report; return every text received and the messages."""
    reply = await person.say("/baocao")
    assert "Báo cáo tháng nào ạ?" in reply.text, reply.text
    first = len(person.messages)
    await person.pick("Tháng trước (10/2026)")
    received = person.messages[first:]
    person.seen = len(person.messages)
    return "\n\n".join(m.text for m in received), received


# --- the officer's report --------------------------------------------------------------------


async def test_officer_links_and_gets_the_month_of_the_province(chat, club):
    clubs = await province(chat, club)
    person, given = await officer(chat, province="nghe an")
    assert given["province"] == "Nghệ An" and given["clubs"] == 3  # the official name
    assert (given["province_code"], given["commune_code"], given["unconverted"]) == (40, None, 0)
    [account] = await chat.bot.rows("SELECT operator_id FROM operator_accounts")
    assert account["operator_id"] == given["id"]
    text, received = await area_report(person)
    assert "Đang tổng hợp báo cáo tháng 10/2026 của các câu lạc bộ ở Nghệ An." in text
    assert "Báo cáo tháng 10/2026 của các câu lạc bộ ở Nghệ An: 3 câu lạc bộ." in text
    # Summed: the three October members of bản Lốc and the one of bản Mường; shares are
    # recomputed from the sums (2 high of 3 measured), not added up.
    assert "Thành viên: 4 người (nữ 3, 75%;" in text
    assert "Sức khỏe: 3 người được đo huyết áp, 2 người cao ở lần đo cuối (67%)" in text
    assert "Dư nợ 5.500.000\xa0₫" in text
    assert "Sinh hoạt: 1 buổi họp; buổi cuối của các câu lạc bộ có tất cả 3 người dự." in text
    assert "Câu lạc bộ không họp hoặc không ghi chép gì trong tháng 10/2026: 2" in text
    assert "- CLB LTHTGN bản Na (Xã Tiền Phong): không ghi chép gì" in text
    assert "- CLB LTHTGN bản Mường (Xã Quế Phong): không có buổi họp (chưa điểm danh)" in text
    assert clubs["hoa_binh"]["name"] not in text and "Phú Thọ" not in text
    assert "Báo cáo tháng 10/2026 của các câu lạc bộ ở Nghệ An, mỗi câu lạc bộ một dòng" in (
        received[-1].text)
    [job] = await chat.bot.rows("SELECT kind, member_id, error, finished_at FROM exports")
    assert job["kind"] == "area_report" and job["member_id"] is None
    assert job["error"] is None and job["finished_at"] is not None
    filename, data = received[-1].document
    assert filename == "bao-cao_nghe-an_2026-10.xlsx"
    book = load_workbook(BytesIO(data))
    sheet = book["Báo cáo"]
    head = [cell.value for cell in sheet[1]]
    rows = [dict(zip(head, [cell.value for cell in row], strict=True))
            for row in sheet.iter_rows(min_row=2)]
    assert [r["Câu lạc bộ"] for r in rows] == [
        "CLB LTHTGN bản Mường", "CLB LTHTGN bản Lốc", "CLB LTHTGN bản Na", "Tất cả câu lạc bộ"]
    assert [r["Xã"] for r in rows[:3]] == ["Xã Quế Phong", "Xã Thông Thụ", "Xã Tiền Phong"]
    assert [r["Thành viên"] for r in rows] == [1, 3, 0, 4]
    assert rows[1]["Dư nợ"] == 5_500_000 and rows[3]["Dư nợ"] == 5_500_000
    assert rows[3]["Tỷ lệ người huyết áp cao"] == 67 and rows[0]["Tỷ lệ người huyết áp cao"] == 100
    quiet = [[cell.value for cell in row] for row in book["Chưa họp, chưa ghi chép"].iter_rows()]
    assert quiet == [
        ["Câu lạc bộ", "Xã", "Huyện", "Tỉnh", "Tình trạng"],
        ["CLB LTHTGN bản Na", "Xã Tiền Phong", "Quế Phong", "Nghệ An", "Không ghi chép gì"],
        ["CLB LTHTGN bản Mường", "Xã Quế Phong", "Quế Phong", "Nghệ An",
         "Không có buổi họp (chưa điểm danh)"],
    ]
    assert len(list(book["Định nghĩa"].iter_rows(min_row=2))) == len(report.FIGURES)


async def test_an_officer_of_another_province_sees_only_its_clubs(chat, club):
    clubs = await province(chat, club)
    person, given = await officer(chat, province="Phu Tho", district="mai chau")
    assert (given["province"], given["district"], given["clubs"]) == ("Phú Thọ", "Mai Châu", 1)
    text, _ = await area_report(person)
    assert "các câu lạc bộ ở Mai Châu, Phú Thọ: 1 câu lạc bộ." in text
    assert "Thành viên: 1 người" in text and "Sinh hoạt: 1 buổi họp;" in text
    assert "tất cả câu lạc bộ ở Mai Châu, Phú Thọ đều có họp và có ghi chép" in text
    for name in ("bản Lốc", "bản Na", "bản Mường", "Nghệ An"):
        assert name not in text
    assert clubs["hoa_binh"]["name"] == "CLB LTHTGN xóm Mới"


async def test_a_commune_officer_sees_the_clubs_of_the_commune(chat, club):
    await province(chat, club)
    person, given = await officer(chat, province="Nghệ An", district="Quế Phong",
                                  commune="tien phong")
    assert (given["commune"], given["commune_code"], given["district"]) == (
        "Xã Tiền Phong", 16750, "")  # a commune: the district, abolished, is not kept
    text, _ = await area_report(person)
    assert "các câu lạc bộ ở Xã Tiền Phong, Nghệ An: 1 câu lạc bộ." in text
    assert "- CLB LTHTGN bản Na (Xã Tiền Phong): không ghi chép gì" in text
    assert "bản Lốc" not in text


async def test_the_officers_menu_shows_the_report_and_no_member_tasks(chat, club):
    person, _ = await officer(chat, province="Nghệ An")
    reply = await person.say("/menu")
    assert reply.labels == ["Báo cáo tháng"]
    assert not set(MEMBER_MENU) & set(reply.labels)
    assert "mã mời" not in reply.text  # no newcomer's greeting
    reply = await person.say("/vay")  # a member's task
    assert reply.text.startswith(REFUSAL)
    reply = await person.say("/hoinct")
    assert "đã nhận báo cáo tháng của các câu lạc bộ ở Nghệ An" in reply.text


async def test_a_chair_who_is_also_an_officer_chooses_the_report(chat, club):
    await province(chat, club)
    given = await grant(chat, province="Nghệ An")
    reply = await club.chair.say("hoinct")
    assert "Bác gõ mã mà Hội đã đưa cho bác." in reply.text
    reply = await club.chair.say(given["code"])
    assert WELCOME in reply.text
    reply = await club.chair.say("/baocao")
    assert "Bác muốn xem báo cáo nào" in reply.text
    assert reply.labels == ["CLB LTHTGN bản Lốc", "Các câu lạc bộ ở Nghệ An"]
    await club.chair.pick("CLB LTHTGN bản Lốc")
    reply = await club.chair.pick("Tháng trước (10/2026)")
    assert "Báo cáo của CLB LTHTGN bản Lốc, tháng 10/2026:" in "\n".join(
        m.text for m in club.chair.messages[-4:])
    await club.chair.say("/baocao")
    await club.chair.pick("Các câu lạc bộ ở Nghệ An")
    first = len(club.chair.messages)
    await club.chair.pick("Tháng trước (10/2026)")
    text = "\n\n".join(m.text for m in club.chair.messages[first:])
    assert "Nghệ An: 3 câu lạc bộ." in text


# --- who may not ------------------------------------------------------------------------------


async def test_a_member_cannot_get_the_association_view(chat, club):
    await province(chat, club)
    reply = await club.hoa.say("/baocao")
    assert reply.text.startswith(REFUSAL)
    assert await chat.bot.rows("SELECT id FROM exports") == []


async def test_a_revoked_officer_is_refused_politely(chat, club):
    await province(chat, club)
    person, given = await officer(chat, province="Nghệ An")
    async with chat.bot.storage.transaction() as tx:
        revoked = await association.revoke(tx, given["id"], chat.bot.clock())
    assert revoked.revoked_at is not None
    reply = await person.say("/baocao")
    assert reply.text.startswith(REFUSAL)
    assert "Báo cáo tháng" not in reply.labels
    assert await chat.bot.rows("SELECT id FROM exports") == []
    async with chat.bot.storage.transaction() as tx:  # its codes stop working too
        with pytest.raises(ValueError, match="revoked"):
            await association.issue_code(tx, given["id"], chat.bot.clock())


async def test_the_job_checks_the_grant_again_when_it_runs(text_chat):
    await text_chat.bot.new_club()
    given = await grant(text_chat, province="Nghệ An")
    job = ExportJob(1, "area_report", {"operator_id": given["id"], "month": "2026-10",
                                       "province": "Nghệ An", "district": "", "commune": "",
                                       "province_code": 40, "commune_code": None},
                    None, "text", "x", "vi", text_chat.bot.clock())
    steps = []

    def progress(done, total, what):
        steps.append((done, total, translate(what, "vi")))

    async with text_chat.bot.storage.transaction() as tx:
        built = await area_report_file(tx, job, progress)
        assert built.filename == "bao-cao_nghe-an_2026-10.xlsx"
        assert steps == [(1, 1, "số liệu các câu lạc bộ"), (1, 3, "Báo cáo"), (2, 3, "Định nghĩa"),
                         (3, 3, "Chưa họp, chưa ghi chép")]
        other = ExportJob(2, "area_report", {**job.params, "province": "Hòa Bình"}, None,
                          "text", "x", "vi", text_chat.bot.clock())
        moved = await area_report_file(tx, other, progress)
        assert "quyền của bác nay là cho địa bàn khác" in translate(moved, "vi")
        await association.revoke(tx, given["id"], text_chat.bot.clock())
        refused = await area_report_file(tx, job, progress)
    assert translate(refused, "vi").startswith("Xin lỗi, tài khoản này không còn quyền xem")


async def test_clubs_named_like_formulas_are_text_in_the_area_report(text_chat):
    clubs = [(name, FORMULAS[n - 1], FORMULAS[n - 2]) for n, name in enumerate(FORMULAS)]
    async with text_chat.bot.storage.transaction() as tx:  # typed before 2025, not converted
        for name, commune, district in clubs:
            await tx.create_club(name, commune, district, "Nghệ An", 15, text_chat.bot.clock())
    given = await grant(text_chat, province="Nghệ An")
    job = ExportJob(1, "area_report", {"operator_id": given["id"], "month": "2026-10",
                                       "province": "Nghệ An", "district": "", "commune": "",
                                       "province_code": 40, "commune_code": None},
                    None, "text", "x", "vi", text_chat.bot.clock())
    async with text_chat.bot.storage.transaction() as tx:
        built = await area_report_file(tx, job, lambda *args: None)
    book = load_workbook(BytesIO(built.data))
    expected = {(name, "s", commune, "s", district, "s", "Nghệ An", "s")
                for name, commune, district in clubs}
    rows = list(book["Báo cáo"].iter_rows(min_row=2))
    assert len(rows) == len(clubs) + 1  # and the total row
    assert {tuple(x for cell in row[:4] for x in (cell.value, cell.data_type))
            for row in rows[:-1]} == expected
    assert all(cell.data_type == "n" for row in rows for cell in row[5:])
    quiet = list(book["Chưa họp, chưa ghi chép"].iter_rows(min_row=2))
    assert {tuple(x for cell in row[:4] for x in (cell.value, cell.data_type))
            for row in quiet} == expected


async def test_wrong_used_and_expired_codes_get_a_clear_answer(chat, club):
    given = await grant(chat, province="Nghệ An")
    person = chat.person("Nguyễn Văn An")
    reply = await person.say("/hoinct ABCDEFGHJK")
    assert WRONG in reply.text
    reply = await person.say(f"/hoinct {given['code']}")
    assert WELCOME in reply.text
    stranger = chat.person("Người lạ")
    reply = await stranger.say(f"/hoinct {given['code']}")  # one use only
    assert WRONG in reply.text
    async with chat.bot.storage.transaction() as tx:
        fresh = await association.issue_code(tx, given["id"], chat.bot.clock())
    chat.bot.clock.advance(days=7, minutes=1)
    reply = await stranger.say(f"/hoinct {fresh['code']}")  # expired after 7 days
    assert WRONG in reply.text
    for _ in range(4):  # with the expired one, five wrong codes within an hour
        reply = await stranger.say("/hoinct XXXXXXXXXX")
        assert WRONG in reply.text
    async with chat.bot.storage.transaction() as tx:
        fresh = await association.issue_code(tx, given["id"], chat.bot.clock())
    reply = await stranger.say(f"/hoinct {fresh['code']}")
    assert "Bác nhập sai mã nhiều lần quá." in reply.text
    assert await chat.bot.rows("SELECT user_id FROM operator_accounts WHERE user_id = ?",
                               str(stranger.user_id)) == []
    hashes = [r["code_hash"] for r in await chat.bot.rows("SELECT code_hash FROM operator_codes")]
    assert given["code"] not in hashes and len(hashes) == 3  # only hashes are kept


# --- storage: the grouped figures equal each club's ---------------------------------------------


async def test_area_figures_equal_each_clubs_month_figures(text_chat):
    """Reversals, entries after the month, a loan repaid in full later, a backdated entry, an
    erased member, an ended care link, two meetings: for every month and every club, the
    figures of a club read with others are those of the club read alone (the grouped queries
    keep clubs apart; ``tests/test_report_golden.py`` checks the values themselves)."""
    loc = await text_chat.bot.new_club()
    na = await text_chat.bot.new_club(name="CLB LTHTGN bản Na")
    empty = await text_chat.bot.new_club(name="CLB trống")
    async with text_chat.bot.storage.transaction() as tx:
        chair = await person_in(tx, loc["club_id"], "chair", at=SEPT, year=1956)
    people = await history(text_chat, loc["club_id"], chair)
    a, b, c = people["a"], people["b"], people["c"]
    club_id = loc["club_id"]
    async with text_chat.bot.storage.transaction() as tx:
        [p1] = await tx._all("SELECT id FROM ledger WHERE idempotency_key = 'p1'")
        [loan] = await tx._all("SELECT loan_id FROM ledger WHERE idempotency_key = 'p1'")
        await tx.add_entry(NewEntry(club_id, "repayment", date(2026, 10, 21), "p1-undo",
                                    loan_id=loan[0], member_id=a, principal=500_000,
                                    interest=-60_000, cash=-560_000, reverses=p1[0]), OCT)
        await tx.add_entry(NewEntry(club_id, "repayment", date(2026, 11, 10), "p2",
                                    loan_id=loan[0], member_id=a, principal=-1_000_000,
                                    interest=50_000, cash=1_050_000), NOV)
        second, _ = await tx.add_loan(NewLoan(
            club_id, b, 2_000_000, "pig", 100, 1, "lump_sum", date(2026, 10, 6),
            date(2026, 11, 6), 6, False, None, chair, "loan-2",
            (ScheduleRow(1, date(2026, 11, 6), 2_000_000, 20_000),)), OCT)
        await tx.add_entry(NewEntry(club_id, "disbursement", date(2026, 10, 6), "d2",
                                    loan_id=second, member_id=b, principal=2_000_000,
                                    cash=-2_000_000), OCT)
        await tx.add_entry(NewEntry(club_id, "repayment", date(2026, 11, 6), "p3",
                                    loan_id=second, member_id=b, principal=-2_000_000,
                                    interest=20_000, cash=2_020_000), NOV)
        third, _ = await tx.add_loan(NewLoan(
            club_id, c, 1_000_000, "seed", 100, 1, "lump_sum", date(2026, 10, 7),
            date(2026, 11, 7), 7, False, None, chair, "loan-3",
            (ScheduleRow(1, date(2026, 11, 7), 1_000_000, 10_000),)), OCT)
        d3, _ = await tx.add_entry(NewEntry(club_id, "disbursement", date(2026, 10, 7), "d3",
                                            loan_id=third, member_id=c, principal=1_000_000,
                                            cash=-1_000_000), OCT)
        await tx.add_entry(NewEntry(club_id, "disbursement", date(2026, 10, 8), "d3-undo",
                                    loan_id=third, member_id=c, principal=-1_000_000,
                                    cash=1_000_000, reverses=d3), OCT)
        await tx.add_entry(NewEntry(club_id, "contribution", date(2026, 10, 3), "late",
                                    member_id=c, cash=30_000), NOV)  # typed in November
        await tx.add_entry(NewEntry(na["club_id"], "capital", date(2026, 11, 2), "na-cap",
                                    cash=5_000_000), NOV)
        await tx.add_reading(reading(club_id, c, date(2026, 10, 16), "late-r", urgent=True),
                             OCT)
        await tx.add_reading(reading(club_id, a, date(2026, 10, 20), "a-later"), OCT)
        await tx.record_attendance(club_id, date(2026, 10, 29), [a, b], [c, chair], chair, OCT)
        await tx.link_care(a, c, chair, SEPT)
        await tx.unlink_care(a, c, OCT)
        await tx.add_visit(NewVisit(club_id, c, b, NOV, date(2026, 11, 9), ("meal",), None, "",
                                    "v2"), NOV)
        gone = await person_in(tx, na["club_id"], "gone")
        await tx.erase_member(gone, None, OCT)
    ids = [loc["club_id"], na["club_id"], empty["club_id"]]
    async with text_chat.bot.storage.transaction() as tx:
        for month in ("2026-08", "2026-09", "2026-10", "2026-11"):
            first, last = report.month_bounds(month)
            grouped = await tx.area_month_figures(ids, first, last)
            for club_id in ids:
                alone = await tx.month_figures(club_id, first, last)
                entries = grouped[club_id]["ledger_entries"]
                assert grouped[club_id] == alone, (month, club_id)
                [(counted,)] = await tx._all(
                    "SELECT COUNT(*) FROM ledger WHERE club_id = ? AND day BETWEEN ? AND ?",
                    (club_id, first.isoformat(), last.isoformat()))
                assert entries == counted
        first, last = report.month_bounds("2026-10")
        october = (await tx.area_month_figures(ids, first, last))[loc["club_id"]]
    # The edge cases are really in October: both loans owed at its end, one reversed.
    assert (october["borrowers"], october["loans_given"], october["left_club"]) == (2, 2, 0)
    assert october["meetings"] == 2 and october["attended"] == 2
    assert october["outstanding"] == 6_000_000 + 2_000_000


async def test_the_report_queries_use_the_indexes(text_chat):
    """EXPLAIN QUERY PLAN: no statement reads a whole large table (ledger, readings, visits,
    reminders, attendance, members)."""
    await text_chat.bot.new_club()
    conn = sqlite3.connect(text_chat.bot.db)
    storage = text_chat.bot.storage
    plans: list[str] = []
    async with storage.transaction() as tx:
        real = tx._all

        async def explained(sql, args=()):
            plans.extend(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql,
                                                        tuple(args)))
            return await real(sql, args)

        tx._all = explained
        await tx.area_month_figures([1], date(2026, 10, 1), date(2026, 10, 31))
    conn.close()
    for table in ("ledger", "readings", "visits", "reminders", "attendance", "members"):
        assert not [p for p in plans if p.startswith(f"SCAN {table}")], (table, plans)
    assert any("ledger_club_day" in p for p in plans)
    assert any("visits_club_day" in p for p in plans)
    assert any("reminders_club_queued" in p for p in plans)


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    db = tmp_path / "ishc.sqlite3"
    monkeypatch.setenv("ISHC_DB", str(db))
    monkeypatch.setenv("ISHC_REMINDERS", "0")
    for key in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for name, commune, district, prov in (
        ("CLB A", "Thông Thụ", "Quế Phong", "Nghệ An"),
        ("CLB B", "Mai Hạ", "Mai Châu", "Phú Thọ"),
        ("CLB C", "Châu Kim", "Quế Phong", "Nghe An"),
    ):
        assert main(["club", "create", "--name", name, "--commune", commune, "--district",
                     district, "--province", prov, "--meeting-day", "15"]) == 0
    return db


def test_admin_grant_list_code_and_revoke(cli_db, capsys):
    capsys.readouterr()
    assert main(["admin", "grant", "--role", "association", "--province", "nghe an",
                 "--district", "que phong", "--name", "Nguyễn Văn An", "--by", "lead"]) == 0
    out = capsys.readouterr().out
    assert ("Quyền xem số 1: Nguyễn Văn An, Hội Người cao tuổi Quế Phong, Nghệ An.\n"
            "Số câu lạc bộ ở đó hiện nay: 2.\n") in out
    code = out.split("Mã dùng một lần: ")[1].split()[0]
    assert len(code) == 10 and not set(code) & set("0O1IL")
    assert f"Cán bộ gửi cho bot trên Telegram hoặc Zalo: /hoinct {code}" in out
    assert main(["admin", "grant", "--role", "association", "--province", "Phú Thọ",
                 "--name", "Hà Thị Bình", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["id"], second["province"], second["clubs"]) == (2, "Phú Thọ", 1)
    assert second["type_in_chat"] == f"/hoinct {second['code']}"
    assert main(["admin", "code", "1", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["id"] == 1 and again["code"] != code
    assert main(["admin", "revoke", "2"]) == 0
    assert capsys.readouterr().out == ("Đã thu hồi quyền xem số 2 (Hà Thị Bình): các tài khoản "
                                       "nhắn tin của quyền này không còn xem báo cáo nữa.\n")
    assert main(["admin", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(g["id"], g["granted_by"], g["accounts"], g["revoked_at"] is None)
            for g in listed] == [(1, "lead", 0, True), (2, listed[1]["granted_by"], 0, False)]
    assert main(["admin", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1\tassociation\tQuế Phong, Nghệ An\tNguyễn Văn An\t0 tài khoản nhắn tin"
    assert lines[1].startswith("2\tassociation\tPhú Thọ\tHà Thị Bình\tđã thu hồi ngày ")
    with sqlite3.connect(cli_db) as connection:
        hashes = [row[0] for row in connection.execute("SELECT code_hash FROM operator_codes")]
    assert len(hashes) == 3 and code not in hashes


def test_admin_refuses_an_area_without_clubs_unless_forced(cli_db, capsys):
    capsys.readouterr()
    assert main(["admin", "grant", "--role", "association", "--province", "Nghệ Ann",
                 "--name", "X"]) == 2
    assert capsys.readouterr().err == (
        'Lỗi: từ ngày 1/7/2025 không có tỉnh "Nghệ Ann". Có phải là: Nghệ An?\n')
    assert main(["admin", "grant", "--role", "association", "--province", "Thanh Hóa",
                 "--name", "X"]) == 2
    assert "chưa có câu lạc bộ nào ở Thanh Hóa" in capsys.readouterr().err
    assert main(["admin", "grant", "--role", "association", "--province", "Thanh Hóa",
                 "--name", "X", "--force"]) == 0
    assert "Số câu lạc bộ ở đó hiện nay: 0." in capsys.readouterr().out
    assert main(["admin", "revoke", "9"]) == 2
    assert "there is no grant 9" in capsys.readouterr().err
    assert main(["admin", "revoke", "1"]) == 0
    assert main(["admin", "revoke", "1"]) == 2
    assert "already revoked" in capsys.readouterr().err
    assert main(["admin", "code", "1"]) == 2
    with pytest.raises(SystemExit):
        main(["admin", "grant", "--role", "chair", "--province", "Nghệ An", "--name", "X"])


def test_report_command_writes_the_area_with_its_quiet_clubs(cli_db, tmp_path, capsys):
    out = tmp_path / "report.xlsx"
    assert main(["report", "--month", "2026-10", "--province", "nghe an", "--district",
                 "QUE PHONG", "--xlsx", str(out)]) == 0
    assert "Đã ghi báo cáo tháng 10/2026 của 2 câu lạc bộ vào tệp" in capsys.readouterr().out
    book = load_workbook(out)
    assert [row[0].value for row in book["Báo cáo"].iter_rows(min_row=2)] == [
        "CLB C", "CLB A", "Tất cả câu lạc bộ"]
    assert [row[0].value for row in book["Chưa họp, chưa ghi chép"].iter_rows(min_row=2)] == [
        "CLB C", "CLB A"]
    assert main(["report", "--month", "2026-10", "--club", "2", "--xlsx", str(out)]) == 0
    assert [row[0].value for row in load_workbook(out)["Báo cáo"].iter_rows(min_row=2)] == [
        "CLB B"]


def test_grant_codes_expire_after_seven_days(cli_db, capsys):
    capsys.readouterr()
    assert main(["admin", "grant", "--role", "association", "--province", "Nghệ An",
                 "--name", "X", "--json"]) == 0
    given = json.loads(capsys.readouterr().out)
    granted = datetime.fromisoformat(given["granted_at"])
    expires = datetime.fromisoformat(given["code_expires"])
    assert expires - granted == timedelta(days=association.CODE_DAYS) == timedelta(days=7)


async def test_the_code_alone_or_a_telegram_link_also_links_the_officer(chat, club):
    await province(chat, club)
    typed, linked = await grant(chat, province="Nghệ An"), await grant(chat, province="Nghệ An")
    person = chat.person("Nguyễn Văn An")
    code = typed["code"]
    reply = await person.say(f"{code[:5]} {code[5:].lower()}")  # typed alone, with a space
    assert WELCOME in reply.text
    other = chat.person("Lò Thị Xuân")
    reply = await other.say(f"/start {linked['code']}")  # what the t.me link sends
    assert WELCOME in reply.text
    # A ten-letter word is not taken for a code; a member's invite code still registers.
    reply = await chat.person("Bác Tư").say("BACHTHANHA")
    assert WELCOME not in reply.text and WRONG not in reply.text
    reply = await chat.person("Bác Năm").say(club.info["member_code"])
    assert "họ và tên" in reply.text and WELCOME not in reply.text
    accounts = await chat.bot.rows("SELECT operator_id FROM operator_accounts ORDER BY 1")
    assert [a["operator_id"] for a in accounts] == sorted([typed["id"], linked["id"]])
