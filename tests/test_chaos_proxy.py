"""The chaos suite's reverse proxy: requests go to the processes in turn, past a dead one."""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web

from tests.chaos_proxy import RoundRobinProxy


async def upstream(name: str) -> tuple[web.AppRunner, str]:
    async def answer(request: web.Request) -> web.Response:
        body = await request.text()
        return web.Response(text=f"{name}:{request.path}:{body}",
                            headers={"X-Seen-Secret": request.headers.get("X-Secret", "")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def dead_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_each_request_goes_to_the_next_process_and_a_dead_one_is_passed_over():
    first, first_url = await upstream("a")
    second, second_url = await upstream("b")
    dead = dead_url()
    try:
        async with RoundRobinProxy([first_url, dead, second_url]) as proxy, \
                aiohttp.ClientSession() as session:
            answers = []
            for n in range(6):
                async with session.post(f"{proxy.url}/zalo", data=f"event {n}",
                                        headers={"X-Secret": "s"}) as response:
                    assert response.status == 200
                    assert response.headers["X-Seen-Secret"] == "s"
                    answers.append(await response.text())
            assert answers == ["a:/zalo:event 0", "b:/zalo:event 1", "b:/zalo:event 2",
                               "a:/zalo:event 3", "b:/zalo:event 4", "b:/zalo:event 5"]
            assert proxy.refused[dead] == 2 and proxy.exhausted == 0
            proxy.upstreams = [dead]
            async with session.post(f"{proxy.url}/zalo", data="late") as response:
                assert response.status == 502  # nobody: the platform posts it again later
            assert proxy.exhausted == 1
    finally:
        await first.cleanup()
        await second.cleanup()
