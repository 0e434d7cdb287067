"""Logging: plain lines or JSON lines, each carrying the update it was written for.

``ISHC_LOG_FORMAT=json`` writes one JSON object per line with the time, level, logger and
message, and, while an update is being handled, its id, a hash of its chat (never a name or a
phone number), the flow, the step and the time so far. The context is kept in a
:class:`contextvars.ContextVar`, so concurrent updates never mix theirs up.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "ishc_log_context", default=None
)


def chat_hash(channel: str, chat_id: str) -> str:
    """A short stable hash of a chat, to follow one conversation in the logs anonymously."""
    digest = hashlib.blake2b(f"{channel}:{chat_id}".encode(), digest_size=6, key=b"ishc-logs")
    return digest.hexdigest()


@contextlib.contextmanager
def update_context(channel: str, external_id: str, chat_id: str) -> Iterator[dict[str, Any]]:
    """Tag every log line written inside the block with this update.

    Yields:
        The context; the service adds ``flow`` and ``step`` when it knows them.
    """
    context = {"update": f"{channel}:{external_id}", "chat": chat_hash(channel, chat_id),
               "started": time.perf_counter()}
    token = _CONTEXT.set(context)
    try:
        yield context
    finally:
        _CONTEXT.reset(token)


def tag(**fields: Any) -> None:
    """Add ``fields`` (e.g. the flow and step) to the context of the update being handled."""
    context = _CONTEXT.get()
    if context is not None:
        context.update(fields)


def current() -> dict[str, Any]:
    """The context of the update being handled (empty outside one), ready to log."""
    context = _CONTEXT.get()
    if not context:
        return {}
    shown = {key: value for key, value in context.items() if key != "started"}
    shown["ms"] = round((time.perf_counter() - context["started"]) * 1000, 1)
    return shown


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the update context, error."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current(),
        }
        for key in ("task", "flow", "step"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ContextFormatter(logging.Formatter):
    """Plain lines, with ``[update chat flow/step]`` appended while an update is handled."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line (and the traceback, if any)."""
        line = super().format(record)
        context = current()
        if not context:
            return line
        where = "/".join(str(context[k]) for k in ("flow", "step") if context.get(k))
        tag = " ".join(str(p) for p in (context["update"], context["chat"], where) if p)
        head, sep, rest = line.partition("\n")
        return f"{head} [{tag}]{sep}{rest}"


def setup(form: str = "text", level: str = "INFO") -> None:
    """Configure the root logger once: ``form`` is ``text`` or ``json``."""
    handler = logging.StreamHandler()
    if form == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # httpx logs URLs with the token
