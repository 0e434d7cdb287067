"""The command line, the local terminal chat, and configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def run(args, db, stdin=None, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    environment.update({"ISHC_DB": str(db), "PYTHONPATH": str(ROOT), "ISHC_REMINDERS": "0",
                        **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        env=environment, cwd=ROOT, timeout=60, check=False,
    )


def test_club_create_and_list(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    done = run(["club", "create", "--name", "CLB LTHTGN bản Lốc", "--commune", "Thông Thụ",
                "--district", "Quế Phong", "--province", "Nghệ An", "--meeting-day", "15",
                "--json"], db, env={"TELEGRAM_BOT_USERNAME": "ishc_bot"})
    assert done.returncode == 0, done.stderr
    club = json.loads(done.stdout)
    assert club["club_id"] == 1 and club["name"] == "CLB LTHTGN bản Lốc"
    assert len(club["board_code"]) == 8 and len(club["member_code"]) == 8
    assert not set(club["board_code"]) & set("0O1IL")
    assert club["member_link"] == f"https://t.me/ishc_bot?start={club['member_code']}"
    listed = run(["club", "list", "--json"], db)
    assert json.loads(listed.stdout) == [{
        "club_id": 1, "name": "CLB LTHTGN bản Lốc", "commune": "Xã Thông Thụ",
        "district": "Quế Phong", "province": "Nghệ An", "commune_code": 16744,
        "province_code": 40, "meeting_day": 15, "members": 0,
    }]  # the official commune, by code; the old district stays as a label
    plain = run(["club", "list"], db)
    assert plain.stdout == "1\t0\tCLB LTHTGN bản Lốc\tXã Thông Thụ, Nghệ An\n"
    import sqlite3

    with sqlite3.connect(db) as connection:
        hashes = [row[0] for row in connection.execute("SELECT code_hash FROM invites")]
    assert club["board_code"] not in hashes and len(hashes) == 2  # only hashes are stored


def test_club_create_refuses_a_bad_meeting_day(tmp_path):
    done = run(["club", "create", "--name", "X", "--meeting-day", "40"], tmp_path / "db")
    assert done.returncode == 2
    assert done.stderr == "Lỗi: --meeting-day: ngày họp phải từ 1 đến 31, ví dụ 15.\n"


def test_local_chat_join_register_and_be_approved(tmp_path):
    db = tmp_path / "demo.sqlite3"
    first = run(["run"], db, stdin="/quit\n")
    code = next(line.split(": ")[1].split(" ")[0] for line in first.stdout.splitlines()
                if line.startswith("Mã mời thành viên của câu lạc bộ mẫu"))
    lines = [
        "/as new", code, "lo van pao", "nam", "1952", "0987 111 222", "ban loc", "1",
        "bo qua", "dong y", "1", "/as chair", "/duyet", "1", "1", "/as new", "/dulieu",
    ]
    done = run(["run"], db, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Cảm ơn bác Lo Van Pao!" in out
    assert "Có người đăng ký mới đang chờ duyệt: Lo Van Pao" in out
    assert "Lo Van Pao đã là thành viên." in out
    assert "Tin vui: ban chủ nhiệm CLB LTHTGN bản Lốc (demo) đã duyệt bác." in out
    assert "Tình trạng: thành viên" in out
    assert "Trả lời 1 hoặc 2" in out  # choices as a numbered list in the terminal


def test_settings_from_env_and_secrets_not_in_repr():
    settings = Settings.from_env({
        "TELEGRAM_BOT_TOKEN": "123456:SECRET-token", "ISHC_LISTEN": "0.0.0.0:9000",
        "TELEGRAM_WEBHOOK_URL": "https://x.example/tg", "TELEGRAM_WEBHOOK_SECRET": "s3cret-1",
    })
    assert settings.port == 9000 and settings.host == "0.0.0.0"
    assert "SECRET" not in repr(settings) and "s3cret" not in repr(settings)
    assert Settings.from_env({}).telegram_token is None
    with pytest.raises(ValueError, match="SECRET"):
        Settings.from_env({"TELEGRAM_WEBHOOK_URL": "https://x.example/tg"})


def test_triage_thresholds_are_settings(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    shown = run(["triage", "show"], db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["urgent_systolic"] == 180
    changed = run(["triage", "set", "urgent_systolic=170", "visit_gap_days=10"], db)
    assert changed.returncode == 0, changed.stderr
    again = json.loads(run(["triage", "show"], db).stdout)
    assert (again["urgent_systolic"], again["visit_gap_days"], again["urgent_diastolic"]) == (
        170, 10, 110)
    bad = run(["triage", "set", "urgent=1"], db)
    assert bad.returncode == 2 and "NAME=NUMBER" in bad.stderr


def club_with_a_member(db):
    """A club meeting on the 15th with one active member on Telegram."""
    created = run(["club", "create", "--name", "CLB LTHTGN bản Lốc", "--meeting-day", "15",
                   "--json"], db)
    club = json.loads(created.stdout)
    assert club["club_id"] == 1
    import sqlite3

    with sqlite3.connect(db) as connection:  # an active member (as registration leaves one)
        connection.execute(
            "INSERT INTO members (club_id, full_name, sex, birth_year, village, household, "
            "status, registered_at, registration_key) VALUES (1, 'Vi Thị Lan', 'female', 1956, "
            "'Bản Lốc', 'ordinary', 'active', '2026-11-01T00:00:00+00:00', 'k1')"
        )
        connection.execute(
            "INSERT INTO identities (channel, user_id, chat_id, member_id, last_seen_at) "
            "VALUES ('telegram', '42', '42', 1, '2026-11-01T00:00:00+00:00')"
        )


def test_reminders_due_and_send_from_the_command_line(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    import sqlite3

    early = run(["reminders", "due", "--at", "2026-12-13T07:59", "--json"], db)
    assert [r["kind"] for r in json.loads(early.stdout)] == ["health"]
    due = run(["reminders", "due", "--at", "2026-12-13T08:00", "--json"], db)
    assert due.returncode == 0, due.stderr
    found = json.loads(due.stdout)
    meeting = [r for r in found if r["kind"] == "meeting"]
    assert meeting[0]["at"] == "2026-12-13T08:00:00+07:00"
    assert meeting[0]["text"].startswith("Nhắc lịch: câu lạc bộ họp Thứ Ba ngày 15/12/2026")
    sent = run(["reminders", "send", "--at", "2026-12-13T08:00"], db)
    assert sent.returncode == 0
    assert f"Số tin nhắc đã xếp hàng để gửi: {len(found)}." in sent.stdout
    again = run(["reminders", "send", "--at", "2026-12-13T08:05"], db)
    assert "Số tin nhắc đã xếp hàng để gửi: 0." in again.stdout
    with sqlite3.connect(db) as connection:
        queued = connection.execute(
            "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'reminder:%'").fetchone()[0]
    assert queued == len(found)


def test_reminders_sent_at_night_wait_for_the_end_of_the_quiet_hours(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    sent = run(["reminders", "send", "--at", "2026-12-13T23:00"], db)
    assert sent.returncode == 0, sent.stderr
    assert "Số tin nhắc đã xếp hàng để gửi: 2." in sent.stdout
    import sqlite3

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT r.kind, o.not_before, o.next_attempt_at, o.expires_at, o.quiet, o.guard "
            "FROM reminders r JOIN outbox o ON o.id = r.outbox_id ORDER BY r.kind").fetchall()
    # The send window's start (07:00), a second apart; until the meeting (08:00).
    morning, later = "2026-12-14T00:00:00+00:00", "2026-12-14T00:00:01+00:00"
    meeting = "2026-12-15T01:00:00+00:00"
    assert [row[:5] for row in rows] == [("health", morning, morning, meeting, 1),
                                         ("meeting", later, later, meeting, 1)]
    assert json.loads(rows[1][5]) == {"kind": "meeting", "club": 1, "member": 1,
                                      "day": "2026-12-15", "time": "08:00"}


def test_reminders_can_be_turned_off():
    assert Settings.from_env({}).reminders is True
    assert Settings.from_env({"ISHC_REMINDERS": "off"}).reminders is False
    assert Settings.from_env({"ISHC_REMINDERS": "0"}).reminders is False


def test_reminder_settings_from_the_command_line(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    shown = json.loads(run(["reminders", "settings"], db).stdout)
    assert shown["meeting_days"] == [2, 0] and shown["quiet_start"] == "21:00"
    changed = run(["reminders", "settings", "send_at=7:30", "meeting_days=3,1,0",
                   "overdue_every=14"], db)
    assert changed.returncode == 0, changed.stderr
    again = json.loads(run(["reminders", "settings"], db).stdout)
    assert (again["send_at"], again["meeting_days"], again["overdue_every"]) == (
        "07:30", [3, 1, 0], 14)
    bad = run(["reminders", "settings", "send_at=25:00"], db)
    assert bad.returncode == 2 and "07:30" in bad.stderr
    assert again["send_window"] == "07:00-11:00"  # the default
    window = run(["reminders", "settings", "send_window=6:45-10:30"], db)
    assert window.returncode == 0, window.stderr
    assert json.loads(window.stdout)["send_window"] == "06:45-10:30"
    backwards = run(["reminders", "settings", "send_window=11:00-07:00"], db)
    assert backwards.returncode == 2
    assert "giờ bắt đầu 11:00 phải trước giờ kết thúc 07:00" in backwards.stderr
    quiet = run(["reminders", "settings", "send_window=05:00-09:00"], db)
    assert quiet.returncode == 2
    assert "trùng với giờ yên lặng 21:00-06:30" in quiet.stderr
    # Quiet hours that would swallow the window are refused too; nothing was changed.
    late = run(["reminders", "settings", "quiet_start=10:00"], db)
    assert late.returncode == 2 and "06:45-10:30" in late.stderr
    garbled = run(["reminders", "settings", "send_window=07:00"], db)
    assert garbled.returncode == 2 and "send_window" in garbled.stderr
    kept = json.loads(run(["reminders", "settings"], db).stdout)
    assert (kept["send_window"], kept["quiet_start"]) == ("06:45-10:30", "21:00")


def test_report_of_a_province_as_a_spreadsheet(tmp_path):
    from openpyxl import load_workbook

    db = tmp_path / "ishc.sqlite3"
    for name, province in (("CLB A", "Nghệ An"), ("CLB B", "Phú Thọ"), ("CLB C", "Nghe An")):
        run(["club", "create", "--name", name, "--province", province, "--meeting-day", "15"],
            db)
    out = tmp_path / "report.xlsx"
    done = run(["report", "--month", "2026-10", "--province", "nghe an", "--xlsx", str(out)], db)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Đã ghi báo cáo tháng 10/2026 của 2 câu lạc bộ vào tệp {out}.\n"
    sheet = load_workbook(out)["Báo cáo"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["CLB A", "CLB C",
                                                                     "Tất cả câu lạc bộ"]
    bad = run(["report", "--month", "2026-13", "--xlsx", str(out)], db)
    assert bad.returncode == 2
    assert bad.stderr == ("Lỗi: --month 2026-13: Bác gõ tháng như 10/2026 hoặc tháng 10 "
                          "nhé.\n")


def test_club_create_prints_plain_labelled_lines(tmp_path):
    done = run(["club", "create", "--name", "CLB LTHTGN bản Lốc", "--meeting-day", "15"],
               tmp_path / "ishc.sqlite3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Câu lạc bộ số 1: CLB LTHTGN bản Lốc"
    assert lines[1].startswith("Mã cho ban chủ nhiệm (ai tham gia bằng mã này sẽ là chủ nhiệm; "
                               "dùng một lần, hạn đến ")
    assert lines[2].startswith("Mã mời thành viên (hạn đến ")
    assert len(lines) == 3  # no link without TELEGRAM_BOT_USERNAME, and no "None"
    assert "None" not in done.stdout and "_" not in done.stdout
    linked = run(["club", "create", "--name", "CLB B", "--meeting-day", "15"],
                 tmp_path / "ishc.sqlite3", env={"TELEGRAM_BOT_USERNAME": "ishc_bot"})
    assert linked.stdout.splitlines()[3].startswith(
        "Đường dẫn Telegram cho ban chủ nhiệm: https://t.me/ishc_bot?start=")


def test_help_has_no_markup():
    for args in (["--help"], ["report", "--help"], ["reminders", "due", "--help"],
                 ["admin", "grant", "--help"], ["club", "create", "--help"]):
        done = run(args, "unused.sqlite3")
        assert done.returncode == 0 and "usage: ishc-bot" in done.stdout
        assert "`" not in done.stdout and ":func:" not in done.stdout


@pytest.mark.parametrize("month", ["11/2026", "2026-11", "11-2026", "thang 11/2026",
                                   "tháng 11 năm 2026"])
def test_report_takes_the_months_the_chat_takes(tmp_path, month):
    from openpyxl import load_workbook

    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    out = tmp_path / "report.xlsx"
    done = run(["report", "--month", month, "--xlsx", str(out)], db)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Đã ghi báo cáo tháng 11/2026 của 1 câu lạc bộ vào tệp {out}.\n"
    row = [c.value for c in load_workbook(out)["Báo cáo"][2]]
    assert (row[0], row[4]) == ("CLB LTHTGN bản Lốc", "2026-11")


def test_report_refuses_an_unknown_club_and_writes_nothing(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    out = tmp_path / "report.xlsx"
    done = run(["report", "--month", "11/2026", "--club", "99", "--xlsx", str(out)], db)
    assert done.returncode == 2
    assert done.stderr == ("Lỗi: không có câu lạc bộ số 99 (xem danh sách: ishc-bot club "
                           "list).\n")
    assert done.stdout == "" and not out.exists()
    elsewhere = run(["report", "--month", "11/2026", "--club", "1", "--province", "Phú Thọ",
                     "--xlsx", str(out)], db)
    assert elsewhere.returncode == 2 and not out.exists()
    assert elsewhere.stderr == ("Lỗi: không có câu lạc bộ nào ở Phú Thọ (#1) (xem danh sách: "
                                "ishc-bot club list).\n")


def test_report_into_a_path_it_cannot_write(tmp_path):
    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    missing = tmp_path / "khong-co" / "report.xlsx"
    done = run(["report", "--month", "11/2026", "--xlsx", str(missing)], db)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == f"Lỗi: không ghi được tệp {missing}: thư mục này chưa có.\n"
    assert not missing.parent.exists()  # not created: a mistyped folder is reported
    folder = run(["report", "--month", "11/2026", "--xlsx", str(tmp_path)], db)
    assert folder.returncode == 1
    assert folder.stderr == (f"Lỗi: không ghi được tệp {tmp_path}: đó là một thư mục, không "
                             "phải tệp.\n")
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith("ishc.sqlite3")]


@pytest.mark.parametrize("at", ["13/12/2026 8:00", "13/12/2026 8h", "13-12-2026 lúc 8 giờ",
                                "2026-12-13T08:00", "2026-12-13 08:00"])
def test_reminders_take_the_moments_the_chat_takes(tmp_path, at):
    db = tmp_path / "ishc.sqlite3"
    club_with_a_member(db)
    due = run(["reminders", "due", "--at", at, "--json"], db)
    assert due.returncode == 0, due.stderr
    meeting = [r for r in json.loads(due.stdout) if r["kind"] == "meeting"]
    assert meeting[0]["at"] == "2026-12-13T08:00:00+07:00"
    bad = run(["reminders", "due", "--at", "13/12/2026"], db)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr == ('Lỗi: --at 13/12/2026: Hãy ghi ngày và giờ, ví dụ "13/12/2026 7:00" '
                          "hoặc 2026-12-13T07:00.\n")


def test_the_event_loop_is_uvloop_when_installed_and_asyncio_when_asked(monkeypatch):
    import sys
    import types

    from bot.cli import event_loop

    fake = types.ModuleType("uvloop")
    fake.new_event_loop = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uvloop", fake)
    assert event_loop("auto") is fake.new_event_loop
    assert event_loop("uvloop") is fake.new_event_loop
    assert event_loop("asyncio") is None
    monkeypatch.setenv("ISHC_EVENT_LOOP", "asyncio")
    assert event_loop() is None
    monkeypatch.setitem(sys.modules, "uvloop", None)  # not installed
    assert event_loop("auto") is None
    with pytest.raises(SystemExit, match="not installed"):
        event_loop("uvloop")
    with pytest.raises(SystemExit, match="auto, uvloop or asyncio"):
        event_loop("fast")
