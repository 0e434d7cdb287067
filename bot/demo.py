"""The demo club, seeded on the first local run so a newcomer can try every flow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clubs import create_club
from storage.base import Consent, NewMember, Storage

DEMO_CODE_KEY = "demo_member_code"


@dataclass(frozen=True)
class Persona:
    """A demo person in the terminal chat."""

    key: str
    name: str
    roles: tuple[str, ...]
    words: tuple[str, ...]


PERSONAS = (
    Persona("chair", "Vi Thị Lan", ("chair", "member"), ("chu nhiem", "chunhiem", "cn")),
    Persona("treasurer", "Lương Văn Kiềm", ("treasurer", "member"), ("thu quy", "thuquy")),
    Persona("volunteer", "Hà Thị Biết", ("volunteer", "member"), ("tinh nguyen vien", "tnv")),
    Persona("member", "Mồng Thị Hoa", ("member",), ("thanh vien", "thanhvien", "tv")),
    Persona("new", "Người mới", (), ("moi", "nguoi moi", "khach")),
)


async def seed(storage: Storage, now: datetime) -> str | None:
    """Create the demo club and people if the database has no club yet.

    Returns:
        The demo member invite code (kept in clear for the demo only), or ``None`` if the
        database already had clubs and nothing was seeded.
    """
    async with storage.transaction() as tx:
        if await tx.list_clubs():
            return await tx.get_meta(DEMO_CODE_KEY)
        club = await create_club(
            tx,
            name="CLB LTHTGN bản Lốc (demo)",
            commune="Thông Thụ",
            district="Quế Phong",
            province="Nghệ An",
            meeting_day=15,
            now=now,
        )
        for number, persona in enumerate(PERSONAS[:-1], 1):
            member_id, _ = await tx.add_member(
                NewMember(
                    club_id=club["club_id"],
                    full_name=persona.name,
                    sex="male" if persona.key == "treasurer" else "female",
                    birth_year=1950 + number * 3,
                    birth_date=date(1950 + number * 3, number, 10),
                    phone=f"+8491234560{number}",
                    village="Bản Lốc",
                    household="ordinary",
                    ethnicity="Thái",
                    status="active",
                    assisted_by=None,
                    registration_key=f"demo:{persona.key}",
                ),
                now,
            )
            for role in persona.roles:
                await tx.grant_role(member_id, role, None, now)
            await tx.touch_identity("local", persona.key, persona.key, persona.name, "vi", now)
            await tx.link_identity("local", persona.key, member_id)
            await tx.add_consent(Consent(member_id, "demo", now, "local", "demo", None))
        await tx.set_meta(DEMO_CODE_KEY, club["member_code"])
        return club["member_code"]
