"""Labels and summaries shared by the club flows (member details, roles, households)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.i18n import N_, format_day
from bot.messages import Choice, T, joined
from bot.vocabulary import HOUSEHOLDS, SEXES
from storage.base import BOARD_ROLES, Member

BOARD = BOARD_ROLES


def label(choices: tuple[Choice, ...], key: str | None) -> T | str:
    """The label of the choice with ``key`` (as a translatable message)."""
    for choice in choices:
        if choice.key == key:
            return T(choice.label)
    return "-"


def birth_text(year: int, day: str | date | None) -> str:
    """Show a birth date as ``dd/MM/yyyy``, or just the year when only the year is known."""
    if day:
        return format_day(date.fromisoformat(day) if isinstance(day, str) else day)
    return str(year)


def details(values: dict[str, Any]) -> T:
    """The details block of a member (or of registration answers), one field per line."""
    return T(
        N_(
            "Name: {name}\nSex: {sex}\nBorn: {birth}\nPhone: {phone}\nVillage: {village}\n"
            "Household: {household}\nEthnic group: {ethnicity}"
        ),
        name=values["name"],
        sex=label(SEXES, values["sex"]),
        birth=birth_text(values["birth_year"], values.get("birth_date")),
        phone=values.get("phone") or T(N_("none")),
        village=values["village"],
        household=label(HOUSEHOLDS, values["household"]),
        ethnicity=values.get("ethnicity") or T(N_("not given")),
    )


def member_values(member: Member) -> dict[str, Any]:
    """A stored member in the shape :func:`details` takes."""
    return {
        "name": member.full_name,
        "sex": member.sex,
        "birth_year": member.birth_year,
        "birth_date": member.birth_date,
        "phone": member.phone,
        "village": member.village,
        "household": member.household,
        "ethnicity": member.ethnicity,
    }


def member_line(member: Member) -> str:
    """A one-line description: name, year of birth and village."""
    return f"{member.full_name} ({member.birth_year}, {member.village})"


def member_choices(members: list[Member]) -> tuple[Choice, ...]:
    """Members as choices keyed by their id."""
    return tuple(Choice(str(m.id), member_line(m)) for m in members)


def one_block(items: list[Any]) -> T:
    """Show messages (or plain strings) one per line, as one block."""
    return joined(items)
