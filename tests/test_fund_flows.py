"""The revolving fund by chat, on every channel: loans, repayments, confirmations, corrections,
loan requests, contributions, the fund and the overdue list.

The clock starts on 28/11/2026 (09:00 in Vietnam); the club meets on the 15th, so a loan given
today falls due on 15/12/2026 and every 15th after.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.conversations.contribution import AddToFund
from bot.conversations.disbursement import GiveLoan
from bot.conversations.loan_rules import ChangeRule
from bot.conversations.repayment import RecordPayment, ReportPayment
from bot.conversations.reversal import Reverse
from bot.i18n import format_money
from tests.harness import _buttons
from tests.test_roles import (
    Club,
    approve,
    give_role,
    inbound_of,
    join_as_chair,
    member_id,
    register,
)
from tests.test_roles import club as club  # the fixture

REFUSAL = "Xin lỗi, bác chưa dùng được việc này."
SAVE = "Đúng, lưu lại"
SEND = "Đúng, gửi yêu cầu"  # a loan request is sent to the board


def vnd(amount: int) -> str:
    return format_money(amount)


async def set_rate(chair, rate: str = "1") -> None:
    reply = await chair.say("/quyche")
    assert "Quy chế cho vay hiện nay:\nLãi suất: 0% một tháng" in reply.text
    reply = await chair.pick("Lãi suất")
    assert "Lãi mỗi tháng bao nhiêu phần trăm ạ? Ví dụ: 1 hoặc 1,5" in reply.text
    reply = await chair.say(rate)
    assert "Quy chế mới:" in reply.text
    reply = await chair.pick(SAVE)
    assert reply.text == "Đã lưu. Các khoản vay mới sẽ theo quy chế mới."


async def put_in(chair, amount: str = "50tr") -> None:
    await chair.say("/gopquy")
    reply = await chair.pick("Tiền khác: vốn hỗ trợ, ủng hộ, tiền quỹ đang có")
    assert "Tiền từ đâu ạ?" in reply.text
    await chair.say("Dự án hỗ trợ")
    await chair.say(amount)
    reply = await chair.pick("Hôm nay")
    assert "Tiền vào quỹ:" in reply.text and "nguồn: Dự án hỗ trợ" in reply.text
    reply = await chair.pick(SAVE)
    assert reply.text.startswith("Đã ghi ")


async def give_loan(chair, who: str = "hoa", amount: str = "12tr", purpose: str = "Bò"):
    """The chair lends to ``who`` from today for the club's 12 months; returns the summary."""
    reply = await chair.say("/giaingan")
    assert "Ai vay ạ?" in reply.text
    reply = await chair.say(who)
    assert "Cho vay bao nhiêu tiền ạ?" in reply.text, reply.text
    await chair.say(amount)
    reply = await chair.pick(purpose)
    assert "Giao tiền ngày nào ạ?" in reply.text
    reply = await chair.pick("Hôm nay")
    assert "Quy chế của câu lạc bộ là 12 tháng" in reply.text
    return await chair.pick("12 tháng")


@pytest.fixture
async def lent(chat, club: Club) -> Club:
    """1 % a month, 50tr put in, and 12tr lent to Hoa today."""
    await set_rate(club.chair)
    await put_in(club.chair)
    await give_loan(club.chair)
    await club.chair.pick(SAVE)
    club.chair.unread()
    club.hoa.unread()
    return club


async def ledger(chat) -> list[dict]:
    return await chat.bot.rows(
        "SELECT kind, principal, interest, cash, reverses FROM ledger ORDER BY id"
    )


async def flush(chat) -> None:
    if chat.kind == "telegram":
        await chat.settle()
    else:
        await chat.bot.outbox.drain()


# --- giving a loan ---------------------------------------------------------------------------


