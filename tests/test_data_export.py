"""The board's data export (``/xuatdulieu``): every record of the club as Excel or CSV files.

The club's October (``tests.test_report.history``: members, a loan and a repayment, readings,
a visit, a meeting) is written directly; the chair asks for the file on every channel and the
test opens it. The clock is at 28/11/2026 09:00 in Vietnam; October's records were written at
10/10/2026 09:00 Vietnam time.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from bot import archive
from bot.messages import T
from storage.base import NewMember
from storage.exports import ExportJob
from storage.ledger import NewEntry
from tests.test_report import OCT, history
from tests.test_roles import REFUSAL, join_as_chair
from tests.test_roles import club as club  # the fixture

QUESTION = "Bác muốn nhận tệp dạng nào ạ?"
SHEETS = ["Thành viên", "Khoản vay", "Sổ quỹ", "Huyết áp và cân nặng", "Thăm nom tại nhà",
          "Điểm danh buổi họp"]
CSV_FILES = ["1_thanh-vien.csv", "2_khoan-vay.csv", "3_so-quy.csv",
             "4_huyet-ap-va-can-nang.csv", "5_tham-nom-tai-nha.csv",
             "6_diem-danh-buoi-hop.csv"]
MEMBER_HEAD = ["Mã thành viên", "Họ tên", "Giới tính", "Năm sinh", "Ngày sinh",
               "Số điện thoại", "Thôn/bản", "Hoàn cảnh gia đình", "Dân tộc", "Tình trạng",
               "Vai trò", "Thời điểm đăng ký (giờ Việt Nam)",
               "Thời điểm duyệt hoặc quyết định (giờ Việt Nam)"]
LOCAL_OCT = datetime(2026, 10, 10, 9, 0)  # OCT in Vietnam time, as the file shows it


async def chair_id(chat) -> int:
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'")
    return row["id"]


async def october(chat, club) -> dict[str, int]:
    """The club's October, plus a ledger note that looks like a formula."""
    people = await history(chat, club.info["club_id"], await chair_id(chat))
    async with chat.bot.storage.transaction() as tx:
        await tx.add_entry(NewEntry(club.info["club_id"], "contribution", date(2026, 10, 16),
                                    "g2", member_id=people["c"], cash=20_000,
                                    note="=1+1"), OCT)
    return people


def table(sheet) -> list[dict]:
    """A sheet's rows as dicts by header."""
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


async def ask(person, answer: str):
    reply = await person.say("/xuatdulieu")
    assert QUESTION in reply.text and "Ví dụ: Excel" in reply.text
    assert reply.labels == ["Excel (.xlsx)", "CSV (.zip)"]
    return await person.pick(answer) if answer in reply.labels else await person.say(answer)


