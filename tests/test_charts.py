"""Charts: drawing PNGs, translating their labels, and sending them on every channel."""

from __future__ import annotations

import json
import logging
import struct
import warnings
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import charts, outbox
from bot.config import Settings, public_base
from bot.handlers.local import LocalChannel
from bot.i18n import N_
from bot.messages import Choice, OutMessage, Reply, T
from bot.render import render, translate_all
from storage.base import OutboxItem
from tests.harness import web_server

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NOTE_VI = "(Chưa gửi kèm được biểu đồ.)"
TEXT = T("Is this correct?")
TEXT_VI = "Thông tin trên đã đúng chưa ạ?"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">II", data[16:24])


def readings(count: int, weight: bool = True) -> list[list[Any]]:
    start = date(2026, 1, 15)
    return [
        [
            start + timedelta(days=30 * i),
            125 + (i * 7) % 30,
            78 + (i * 5) % 16,
            70 + i % 9,
            round(52 + (i % 7) * 0.4, 1) if weight else None,
        ]
        for i in range(count)
    ]


def vi_spec(count: int, weight: bool = True) -> dict[str, Any]:
    return translate_all(charts.bp_chart("Huyết áp của bác Hoa", readings(count, weight)), "vi")


# Drawing


@pytest.mark.parametrize("count", [1, 2, 60])
@pytest.mark.parametrize("weight", [True, False], ids=["weight", "no-weight"])
def test_draw_gives_an_800x500_png(count: int, weight: bool) -> None:
    spec = vi_spec(count, weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        png = charts.draw(spec)
    assert png_size(png) == (charts.WIDTH, charts.HEIGHT) == (800, 500)
    assert 5_000 < len(png) < 200_000


def test_vietnamese_labels_render_without_missing_glyphs() -> None:
    spec = vi_spec(3)
    assert spec["labels"]["systolic"].startswith("Huyết áp tâm thu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        charts.draw(spec)
    # The check is real: a letter DejaVu Sans lacks does warn.
    with pytest.warns(UserWarning, match="missing from font"):
        charts.draw({**spec, "title": "血压"})


def test_a_spec_with_weights_only_sometimes_and_same_day_readings() -> None:
    points = [
        ["2026-11-15", 150, 95, None, None],
        ["2026-11-15", 138, 88, 72, 51.5],
        ["2026-11-16", 135.5, 85, None, None],
    ]
    spec = translate_all(charts.bp_chart("Bác Páo", points), "en")
    assert png_size(charts.draw(spec)) == (800, 500)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "pie"},
        {"points": [["2026-11-15", 150, 95, None, None]]},
        {"kind": "bp", "points": []},
        {"kind": "bp", "points": [["15/11/2026", 150, 95, None, None]]},
        {"kind": "bp", "points": [["2026-11-15", "150", 95, None, None]]},
        {"kind": "bp", "points": [["2026-11-15", None, 95, None, None]]},
    ],
)
async def test_a_bad_spec_raises_and_picture_gives_none(spec, caplog) -> None:
    with pytest.raises(ValueError):
        charts.draw(spec)
    with caplog.at_level(logging.ERROR, logger="bot.charts"):
        assert await charts.picture(spec) is None
    assert "could not be drawn" in caplog.text
    assert await charts.picture(None) is None


def test_another_kind_is_one_more_function(monkeypatch) -> None:
    calls = []

    def draw_steps(figure, spec):
        calls.append(spec["steps"])
        figure.add_axes((0.1, 0.1, 0.8, 0.8)).bar(["a", "b"], spec["steps"])

    monkeypatch.setitem(charts.KINDS, "steps", draw_steps)
    assert png_size(charts.draw({"kind": "steps", "steps": [3, 5]})) == (800, 500)
    assert calls == [[3, 5]]


# Rendering (translation of the labels)


def chart_reply(**changes: Any) -> Reply:
    spec = charts.bp_chart(T("{name}", name="Mồng Thị Hoa"), readings(3))
    return Reply((TEXT,), chart=spec, **changes)