async def test_loan_is_given_with_its_schedule(chat, club):
    await set_rate(club.chair)
    await put_in(club.chair)
    summary = await give_loan(club.chair)
    assert (
        f"Cho bác Mồng Thị Hoa vay {vnd(12_000_000)} (mục đích: Bò), giao tiền ngày 28/11/2026."
        in summary.text
    )
    assert "12 tháng, lãi 1% một tháng, mỗi tháng trả gốc đều và lãi." in summary.text
    assert (f"1. 15/12/2026: {vnd(1_120_000)} (gốc {vnd(1_000_000)}, lãi {vnd(120_000)})"
            in summary.text)
    assert (f"12. 15/11/2027: {vnd(1_010_000)} (gốc {vnd(1_000_000)}, lãi {vnd(10_000)})"
            in summary.text)
    assert f"Tổng phải trả: {vnd(12_780_000)} (lãi {vnd(780_000)})." in summary.text
    assert summary.labels == [SAVE, "Sửa lại", "Hủy"]
    assert await chat.bot.rows("SELECT id FROM loans") == []  # nothing before confirming

    reply = await club.chair.pick(SAVE)
    assert f"Đã lưu: cho bác Mồng Thị Hoa vay {vnd(12_000_000)}." in reply.text
    assert f"Kỳ trả đầu tiên: {vnd(1_120_000)}, hạn 15/12/2026." in reply.text
    [loan] = await chat.bot.rows(
        "SELECT member_id, principal, purpose, rate_bp, term_months, schedule, start_date, "
        "first_due, due_day, carried_over FROM loans"
    )
    assert loan == {
        "member_id": await member_id(chat, "Mồng Thị Hoa"), "principal": 12_000_000,
        "purpose": "cow", "rate_bp": 100, "term_months": 12, "schedule": "equal_principal",
        "start_date": "2026-11-28", "first_due": "2026-12-15", "due_day": 15,
        "carried_over": 0,
    }
    rows = await chat.bot.rows("SELECT number, due, principal, interest FROM installments")
    assert len(rows) == 12 and sum(r["principal"] for r in rows) == 12_000_000
    assert rows[-1] == {"number": 12, "due": "2027-11-15", "principal": 1_000_000,
                        "interest": 10_000}
    assert (await ledger(chat))[-1] == {"kind": "disbursement", "principal": 12_000_000,
                                        "interest": 0, "cash": -12_000_000, "reverses": None}
    [told] = club.hoa.unread()
    assert f"Câu lạc bộ đã ghi khoản vay {vnd(12_000_000)} của bác (mục đích: Bò)" in told.text
    assert f"1. 15/12/2026: {vnd(1_120_000)}" in told.text

    reply = await club.hoa.say("/vay")
    assert f"Khoản vay 1: {vnd(12_000_000)} (Bò), từ 28/11/2026" in reply.text
    assert f"Còn nợ gốc: {vnd(12_000_000)}" in reply.text
    assert f"Kỳ tới: trả {vnd(1_120_000)}, hạn 15/12/2026" in reply.text


async def test_loan_amount_is_checked(chat, club):
    await put_in(club.chair, "5tr")
    await club.chair.say("/giaingan")
    await club.chair.say("Mồng Thị Hoa")
    for typed, answer in [
        ("0", "Số tiền phải lớn hơn 0"),
        ("abc", "Bác gõ số tiền như 500k, 1tr5 hoặc 1.500.000 nhé."),
        ("60tr", f"Số này nhiều hơn mức vay tối đa của câu lạc bộ ({vnd(50_000_000)})"),
        ("6tr", f"Quỹ chỉ còn {vnd(5_000_000)} tiền mặt."),
    ]:
        reply = await club.chair.say(typed)
        assert answer in reply.text, (typed, reply.text)
        assert "Cho vay bao nhiêu tiền ạ?" in reply.text
    reply = await club.chair.say("5tr")
    assert "Vay để làm gì ạ?" in reply.text
    await club.chair.say("/huy")
    assert await chat.bot.rows("SELECT id FROM loans") == []


async def test_unknown_member_and_several_matches(chat, club):
    hai, _ = await register(chat, club.info["member_code"], "Mồng Văn Hải", "0911 222 333",
                            sex="Nam")
    await approve(club.chair, "Mồng Văn Hải (1958, Bản Na Công)")
    await put_in(club.chair)
    await club.chair.say("/giaingan")
    reply = await club.chair.say("Nguyễn Văn Không")
    assert 'Tôi không tìm thấy thành viên nào tên "Nguyễn Văn Không".' in reply.text
    assert "Ai vay ạ?" in reply.text
    reply = await club.chair.say("mong")  # no accents: both Mồng match
    assert "Có mấy người trùng tên. Bác chọn người nào ạ?" in reply.text
    assert reply.labels == ["Mồng Thị Hoa (1958, Bản Na Công)", "Mồng Văn Hải (1958, Bản Na Công)"]
    reply = await club.chair.pick("Mồng Văn Hải (1958, Bản Na Công)")
    assert "Cho vay bao nhiêu tiền ạ?" in reply.text
    await club.chair.say("5tr")
    await club.chair.pick("Lợn")
    await club.chair.pick("Hôm nay")
    reply = await club.chair.say("6")
    assert f"Cho bác Mồng Văn Hải vay {vnd(5_000_000)}" in reply.text
    # Change the borrower from the summary: typing the phone finds one person at once.
    await club.chair.pick("Sửa lại")
    reply = await club.chair.pick("Người vay")
    assert "Ai vay ạ?" in reply.text
    reply = await club.chair.say("0987 654 321")
    assert f"Cho bác Mồng Thị Hoa vay {vnd(5_000_000)}" in reply.text
    # Changed again to a name two people share: the choice is asked, then the summary.
    await club.chair.pick("Sửa lại")
    await club.chair.pick("Người vay")
    reply = await club.chair.say("Mồng")
    assert "Có mấy người trùng tên." in reply.text
    reply = await club.chair.pick("Mồng Thị Hoa (1958, Bản Na Công)")
    assert f"Cho bác Mồng Thị Hoa vay {vnd(5_000_000)}" in reply.text
    assert "Thông tin trên đã đúng chưa ạ?" in reply.text
    await club.chair.pick(SAVE)
    [loan] = await chat.bot.rows("SELECT member_id, term_months FROM loans")
    assert loan == {"member_id": await member_id(chat, "Mồng Thị Hoa"), "term_months": 6}
    hai.unread()


