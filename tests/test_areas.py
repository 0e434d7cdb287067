"""Areas since 1 July 2025: official units by code, old addresses converted, and the clubs,
grants and reports keyed on them (``ishc-bot club move-area``, ``admin grant``, ``report``)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from openpyxl import load_workbook

from bot import areas, placing
from bot.cli import main

NGHE_AN, THONG_THU, QUE_PHONG_COMMUNE = 40, 16744, 16738


# --- the official units -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["nghe an", "Nghệ An", "NGHỆ AN", "Tỉnh Nghệ An", "tinh nghe an",
                                   "40"])
def test_a_province_is_found_however_it_is_typed(typed):
    found = areas.find_province(typed)
    assert found.unit is not None and (found.unit.code, found.unit.name) == (NGHE_AN, "Nghệ An")


@pytest.mark.parametrize("typed", ["TP Hồ Chí Minh", "ho chi minh", "Thành phố Hồ Chí Minh",
                                   "tp. hcm"])
def test_a_city_is_found_with_or_without_its_title(typed):
    found = areas.find_province(typed)
    assert found.unit is not None and found.unit.name == "Thành phố Hồ Chí Minh"


def test_34_provinces_and_an_unknown_one_gets_close_names():
    assert len(areas.provinces()) == 34
    found = areas.find_province("nghe anh")
    assert found.unit is None and [p.name for p in found.suggestions] == ["Nghệ An"]
    with pytest.raises(placing.AreaError, match=r"Hòa Bình.* thuộc Phú Thọ"):
        placing.province("Hòa Bình")  # merged into Phú Thọ


@pytest.mark.parametrize("typed", ["thong thu", "Xã Thông Thụ", "xa thong thu", "THÔNG THỤ",
                                   "16744"])
def test_a_commune_is_found_within_its_province(typed):
    nghe_an = areas.province_by_code(NGHE_AN)
    assert nghe_an is not None
    found = areas.find_commune(nghe_an, typed)
    assert found.unit == areas.commune_by_code(THONG_THU)
    assert found.unit.name == "Xã Thông Thụ"


def test_two_communes_with_the_same_folded_name_are_never_guessed():
    dong_thap = areas.find_province("dong thap").unit
    found = areas.find_commune(dong_thap, "tan thanh")
    assert found.unit is None and found.ambiguous
    assert sorted(c.name for c in found.candidates) == ["Xã Tân Thành", "Xã Tân Thạnh"]
    assert areas.find_commune(dong_thap, "Tân Thạnh").unit.name == "Xã Tân Thạnh"  # accents
    with pytest.raises(placing.AreaError, match="nhiều xã, phường tên \"tan thanh\""):
        placing.commune(dong_thap, "tan thanh")


def test_vietnamadminunits_codes_are_the_codes_of_vietnam_provinces():
    from vietnamadminunits import convert_address

    for address in ("Xã Thông Thụ, Huyện Quế Phong, Tỉnh Nghệ An",
                    "Xã Xuân Phương, Huyện Phú Bình, Tỉnh Thái Nguyên",
                    "Phường Ngọc Hà, Quận Ba Đình, Thành phố Hà Nội"):
        unit = convert_address(address)
        commune = areas.commune_by_code(int(unit.ward_code))
        assert commune is not None and commune.name == unit.ward
        assert commune.province_code == int(unit.province_code)


# --- old addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize("old", [("Xã Thông Thụ", "Huyện Quế Phong", "Nghệ An"),
                                 ("xa thong thu", "huyen que phong", "nghe an"),
                                 ("Đồng Văn", "Quế Phong", "Nghệ An")])  # merged into Thông Thụ
def test_an_old_address_is_converted(old):
    done = areas.convert_old(*old)
    assert done.status == areas.CONVERTED
    assert (done.province.code, done.commune.code) == (NGHE_AN, THONG_THU)
    assert done.new == "Xã Thông Thụ, Nghệ An" and done.old_district == "Huyện Quế Phong"


def test_a_divided_old_commune_or_an_unknown_one_is_not_converted():
    divided = areas.convert_old("Xã Tân Thạnh", "Huyện Thới Lai", "Cần Thơ")
    assert divided.status == areas.AMBIGUOUS and divided.commune is None
    assert len(divided.candidates) == 2
    unknown = areas.convert_old("Foo", "Quế Phong", "Nghệ An")
    assert unknown.status == areas.NOT_FOUND and unknown.province.code == NGHE_AN
    assert areas.convert_old("Foo", "", "Baz").province is None


def test_an_old_district_maps_to_its_new_communes_only_when_unambiguous():
    que_phong = areas.district_communes(NGHE_AN, "huyen Que Phong")
    assert que_phong.ok and THONG_THU in que_phong.codes and len(que_phong.codes) == 5
    place = placing.place("Nghe An", "Huyện Quế Phong")
    assert place.communes == que_phong.codes
    cau_giay = areas.district_communes(1, "Quận Cầu Giấy")  # its wards went to several
    assert not cau_giay.ok and "Phường Cầu Giấy" in {c.name for c in cau_giay.mixed}
    with pytest.raises(placing.AreaError, match="Phường Cầu Giấy"):
        placing.place("Hà Nội", "Cầu Giấy")


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "ishc.sqlite3"
    monkeypatch.setenv("ISHC_DB", str(path))
    monkeypatch.setenv("ISHC_REMINDERS", "0")
    for key in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    assert main(["club", "list"]) == 0  # the schema
    return path


def typed_before_2025(db, *clubs: tuple[str, str, str, str]) -> None:
    """Clubs as they were created before the areas of 2025: text only, no codes."""
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO clubs (name, commune, district, province, meeting_day, created_at) "
            "VALUES (?, ?, ?, ?, 15, '2024-01-01T00:00:00+00:00')", clubs)


def club_rows(db) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT name, commune, district, province, province_code, commune_code FROM clubs "
            "ORDER BY id").fetchall()


def test_club_create_takes_official_names_and_refuses_others(db, capsys):
    assert main(["club", "create", "--name", "CLB bản Lốc", "--commune", "thong thu",
                 "--province", "nghe an", "--meeting-day", "15", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert (made["commune"], made["province"], made["commune_code"], made["province_code"]) == (
        "Xã Thông Thụ", "Nghệ An", THONG_THU, NGHE_AN)
    assert main(["club", "create", "--name", "X", "--commune", "tan thanh", "--province",
                 "Đồng Tháp", "--meeting-day", "15"]) == 2
    assert capsys.readouterr().err == (
        'Lỗi: Đồng Tháp có nhiều xã, phường tên "tan thanh": Xã Tân Thành (29938), Xã Tân '
        'Thạnh (30157). Xin gõ tên có dấu kèm chữ "xã" hoặc "phường", hoặc gõ mã số.\n')
    assert main(["club", "create", "--name", "X", "--commune", "Châu Kim", "--province",
                 "Nghệ An", "--meeting-day", "15"]) == 2
    assert "Nếu là xã cũ, xin ghi thêm huyện cũ (--district)" in capsys.readouterr().err
    assert club_rows(db) == [("CLB bản Lốc", "Xã Thông Thụ", "", "Nghệ An", NGHE_AN, THONG_THU)]
    assert main(["club", "list"]) == 0
    assert capsys.readouterr().out == "1\t0\tCLB bản Lốc\tXã Thông Thụ, Nghệ An\n"


def test_move_area_shows_every_conversion_and_saves_only_when_told(db, capsys, monkeypatch):
    typed_before_2025(db, ("CLB Đồng Văn", "Đồng Văn", "Quế Phong", "Nghệ An"),
                      ("CLB Tân Thạnh", "Xã Tân Thạnh", "Thới Lai", "Cần Thơ"),
                      ("CLB Lạ", "Foo", "Quế Phong", "Nghệ An"))
    before = club_rows(db)
    capsys.readouterr()
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["club", "move-area"]) == 1
    out = capsys.readouterr().out
    assert ("Câu lạc bộ 1 (CLB Đồng Văn): Đồng Văn, Quế Phong, Nghệ An -> Xã Thông Thụ, Nghệ An "
            "(mã tỉnh 40, mã xã 16744)") in out
    assert "Câu lạc bộ 2 (CLB Tân Thạnh): Xã Tân Thạnh, Thới Lai, Cần Thơ: để nguyên, xã cũ " \
        "nay thuộc nhiều xã, phường: " in out
    assert "Câu lạc bộ 3 (CLB Lạ): Foo, Quế Phong, Nghệ An: để nguyên, không tìm thấy xã" in out
    assert "Sẽ chuyển: 1 câu lạc bộ; để nguyên: 2." in out and "Chưa lưu gì." in out
    assert club_rows(db) == before  # the dry run changed nothing
    assert main(["club", "move-area", "--yes"]) == 1  # two are left
    assert "Đã lưu: 1 câu lạc bộ" in capsys.readouterr().out
    assert club_rows(db) == [
        ("CLB Đồng Văn", "Xã Thông Thụ", "Quế Phong", "Nghệ An", NGHE_AN, THONG_THU),
        before[1], before[2]]
    assert main(["club", "move-area", "--club", "1", "--yes"]) == 0  # already converted
    assert "không có gì phải chuyển" in capsys.readouterr().out
    [candidate, *_] = areas.convert_old("Xã Tân Thạnh", "Thới Lai", "Cần Thơ").candidates
    assert main(["club", "move-area", "--club", "2", "--commune", str(candidate.code),
                 "--yes"]) == 0
    assert club_rows(db)[1][4:] == (candidate.province_code, candidate.code)


@pytest.fixture
def area_clubs(db, capsys):
    """Clubs of Nghệ An: two converted (Thông Thụ, Quế Phong), two typed before 2025 (one in
    old Quế Phong district, one elsewhere in Nghệ An), and one of Phú Thọ."""
    for name, commune, province in (("CLB Thông Thụ", "Thông Thụ", "Nghệ An"),
                                    ("CLB Quế Phong", "Xã Quế Phong", "Nghệ An"),
                                    ("CLB Mai Hạ", "Mai Hạ", "Phú Thọ")):
        assert main(["club", "create", "--name", name, "--commune", commune, "--province",
                     province, "--meeting-day", "15"]) == 0
    typed_before_2025(db, ("CLB cũ Tri Lễ", "Tri Lễ", "Quế Phong", "Nghe An"),
                      ("CLB cũ Vinh", "Hưng Dũng", "Vinh", "Nghệ An"))
    capsys.readouterr()


def report_of(tmp_path, capsys, *area: str) -> tuple[list[str], str]:
    out = tmp_path / "report.xlsx"
    assert main(["report", "--month", "2026-10", *area, "--xlsx", str(out)]) == 0
    names = [row[0].value for row in load_workbook(out)["Báo cáo"].iter_rows(min_row=2)]
    return [n for n in names if n != "Tất cả câu lạc bộ"], capsys.readouterr().out


def test_reports_by_province_commune_and_old_district(area_clubs, tmp_path, capsys):
    names, said = report_of(tmp_path, capsys, "--province", "nghe an")
    assert sorted(names) == ["CLB Quế Phong", "CLB Thông Thụ", "CLB cũ Tri Lễ", "CLB cũ Vinh"]
    assert "Trong số đó có 2 câu lạc bộ còn địa chỉ cũ, chưa chuyển" in said
    names, said = report_of(tmp_path, capsys, "--province", "Nghệ An", "--commune", "thong thu")
    assert names == ["CLB Thông Thụ"] and "còn địa chỉ cũ" not in said
    names, said = report_of(tmp_path, capsys, "--province", "Nghe An", "--district",
                            "huyen Que Phong")
    assert sorted(names) == ["CLB Quế Phong", "CLB Thông Thụ", "CLB cũ Tri Lễ"]
    assert "Trong số đó có 1 câu lạc bộ còn địa chỉ cũ" in said
    names, _ = report_of(tmp_path, capsys, "--province", "phu tho")
    assert names == ["CLB Mai Hạ"]
    refused = main(["report", "--month", "2026-10", "--province", "Hà Nội", "--district",
                    "Cầu Giấy", "--xlsx", str(tmp_path / "x.xlsx")])
    assert refused == 2 and "Xin chọn một xã, phường (--commune)" in capsys.readouterr().err


def grants(db) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT province, district, commune, province_code, "
                                  "commune_code FROM operators ORDER BY id").fetchall()


def test_grants_by_province_commune_and_old_district_store_codes(area_clubs, db, capsys):
    base = ["admin", "grant", "--role", "association", "--name", "Bà Hà", "--json"]
    assert main([*base, "--province", "nghe an"]) == 0
    assert json.loads(capsys.readouterr().out)["clubs"] == 4
    assert main([*base, "--province", "nghe an", "--commune", "xa thong thu"]) == 0
    assert json.loads(capsys.readouterr().out)["clubs"] == 1
    assert main([*base[:-1], "--province", "Nghệ An", "--district", "Quế Phong"]) == 0
    said = capsys.readouterr().out
    assert "Hội Người cao tuổi Quế Phong, Nghệ An." in said
    assert "Số câu lạc bộ ở đó hiện nay: 3." in said
    assert "Trong số đó có 1 câu lạc bộ còn địa chỉ cũ" in said
    assert main([*base, "--province", "Hà Nội", "--district", "Cầu Giấy", "--force"]) == 2
    assert grants(db) == [("Nghệ An", "", "", NGHE_AN, None),
                          ("Nghệ An", "", "Xã Thông Thụ", NGHE_AN, THONG_THU),
                          ("Nghệ An", "Quế Phong", "", NGHE_AN, None)]


async def test_a_grant_given_before_2025_still_sees_its_clubs(text_chat):
    """A grant with text only (no codes) matches converted clubs by their names."""
    from bot import association

    made = await text_chat.bot.new_club()  # Thông Thụ, Quế Phong, Nghệ An
    await text_chat.bot.new_club(name="CLB Tri Lễ", commune="Tri Lễ")
    async with text_chat.bot.storage.transaction() as tx:
        old = await tx.add_operator("association", "Ông An", ("nghe an", "Quế Phong",
                                                              "thong thu"), "test",
                                    text_chat.bot.clock())
        clubs = await association.clubs_in(tx, association.Area.of(old))
    assert [c.id for c in clubs] == [made["club_id"]]
    assert (clubs[0].commune, clubs[0].commune_code) == ("Xã Thông Thụ", THONG_THU)