@pytest.mark.parametrize(
    ("locale", "systolic", "day", "note"),
    [
        ("vi", "Huyết áp tâm thu (số trên)", "Ngày đo", NOTE_VI),
        ("en", "Systolic (upper)", "Day measured", "(The chart could not be attached.)"),
    ],
)
def test_render_translates_every_label_of_the_chart(locale, systolic, day, note) -> None:
    message = render(chart_reply(), locale)
    chart = message.chart
    assert chart["labels"]["systolic"] == systolic
    assert chart["labels"]["date"] == day
    assert chart["title"] == "Mồng Thị Hoa"
    assert chart["points"][0] == ["2026-01-15", 125, 78, 70, 52.0]
    assert chart["limits"] == {"systolic": 140, "diastolic": 90}
    assert message.chart_note == note
    # Plain JSON for the outbox, and back.
    payload = json.loads(json.dumps(message.to_json()))
    assert OutMessage.from_json(payload) == message


def test_translate_all_goes_through_nested_lists_and_dicts() -> None:
    value = {"a": [T("Is this correct?"), {"b": (T("Day measured"), 3, None)}], "c": 1.5}
    assert translate_all(value, "vi") == {
        "a": [TEXT_VI, {"b": ["Ngày đo", 3, None]}],
        "c": 1.5,
    }


def test_a_message_without_chart_keeps_its_json() -> None:
    payload = render(Reply((TEXT,)), "vi").to_json()
    assert "chart" not in payload
    assert OutMessage.from_json(payload).chart is None


# Settings


def test_public_url_is_set_or_derived_from_a_webhook() -> None:
    assert public_base("https://bot.example.org/") == "https://bot.example.org"
    assert public_base(None, None, "https://bot.example.org:8443/tg") == (
        "https://bot.example.org:8443"
    )
    assert public_base(None, "https://z.example.org/zalo", "https://t.example.org/tg") == (
        "https://z.example.org"
    )
    assert public_base(None, None, None) is None
    with pytest.raises(ValueError):
        public_base("bot.example.org")
    settings = Settings.from_env({"ISHC_PUBLIC_URL": "https://bot.example.org/ishc/"})
    assert settings.public_url == "https://bot.example.org/ishc"
    assert Settings.from_env({}).public_url is None


# Sending, end to end


async def queue(harness: Any, chat_id: str, reply: Reply, locale: str = "vi") -> None:
    """Queue a reply through the service, as a flow's would be, and deliver it."""
    bot = harness.bot
    async with bot.storage.transaction() as tx:
        here = (harness.kind, chat_id, locale)
        items: list[OutboxItem] = await outbox.queue(tx, here, [reply], bot.clock())
    assert len(items) == 1
    if harness.kind == "text":
        await bot.outbox.drain()
    else:
        await harness.settle()


async def test_text_channel_records_the_chart(text_chat) -> None:
    person = text_chat.person()
    await queue(text_chat, person.user_id, chart_reply())
    [received] = person.unread()
    assert received.text == TEXT_VI
    assert received.raw.chart["labels"]["weight"] == "Cân nặng (kg)"
    assert png_size(received.photo) == (800, 500)


async def test_telegram_uploads_the_png_with_the_text_as_caption(telegram_chat) -> None:
    person = telegram_chat.person()
    choices = (Choice("yes", N_("Yes")), Choice("no", N_("No")))
    await queue(telegram_chat, str(person.user_id), chart_reply(choices=choices, ref="r1"))
    [received] = person.unread()
    assert received.raw.method == "sendPhoto"
    assert received.text == TEXT_VI  # the caption
    assert received.labels == ["Có", "Không"]  # the buttons go with the caption
    assert png_size(received.photo) == (800, 500)
    assert received.raw.message["photo"][0]["width"] == 800
    [call] = [params for name, params in telegram_chat.fake.calls if name == "sendphoto"]
    assert call["photo"]["content_type"] == "image/png"


