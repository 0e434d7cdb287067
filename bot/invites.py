"""Invite codes: short, without look-alike characters, stored only as a hash, and expiring.

A board code (one use) makes its holder the club's chair; a member code lets neighbours
register. Codes ride a Telegram deep link (``/start CODE``) or are typed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
BOARD_CODE_DAYS = 30
MEMBER_CODE_DAYS = 90
MAX_FAILURES = 5  # wrong codes from one chat account in an hour, then it must wait
_CODE_SHAPE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    """Return a fresh random invite code, e.g. ``K7M2QX9P``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def clean_code(text: str) -> str:
    """Normalise a typed code: upper case, without spaces or dashes."""
    return re.sub(r"[\s\-_.]", "", text).upper()


def looks_like_code(text: str) -> bool:
    """Whether ``text`` has the shape of an invite code (it may still be wrong)."""
    return bool(_CODE_SHAPE.match(clean_code(text)))


def hash_code(code: str) -> str:
    """Return the stored form of a code (SHA-256 of its normalised text)."""
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


def recent_failures(stored: str | None, now: datetime) -> list[str]:
    """Wrong codes typed in the last hour, from their record (ISO times joined by spaces).

    A chat account may try :data:`MAX_FAILURES` wrong codes an hour (link codes, association
    codes), so a code cannot be guessed by trying many.
    """
    times = (stored or "").split()
    return [t for t in times if datetime.fromisoformat(t) > now - timedelta(hours=1)]