async def test_a_member_cannot_give_loans_or_see_the_fund(chat, lent):
    for command in ("/giaingan", "/xacnhan", "/thutien", "/quy", "/quahan", "/dieuchinh",
                    "/gopquy", "/quyche", "/duyetvay", "/nhapsovay"):
        reply = await lent.hoa.say(command)
        assert reply.text.startswith(REFUSAL), command
    assert len(await chat.bot.rows("SELECT id FROM ledger")) == 2


async def test_a_member_sees_only_their_own_loans(chat, lent):
    lan = lent.chair
    reply = await lan.say("/vay")
    assert "Bác chưa vay khoản nào của câu lạc bộ." in reply.text
    assert "Mồng Thị Hoa" not in reply.text and "12.000.000" not in reply.text
    assert reply.labels == ["Xin vay vốn"]


# --- repaying --------------------------------------------------------------------------------


async def report(hoa, amount: str, day: str = "Hôm nay"):
    reply = await hoa.say("/trano")
    assert "Bác đã trả bao nhiêu tiền ạ?" in reply.text, reply.text
    assert f"Kỳ tới: {vnd(1_120_000)}, hạn 15/12/2026." in reply.text
    await hoa.say(amount)
    if day == "Hôm nay":
        return await hoa.pick(day)
    return await hoa.say(day)


async def test_member_reports_treasurer_confirms_and_a_receipt_follows(chat, lent):
    summary = await report(lent.hoa, "1.120.000")
    assert (f"Bác Mồng Thị Hoa trả {vnd(1_120_000)} ngày 28/11/2026, cho khoản vay "
            f"{vnd(12_000_000)} (Bò), từ 28/11/2026." in summary.text)
    assert (f"Trả lãi {vnd(120_000)}, trả gốc {vnd(1_000_000)}; sau đó còn nợ gốc: "
            f"{vnd(11_000_000)}." in summary.text)
    reply = await lent.hoa.pick(SAVE)
    assert "Khi thủ quỹ nhận được tiền và xác nhận, tôi sẽ gửi biên nhận" in reply.text
    assert await chat.bot.rows("SELECT status, amount FROM payment_reports") == [
        {"status": "pending", "amount": 1_120_000}]
    assert len(await ledger(chat)) == 2  # not in the ledger before the cash is confirmed

    [ask] = lent.chair.unread()
    assert f"Bác Mồng Thị Hoa báo đã trả {vnd(1_120_000)} ngày 28/11/2026." in ask.text
    reply = await lent.chair.pick("Xác nhận tiền trả nợ")
    assert reply.labels == [f"Mồng Thị Hoa: {vnd(1_120_000)} ngày 28/11/2026"]
    reply = await lent.chair.pick(reply.labels[0])
    assert "Bác đã nhận được tiền chưa ạ?" in reply.text
    assert reply.labels == ["Đã nhận tiền, xác nhận", "Từ chối", "Để sau"]
    reply = await lent.chair.pick("Đã nhận tiền, xác nhận")
    assert f"Đã ghi {vnd(1_120_000)} của bác Mồng Thị Hoa." in reply.text
    assert f"Còn nợ gốc: {vnd(11_000_000)}." in reply.text

    assert (await ledger(chat))[-1] == {"kind": "repayment", "principal": -1_000_000,
                                        "interest": 120_000, "cash": 1_120_000,
                                        "reverses": None}
    [row] = await chat.bot.rows("SELECT status, decided_by, entry_id FROM payment_reports")
    assert row["status"] == "confirmed" and row["entry_id"] is not None
    [receipt] = lent.hoa.unread()
    assert (f"Biên nhận của CLB LTHTGN bản Lốc: đã nhận {vnd(1_120_000)} ngày 28/11/2026 "
            f"(lãi {vnd(120_000)}, gốc {vnd(1_000_000)})." in receipt.text)
    assert f"Còn nợ gốc: {vnd(11_000_000)}." in receipt.text
    assert f"Kỳ tới: trả {vnd(1_110_000)}, hạn 15/01/2027" in receipt.text

    reply = await lent.chair.say("/quy")
    assert f"Tiền mặt đang giữ: {vnd(39_120_000)}" in reply.text
    assert f"Đang cho vay: {vnd(11_000_000)} (1 khoản)" in reply.text
    assert f"Lãi đã thu: {vnd(120_000)}" in reply.text
    assert "Đang vay: 1/2 thành viên (50%; mục tiêu ít nhất 50%)" in reply.text


