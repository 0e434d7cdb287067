"""Honest health: /healthz, /readyz and /metrics; the supervisor; JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest

from bot import logs
from bot.supervisor import Fatal, Supervisor
from bot.web import Readiness
from tests.harness import Bot, web_server
from tests.test_reliability import locked, start_registration


@pytest.fixture
async def served(tmp_path, monkeypatch):
    """The web server of a bot with a supervisor; yields (bot, supervisor, base URL)."""
    monkeypatch.setattr(Bot, "busy_timeout", 0.2)
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    supervisor = Supervisor(max_backoff=0.05)
    readiness = Readiness(bot.storage, bot.clock, supervisor, bot.outbox)
    async with web_server([], bot.storage, bot.clock, readiness) as base:
        try:
            yield bot, supervisor, base
        finally:
            await supervisor.stop()
            await bot.close()


async def get(base: str, path: str) -> tuple[int, dict | str]:
    async with aiohttp.ClientSession() as session, session.get(base + path) as response:
        body = await response.text()
        kind = response.headers.get("Content-Type", "")
        return response.status, json.loads(body) if "json" in kind else body


async def test_readyz_is_red_while_the_database_is_locked_and_green_right_after(served):
    bot, _, base = served
    assert await get(base, "/readyz") == (200, {"ready": True})
    with locked(bot.db):
        status, body = await get(base, "/readyz")
        assert status == 503
        assert "locked" in body["reasons"]["database"]
        assert (await get(base, "/healthz"))[0] == 200, "liveness does not touch the database"
    started = time.monotonic()
    assert await get(base, "/readyz") == (200, {"ready": True})
    assert time.monotonic() - started < 5


async def test_readyz_names_a_background_task_that_stopped_working(served):
    _, supervisor, base = served
    calls = []

    async def scan() -> None:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("the scan broke")

    supervisor.every("reminders", 0.05, scan, stale_after=0.3)
    await asyncio.sleep(0.6)
    status, body = await get(base, "/readyz")
    assert status == 503
    task = body["reasons"]["tasks"]["reminders"]
    assert task["failures"] >= 2 and "the scan broke" in task["error"]
    assert "database" not in body["reasons"]


async def test_readyz_says_when_due_replies_are_stuck(served):
    bot, _, base = served
    async with bot.storage.transaction() as tx:
        await tx.enqueue("text", "p1", {"text": "hi", "buttons": []}, bot.clock())
    bot.clock.advance(minutes=5)  # due for five minutes, and nothing delivered since start
    bot.outbox.delivered_at -= 300
    status, body = await get(base, "/readyz")
    assert status == 503
    assert body["reasons"]["outbox"]["oldest_due_seconds"] == 300
    assert body["reasons"]["outbox"]["pending"] == {"text": 1}


async def test_metrics_count_updates_dead_letters_and_the_backlog(served, text_chat):
    await start_registration(text_chat)
    _, _, base = served
    status, body = await get(base, "/metrics")
    assert status == 200
    assert 'ishc_updates_total{channel="text",outcome="handled"}' in body
    for name in ("ishc_dead_letters_total", "ishc_outbox_pending", "ishc_outbox_sent_total",
                 "ishc_send_seconds", "ishc_reminders_total", "ishc_transaction_seconds",
                 "ishc_update_seconds"):
        assert name in body, name


# The supervisor


async def test_a_failing_task_is_logged_retried_and_never_ends(caplog):
    supervisor = Supervisor(max_backoff=0.01)
    runs = []

    async def flaky(beat) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise ValueError(f"failure {len(runs)}")
        beat()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR):
        supervisor.loop("flaky", flaky, stale_after=10)
        await asyncio.sleep(0.2)
    task = supervisor.tasks["flaky"]
    assert len(runs) == 3 and task.failures == 0 and task.last_ok is not None
    assert [r.getMessage() for r in caplog.records if "flaky" in r.getMessage()] == [
        "task flaky failed (1 in a row); retrying in 0s",
        "task flaky failed (2 in a row); retrying in 0s",
    ]
    assert supervisor.stale() == {}
    await supervisor.stop()
    assert task.handle.done()


async def test_only_a_fatal_error_stops_the_service():
    stopping = asyncio.Event()
    supervisor = Supervisor(stopping)

    async def revoked(beat) -> None:
        raise Fatal("the token was refused")

    supervisor.loop("telegram_poller", revoked)
    await asyncio.wait_for(stopping.wait(), 1)
    assert str(supervisor.fatal) == "the token was refused"
    await supervisor.stop()


# Logs


def test_json_logs_carry_the_update_never_the_chat_id(capsys):
    logs.setup("json", "INFO")
    try:
        log = logging.getLogger("bot.test")
        with logs.update_context("telegram", "m:424242:7", "424242"):
            logs.tag(flow="registration", step="birth")
            log.warning("slow update")
        log.info("outside")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["message"] == "slow update" and first["level"] == "WARNING"
    assert first["update"] == "telegram:m:424242:7"
    assert first["chat"] == logs.chat_hash("telegram", "424242") and first["chat"] != "424242"
    assert first["flow"] == "registration" and first["step"] == "birth"
    assert isinstance(first["ms"], float)
    assert second["message"] == "outside" and "update" not in second