async def test_telegram_long_text_follows_the_photo(telegram_chat) -> None:
    person = telegram_chat.person()
    long_text = T("{name}", name="Bác Hoa đo huyết áp. " * 60)  # 1,260 characters
    choices = (Choice("yes", N_("Yes")),)
    reply = Reply((long_text,), choices=choices, chart=chart_reply().chart)
    await queue(telegram_chat, str(person.user_id), reply)
    photo, text = person.unread()
    assert (photo.raw.method, photo.text, photo.labels) == ("sendPhoto", "", [])
    assert photo.photo.startswith(PNG_MAGIC)
    assert text.raw.method == "sendMessage"
    assert text.text.startswith("Bác Hoa đo huyết áp.") and len(text.text) > 1024
    assert text.labels == ["Có"]
    assert text.photo is None


async def test_telegram_sends_the_text_with_a_note_when_drawing_fails(telegram_chat) -> None:
    person = telegram_chat.person()
    await queue(telegram_chat, str(person.user_id), Reply((TEXT,), chart={"kind": "nope"}))
    [received] = person.unread()
    assert received.raw.method == "sendMessage"
    assert received.text == f"{TEXT_VI}\n\n{NOTE_VI}"


async def test_telegram_photo_errors_map_for_the_outbox(telegram_chat) -> None:
    channel, fake = telegram_chat.channel, telegram_chat.fake
    message = render(chart_reply(), "vi")
    fake.fail_next("sendPhoto", status=429, retry_after=3)
    with pytest.raises(outbox.RetryAfter):
        await channel.send("5001", message)
    fake.fail_next("sendPhoto", status=403)
    with pytest.raises(outbox.Blocked):
        await channel.send("5001", message)
    # A picture refused for good: the text still goes, with the note.
    fake.fail_next("sendPhoto", status=400, description="Bad Request: PHOTO_INVALID_DIMENSIONS")
    await channel.send("5001", message)
    assert fake.sent[-1].method == "sendMessage"
    assert fake.sent[-1].text == f"{TEXT_VI}\n\n{NOTE_VI}"


async def test_zalo_sends_a_photo_url_the_fake_fetches(zalo_chat) -> None:
    person = zalo_chat.person()
    await queue(zalo_chat, person.user_id, chart_reply(choices=(Choice("yes", N_("Yes")),)))
    [received] = person.unread()
    assert received.raw.method == "sendPhoto"
    assert received.text == f"{TEXT_VI}\n\n1. Có\nTrả lời 1"  # the caption, choices numbered
    url = received.raw.photo
    assert url.startswith(f"{zalo_chat.public_url}/media/") and url.endswith(".png")
    assert url.startswith("http://127.0.0.1:")
    assert png_size(received.photo) == (800, 500)
    [row] = await zalo_chat.bot.rows("SELECT * FROM media")
    assert url.endswith(f"/{row['token']}.png") and len(row["token"]) >= 32
    assert row["content_type"] == "image/png" and row["data"] == received.photo
    kept = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
    assert kept == timedelta(days=7)


async def test_zalo_long_text_follows_the_photo(zalo_chat) -> None:
    person = zalo_chat.person()
    long_text = T("{name}", name="Bác Hoa đo huyết áp.\n" * 100)  # 2,100 characters
    await queue(zalo_chat, person.user_id, Reply((long_text,), chart=chart_reply().chart))
    photo, *texts = person.unread()
    assert (photo.raw.method, photo.text) == ("sendPhoto", "")
    assert photo.photo.startswith(PNG_MAGIC)
    assert [t.raw.method for t in texts] == ["sendMessage", "sendMessage"]
    assert "".join(t.text for t in texts).count("Bác Hoa") == 100


async def test_zalo_without_public_url_sends_the_text_with_a_note(zalo_chat, caplog) -> None:
    channel = zalo_chat.channel
    channel.settings = replace(channel.settings, public_url=None)
    person = zalo_chat.person()
    with caplog.at_level(logging.WARNING, logger="bot.handlers.zalo"):
        await queue(zalo_chat, person.user_id, chart_reply())
        await queue(zalo_chat, person.user_id, chart_reply())
    first, second = person.unread()
    assert first.raw.method == second.raw.method == "sendMessage"
    assert first.text == f"{TEXT_VI}\n\n{NOTE_VI}"
    assert first.photo is None
    warned = [r for r in caplog.records if "ISHC_PUBLIC_URL" in r.getMessage()]
    assert len(warned) == 1  # once, not per message
    assert await zalo_chat.bot.rows("SELECT token FROM media") == []


