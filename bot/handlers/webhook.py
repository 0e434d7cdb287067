"""What both webhooks share: reading the body safely and the answers to give.

A body that is not JSON, is nested absurdly deep or is not an object is answered 400 (the
platform's fault, never ours: no 500 and no traceback). When the database cannot be written
just now the answer is 503 with ``Retry-After``: the platform delivers the update again and
it succeeds then.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

RETRY_AFTER = "5"  # seconds suggested to the platform after a 503


async def json_object(request: web.Request) -> dict[str, Any] | None:
    """The request's body as a JSON object, or ``None`` if it is anything else."""
    try:
        body = await request.read()
        value = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def bad_request(what: str) -> web.Response:
    """400: the body is not an update we can read."""
    return web.json_response({"ok": False, "error": what}, status=400)


def unavailable() -> web.Response:
    """503: not committed; send it again later."""
    return web.json_response({"ok": False, "error": "unavailable, retry later"}, status=503,
                             headers={"Retry-After": RETRY_AFTER})


def accepted() -> web.Response:
    """200: committed (or kept as a dead letter)."""
    return web.json_response({"ok": True})