async def test_the_chair_gets_every_record_as_an_excel_file(chat, club):
    people = await october(chat, club)
    reply = await ask(club.chair, "Excel (.xlsx)")
    assert reply.text.startswith("Dữ liệu của CLB LTHTGN bản Lốc ngày 28/11/2026, dạng tệp "
                                 "Excel.")
    assert "thông tin cá nhân của các thành viên" in reply.text
    assert "giữ cẩn thận" in reply.text
    if chat.kind == "zalo":  # personal data: the download link lasts a day, not a week
        assert "(link dùng được 24 giờ): http://127.0.0.1:" in reply.text
        [(expires,)] = [tuple(r.values()) for r in await chat.bot.rows(
            "SELECT expires_at FROM media WHERE content_type LIKE '%sheet'")]
        assert expires.startswith("2026-11-29T02:00")
    assert reply.document is not None
    name, data = reply.document
    assert name == "du-lieu_clb-lthtgn-ban-loc_2026-11-28.xlsx"
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])

    members = book["Thành viên"]
    assert [cell.value for cell in members[1]] == MEMBER_HEAD
    by_name = {row["Họ tên"]: row for row in table(members)}
    assert set(by_name) == {"Vi Thị Lan", "Mồng Thị Hoa", "Người 0", "Người 1", "Người 2"}
    lan = by_name["Vi Thị Lan"]
    assert (lan["Giới tính"], lan["Năm sinh"], lan["Số điện thoại"]) == ("Nữ", 1956,
                                                                         "0912000111")
    assert (lan["Thôn/bản"], lan["Vai trò"], lan["Tình trạng"]) == (
        "Bản Lốc", "Chủ nhiệm, Thành viên", "đang sinh hoạt")
    first = by_name["Người 0"]
    assert first["Mã thành viên"] == people["a"]
    assert (first["Giới tính"], first["Năm sinh"], first["Hoàn cảnh gia đình"]) == (
        "Nam", 1950, "Hộ nghèo")
    assert first["Thời điểm đăng ký (giờ Việt Nam)"] == LOCAL_OCT
    assert first["Số điện thoại"] is None and first["Vai trò"] is None

    [loan] = table(book["Khoản vay"])
    assert loan["Mã thành viên"] == people["a"] and loan["Người vay"] == "Người 0"
    assert loan["Số tiền vay (đồng)"] == 6_000_000
    assert (loan["Mục đích vay"], loan["Lãi suất tháng (%)"], loan["Thời hạn (tháng)"]) == (
        "Bò", 1, 6)
    assert loan["Ngày cho vay"] == datetime(2026, 10, 5)
    assert loan["Hạn trả đầu tiên"] == datetime(2026, 11, 15)
    assert (loan["Gốc đã trả (đồng)"], loan["Lãi đã trả (đồng)"]) == (500_000, 60_000)
    assert loan["Gốc còn nợ (đồng)"] == 5_500_000
    assert loan["Chuyển từ sổ giấy"] == "Không"

    ledger = table(book["Sổ quỹ"])
    assert [row["Loại"] for row in ledger] == ["Tiền vào quỹ", "Giải ngân", "Trả nợ",
                                               "Góp quỹ", "Góp quỹ"]
    repayment = next(row for row in ledger if row["Lãi thu được (đồng)"] == 60_000)
    assert repayment["Ngày"] == datetime(2026, 10, 20)
    assert repayment["Thay đổi dư nợ gốc (đồng)"] == -500_000
    assert repayment["Thay đổi tiền mặt (đồng)"] == 560_000
    assert repayment["Mã khoản vay"] == loan["Mã khoản vay"]
    assert repayment["Thành viên"] == "Người 0"
    assert sum(row["Thay đổi tiền mặt (đồng)"] for row in ledger) == (
        20_000_000 - 6_000_000 + 560_000 + 50_000 + 20_000)
    formula = book["Sổ quỹ"].cell(row=len(ledger) + 1, column=12)
    assert (formula.value, formula.data_type) == ("=1+1", "s")  # typed text, not a formula

    readings = {row["Thành viên"]: row for row in table(book["Huyết áp và cân nặng"])}
    high = readings["Người 0"]
    assert (high["Tâm thu (số trên)"], high["Tâm trương (số dưới)"]) == (150, 95)
    assert (high["Huyết áp cao"], high["Mức độ"]) == ("Có", "tăng huyết áp độ 1")
    assert (high["Nơi đo"], high["Người đo"]) == ("tại buổi sinh hoạt", "Vi Thị Lan")
    assert high["Ngày"] == datetime(2026, 10, 15)
    assert readings["Người 1"]["Huyết áp cao"] == "Không"

    [visit] = table(book["Thăm nom tại nhà"])
    assert (visit["Người được thăm"], visit["Tình nguyện viên"]) == ("Người 2", "Người 1")
    assert (visit["Việc đã giúp"], visit["Điều đáng lo"]) == ("Nấu bữa ăn", "Không có gì đáng lo")

    attendance = {row["Thành viên"]: row["Có mặt"] for row in table(book["Điểm danh buổi họp"])}
    assert attendance == {"Người 0": "Có", "Người 1": "Có", "Vi Thị Lan": "Có",
                          "Người 2": "Không"}


async def test_the_csv_files_open_in_excel(chat, club):
    people = await october(chat, club)
    reply = await ask(club.chair, "csv")
    assert "dạng các tệp CSV trong một tệp .zip" in reply.text
    assert reply.document is not None
    name, data = reply.document
    assert name == "du-lieu_clb-lthtgn-ban-loc_2026-11-28.zip"
    files = zipfile.ZipFile(io.BytesIO(data))
    assert files.namelist() == CSV_FILES
    raw = {name: files.read(name) for name in CSV_FILES}
    assert all(content.startswith(b"\xef\xbb\xbf") for content in raw.values())  # the BOM
    rows = {name: list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
            for name, content in raw.items()}
    assert list(rows["1_thanh-vien.csv"][0]) == MEMBER_HEAD
    first = next(row for row in rows["1_thanh-vien.csv"] if row["Họ tên"] == "Người 0")
    assert first["Mã thành viên"] == str(people["a"])
    assert first["Thời điểm đăng ký (giờ Việt Nam)"] == "2026-10-10 09:00"
    [loan] = rows["2_khoan-vay.csv"]
    assert (loan["Số tiền vay (đồng)"], loan["Ngày cho vay"]) == ("6000000", "2026-10-05")
    assert loan["Gốc còn nợ (đồng)"] == "5500000"
    notes = [row["Ghi chú"] for row in rows["3_so-quy.csv"]]
    assert "'=1+1" in notes  # not run as a formula when opened
    high = next(row for row in rows["4_huyet-ap-va-can-nang.csv"]
                if row["Thành viên"] == "Người 0")
    assert (high["Tâm thu (số trên)"], high["Tâm trương (số dưới)"]) == ("150", "95")
    assert high["Ngày"] == "2026-10-15" and high["Mạch"] == ""
    assert len(rows["5_tham-nom-tai-nha.csv"]) == 1
    assert len(rows["6_diem-danh-buoi-hop.csv"]) == 4


