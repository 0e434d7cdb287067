"""Export jobs (``bot/exports.py``): a file built after the commit, with progress, sent once.

The builders here are test kinds; the real ones (the report, the data export) have their own
tests. Each runs on every channel: Telegram gets the file as an upload and sees the progress
message change; Zalo gets a download link (the fake downloads it as a person would tap it);
the text channel gets the file and no progress updates.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any

import aiohttp

from bot import exports, outbox
from bot.i18n import N_
from bot.messages import Inbound, Reply, T
from tests.harness import web_server

CSV = "text/csv"


@exports.builder("test_sheets")
async def three_sheets(tx: Any, job: Any, progress: exports.Progress) -> exports.ExportFile:
    for number, name in enumerate(("sheet A", "sheet B", "sheet C"), 1):
        progress(number, 3, T(name))
    data = ("tên,số\nBác Hoa," + str(job.params["n"]) + "\n").encode()
    return exports.ExportFile("danh-sach.csv", CSV, data, T(N_("The file is ready.")),
                              before=(T("{n} rows", n=job.params["n"]),))


@exports.builder("test_refused")
async def refused(tx: Any, job: Any, progress: exports.Progress) -> T:
    return T(N_("Only the club's board can have its report."))


@exports.builder("test_broken")
async def broken(tx: Any, job: Any, progress: exports.Progress) -> exports.ExportFile:
    raise RuntimeError("disk full")


RELEASE = threading.Event()


@exports.builder("test_waits")
async def waits(tx: Any, job: Any, progress: exports.Progress) -> exports.ExportFile:
    # Read something, then wait (on the worker thread) until the test lets it go.
    await tx.get_meta("health")
    assert RELEASE.wait(10), "the test never released the export"
    return exports.ExportFile("x.csv", CSV, b"a,b\n", T("{n} rows", n=1))


async def ask(chat: Any, person: Any, kind: str, **params: Any) -> int:
    """Record a job for ``person`` as a flow's effect would, and start it."""
    bot = chat.bot
    async with bot.storage.transaction() as tx:
        job = await tx.add_export(kind, params, None, (chat.kind, str(person.user_id), "vi"),
                                  bot.clock())
    bot.exports.start([job])
    await settle(chat)
    return job.id


async def settle(chat: Any) -> None:
    if chat.kind == "text":
        await chat.bot.exports.wait()
        await chat.bot.outbox.drain()
    else:
        await chat.settle()


async def test_the_file_arrives_once_after_the_messages_before_it(chat, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)  # every update goes out
    person = chat.person()
    await person.say("/menu")
    job_id = await ask(chat, person, "test_sheets", n=7)
    got = person.unread()
    if chat.kind == "telegram":
        # No first progress message here (a flow's effect sends it), so nothing to edit.
        assert [m.raw.method for m in got] == ["sendMessage", "sendDocument"]
    texts = [m.text for m in got]
    assert texts[0] == "7 rows"
    last = got[-1]
    assert last.text.startswith("Đã xuất xong.")
    assert last.document == ("danh-sach.csv", "tên,số\nBác Hoa,7\n".encode())
    if chat.kind == "zalo":
        assert ("Bác mở đường link này để tải tệp (link dùng được 7 ngày): http://127.0.0.1:"
                in last)
    rows = await chat.bot.rows("SELECT finished_at, error FROM exports WHERE id = ?", job_id)
    assert rows[0]["finished_at"] is not None and rows[0]["error"] is None
    # A sweep (as after a restart) finds nothing left to do: the file is not sent again.
    await chat.bot.service.sweep()
    await settle(chat)
    assert person.unread() == []


async def test_telegram_edits_the_progress_message_in_place(telegram_chat, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 0.0)
    chat = telegram_chat
    person = chat.person()
    await person.say("/menu")
    bot = chat.bot
    async with bot.storage.transaction() as tx:
        job = await tx.add_export("test_sheets", {"n": 2}, None,
                                  ("telegram", str(person.user_id), "vi"), bot.clock())
        first = Reply((T(N_("Making the Excel file...")),),  # as the flow's effect says it
                      progress=exports.progress_name(job.id))
        await outbox.queue(tx, ("telegram", str(person.user_id), "vi"), [first], bot.clock())
    await chat.settle()
    bot.exports.start([job])
    await chat.settle()
    got = person.unread()
    assert [m.raw.method for m in got] == (["sendMessage"] + ["editMessageText"] * 4
                                           + ["sendMessage", "sendDocument"])
    assert [m.text for m in got[1:5]] == [
        "Đang ghi sheet A (1/3)...", "Đang ghi sheet B (2/3)...", "Đang ghi sheet C (3/3)...",
        "Đã xuất xong.",
    ]
    progress_id = got[0].raw.message_id
    assert {m.raw.message_id for m in got[1:5]} == {progress_id}
    assert chat.fake.message(person.user_id, progress_id)["text"] == "Đã xuất xong."