async def test_a_rejected_report_never_enters_the_ledger(chat, lent):
    await report(lent.hoa, "500k")
    await lent.hoa.pick(SAVE)
    lent.chair.unread()
    await lent.chair.say("/xacnhan")
    await lent.chair.pick(f"Mồng Thị Hoa: {vnd(500_000)} ngày 28/11/2026")
    reply = await lent.chair.pick("Từ chối")
    assert "Vì sao ạ? Tôi sẽ báo lý do cho thành viên." in reply.text
    reply = await lent.chair.pick("Chưa nhận được tiền")
    assert reply.text == "Đã từ chối; tôi đã báo cho bác Mồng Thị Hoa."
    [told] = lent.hoa.unread()
    assert (f"Thủ quỹ chưa xác nhận khoản trả {vnd(500_000)} ngày 28/11/2026 của bác. "
            "Lý do: Chưa nhận được tiền." in told.text)
    assert [r["kind"] for r in await ledger(chat)] == ["capital", "disbursement"]
    [row] = await chat.bot.rows("SELECT status, reason FROM payment_reports")
    assert row == {"status": "rejected", "reason": "Chưa nhận được tiền"}
    reply = await lent.chair.say("/xacnhan")
    assert reply.text == "Không có khoản trả nợ nào đang chờ xác nhận."


async def test_payment_input_is_checked(chat, lent):
    await lent.hoa.say("/trano")
    reply = await lent.hoa.say("13tr")  # 12tr principal + 120k interest due at most
    assert (f"Số này nhiều hơn số còn nợ: bây giờ trả nhiều nhất {vnd(12_120_000)}."
            in reply.text)
    reply = await lent.hoa.say("1tr")
    assert "Trả vào ngày nào ạ?" in reply.text
    reply = await lent.hoa.say("30/11")
    assert "Ngày trả không thể ở tương lai." in reply.text
    reply = await lent.hoa.say("20/11")
    assert "Khoản vay bắt đầu ngày 28/11/2026" in reply.text
    reply = await lent.hoa.say("hom nay")
    assert "Bác Mồng Thị Hoa trả" in reply.text
    await lent.hoa.say("/huy")
    assert await chat.bot.rows("SELECT id FROM payment_reports") == []


async def test_a_reported_payment_counts_against_what_may_still_be_reported(chat, lent):
    await report(lent.hoa, "12tr")
    await lent.hoa.pick(SAVE)
    await lent.hoa.say("/trano")
    reply = await lent.hoa.say("1tr")
    assert f"bây giờ trả nhiều nhất {vnd(120_000)}" in reply.text


