"""Operator actions on clubs: create a club with its invite codes, list clubs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.invites import BOARD_CODE_DAYS, MEMBER_CODE_DAYS, hash_code, new_code
from storage.base import Storage, Transaction


async def create_club(
    tx: Transaction,
    *,
    name: str,
    commune: str,
    district: str,
    province: str,
    meeting_day: int,
    now: datetime,
) -> dict[str, Any]:
    """Create a club with a one-use board code and a member code.

    Args:
        tx: An open transaction.
        name: The club's name, e.g. ``CLB LTHTGN bản Lốc``.
        commune: Commune (xã).
        district: District (huyện).
        province: Province (tỉnh).
        meeting_day: Day of the month of the regular meeting (1-31).
        now: The current UTC time.

    Returns:
        The club id and the two codes in clear (they are stored only as hashes).
    """
    if not 1 <= meeting_day <= 31:
        raise ValueError("meeting day must be between 1 and 31")
    club = await tx.create_club(name, commune, district, province, meeting_day, now)
    board_code, member_code = new_code(), new_code()
    board_expires = now + timedelta(days=BOARD_CODE_DAYS)
    member_expires = now + timedelta(days=MEMBER_CODE_DAYS)
    await tx.create_invite(club.id, hash_code(board_code), "board", board_expires, 1, now)
    await tx.create_invite(club.id, hash_code(member_code), "member", member_expires, None, now)
    return {
        "club_id": club.id,
        "name": club.name,
        "board_code": board_code,
        "board_code_expires": board_expires.isoformat(),
        "member_code": member_code,
        "member_code_expires": member_expires.isoformat(),
    }


async def list_clubs(storage: Storage) -> list[dict[str, Any]]:
    """Every club with its number of active members."""
    async with storage.transaction() as tx:
        rows = await tx.list_clubs()
    return [
        {
            "club_id": club.id,
            "name": club.name,
            "commune": club.commune,
            "district": club.district,
            "province": club.province,
            "meeting_day": club.meeting_day,
            "members": count,
        }
        for club, count in rows
    ]
