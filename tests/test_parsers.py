"""Tests for bot.parsers: tables of what members really type, plus properties."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import parsers
from bot.i18n import format_money, gettext
from bot.parsers import (
    ParseError,
    parse_amount,
    parse_birth,
    parse_choice,
    parse_date,
    parse_day_of_month,
    parse_months,
    parse_name,
    parse_phone,
    parse_rate,
    parse_text,
    parse_yes_no,
)

ROOT = Path(__file__).resolve().parent.parent
PO_PATH = ROOT / "locales" / "vi" / "LC_MESSAGES" / "parsers.po"
TODAY = date(2026, 5, 10)


def _po_messages() -> dict[str, str]:
    with PO_PATH.open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    assert not catalog.fuzzy
    return {str(m.id): str(m.string) for m in catalog if m.id}


PO = _po_messages()


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def assert_error(call, *args, message: str | None = None, **kwargs) -> ParseError:
    with pytest.raises(ParseError) as info:
        call(*args, **kwargs)
    assert info.value.message in PO
    if message is not None:
        assert info.value.message == message
    return info.value


# --- catalog -------------------------------------------------------------------------------------


def test_catalog_matches_the_module() -> None:
    extracted = {
        msg[1]
        for msg in extract_from_file(
            "python", str(ROOT / "bot/parsers.py"), keywords={"N_": None}
        )
    }
    assert extracted == set(PO)


@pytest.mark.parametrize("msgid", sorted(PO))
def test_translation_is_polite_and_keeps_placeholders(msgid: str) -> None:
    msgstr = PO[msgid]
    assert "Bác" in msgstr
    assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", msgstr))
    digits = re.findall(r"[0-9][0-9./ ]*[0-9]k?|[0-9]", msgid.replace("{", " {"))
    for example in digits:
        assert example.strip() in msgstr


def test_error_text_is_translated() -> None:
    error = assert_error(parse_amount, "500")
    assert error.text("vi") == "Bác ghi thêm đơn vị giúp, ví dụ 500k hoặc 500 nghìn nhé."
    assert error.text("en") == "Please add the unit, like 500k or 500 nghìn."
    assert gettext(parsers.MSG_CHOICE, "vi", count=3).startswith("Bác gõ một số từ 1 đến 3")


# --- parse_amount --------------------------------------------------------------------------------

AMOUNTS = [
    ("500k", 500_000),
    ("500K", 500_000),
    ("500 k", 500_000),
    ("500 nghìn", 500_000),
    ("500 nghin", 500_000),
    ("500 ngàn", 500_000),
    ("500 ngan", 500_000),
    ("500 NGHÌN", 500_000),
    ("1tr5", 1_500_000),
    ("1TR5", 1_500_000),
    ("1tr", 1_000_000),
    ("1 tr", 1_000_000),
    ("1,5 triệu", 1_500_000),
    ("1.5 triệu", 1_500_000),
    ("1,5tr", 1_500_000),
    ("1 triệu 5", 1_500_000),
    ("1 triệu rưỡi", 1_500_000),
    ("1 trieu ruoi", 1_500_000),
    ("2 triệu 500 nghìn", 2_500_000),
    ("2 triệu 500", 2_500_000),
    ("1tr250", 1_250_000),
    ("1tr05", 1_050_000),
    ("2k5", 2_500),
    ("2 nghìn rưỡi", 2_500),
    ("1 tỷ 2", 1_200_000_000),
    ("2.500k", 2_500_000),
    ("1.500.000", 1_500_000),
    ("1,500,000", 1_500_000),
    ("1500000", 1_500_000),
    ("1 500 000", 1_500_000),
    ("1000", 1_000),
    ("10 triệu", 10_000_000),
    ("10 trieu", 10_000_000),
    ("500.000đ", 500_000),
    ("500.000 đ", 500_000),
    ("500.000 Đ", 500_000),
    ("500000 đồng", 500_000),
    ("500000 dong", 500_000),
    ("500000 vnd", 500_000),
    ("500.000 VNĐ", 500_000),
    ("500k đồng", 500_000),
    ("1 triệu đồng", 1_000_000),
    ("1 tỷ", 1_000_000_000),
    ("1 ty", 1_000_000_000),
    ("1 tỉ", 1_000_000_000),
    ("10 tỷ", 10_000_000_000),
    ("  500   nghìn  ", 500_000),
    ("500k.", 500_000),
    ("10.000.000\xa0₫", 10_000_000),
    ("500.000 ₫", 500_000),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS)
def test_parse_amount(text: str, expected: int) -> None:
    assert parse_amount(text) == expected
    assert parse_amount(nfd(text)) == expected
    assert parse_amount(text.upper()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", parsers.MSG_AMOUNT_ZERO),
        ("0k", parsers.MSG_AMOUNT_ZERO),
        ("0 triệu", parsers.MSG_AMOUNT_ZERO),
        ("-500k", parsers.MSG_AMOUNT),
        ("-500000", parsers.MSG_AMOUNT),
        ("abc", parsers.MSG_AMOUNT),
        ("", parsers.MSG_AMOUNT),
        ("   ", parsers.MSG_AMOUNT),
        ("đồng", parsers.MSG_AMOUNT),
        ("k", parsers.MSG_AMOUNT),
        ("triệu 5", parsers.MSG_AMOUNT),
        ("500 nghìn 2 triệu", parsers.MSG_AMOUNT),
        ("1tr 2tr", parsers.MSG_AMOUNT),
        ("1,2345k", parsers.MSG_AMOUNT),
        ("1.2.3", parsers.MSG_AMOUNT),
        ("1.500,000", parsers.MSG_AMOUNT),
        ("500 $", parsers.MSG_AMOUNT),
        ("1tr5000", parsers.MSG_AMOUNT),
        ("11 tỷ", parsers.MSG_AMOUNT_TOO_BIG),
        ("10 tỷ 1", parsers.MSG_AMOUNT_TOO_BIG),
        ("10.000.000.001", parsers.MSG_AMOUNT_TOO_BIG),
        ("99999999999", parsers.MSG_AMOUNT_TOO_BIG),
        ("500", parsers.MSG_AMOUNT_UNIT),
        ("999", parsers.MSG_AMOUNT_UNIT),
        ("5", parsers.MSG_AMOUNT_UNIT),
        ("1.5", parsers.MSG_AMOUNT_DECIMAL),
        ("1,5", parsers.MSG_AMOUNT_DECIMAL),
        ("2.50", parsers.MSG_AMOUNT_DECIMAL),
        ("9" * 200, parsers.MSG_AMOUNT),
    ],
)
def test_parse_amount_rejects(text: str, message: str) -> None:
    assert_error(parse_amount, text, message=message)


def test_parse_amount_unit_hint_repeats_the_number() -> None:
    assert assert_error(parse_amount, "500").params == {"number": "500"}
    assert assert_error(parse_amount, "1,5").params == {"number": "1,5"}


@given(st.integers(1000, 10_000_000_000))
def test_parse_amount_round_trips_digits(n: int) -> None:
    assert parse_amount(str(n)) == n
    assert parse_amount(f"{n:,}".replace(",", ".")) == n
    assert parse_amount(f"{n:,}") == n
    assert parse_amount(f"{n:,}".replace(",", " ")) == n
    assert parse_amount(f"{n:,}".replace(",", ".") + "đ") == n


@given(st.integers(1000, 10_000_000_000))
def test_parse_amount_round_trips_format_money(n: int) -> None:
    assert parse_amount(format_money(n)) == n


@given(st.integers(1, 10_000))
def test_parse_amount_thousands(n: int) -> None:
    assert parse_amount(f"{n}k") == n * 1000
    assert parse_amount(f"{n} nghìn") == n * 1000


# --- parse_date ----------------------------------------------------------------------------------

DATES = [
    ("hôm nay", TODAY),
    ("hom nay", TODAY),
    ("Hôm nay", TODAY),
    ("HOM NAY", TODAY),
    ("homnay", TODAY),
    ("nay", TODAY),
    ("hôm nay.", TODAY),
    ("hôm qua", date(2026, 5, 9)),
    ("hom qua", date(2026, 5, 9)),
    ("hôm kia", date(2026, 5, 8)),
    ("hom kia", date(2026, 5, 8)),
    ("15/12", date(2026, 12, 15)),
    ("15-12", date(2026, 12, 15)),
    ("15.12", date(2026, 12, 15)),
    ("15 / 12", date(2026, 12, 15)),
    (" 15/12 ", date(2026, 12, 15)),
    ("5/3", date(2026, 3, 5)),
    ("05/03", date(2026, 3, 5)),
    ("15/12/2026", date(2026, 12, 15)),
    ("15-12-2026", date(2026, 12, 15)),
    ("15.12.2025", date(2025, 12, 15)),
    ("15/12/26", date(2026, 12, 15)),
    ("15 12 2026", date(2026, 12, 15)),
    ("ngày 15/12", date(2026, 12, 15)),
    ("ngay 15/12", date(2026, 12, 15)),
    ("Ngày 15/12/2026", date(2026, 12, 15)),
    ("ngày 15 tháng 12", date(2026, 12, 15)),
    ("ngày 15 tháng 12 năm 2025", date(2025, 12, 15)),
    ("29/02/2028", date(2028, 2, 29)),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected
    assert parse_date(nfd(text), TODAY) == expected


def test_parse_date_crosses_month_and_year() -> None:
    assert parse_date("hôm kia", date(2026, 1, 1)) == date(2025, 12, 30)
    assert parse_date("hôm qua", date(2026, 3, 1)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/02", parsers.MSG_DATE_INVALID),
        ("29/02/2026", parsers.MSG_DATE_INVALID),
        ("32/1", parsers.MSG_DATE_INVALID),
        ("0/1", parsers.MSG_DATE_INVALID),
        ("15/13", parsers.MSG_DATE_INVALID),
        ("15/12/0000", parsers.MSG_DATE_INVALID),
        ("mai kia nữa", parsers.MSG_DATE),
        ("", parsers.MSG_DATE),
        ("15", parsers.MSG_DATE),
        ("15/12/202", parsers.MSG_DATE),
        ("1512", parsers.MSG_DATE),
        ("15/12/2026/1", parsers.MSG_DATE),
        ("abc/def", parsers.MSG_DATE),
    ],
)
def test_parse_date_rejects(text: str, message: str) -> None:
    assert_error(parse_date, text, TODAY, message=message)


@given(st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.sampled_from("/-."))
def test_parse_date_round_trips(day: date, sep: str) -> None:
    assert parse_date(f"{day.day}{sep}{day.month}{sep}{day.year}", TODAY) == day
    assert parse_date(day.strftime(f"%d{sep}%m{sep}%Y"), TODAY) == day


# --- parse_birth ---------------------------------------------------------------------------------

BIRTHS = [
    ("1958", (1958, None)),
    ("58", (1958, None)),
    ("05", (2005, None)),
    ("30", (1930, None)),
    ("năm 1958", (1958, None)),
    ("nam 1958", (1958, None)),
    ("sinh năm 58", (1958, None)),
    ("sinh nam 1958", (1958, None)),
    ("Năm sinh: 1958", (1958, None)),
    ("2026", (2026, None)),
    ("1906", (1906, None)),
    ("15/3/1958", (1958, date(1958, 3, 15))),
    ("15-03-1958", (1958, date(1958, 3, 15))),
    ("15.03.1958", (1958, date(1958, 3, 15))),
    ("15/3/58", (1958, date(1958, 3, 15))),
    ("ngày 15/3/1958", (1958, date(1958, 3, 15))),
    ("sinh ngày 15 tháng 3 năm 1958", (1958, date(1958, 3, 15))),
    ("1/1/05", (2005, date(2005, 1, 1))),
    ("29/02/00", (2000, date(2000, 2, 29))),
    ("10/5/2026", (2026, date(2026, 5, 10))),
]


@pytest.mark.parametrize(("text", "expected"), BIRTHS)
def test_parse_birth(text: str, expected: tuple[int, date | None]) -> None:
    assert parse_birth(text, TODAY) == expected
    assert parse_birth(nfd(text), TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2030", parsers.MSG_BIRTH_FUTURE),
        ("11/5/2026", parsers.MSG_BIRTH_FUTURE),
        ("1/1/2099", parsers.MSG_BIRTH_FUTURE),
        ("1800", parsers.MSG_BIRTH_TOO_OLD),
        ("1905", parsers.MSG_BIRTH_TOO_OLD),
        ("10/5/1905", parsers.MSG_BIRTH_TOO_OLD),
        ("31/02/1958", parsers.MSG_BIRTH_INVALID),
        ("0/3/1958", parsers.MSG_BIRTH_INVALID),
        ("15/13/58", parsers.MSG_BIRTH_INVALID),
        ("15/3", parsers.MSG_BIRTH),
        ("195", parsers.MSG_BIRTH),
        ("5", parsers.MSG_BIRTH),
        ("sáu mươi", parsers.MSG_BIRTH),
        ("", parsers.MSG_BIRTH),
    ],
)
def test_parse_birth_rejects(text: str, message: str) -> None:
    assert_error(parse_birth, text, TODAY, message=message)


def test_parse_birth_exact_age_limit() -> None:
    assert parse_birth("11/5/1905", TODAY) == (1905, date(1905, 5, 11))  # 120 years old


@given(st.integers(0, 99), st.dates(date(2000, 1, 1), date(2090, 12, 31)))
def test_parse_birth_two_digits_prefers_1900s(yy: int, today: date) -> None:
    try:
        year, _ = parse_birth(f"{yy:02d}", today)
    except ParseError:
        return
    assert year % 100 == yy
    assert 0 <= today.year - year <= 120
    if today.year - (1900 + yy) <= 120:
        assert year == 1900 + yy


# --- parse_phone ---------------------------------------------------------------------------------

PHONES = [
    ("0912 345 678", "+84912345678"),
    ("0912345678", "+84912345678"),
    ("0912.345.678", "+84912345678"),
    ("0912-345-678", "+84912345678"),
    ("+84912345678", "+84912345678"),
    ("+84 912 345 678", "+84912345678"),
    ("84912345678", "+84912345678"),
    ("(+84) 912345678", "+84912345678"),
    ("0084912345678", "+84912345678"),
    ("+84 0912 345 678", "+84912345678"),
    ("  0912 345 678  ", "+84912345678"),
    ("0312345678", "+84312345678"),
    ("0512345678", "+84512345678"),
    ("0712345678", "+84712345678"),
    ("0812345678", "+84812345678"),
    ("024 3826 1234", "+842438261234"),
    ("+84 24 3826 1234", "+842438261234"),
    ("0084 24 3826 1234", "+842438261234"),
]


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected
    assert parse_phone(expected) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "0112345678",
        "0412345678",
        "0612345678",
        "091234567",
        "09123456789",
        "0212345678",
        "+1 212 555 0100",
        "+8491234567",
        "091234567a",
        "0912 345 678 ext 2",
        "++84912345678",
        "0912+345678",
        "số 0912345678",
        "0" * 200,
    ],
)
def test_parse_phone_rejects(text: str) -> None:
    assert_error(parse_phone, text, message=parsers.MSG_PHONE)


@given(st.sampled_from("35789"), st.text(string.digits, min_size=8, max_size=8))
def test_parse_phone_is_idempotent(prefix: str, rest: str) -> None:
    phone = parse_phone(f"0{prefix}{rest}")
    assert phone == f"+84{prefix}{rest}"
    assert parse_phone(phone) == phone
    assert parse_phone(f"0{prefix}{rest[:2]} {rest[2:5]} {rest[5:]}") == phone


# --- parse_yes_no --------------------------------------------------------------------------------

YES = ["có", "co", "ừ", "u", "ừm", "um", "đồng ý", "dong y", "đúng", "dung", "vâng", "vang"]
YES += ["ok", "oke", "yes", "y", "1", "rồi", "OK", "Có.", "có!", "CÓ", "dạ", "dạ có", "vâng ạ"]
YES += ["dạ vâng ạ", "đúng rồi", "  có  ", "Có ạ!", "Ok nhé", "được"]
NO = ["không", "khong", "ko", "k", "kg", "hong", "không đồng ý", "sai", "no", "n", "2"]
NO += ["thôi", "chưa", "không có", "k ok", "chưa đồng ý", "KHÔNG", "Không.", "không!"]
NO += ["dạ không", "không ạ", "ko dong y", "thôi ạ"]


@pytest.mark.parametrize("text", YES)
def test_parse_yes(text: str) -> None:
    assert parse_yes_no(text) is True
    assert parse_yes_no(nfd(text)) is True


@pytest.mark.parametrize("text", NO)
def test_parse_no(text: str) -> None:
    assert parse_yes_no(text) is False
    assert parse_yes_no(nfd(text)) is False


@pytest.mark.parametrize(
    "text", ["", "có không", "3", "maybe", "để mai", "!!!", "có thể", "không sai", "thưa"]
)
def test_parse_yes_no_rejects(text: str) -> None:
    assert_error(parse_yes_no, text, message=parsers.MSG_YES_NO)


def test_yes_and_no_words_do_not_overlap() -> None:
    assert not parsers.YES_WORDS & parsers.NO_WORDS


# --- parse_choice --------------------------------------------------------------------------------

GENDER = [("female", ["Nữ", "Female"]), ("male", ["Nam", "Male"])]
ROLES = [
    ("member", ["Hội viên"]),
    ("leader", ["Chủ nhiệm", "Trưởng nhóm"]),
    ("treasurer", ["Thủ quỹ"]),
]


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("1", GENDER, "female"),
        ("2", GENDER, "male"),
        ("số 2", GENDER, "male"),
        ("so 2", GENDER, "male"),
        ("2.", GENDER, "male"),
        (" 2 ", GENDER, "male"),
        ("Nữ", GENDER, "female"),
        ("nu", GENDER, "female"),
        ("NỮ", GENDER, "female"),
        ("nữ.", GENDER, "female"),
        ("female", GENDER, "female"),
        ("FEMALE", GENDER, "female"),
        ("fem", GENDER, "female"),
        ("nam", GENDER, "male"),
        ("Male", GENDER, "male"),
        ("3", ROLES, "treasurer"),
        ("hoi vien", ROLES, "member"),
        ("thu quy", ROLES, "treasurer"),
        ("chu", ROLES, "leader"),
        ("truong", ROLES, "leader"),
        ("leader", ROLES, "leader"),
        ("thủ", ROLES, "treasurer"),
    ],
)
def test_parse_choice(text: str, options, expected: str) -> None:
    assert parse_choice(text, options) == expected
    assert parse_choice(nfd(text), options) == expected


def test_parse_choice_prefers_exact_accents() -> None:
    options = [("aunt", ["Cô"]), ("yes", ["Có"]), ("no", ["Không"])]
    assert parse_choice("Cô", options) == "aunt"
    assert parse_choice("có", options) == "yes"
    assert_error(parse_choice, "co", options, message=parsers.MSG_CHOICE_AMBIGUOUS)


@pytest.mark.parametrize("text", ["0", "3", "10", "số 9", "", "xyz", "n", "ma", "1 2"])
def test_parse_choice_rejects(text: str) -> None:
    error = assert_error(parse_choice, text, GENDER, message=parsers.MSG_CHOICE)
    assert error.params == {"count": 2}


def test_parse_choice_ambiguous_prefix() -> None:
    options = [("a", ["Thôn Đông"]), ("b", ["Thôn Đoài"])]
    assert_error(parse_choice, "thon", options, message=parsers.MSG_CHOICE_AMBIGUOUS)
    assert parse_choice("thon dong", options) == "a"
    assert parse_choice("thôn đoài", options) == "b"


# --- parse_name ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("NGUYỄN THỊ BÉ", "Nguyễn Thị Bé"),
        ("  trần   thị   hoa ", "Trần Thị Hoa"),
        ("lê văn đức", "Lê Văn Đức"),
        ("đỗ thị ánh", "Đỗ Thị Ánh"),
        ("H'hen niê", "H'Hen Niê"),
        ("h’hen niê", "H'Hen Niê"),
        ("nguyễn-trần an", "Nguyễn-Trần An"),
        ("An", "An"),
        ("nguyen van an", "Nguyen Van An"),
    ],
)
def test_parse_name(text: str, expected: str) -> None:
    assert parse_name(text) == expected
    assert parse_name(nfd(text)) == expected
    assert unicodedata.is_normalized("NFC", parse_name(nfd(text)))


@pytest.mark.parametrize(
    "text",
    ["", "a", " ", "Nguyễn Văn 2", "an@gmail.com", "Nguyễn, An", "-An", "An-", "An--Bình", "😀"],
)
def test_parse_name_rejects(text: str) -> None:
    assert_error(parse_name, text, message=parsers.MSG_NAME)


def test_parse_name_too_long() -> None:
    error = assert_error(parse_name, "an " * 30, message=parsers.MSG_NAME_TOO_LONG)
    assert error.params == {"max_len": 80}
    assert len(parse_name("a" * 80)) == 80


# --- parse_text ----------------------------------------------------------------------------------


def test_parse_text() -> None:
    assert parse_text("  thôn   Đông  ") == "thôn Đông"
    assert parse_text(nfd("Xóm Bãi")) == "Xóm Bãi"
    assert parse_text("ab\x00c") == "abc"
    assert parse_text("a", min_len=1) == "a"
    assert parse_text("x" * 200, max_len=200) == "x" * 200


def test_parse_text_rejects() -> None:
    error = assert_error(parse_text, " a ", message=parsers.MSG_TEXT_TOO_SHORT)
    assert error.params == {"min_len": 2}
    error = assert_error(parse_text, "x" * 81, message=parsers.MSG_TEXT_TOO_LONG)
    assert error.params == {"max_len": 80}
    error = assert_error(parse_text, "abc", min_len=5, message=parsers.MSG_TEXT_TOO_SHORT)
    assert error.params == {"min_len": 5}


# --- loan terms --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "rate"), [
    ("1", 100), ("1%", 100), ("1,5", 150), ("1.5 %", 150), ("0,8%/tháng", 80),
    ("1,25 phần trăm", 125), ("0", 0), ("không", 0), ("mien lai", 0), ("5", 500),
    ("một phần trăm", 100), ("mot ruoi", 150), ("hai phần trăm một tháng", 200),
])  # fmt: skip
def test_parse_rate(text: str, rate: int) -> None:
    assert parse_rate(text) == rate


def test_parse_rate_errors() -> None:
    assert_error(parse_rate, "6", message=parsers.MSG_RATE_HIGH)
    assert_error(parse_rate, "mười phần trăm", message=parsers.MSG_RATE_HIGH)
    assert_error(parse_rate, "mot con bo", message=parsers.MSG_RATE)
    assert_error(parse_rate, "1,555", message=parsers.MSG_RATE)


@pytest.mark.parametrize(("text", "months"), [
    ("12", 12), ("12 tháng", 12), ("6 thang", 6), ("1 năm", 12), ("2 nam", 24), ("60", 60),
])  # fmt: skip
def test_parse_months(text: str, months: int) -> None:
    assert parse_months(text) == months


def test_parse_months_errors() -> None:
    assert_error(parse_months, "0", message=parsers.MSG_MONTHS_RANGE)
    assert_error(parse_months, "6 năm", message=parsers.MSG_MONTHS_RANGE)
    assert_error(parse_months, "mười hai", message=parsers.MSG_MONTHS)


@pytest.mark.parametrize(("text", "day"), [("15", 15), ("ngày 5", 5), ("mùng 5", 5), ("31", 31)])
def test_parse_day_of_month(text: str, day: int) -> None:
    assert parse_day_of_month(text) == day


@pytest.mark.parametrize("text", ["0", "32", "ngay", "15/12"])
def test_parse_day_of_month_errors(text: str) -> None:
    assert_error(parse_day_of_month, text, message=parsers.MSG_DAY_OF_MONTH)


# --- every parser: a value or a ParseError, never anything else ----------------------------------

_ALPHABET = st.sampled_from(
    [
        *"0123456789 ./-,+()đĐ₫:!?'",
        *["k", "tr", "triệu", "nghìn", "ty", "rưỡi", "ngày", "tháng", "năm", "sinh"],
        *["hôm nay", "có", "không", "số", "\xa0", "\u0301", "٣", "²", "\x00"],
        *["%", "/tháng", "phần trăm", "mùng", "1,5", "12"],
    ]
)
_TEXT = st.one_of(st.text(), st.lists(_ALPHABET, max_size=12).map("".join))
_PARSERS = [
    parse_amount,
    lambda text: parse_date(text, TODAY),
    lambda text: parse_birth(text, TODAY),
    parse_phone,
    parse_yes_no,
    lambda text: parse_choice(text, GENDER),
    lambda text: parse_choice(text, []),
    parse_name,
    parse_text,
    parse_rate,
    parse_months,
    parse_day_of_month,
]


@settings(max_examples=300)
@given(_TEXT, st.sampled_from(range(len(_PARSERS))))
def test_parsers_only_raise_parse_error(text: str, which: int) -> None:
    try:
        _PARSERS[which](text)
    except ParseError as error:
        assert error.message in PO
        error.text("vi")  # placeholders all filled
        error.text("en")


@given(_TEXT)
def test_parse_amount_result_is_in_range(text: str) -> None:
    try:
        amount = parse_amount(text)
    except ParseError:
        return
    assert isinstance(amount, int)
    assert 0 < amount <= 10_000_000_000


# --- the lexicon ---------------------------------------------------------------------------------


def test_emoji_go_but_vietnamese_letters_stay() -> None:
    from bot import lexicon

    assert lexicon.tidy("130/85 😊") == "130/85"
    assert lexicon.tidy("Có ạ 👍👍!!") == "Có ạ"
    assert lexicon.tidy(nfd("Nguyễn Thị Biết ❤️")) == "Nguyễn Thị Biết"
    assert lexicon.tidy("1.500.000 ₫") == "1.500.000 ₫"  # the đồng sign is not an emoji
    assert lexicon.phrase("Dạ ko đo lại dc ạ 😊") == "khong do lai duoc"
    assert parse_phone("0912 345 678 😊") == "+84912345678"


def test_weekdays_read_back_or_ahead() -> None:
    saturday = date(2026, 12, 5)
    assert parse_date("thứ 6", saturday) == date(2026, 12, 4)
    assert parse_date("thứ 6", saturday, ahead=True) == date(2026, 12, 11)
    assert parse_date("thứ 2 tuần sau", saturday) == date(2026, 12, 7)
    assert parse_date("hnay", saturday) == saturday
    assert parse_date("mai", saturday, ahead=True) == date(2026, 12, 6)