async def test_zalo_unreachable_photo_url_still_delivers_the_text(zalo_chat) -> None:
    channel = zalo_chat.channel
    async with web_server([], zalo_chat.bot.storage) as gone:
        pass  # a loopback port where nothing listens any more
    channel.settings = replace(channel.settings, public_url=gone)
    person = zalo_chat.person()
    await queue(zalo_chat, person.user_id, chart_reply())
    [received] = person.unread()
    assert received.raw.method == "sendMessage"
    assert received.text == f"{TEXT_VI}\n\n{NOTE_VI}"
    [(_, params)] = [c for c in zalo_chat.fake.calls if c[0] == "sendPhoto"]
    assert params["photo"].startswith(gone)


async def test_zalo_photo_quota_is_retried_later(zalo_chat) -> None:
    zalo_chat.fake.fail_next("sendPhoto", error_code=429)
    with pytest.raises(outbox.RetryAfter):
        await zalo_chat.channel.send("00ab", render(chart_reply(), "vi"))


async def test_media_url_expires_after_a_week_and_is_pruned(zalo_chat) -> None:
    person = zalo_chat.person()
    await queue(zalo_chat, person.user_id, chart_reply())
    url = person.unread()[0].raw.photo
    bot = zalo_chat.bot
    async with aiohttp.ClientSession() as session:

        async def get(address: str) -> tuple[int, str, bytes]:
            async with session.get(address) as response:
                return response.status, response.content_type, await response.read()

        status, content_type, body = await get(url)
        assert (status, content_type) == (200, "image/png") and body.startswith(PNG_MAGIC)
        assert (await get(url.replace("/media/", "/media/x")))[0] == 404  # unknown token
        assert (await get(f"{zalo_chat.public_url}/media/short.png"))[0] == 404
        bot.clock.advance(days=7, seconds=-1)
        assert (await get(url))[0] == 200
        await bot.service.sweep()
        assert len(await bot.rows("SELECT token FROM media")) == 1
        bot.clock.advance(seconds=1)
        assert (await get(url))[0] == 404  # expired, before the sweep
        await bot.service.sweep()
        assert await bot.rows("SELECT token FROM media") == []
        assert (await get(url))[0] == 404


async def test_local_channel_saves_the_png_and_prints_its_path(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    lines: list[str] = []
    channel = LocalChannel(service=None, write=lines.append)  # type: ignore[arg-type]
    await channel.send("chair", render(chart_reply(), "vi"))
    await channel.send("chair", render(Reply((TEXT,), chart={"kind": "nope"}), "vi"))
    shown, failed = lines
    path = Path(shown.split("[chart: ", 1)[1].split("]", 1)[0])
    assert path.parent == tmp_path and path.suffix == ".png"
    assert png_size(path.read_bytes()) == (800, 500)
    assert TEXT_VI in shown
    assert "[chart:" not in failed and NOTE_VI in failed


async def test_a_chart_without_text_is_a_single_photo_on_telegram(telegram_chat) -> None:
    message = render(Reply((), chart=chart_reply().chart), "vi")
    assert message.text == ""
    await telegram_chat.channel.send("5001", message)
    [sent] = telegram_chat.fake.messages_to(5001)
    assert (sent.method, sent.text) == ("sendPhoto", "")
    assert sent.photo.startswith(PNG_MAGIC)


async def test_a_chart_without_text_is_a_single_photo_on_zalo(zalo_chat) -> None:
    await zalo_chat.channel.send("00ab", render(Reply((), chart=chart_reply().chart), "vi"))
    [sent] = zalo_chat.fake.messages_to("00ab")
    assert (sent.method, sent.text) == ("sendPhoto", "")
    assert sent.photo_bytes.startswith(PNG_MAGIC)
