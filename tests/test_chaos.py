"""The fast part of the chaos suite (``tests/chaos.py``): each fault for a few seconds.

The real service process, the fake Telegram (polling) and Zalo (webhook) servers on loopback,
simulated people registering, borrowing, repaying and recording readings while one fault is
injected. Nothing acknowledged may be lost or applied twice, every committed reply must arrive,
malformed updates become dead letters, and ``/readyz`` is red during the lock and the full disk
and green within 5 s after. Two processes on one PostgreSQL database are killed one at a time.
``make chaos`` runs the longer suite with every fault at once, and on PostgreSQL with two and
three processes.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.chaos import ServiceProcess, build_world, report, run_scenario
from tests.chaos_faults import rlimit_supported
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.test_storage_contract import pg_cluster

SECONDS = 4.0  # of load per scenario
PG_SECONDS = 12.0  # of load with two processes on PostgreSQL (a few kills, leaders among them)


@pytest.mark.parametrize("scenario", ["kill", "lock", "disk", "platform", "timeouts"])
async def test_nothing_acknowledged_is_lost_or_doubled(scenario):
    if scenario == "disk" and not rlimit_supported():
        pytest.skip("no prlimit on this system")
    row = await run_scenario(scenario, SECONDS, full=False, workers=4)
    print(report([row]))
    assert row.applied > 0
    assert (row.lost, row.duplicated, row.problems) == (0, 0, []), report([row])
    assert row.delivered == row.replies, report([row])
    if scenario in ("lock", "disk"):
        assert row.red_seconds > 0 and row.green_after, report([row])


async def test_two_processes_on_postgres_one_killed_at_a_time():
    """Two service processes on one PostgreSQL database, one SIGKILLed every few seconds
    (every other time the Telegram poller's leader): nothing lost or doubled, every reply
    delivered, and another process polls Telegram soon after the leader dies."""
    pg_cluster()  # fails, not skips, without a server (as the contract tests)
    row = await run_scenario("kill_one", PG_SECONDS, full=False, workers=4,
                             backend="postgres", processes=2)
    print(report([row]))
    assert row.applied > 0
    assert (row.lost, row.duplicated, row.problems) == (0, 0, []), report([row])
    assert row.delivered == row.replies, report([row])
    assert row.takeovers, report([row])  # the leader was killed and replaced


async def test_a_failed_set_webhook_at_start_is_retried(tmp_path):
    """Zalo answering setWebhook with a 502 once must not stop the service."""
    db = tmp_path / "ishc.sqlite3"
    await build_world(db, 2, 1)
    async with FakeTelegram() as telegram, FakeZalo(deliver_webhooks=True) as zalo, \
            aiohttp.ClientSession() as session:
        zalo.fail_next("setWebhook", error_code=502, http_status=502)
        service = ServiceProcess(db, tmp_path, telegram, zalo)
        await service.start()
        try:
            await service.wait_listening(session)
            for _ in range(100):
                if zalo.webhook_url:
                    break
                await asyncio.sleep(0.05)
            assert zalo.webhook_url and service.pid is not None
        finally:
            assert await service.stop() == 0
        assert "cannot set the webhook" in service.log.read_text(encoding="utf-8")
