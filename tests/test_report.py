"""The monthly report: each figure against a value worked out independently in the test, and
``/baocao`` on every channel. The clock is at 28/11/2026, so "last month" is 10/2026."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import BytesIO

from openpyxl import load_workbook

from bot import report
from storage.base import NewMember
from storage.health import NewReading, NewVisit
from storage.ledger import NewEntry, NewLoan, ScheduleRow
from tests.test_roles import club as club  # the fixture
from tests.test_roles import join_as_chair

OCT = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
# Names a spreadsheet would take for a formula if they were written as typed.
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)"]


async def history(chat, club_id: int, chair_id: int) -> dict[str, int]:
    """A small October: members, a loan and a payment, readings, a visit, a meeting."""
    async with chat.bot.storage.transaction() as tx:
        people = []
        for n, (sex, year, household) in enumerate([
            ("male", 1950, "poor"), ("female", 1970, "near_poor"), ("female", 1942, "ordinary"),
        ]):
            member_id, _ = await tx.add_member(NewMember(
                club_id, f"Người {n}", sex, year, None, None, "Bản Lốc", household, None,
                "active", chair_id, f"r{n}"), OCT)
            await tx.set_member_status(member_id, "active", chair_id, OCT)
            people.append(member_id)
        a, b, c = people
        await tx.add_entry(NewEntry(club_id, "capital", date(2026, 9, 1), "cap",
                                    cash=20_000_000), OCT)
        loan_id, _ = await tx.add_loan(NewLoan(
            club_id, a, 6_000_000, "cow", 100, 6, "equal_principal", date(2026, 10, 5),
            date(2026, 11, 15), 15, False, None, chair_id, "loan",
            tuple(ScheduleRow(k, date(2026, 10 + k, 15) if k < 3 else date(2027, k - 2, 15),
                              1_000_000, 10_000) for k in range(1, 7))), OCT)
        await tx.add_entry(NewEntry(club_id, "disbursement", date(2026, 10, 5), "d1",
                                    loan_id=loan_id, member_id=a, principal=6_000_000,
                                    cash=-6_000_000), OCT)
        await tx.add_entry(NewEntry(club_id, "repayment", date(2026, 10, 20), "p1",
                                    loan_id=loan_id, member_id=a, principal=-500_000,
                                    interest=60_000, cash=560_000), OCT)
        await tx.add_entry(NewEntry(club_id, "contribution", date(2026, 10, 15), "g1",
                                    member_id=b, cash=50_000), OCT)
        for member, (s, d, high) in zip((a, b), ((150, 95, True), (120, 80, False)),
                                        strict=True):
            await tx.add_reading(NewReading(
                club_id, member, OCT, date(2026, 10, 15), s, d, None, None,
                "grade_1" if high else "normal", high, False, None, None, (), "meeting",
                chair_id, f"bp{member}"), OCT)
        await tx.link_care(b, c, chair_id, OCT)
        await tx.add_visit(NewVisit(club_id, c, b, OCT, date(2026, 10, 25), ("meal",), None,
                                    "", "v1"), OCT)
        await tx.record_attendance(club_id, date(2026, 10, 15), [a, b, chair_id], [c],
                                   chair_id, OCT)
    return {"a": a, "b": b, "c": c}


async def test_every_figure_of_the_month(chat, club):
    chair_id = (await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'"))[0][
        "id"]
    await history(chat, club.info["club_id"], chair_id)
    async with chat.bot.storage.transaction() as tx:
        figures = {f.key: f.value for f in await report.monthly(tx, club.info["club_id"],
                                                                 "2026-10")}
    # Worked out by hand: the chair (born 1956) and Hoa (1958) registered in November, so
    # October counts the three October members.
    assert figures["members"] == 3
    assert (figures["women"], figures["share_women"]) == (2, 67)
    assert (figures["age_under_60"], figures["age_70_79"], figures["age_80_up"]) == (1, 1, 1)
    assert figures["share_older"] == 67 and figures["share_younger"] == 33
    assert figures["poor_near_poor"] == 2
    assert figures["joined"] == 3 and figures["left_club"] == 0
    assert (figures["meetings"], figures["meeting_day"], figures["attended"]) == (1, 20261015,
                                                                                   3)
    assert (figures["overdue_loans"], figures["overdue_amount"], figures["referred"]) == (0, 0,
                                                                                          0)
    assert figures["opening_cash"] == 20_000_000
    assert (figures["loans_given"], figures["disbursed"]) == (1, 6_000_000)
    assert (figures["repaid"], figures["interest"]) == (500_000, 60_000)
    assert figures["contributions"] == 50_000
    assert figures["outstanding"] == 5_500_000
    assert figures["closing_cash"] == 20_000_000 - 6_000_000 + 560_000 + 50_000
    assert (figures["borrowers"], figures["share_borrowers"]) == (1, 33)
    assert (figures["measured"], figures["share_high"], figures["urgent_readings"]) == (2, 50, 0)
    assert (figures["clients"], figures["volunteers"], figures["visits"]) == (1, 1, 1)
    assert figures["clients_unvisited"] == 0
    assert figures["reminders"] == 0
    # November: the first instalment (1,000,000 + 10,000 interest) fell due on the 15th and
    # only the October payment (500,000 + 60,000) was made, so 450,000 is overdue.
    async with chat.bot.storage.transaction() as tx:
        november = {f.key: f.value for f in await report.monthly(tx, club.info["club_id"],
                                                                  "2026-11")}
    assert (november["overdue_loans"], november["overdue_amount"]) == (1, 450_000)
    assert november["meeting_day"] == 0 and november["meetings"] == 0


async def test_the_board_gets_last_months_report(chat, club):
    chair_id = (await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'"))[0][
        "id"]
    await history(chat, club.info["club_id"], chair_id)
    reply = await club.chair.say("/baocao")
    assert "Báo cáo tháng nào ạ?" in reply.text
    assert reply.labels == ["Tháng trước (10/2026)"]
    start = len(club.chair.messages)
    await club.chair.pick("Tháng trước (10/2026)")
    summary, making, *edits, sent = club.chair.messages[start:]
    # The summary is short enough to be the caption of the 12-month picture.
    assert summary.photo is not None and summary.photo.startswith(b"\x89PNG")
    assert summary.text.startswith("Báo cáo của CLB LTHTGN bản Lốc, tháng 10/2026:")
    assert summary.text.split("\n")[2:] == [
        "Thành viên: 3 người (nữ 2, 67%; từ 60 tuổi trở lên 2, 67%; hộ nghèo và cận nghèo 2)."
        " Vào thêm 3, ra 0.",
        "Sinh hoạt: họp ngày 15/10/2026, 3 người dự.",
        "Quỹ: tiền mặt đầu tháng 20.000.000\xa0₫, cuối tháng 14.610.000\xa0₫. Cho vay "
        "6.000.000\xa0₫ (1 khoản); thu gốc 500.000\xa0₫, lãi 60.000\xa0₫; góp quỹ 50.000\xa0₫."
        " Dư nợ 5.500.000\xa0₫; quá hạn 0\xa0₫ (0 khoản). 1 thành viên đang vay (33%).",
        "Sức khỏe: 2 người được đo huyết áp, 1 người cao ở lần đo cuối (50%); 0 lần đo phải đi "
        "khám ngay, 0 người được chuyển đi khám.",
        "Chăm sóc tại nhà: 1 người được 1 tình nguyện viên chăm sóc, 1 lần thăm; 0 người quá 14 "
        "ngày chưa được thăm.",
        "Tin nhắc đã gửi: 0.",
        "",
        "Đủ các số liệu và cách tính có trong tệp Excel.",
    ]
    assert making.text == "Đang xuất tệp Excel, bác chờ một chút ạ..."
    # Telegram changes the progress message in place; text-only channels leave that out.
    assert [e.text for e in edits] == (["Đã xuất xong."] if chat.kind == "telegram" else [])
    assert sent.text.startswith("Báo cáo tháng 10/2026 của CLB LTHTGN bản Lốc (tệp Excel).")
    assert sent.document is not None
    name, data = sent.document
    assert name == "bao-cao_clb-lthtgn-ban-loc_2026-10.xlsx"
    sheet = load_workbook(BytesIO(data))["Báo cáo"]
    row = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    assert (row["Câu lạc bộ"], row["Tháng"], row["Thành viên"]) == ("CLB LTHTGN bản Lốc",
                                                                     "2026-10", 3)
    assert (row["Dư nợ"], row["Tỷ lệ người huyết áp cao"]) == (5_500_000, 50)
    assert row["Ngày họp"] == datetime(2026, 10, 15)  # a real date cell
    assert sheet.max_row == 2  # one club, no total row
    reply = await club.chair.say("/baocao")
    reply = await club.chair.say("12/2026")
    assert "Tháng này chưa tới." in reply.text
    start = len(club.chair.messages)
    await club.chair.say("thang 9")
    summary = club.chair.messages[start]
    assert "tháng 09/2026" in summary.text and "Thành viên: 0 người" in summary.text
    assert "Sinh hoạt: tháng này chưa ghi buổi họp nào." in summary.text


async def test_a_member_cannot_get_the_report(chat, club):
    reply = await club.hoa.say("/baocao")
    assert reply.text.startswith("Xin lỗi, bác chưa dùng được việc này.")


async def test_the_spreadsheet_has_the_figures_and_their_definitions(chat, club, tmp_path):
    from bot.report_xlsx import workbook

    chair_id = (await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'"))[0][
        "id"]
    await history(chat, club.info["club_id"], chair_id)
    other = await chat.bot.new_club(name="CLB LTHTGN bản Na")
    async with chat.bot.storage.transaction() as tx:
        clubs = [c for c, _ in await tx.list_clubs()]
        rows = [(c, await report.monthly(tx, c.id, "2026-10")) for c in clubs]
    book = load_workbook(BytesIO(workbook("2026-10", rows)))
    sheet = book["Báo cáo"]
    head = [cell.value for cell in sheet[1]]
    assert head[:5] == ["Câu lạc bộ", "Xã", "Huyện", "Tỉnh", "Tháng"]
    first = dict(zip(head, [cell.value for cell in sheet[2]], strict=True))
    assert first["Câu lạc bộ"] == "CLB LTHTGN bản Lốc" and first["Thành viên"] == 3
    assert first["Dư nợ"] == 5_500_000 and first["Tỷ lệ nữ"] == 67
    second = dict(zip(head, [cell.value for cell in sheet[3]], strict=True))
    assert second["Câu lạc bộ"] == other["name"] and second["Thành viên"] == 0
    total = dict(zip(head, [cell.value for cell in sheet[4]], strict=True))
    assert total["Câu lạc bộ"] == "Tất cả câu lạc bộ" and total["Thành viên"] == 3
    assert total["Tỷ lệ người huyết áp cao"] == 50  # recomputed from the sums
    definitions = {row[1].value: row[2].value for row in book["Định nghĩa"].iter_rows(min_row=2)}
    assert [c.value for c in next(book["Định nghĩa"].iter_rows(min_row=2))][:2] == [
        "Thành viên", "Thành viên"]  # the part, then the figure
    assert definitions["Dư nợ"] == "Tiền gốc còn nợ vào cuối tháng. (đồng)"
    assert len(definitions) == len(report.FIGURES)


async def test_a_club_named_like_a_formula_is_text_in_its_report(text_chat):
    chairs = [("Vi Thị Lan", "0912 000 111"), ("Lò Văn Tâm", "0913 000 222"),
              ("Hà Thị Bình", "0914 000 333"), ("Mồng Văn Hải", "0915 000 444")]
    for n, (name, (chair_name, phone)) in enumerate(zip(FORMULAS, chairs, strict=True)):
        commune, district = FORMULAS[n - 1], FORMULAS[n - 2]
        info = await text_chat.bot.new_club(name=name)
        await text_chat.bot.rows(  # an address typed before 2025, kept as it was typed
            "UPDATE clubs SET commune = ?, district = ?, province_code = NULL, "
            "commune_code = NULL WHERE id = ?", commune, district, info["club_id"])
        chair = await join_as_chair(text_chat, info, name=chair_name, phone=phone)
        await chair.say("/baocao")
        await chair.pick("Tháng trước (10/2026)")
        sent = chair.messages[-1]
        assert sent.document is not None, sent.text
        sheet = load_workbook(BytesIO(sent.document[1]))["Báo cáo"]
        assert sheet.max_row == 2
        where = [(cell.value, cell.data_type) for cell in sheet[2][:5]]
        assert where == [(name, "s"), (commune, "s"), (district, "s"), ("Nghệ An", "s"),
                         ("2026-10", "s")]
        assert [cell.data_type for cell in sheet[2][5:]] == ["n"] * len(report.FIGURES)


async def test_a_month_runs_midnight_to_midnight_in_vietnam(text_chat):
    """Moments are stored in UTC; 31/10 at 20:00 UTC is already 1/11 at 03:00 in Vietnam."""
    bot = text_chat.bot
    club_id = (await bot.new_club())["club_id"]
    early_oct = datetime(2026, 9, 30, 18, 0, tzinfo=UTC)  # 01:00 on 1/10 in Vietnam
    late_oct = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 23:30 on 31/10
    early_nov = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)  # 03:00 on 1/11
    async with bot.storage.transaction() as tx:
        ids = []
        for n, moment in enumerate((early_oct, late_oct, early_nov)):
            member_id, _ = await tx.add_member(NewMember(
                club_id, f"Người {n}", "female", 1950, None, None, "Bản", "ordinary", None,
                "active", None, f"tz{n}"), moment)
            await tx.set_member_status(member_id, "active", None, moment)
            ids.append(member_id)
        for n, moment in enumerate((late_oct, early_nov)):
            await tx._run(
                "INSERT INTO reminders (key, club_id, member_id, kind, due_at, queued_at) "
                "VALUES (?, ?, ?, 'meeting', ?, ?)",
                (f"r{n}", club_id, ids[0], moment.isoformat(), moment.isoformat()))
        october = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-10")}
        november = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-11")}
        utc = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-10", "UTC")}
    assert (october["joined"], october["members"], october["reminders"]) == (2, 2, 1)
    assert (november["joined"], november["members"], november["reminders"]) == (1, 3, 1)
    # Registered in October, approved in November: a member from November on.
    async with bot.storage.transaction() as tx:
        late, _ = await tx.add_member(NewMember(
            club_id, "Người chờ duyệt", "male", 1940, None, None, "Bản", "ordinary", None,
            "pending", None, "tz-late"), late_oct)
        await tx.set_member_status(late, "active", None, early_nov)
        october = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-10")}
        november = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-11")}
    assert (october["members"], october["age_80_up"]) == (2, 0)
    assert (november["members"], november["age_80_up"], november["joined"]) == (4, 1, 2)
    assert (utc["joined"], utc["reminders"]) == (2, 2)  # read in UTC the edges move


async def test_the_running_month_is_measured_on_the_day_of_the_report(chat, club):
    """/baocao for 11/2026 on 28/11: a visit on 15/11 is within 14 days, an instalment due on
    30/11 is not yet overdue (both were wrong when measured at the month's end)."""
    chair_id = (await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'"))[0][
        "id"]
    people = await history(chat, club.info["club_id"], chair_id)
    club_id, nov = club.info["club_id"], datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    async with chat.bot.storage.transaction() as tx:
        await tx.link_care(people["b"], people["a"], chair_id, nov)
        for client, day in ((people["c"], 15), (people["a"], 13)):
            await tx.add_visit(NewVisit(club_id, client, people["b"], nov, date(2026, 11, day),
                                        ("meal",), None, "", f"nov{day}"), nov)
        loan_id, _ = await tx.add_loan(NewLoan(
            club_id, people["b"], 1_000_000, "cow", 100, 1, "lump_sum", date(2026, 11, 2),
            date(2026, 11, 30), 30, False, None, chair_id, "loan-nov",
            (ScheduleRow(1, date(2026, 11, 30), 1_000_000, 10_000),)), nov)
        await tx.add_entry(NewEntry(club_id, "disbursement", date(2026, 11, 2), "d-nov",
                                    loan_id=loan_id, member_id=people["b"],
                                    principal=1_000_000, cash=-1_000_000), nov)
        on_the_day = {f.key: f.value for f in await report.monthly(
            tx, club_id, "2026-11", today=date(2026, 11, 28))}
        at_the_end = {f.key: f.value for f in await report.monthly(tx, club_id, "2026-11")}
    # On 28/11: c was visited on 15/11 (13 days before), a on 13/11 (15 days before).
    assert (on_the_day["clients"], on_the_day["clients_unvisited"]) == (2, 1)
    # The October loan's 15/11 instalment is overdue; the new one's 30/11 is not yet.
    assert (on_the_day["overdue_loans"], on_the_day["overdue_amount"]) == (1, 450_000)
    # Once November is over (30/11), neither visit is within 14 days and both loans are late.
    assert (at_the_end["clients_unvisited"], at_the_end["overdue_loans"]) == (2, 2)
    assert at_the_end["overdue_amount"] == 450_000 + 1_010_000
    # The chat's report (the clock is at 28/11/2026) measures on that day.
    await club.chair.say("/baocao")
    start = len(club.chair.messages)
    await club.chair.say("11/2026")
    summary = club.chair.messages[start].text
    assert ("Chăm sóc tại nhà: 2 người được 1 tình nguyện viên chăm sóc, 2 lần thăm; 1 người quá "
            "14 ngày chưa được thăm.") in summary
    assert "quá hạn 450.000\xa0₫ (1 khoản)" in summary
    job = (await chat.bot.rows("SELECT params FROM exports WHERE kind = 'report'"))[-1]
    assert '"today": "2026-11-28"' in job["params"]
