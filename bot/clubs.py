"""Operator actions on clubs: create a club with its invite codes, list clubs.

A club's area is an official unit since 1 July 2025 (bot/areas.py): its province and commune
are read as typed (accents optional) and stored with their codes and official names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import placing
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
        commune: The commune (xã, phường) as an official name, accents optional
            (``thong thu``); an old one is converted when ``district`` is given.
        district: The old district (huyện), kept only as a historical label.
        province: The province (tỉnh), one of the 34, accents optional.
        meeting_day: Day of the month of the regular meeting (1-31).
        now: The current UTC time.

    Returns:
        The club id, its area and the two codes in clear (they are stored only as hashes).

    Raises:
        ValueError: A meeting day out of range; ``placing.AreaError`` (a ``ValueError``):
            a province or commune not understood or ambiguous (the message lists candidates).
    """
    if not 1 <= meeting_day <= 31:
        raise ValueError("meeting day must be between 1 and 31")
    where, unit = placing.club_place(province, commune, district)
    club = await tx.create_club(
        name, unit.name if unit else "", district, where.name if where else "", meeting_day,
        now, province_code=where.code if where else None,
        commune_code=unit.code if unit else None)
    board_code, member_code = new_code(), new_code()
    board_expires = now + timedelta(days=BOARD_CODE_DAYS)
    member_expires = now + timedelta(days=MEMBER_CODE_DAYS)
    await tx.create_invite(club.id, hash_code(board_code), "board", board_expires, 1, now)
    await tx.create_invite(club.id, hash_code(member_code), "member", member_expires, None, now)
    return {
        "club_id": club.id,
        "name": club.name,
        "commune": club.commune,
        "province": club.province,
        "commune_code": club.commune_code,
        "province_code": club.province_code,
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
            "commune_code": club.commune_code,
            "province_code": club.province_code,
            "meeting_day": club.meeting_day,
            "members": count,
        }
        for club, count in rows
    ]
