"""Settings from the environment (and an optional ``.env`` file). Tokens are never printed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit


def load_dotenv(path: str | Path = ".env") -> None:
    """Read ``KEY=value`` lines from ``path`` into the environment (existing values win).

    Args:
        path: The file to read; missing files are ignored.
    """
    file = Path(path)
    if not file.is_file():
        return
    for line in file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to start.

    Attributes:
        db: SQLite database file.
        telegram_token: Bot token; with none set, ``run`` starts the local terminal chat.
        telegram_api_url: Bot API base URL (tests point it at a fake server on loopback).
        telegram_webhook_url: Public HTTPS URL; webhook mode when set, polling otherwise.
        telegram_webhook_secret: Secret Telegram sends back in a header (1-256 of A-Z a-z 0-9 _ -).
        telegram_bot_username: Used to print ``t.me`` deep links for invite codes.
        listen: ``host:port`` of the service's web server (webhook and health check).
        tz: Time zone of the clubs, for showing times and dates.
        flow_timeout: How long an unanswered question waits before the conversation ends.
        telegram_rate: Messages per second to Telegram overall.
        telegram_chat_rate: Messages per second to one chat (short bursts of 3 allowed).
        zalo_token: Zalo Bot Platform token.
        zalo_api_url: Zalo Bot API base URL (tests point it at a fake server on loopback).
        zalo_webhook_url: Public HTTPS URL; webhook mode when set, polling otherwise.
        zalo_webhook_secret: Secret Zalo sends back in a header (8-256 characters).
        zalo_rate: Messages per second to Zalo overall (Zalo publishes no figure).
        zalo_chat_rate: Messages per second to one Zalo chat.
        public_url: HTTPS base where this service's web server is reachable from outside
            (no trailing slash); pictures for Zalo are served under ``/media/``. Defaults
            to the scheme and host of the Zalo (else Telegram) webhook URL.
        reminders: Send reminders (``ISHC_REMINDERS=0`` turns the scan off, e.g. on a
            staging copy of the database).
        flood_messages: More messages than this from one chat within ``flood_seconds`` get
            one "please slow down" and are not answered.
        flood_seconds: The window of the flood limit.
        alert_escalate: An urgent-health alert nobody answered for this long goes to the
            whole board (``ISHC_ALERT_ESCALATE_MINUTES``, default 15).
        claim_lease: PostgreSQL with several processes: seconds before a dead process's
            unsent messages are sent by another (``ISHC_CLAIM_LEASE_SECONDS``, default 60).
        commit_batch: The most updates made durable by one COMMIT (``ISHC_COMMIT_BATCH``,
            default 64; 1 turns group commit off, to measure what it buys).
    """

    db: str = "./data/ishc.sqlite3"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_bot_username: str | None = None
    listen: str = "127.0.0.1:8080"
    tz: str = "Asia/Ho_Chi_Minh"
    flow_timeout: timedelta = timedelta(hours=2)
    telegram_rate: float = 29.0  # a little under Telegram's 30/s, so timing jitter stays under
    telegram_chat_rate: float = 1.0
    zalo_token: str | None = field(default=None, repr=False)
    zalo_api_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: str | None = field(default=None, repr=False)
    zalo_rate: float = 10.0
    zalo_chat_rate: float = 1.0
    public_url: str | None = None
    reminders: bool = True
    flood_messages: int = 15
    flood_seconds: float = 15.0
    alert_escalate: timedelta = timedelta(minutes=15)
    commit_batch: int = 64
    claim_lease: float = 60.0

    @property
    def host(self) -> str:
        """The web server's host."""
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        """The web server's port."""
        return int(self.listen.rsplit(":", 1)[1])

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: the process environment after ``.env``)."""
        if env is None:
            load_dotenv()
            env = dict(os.environ)
        defaults = cls()
        secret = env.get("TELEGRAM_WEBHOOK_SECRET") or None
        webhook = env.get("TELEGRAM_WEBHOOK_URL") or None
        if webhook and not secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET")
        zalo_secret = env.get("ZALO_WEBHOOK_SECRET") or None
        zalo_webhook = env.get("ZALO_WEBHOOK_URL") or None
        if zalo_webhook and not (zalo_secret and 8 <= len(zalo_secret) <= 256):
            raise ValueError("ZALO_WEBHOOK_URL needs ZALO_WEBHOOK_SECRET of 8-256 characters")
        public_url = public_base(env.get("ISHC_PUBLIC_URL") or None, zalo_webhook, webhook)
        return cls(
            db=env.get("ISHC_DB", defaults.db),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_url=env.get("TELEGRAM_API_URL", defaults.telegram_api_url),
            telegram_webhook_url=webhook,
            telegram_webhook_secret=secret,
            telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME") or None,
            listen=env.get("ISHC_LISTEN", defaults.listen),
            tz=env.get("ISHC_TZ", defaults.tz),
            flow_timeout=timedelta(
                minutes=float(env.get("ISHC_FLOW_TIMEOUT_MINUTES", "120"))
            ),
            telegram_rate=float(env.get("ISHC_TELEGRAM_RATE", defaults.telegram_rate)),
            telegram_chat_rate=float(
                env.get("ISHC_TELEGRAM_CHAT_RATE", defaults.telegram_chat_rate)
            ),
            zalo_token=env.get("ZALO_BOT_TOKEN") or None,
            zalo_api_url=env.get("ZALO_API_URL", defaults.zalo_api_url),
            zalo_webhook_url=zalo_webhook,
            zalo_webhook_secret=zalo_secret,
            zalo_rate=float(env.get("ISHC_ZALO_RATE", defaults.zalo_rate)),
            zalo_chat_rate=float(env.get("ISHC_ZALO_CHAT_RATE", defaults.zalo_chat_rate)),
            public_url=public_url,
            reminders=env.get("ISHC_REMINDERS", "1").strip().lower() not in ("0", "off", "no",
                                                                            "false"),
            flood_messages=int(env.get("ISHC_FLOOD_MESSAGES", defaults.flood_messages)),
            flood_seconds=float(env.get("ISHC_FLOOD_SECONDS", defaults.flood_seconds)),
            alert_escalate=timedelta(
                minutes=float(env.get("ISHC_ALERT_ESCALATE_MINUTES", "15"))
            ),
            commit_batch=max(1, int(env.get("ISHC_COMMIT_BATCH", defaults.commit_batch))),
            claim_lease=max(1.0, float(env.get("ISHC_CLAIM_LEASE_SECONDS",
                                               defaults.claim_lease))),
        )


def public_base(explicit: str | None, *webhooks: str | None) -> str | None:
    """The service's public base URL: ``explicit``, else the origin of the first webhook URL.

    Args:
        explicit: ``ISHC_PUBLIC_URL`` (may have a path, e.g. behind a proxy prefix).
        *webhooks: Webhook URLs to derive it from (``https://host/zalo`` gives
            ``https://host``).

    Returns:
        The URL without a trailing slash, or ``None`` if nothing is configured.

    Raises:
        ValueError: ``explicit`` is not an http(s) URL.
    """
    if explicit:
        parts = urlsplit(explicit)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("ISHC_PUBLIC_URL must be an http(s) URL, e.g. https://bot.example.org")
        return explicit.rstrip("/")
    for url in webhooks:
        parts = urlsplit(url or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None