async def test_typed_formats_and_a_wrong_answer(text_chat):
    chat = text_chat
    info = await chat.bot.new_club()
    chair = await join_as_chair(chat, info)
    for typed, ext in (("EXCEL", "xlsx"), ("xlsx", "xlsx"), ("Ếxcel", "xlsx"), ("CSV", "zip"),
                       ("2", "zip")):
        reply = await ask(chair, typed)
        assert reply.document is not None and reply.document[0].endswith("." + ext), typed
    reply = await chair.say("/xuatdulieu")
    reply = await chair.say("pdf")
    assert "Bác gõ một số từ 1 đến 2, hoặc gõ câu trả lời nhé." in reply.text
    assert QUESTION in reply.text
    reply = await chair.say("excel")
    assert reply.document is not None


async def test_a_member_is_refused(chat, club):
    await october(chat, club)
    reply = await club.hoa.say("/xuatdulieu")
    assert reply.text.startswith(REFUSAL)
    assert await chat.bot.rows("SELECT id FROM exports") == []
    assert not [m for m in club.hoa.unread() if m.document is not None]


async def test_another_clubs_chair_gets_only_their_own_club(text_chat):
    chat = text_chat
    loc = await chat.bot.new_club()
    await join_as_chair(chat, loc)
    na = await chat.bot.new_club(name="CLB LTHTGN bản Na")
    tam = await join_as_chair(chat, na, name="Lò Văn Tâm", phone="0913 000 222")
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'")
    await history(chat, loc["club_id"], row["id"])
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Lò Văn Tâm'")
    tam_id = row["id"]

    reply = await ask(tam, "Excel (.xlsx)")
    assert reply.document is not None
    book = load_workbook(io.BytesIO(reply.document[1]))
    assert [r["Họ tên"] for r in table(book["Thành viên"])] == ["Lò Văn Tâm"]
    assert all(sheet.max_row == 1 for sheet in book.worksheets[1:])

    # A job asking for the other club's data (as if the params were forged) is refused.
    job = ExportJob(0, archive.KIND, {"club_id": loc["club_id"], "format": "xlsx"}, tam_id,
                    "text", "x", "vi", datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    seen = []
    async with chat.bot.storage.transaction() as tx:
        result = await archive.data_file(tx, job, lambda *args: seen.append(args))
    assert result == T("Only the club's board can have the club's data.")
    assert seen == []
    # So is a job of a former board member, and one with nobody asking.
    async with chat.bot.storage.transaction() as tx:
        await tx.revoke_role(tam_id, "chair")
        own = await archive.data_file(tx, ExportJob(
            0, archive.KIND, {"club_id": na["club_id"], "format": "csv"}, tam_id, "text", "x",
            "vi", job.requested_at), lambda *args: None)
        nobody = await archive.data_file(tx, ExportJob(
            0, archive.KIND, {"club_id": na["club_id"]}, None, "text", "x", "vi",
            job.requested_at), lambda *args: None)
    assert isinstance(own, T) and isinstance(nobody, T)


async def test_an_erased_member_is_only_a_number(text_chat):
    chat = text_chat
    info = await chat.bot.new_club()
    chair = await join_as_chair(chat, info)
    [row] = await chat.bot.rows("SELECT id FROM members WHERE full_name = 'Vi Thị Lan'")
    people = await history(chat, info["club_id"], row["id"])
    async with chat.bot.storage.transaction() as tx:
        await tx.erase_member(people["a"], row["id"], OCT)
        pending, _ = await tx.add_member(NewMember(
            info["club_id"], "Lường Văn Pọm", "male", 1949, None, "+84914000333", "Bản Lốc",
            "poor", None, "pending", None, "r-pending"), OCT)
    reply = await ask(chair, "Excel (.xlsx)")
    book = load_workbook(io.BytesIO(reply.document[1]))
    members = {r["Mã thành viên"]: r for r in table(book["Thành viên"])}
    erased = members[people["a"]]
    assert erased["Họ tên"] == f"#{people['a']}" and erased["Tình trạng"] == "đã xóa dữ liệu"
    assert all(erased[key] is None for key in ("Giới tính", "Năm sinh", "Số điện thoại",
                                                "Thôn/bản", "Hoàn cảnh gia đình"))
    assert members[pending]["Tình trạng"] == "đang chờ duyệt"
    assert members[pending]["Số điện thoại"] == "0914000333"
    readings = table(book["Huyết áp và cân nặng"])
    assert [r["Mã thành viên"] for r in readings] == [people["b"]]
    # The loan stays in the accounts, under the number only.
    [loan] = table(book["Khoản vay"])
    assert loan["Người vay"] == f"#{people['a']}"
    # No secret is in the file.
    text = " ".join(str(cell) for sheet in book.worksheets
                    for row in sheet.iter_rows(values_only=True) for cell in row)
    for secret in ("r-pending", info["board_code"], info["member_code"], "text:"):
        assert secret not in text