async def test_a_repayment_is_reversed_with_a_reason(chat, lent):
    await lent.chair.say("/thutien")
    reply = await lent.chair.say("hoa")
    assert "Thành viên đã trả bao nhiêu tiền ạ?" in reply.text  # her only loan is taken
    await lent.chair.say("2tr")
    reply = await lent.chair.pick("Hôm nay")
    assert f"trả gốc {vnd(1_880_000)}" in reply.text
    await lent.chair.pick(SAVE)
    lent.hoa.unread()

    reply = await lent.chair.say("/dieuchinh")
    assert reply.labels[0] == f"Trả nợ 28/11/2026, Mồng Thị Hoa: {vnd(2_000_000)}"
    await lent.chair.pick(reply.labels[0])
    reply = await lent.chair.say("ghi nham so tien")
    assert "Hủy khoản ghi này: Trả nợ 28/11/2026" in reply.text
    assert "Lý do: ghi nham so tien" in reply.text
    reply = await lent.chair.pick(SAVE)
    assert reply.text == f"Đã điều chỉnh: Trả nợ 28/11/2026, Mồng Thị Hoa: {vnd(2_000_000)}."
    rows = await chat.bot.rows(
        "SELECT id, kind, principal, interest, cash, reverses, note FROM ledger ORDER BY id"
    )
    assert rows[-1] == {"id": rows[-2]["id"] + 1, "kind": "repayment", "principal": 1_880_000,
                        "interest": -120_000, "cash": -2_000_000, "reverses": rows[-2]["id"],
                        "note": "ghi nham so tien"}
    [told] = lent.hoa.unread()
    assert "Câu lạc bộ đã điều chỉnh một khoản ghi" in told.text
    assert "Lý do: ghi nham so tien." in told.text
    reply = await lent.hoa.say("/vay")
    assert f"Còn nợ gốc: {vnd(12_000_000)}" in reply.text

    # The corrected entry is no longer offered; the loan can be undone now that it is clean.
    reply = await lent.chair.say("/dieuchinh")
    assert reply.labels[0] == f"Giải ngân 28/11/2026, Mồng Thị Hoa: {vnd(12_000_000)}"


async def test_a_loan_with_payments_cannot_be_undone_first(chat, lent):
    await lent.chair.say("/thutien")
    await lent.chair.say("hoa")
    await lent.chair.say("1tr")
    await lent.chair.pick("Hôm nay")
    await lent.chair.pick(SAVE)
    await lent.chair.say("/dieuchinh")
    reply = await lent.chair.pick(f"Giải ngân 28/11/2026, Mồng Thị Hoa: {vnd(12_000_000)}")
    assert "Khoản vay này đã có tiền trả." in reply.text
    assert "Khoản ghi nào bị nhầm ạ?" in reply.text


async def test_an_overdue_loan_leaves_the_list_after_a_payment(chat, lent):
    reply = await lent.chair.say("/quahan")
    assert reply.text == "Không có khoản vay nào quá hạn. Tốt lắm ạ!"
    chat.bot.clock.advance(days=53)  # 20/01/2027: the 15/12 and 15/01 instalments are due
    reply = await lent.chair.say("/quahan")
    assert "Khoản vay quá hạn (1 khoản, tổng " in reply.text
    assert (f"1. Mồng Thị Hoa: {vnd(2_230_000)}, quá hạn từ 15/12/2026 (36 ngày)"
            in reply.text)
    reply = await lent.hoa.say("/vay")
    assert f"Quá hạn từ 15/12/2026: {vnd(2_230_000)}" in reply.text

    await lent.chair.say("/thutien")
    await lent.chair.say("0987654321")
    await lent.chair.say("2.230.000")
    await lent.chair.pick("Hôm nay")
    await lent.chair.pick(SAVE)
    reply = await lent.chair.say("/quahan")
    assert reply.text == "Không có khoản vay nào quá hạn. Tốt lắm ạ!"


async def test_a_redelivered_confirmation_records_once(chat, lent):
    await report(lent.hoa, "1.120.000")
    await lent.hoa.pick(SAVE)
    await lent.chair.say("/xacnhan")
    await lent.chair.pick(f"Mồng Thị Hoa: {vnd(1_120_000)} ngày 28/11/2026")
    await lent.chair.send("1", external_id="confirm")
    await lent.chair.send("1", external_id="confirm")
    await flush(chat)
    assert [r["kind"] for r in await ledger(chat)].count("repayment") == 1
    receipts = [m for m in lent.hoa.unread() if "Biên nhận" in m.text]
    assert len(receipts) == 1