async def test_a_refusal_or_a_failure_is_said_and_the_job_ends(chat, caplog):
    person = chat.person()
    await person.say("/menu")
    await ask(chat, person, "test_refused")
    assert [m.text for m in person.unread()] == [
        "Chỉ ban chủ nhiệm câu lạc bộ mới nhận được báo cáo này ạ."]
    failed = await ask(chat, person, "test_broken")
    assert [m.text for m in person.unread()] == [
        "Xin lỗi, chưa làm được tệp. Bác thử lại sau nhé."]
    rows = await chat.bot.rows("SELECT error FROM exports WHERE id = ?", failed)
    assert "disk full" in rows[0]["error"]
    assert await chat.bot.rows("SELECT id FROM exports WHERE finished_at IS NULL") == []


async def test_a_job_left_by_a_restart_is_built_by_the_export_runner(text_chat):
    person = text_chat.person()
    await person.say("/menu")
    person.unread()
    bot = text_chat.bot
    async with bot.storage.transaction() as tx:  # recorded, but the process stopped
        await tx.add_export("test_sheets", {"n": 3}, None, ("text", person.user_id, "vi"),
                            bot.clock())
    await bot.exports.resume()
    await bot.exports.resume()  # a second run while it runs or after: still once
    await settle(text_chat)
    got = person.unread()
    assert [m.text for m in got] == ["3 rows", "Đã xuất xong."]
    assert got[-1].document is not None


async def test_chats_go_on_while_a_file_is_built(text_chat):
    """The builder reads a snapshot on its own connection: the writer stays free."""
    RELEASE.clear()
    bot = text_chat.bot
    person, other = text_chat.person(), text_chat.person("Bác Lan")
    await person.say("/menu")
    async with bot.storage.transaction() as tx:
        job = await tx.add_export("test_waits", {}, None, ("text", person.user_id, "vi"),
                                  bot.clock())
    bot.exports.start([job])
    await asyncio.sleep(0.05)
    assert bot.exports.busy()
    handled = await asyncio.wait_for(bot.service.handle(Inbound(
        channel="text", user_id=other.user_id, chat_id=other.user_id, external_id="busy-1",
        text="/menu", display_name="Bác Lan", locale="vi")), timeout=5)
    assert handled.queued  # answered while the export still waits
    assert bot.exports.busy()
    RELEASE.set()
    await settle(text_chat)
    assert person.unread()[-1].document == ("x.csv", b"a,b\n")


async def test_zalo_without_public_url_says_the_file_cannot_be_sent(zalo_chat):
    channel = zalo_chat.channel
    channel.settings = replace(channel.settings, public_url=None)
    person = zalo_chat.person()
    await person.say("/menu")
    await ask(zalo_chat, person, "test_sheets", n=1)
    last = person.unread()[-1]
    assert last.text == ("Đã xuất xong.\n\n(Kênh này chưa gửi được tệp. Bác dùng Telegram, "
                         "hoặc nhờ người quản lý hệ thống gửi giúp ạ.)")
    assert last.document is None


async def test_download_links_serve_files_only_until_they_expire(text_chat):
    bot = text_chat.bot
    now = bot.clock()
    async with bot.storage.transaction() as tx:
        await tx.put_media("file-token-123", CSV, b"a,b\n", now, now + exports.FILE_KEEP)
        await tx.put_media("chart-token-123", "image/png", b"\x89PNG", now,
                           now + exports.FILE_KEEP)
    async with web_server([], bot.storage, bot.clock) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/media/file-token-123/danh-sach.csv") as response:
            assert response.status == 200
            assert await response.read() == b"a,b\n"
            assert response.headers["Content-Disposition"] == (
                'attachment; filename="danh-sach.csv"')
        for path in ("/media/file-token-123.png", "/media/chart-token-123/x.png",
                     "/media/unknown-token-1/x.csv", "/media/file-token-123/../x"):
            async with http.get(base + path) as response:
                assert response.status == 404, path
        bot.clock.advance(days=8)
        async with http.get(f"{base}/media/file-token-123/danh-sach.csv") as response:
            assert response.status == 404


def test_the_running_bot_loads_openpyxl_and_matplotlib_only_when_needed():
    """They cost about 20 and 40 MiB per process; most processes never make a file or chart."""
    import subprocess
    import sys

    code = ("import sys, bot.app, bot.conversations.registry; "
            "print(sorted(m for m in ('openpyxl', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