async def test_a_double_tapped_confirm_button_records_once(telegram_chat):
    chat = telegram_chat
    info = await chat.bot.new_club()
    chair = await join_as_chair(chat, info)
    hoa, _ = await register(chat, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    await approve(chair, "Mồng Thị Hoa (1958, Bản Na Công)")
    await set_rate(chair)
    await put_in(chair)
    await give_loan(chair)
    await chair.pick(SAVE)
    await report(hoa, "500k")
    await hoa.pick(SAVE)
    await chair.say("/xacnhan")
    reply = await chair.pick(f"Mồng Thị Hoa: {vnd(500_000)} ngày 28/11/2026")
    data = _buttons(reply.raw.reply_markup)["Đã nhận tiền, xác nhận"]
    chair.unread()
    chat.fake.push_callback(chair.user_id, data, message=reply.raw.message)
    chat.fake.push_callback(chair.user_id, data, message=reply.raw.message)
    await chat.settle()
    texts = [m.text for m in chair.unread()]
    assert sum("Đã ghi" in t for t in texts) == 1
    assert any("Nút này thuộc câu hỏi cũ" in t for t in texts), texts
    rows = await chat.bot.rows("SELECT kind FROM ledger WHERE kind = 'repayment'")
    assert len(rows) == 1
    assert sum("Biên nhận" in m.text for m in hoa.unread()) == 1


# --- loan requests ---------------------------------------------------------------------------


async def test_a_loan_request_is_approved_and_becomes_a_loan(chat, club):
    await put_in(club.chair)
    reply = await club.hoa.say("/vayvon")
    assert f"Câu lạc bộ cho vay nhiều nhất {vnd(50_000_000)}." in reply.text
    await club.hoa.say("8tr")
    reply = await club.hoa.pick("Lợn")
    assert f"Bác xin vay {vnd(8_000_000)}, mục đích: Lợn." in reply.text
    reply = await club.hoa.pick(SEND)
    assert "Đã gửi đề nghị của bác tới ban chủ nhiệm." in reply.text
    [ask] = club.chair.unread()
    assert (f"Bác Mồng Thị Hoa (Bình thường) xin vay {vnd(8_000_000)}, mục đích: Lợn."
            in ask.text)
    reply = await club.hoa.say("/vayvon")
    assert "đang chờ ban chủ nhiệm xem xét" in reply.text

    reply = await club.chair.pick("Duyệt đề nghị vay")
    assert reply.labels == [f"Mồng Thị Hoa: {vnd(8_000_000)} (Lợn)"]
    reply = await club.chair.pick(reply.labels[0])
    assert "Hiện không vay khoản nào." in reply.text
    reply = await club.chair.pick("Duyệt và giải ngân")
    assert "Giao tiền ngày nào ạ?" in reply.text
    await club.chair.pick("Hôm nay")
    reply = await club.chair.say("6")
    assert f"Cho bác Mồng Thị Hoa vay {vnd(8_000_000)} (mục đích: Lợn)" in reply.text
    await club.chair.pick(SAVE)
    [row] = await chat.bot.rows("SELECT status, loan_id FROM loan_requests")
    [loan] = await chat.bot.rows("SELECT id, request_id, term_months FROM loans")
    assert row == {"status": "approved", "loan_id": loan["id"]}
    assert loan["term_months"] == 6
    [told] = club.hoa.unread()
    assert f"Câu lạc bộ đã ghi khoản vay {vnd(8_000_000)} của bác" in told.text


async def test_a_loan_request_is_declined_with_a_reason(chat, club):
    await club.hoa.say("/vayvon")
    await club.hoa.say("5tr")
    await club.hoa.pick("Dê")
    await club.hoa.pick(SEND)
    await club.chair.say("/duyetvay")
    await club.chair.pick(f"Mồng Thị Hoa: {vnd(5_000_000)} (Dê)")
    reply = await club.chair.pick("Duyệt và giải ngân")  # the fund is empty
    assert f"Quỹ chỉ còn {vnd(0)} tiền mặt." in reply.text
    reply = await club.chair.pick("Không duyệt")
    assert "Vì sao chưa duyệt ạ?" in reply.text
    reply = await club.chair.say("Quỹ đang hết tiền")
    assert reply.text == "Đã không duyệt; tôi đã báo cho bác Mồng Thị Hoa."
    [told] = [m for m in club.hoa.unread() if "chưa duyệt được" in m.text]
    assert "Lý do: Quỹ đang hết tiền." in told.text
    assert await chat.bot.rows("SELECT status, reason FROM loan_requests") == [
        {"status": "declined", "reason": "Quỹ đang hết tiền"}]
    assert await chat.bot.rows("SELECT id FROM loans") == []


async def test_poor_households_come_first_in_the_queue(chat, club):
    lo, _ = await register(chat, club.info["member_code"], "Lò Văn Páo", "0911 222 333",
                           sex="Nam")
    await approve(club.chair, "Lò Văn Páo (1958, Bản Na Công)")
    await chat.bot.rows("SELECT 1")
    async with chat.bot.storage.transaction() as tx:
        await tx._run("UPDATE members SET household = 'poor' WHERE full_name = 'Lò Văn Páo'")
    for person, amount in ((club.hoa, "5tr"), (lo, "6tr")):
        await person.say("/vayvon")
        await person.say(amount)
        await person.pick("Bò")
        await person.pick(SEND)
    reply = await club.chair.say("/duyetvay")
    assert reply.labels == [f"★ Lò Văn Páo: {vnd(6_000_000)} (Bò)",
                            f"Mồng Thị Hoa: {vnd(5_000_000)} (Bò)"]


# --- the notebook, contributions, rules -------------------------------------------------------


async def test_a_loan_from_the_notebook_keeps_its_balance_and_due_date(chat, club):
    reply = await club.chair.say("/nhapsovay")
    assert "Ai vay ạ?" in reply.text
    await club.chair.say("hoa")
    reply = await club.chair.say("6tr")
    assert "Vay để làm gì ạ?" in reply.text
    await club.chair.pick("Cá")
    reply = await club.chair.say("10/12")
    assert "Còn bao nhiêu kỳ trả hằng tháng nữa ạ?" in reply.text
    reply = await club.chair.say("3")
    assert (f"Khoản vay cũ từ sổ của bác Mồng Thị Hoa: còn nợ gốc {vnd(6_000_000)}, mục đích: "
            "Cá." in reply.text)
    assert f"3. 10/02/2027: {vnd(2_000_000)}" in reply.text
    await club.chair.pick(SAVE)
    assert (await ledger(chat)) == [{"kind": "opening", "principal": 6_000_000, "interest": 0,
                                     "cash": 0, "reverses": None}]
    reply = await club.hoa.say("/vay")
    assert f"Kỳ tới: trả {vnd(2_000_000)}, hạn 10/12/2026" in reply.text
    reply = await club.chair.say("/quy")
    assert f"Tiền mặt đang giữ: {vnd(0)}" in reply.text
    assert f"Đang cho vay: {vnd(6_000_000)} (1 khoản)" in reply.text


async def test_contributions_show_in_the_fund_and_the_members_view(chat, club):
    await club.chair.say("/gopquy")
    await club.chair.pick("Thành viên góp quỹ, hội phí")
    await club.chair.say("hoa")
    await club.chair.say("50k")
    reply = await club.chair.say("hom qua")
    assert f"Bác Mồng Thị Hoa góp quỹ: {vnd(50_000)} ngày 27/11/2026." in reply.text
    reply = await club.chair.pick(SAVE)
    assert reply.text == f"Đã ghi {vnd(50_000)}. Tiền mặt của quỹ bây giờ: {vnd(50_000)}."
    [receipt] = club.hoa.unread()
    assert f"Tổng cộng bác đã góp {vnd(50_000)}." in receipt.text
    reply = await club.hoa.say("/vay")
    assert f"Bác đã góp vào quỹ câu lạc bộ {vnd(50_000)}." in reply.text
    reply = await club.chair.say("/quy")
    assert f"Thành viên góp quỹ: {vnd(50_000)}" in reply.text
    rows = await chat.bot.rows("SELECT kind, member_id, cash, day FROM ledger")
    assert rows == [{"kind": "contribution", "member_id": await member_id(chat, "Mồng Thị Hoa"),
                     "cash": 50_000, "day": "2026-11-27"}]


async def test_rule_changes_are_kept_with_who_and_when(chat, club):
    await set_rate(club.chair, "1,5")
    await club.chair.say("/quyche")
    await club.chair.pick("Ngày trả nợ trong tháng")
    reply = await club.chair.say("ngay 5")
    assert "Hạn trả: ngày 5 hằng tháng" in reply.text
    await club.chair.pick(SAVE)
    rows = await chat.bot.rows(
        "SELECT rate_bp, due_day, changed_by, changed_at FROM loan_rules ORDER BY id"
    )
    chair_id = await member_id(chat, "Vi Thị Lan")
    assert [(r["rate_bp"], r["due_day"], r["changed_by"]) for r in rows] == [
        (150, None, chair_id), (150, 5, chair_id)]
    assert rows[0]["changed_at"].startswith("2026-11-28T02:00")
    reply = await club.chair.say("/quy")
    assert "Lãi suất: 1,5% một tháng" in reply.text
    assert "Hạn trả: ngày 5 hằng tháng" in reply.text


# --- who may do what -------------------------------------------------------------------------


async def test_the_treasurer_gives_loans_and_a_vice_chair_only_looks(chat, lent):
    mai, _ = await register(chat, lent.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(lent.chair, "Lò Thị Mai (1958, Bản Na Công)")
    await give_role(lent.chair, "Lò Thị Mai (1958, Bản Na Công)", "Thủ quỹ")
    await lent.chair.pick(SAVE)
    await give_role(lent.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Phó chủ nhiệm")
    await lent.chair.pick(SAVE)
    mai.unread()
    lent.hoa.unread()

    reply = await give_loan(mai, who="Lò Thị Mai", amount="3tr", purpose="Gà vịt")
    assert f"Cho bác Lò Thị Mai vay {vnd(3_000_000)}" in reply.text
    reply = await mai.pick(SAVE)
    assert f"Đã lưu: cho bác Lò Thị Mai vay {vnd(3_000_000)}." in reply.text

    reply = await lent.hoa.say("/quy")
    assert f"Đang cho vay: {vnd(15_000_000)} (2 khoản)" in reply.text
    reply = await lent.hoa.say("/quahan")
    assert "Không có khoản vay nào quá hạn" in reply.text
    for command in ("/giaingan", "/xacnhan", "/dieuchinh", "/quyche"):
        reply = await lent.hoa.say(command)
        assert reply.text.startswith(REFUSAL), command


async def test_effects_check_the_role_again_when_applied(chat, lent):
    """A member who somehow reaches an effect (an old session, a crafted update) is refused."""
    [loan] = await chat.bot.rows("SELECT id FROM loans")
    [entry] = await chat.bot.rows("SELECT id FROM ledger WHERE kind = 'disbursement'")
    before = await chat.bot.rows("SELECT * FROM ledger")
    hoa_id = await member_id(chat, "Mồng Thị Hoa")
    data = {"member": hoa_id, "matches": [], "amount": 1_000_000, "purpose": "cow",
            "start": "2026-11-28", "term": 12,
            "rules": {"rate_bp": 0, "schedule": "equal_principal", "due_day": 15,
                      "term_default": 12, "max_amount": 50_000_000}}
    effects = [
        GiveLoan(data, "k1"),
        RecordPayment(loan["id"], 100_000, date(2026, 11, 28), "k2"),
        Reverse(entry["id"], "thử", "k3"),
        AddToFund({"kind": "capital", "source": "x", "amount": 10**6, "day": "2026-11-28"}, "k4"),
        ChangeRule("rate_bp", 500),
    ]
    inbound = await inbound_of(chat, lent.hoa)
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        assert ctx.roles == {"member"}
        for effect in effects:
            replies = await effect.apply(tx, ctx)
            assert [r.parts[0].msgid for r in replies] == ["Sorry, you cannot use this."]
    assert await chat.bot.rows("SELECT * FROM ledger") == before
    assert await chat.bot.rows("SELECT rate_bp FROM loan_rules ORDER BY id DESC LIMIT 1") == [
        {"rate_bp": 100}]


async def test_a_report_for_someone_elses_loan_is_refused(chat, lent):
    mai, _ = await register(chat, lent.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(lent.chair, "Lò Thị Mai (1958, Bản Na Công)")
    [loan] = await chat.bot.rows("SELECT id FROM loans")
    inbound = await inbound_of(chat, mai)
    async with chat.bot.storage.transaction() as tx:
        ctx = await chat.bot.service.context(tx, inbound, chat.bot.clock())
        replies = await ReportPayment(loan["id"], 1_000, date(2026, 11, 28), "k").apply(tx, ctx)
    assert [r.parts[0].msgid for r in replies] == ["Sorry, you cannot use this."]
    assert await chat.bot.rows("SELECT * FROM payment_reports") == []
    reply = await mai.say("/trano")
    assert "Bác không có khoản vay nào cần trả." in reply.text


async def test_a_second_loan_shows_what_the_borrower_still_owes(chat, lent):
    summary = await give_loan(lent.chair, amount="2tr", purpose="Gà vịt")
    assert (f"Lưu ý: bác Mồng Thị Hoa còn nợ {vnd(12_000_000)} ở các khoản vay trước."
            in summary.text)
    await lent.chair.pick(SAVE)
    reply = await lent.hoa.say("/vay")
    assert f"Khoản vay 1: {vnd(2_000_000)} (Gà vịt)" in reply.text
    assert f"Khoản vay 2: {vnd(12_000_000)} (Bò)" in reply.text


async def test_a_long_schedule_is_shortened_in_the_middle(chat, club):
    await put_in(club.chair)
    await club.chair.say("/giaingan")
    await club.chair.say("hoa")
    await club.chair.say("24tr")
    await club.chair.pick("Trâu")
    await club.chair.pick("Hôm nay")
    reply = await club.chair.say("2 năm")
    assert f"11. 15/10/2027: {vnd(1_000_000)}" in reply.text
    assert "… còn 12 kỳ trả hằng tháng nữa …" in reply.text
    assert f"24. 15/11/2028: {vnd(1_000_000)}" in reply.text
    assert "12. 15/11/2027" not in reply.text
    assert f"Tổng phải trả: {vnd(24_000_000)} (lãi {vnd(0)})." in reply.text
