"""The association's view across clubs: an area's clubs, their month summed, the quiet clubs.

Clubs report monthly to the commune's Association of the Elderly (Hội Người cao tuổi), which
reports upward. An officer given a grant over an area (a province, narrowed to a commune or
to the new communes of an old district) sees the monthly report of every club there: one row
per club, the total (shares recomputed from the sums, never added up) and the clubs that did
not meet or recorded nothing that month. The chat (``/baocao``, built as an export job) and
the command line (``ishc-bot report``) both use :func:`area_report`, so they always agree.

Areas are the official units since 1 July 2025, by code (bot/areas.py, bot/placing.py);
names are read without accents or case (``nghe an`` is ``Nghệ An``), and clubs not yet
converted (``ishc-bot club move-area``) are matched by their old text. Grants are
given, listed and revoked from the command line (``ishc-bot admin``); a one-time code, kept
only as a hash, links the officer's chat account (``/hoinct CODE``).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot import areas, placing, report
from bot.i18n import N_
from bot.invites import ALPHABET, clean_code, hash_code
from bot.text import fold, nfc
from storage.base import Club, Transaction
from storage.operators import Operator
from storage.reports import CLUB_TZ

ROLE = "association"
GRANT_ROLES = (ROLE,)
CODE_LENGTH = 10  # longer than an invite code (8), so the two are never confused
CODE_DAYS = 7
BATCH = 100  # clubs summed per query batch (and per progress step)
LINK_COMMAND = "/hoinct"


@dataclass(frozen=True)
class Area:
    """A province, narrowed to a commune or an old district; empty: every one of that level.

    An area given since the areas of 2025 has the official province's code, and the
    commune's (``None``: the whole province, or the new communes of the old ``district``).
    A grant given before has text only (``province_code`` None) and is matched by text.
    """

    province: str = ""
    district: str = ""
    commune: str = ""
    province_code: int | None = None
    commune_code: int | None = None

    @classmethod
    def of(cls, operator: Operator) -> Area:
        """The area of a grant."""
        return cls(operator.province, operator.district, operator.commune,
                   operator.province_code, operator.commune_code)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Area:
        """The area stored in an export job's parameters."""
        return cls(params.get("province", ""), params.get("district", ""),
                   params.get("commune", ""), params.get("province_code"),
                   params.get("commune_code"))

    @classmethod
    def at(cls, place: placing.Place) -> Area:
        """The area of official units read from what an operator typed."""
        commune = place.commune
        return cls(place.province.name, place.district, commune.name if commune else "",
                   place.province.code, commune.code if commune else None)

    def as_params(self) -> dict[str, Any]:
        """Plain JSON for an export job."""
        return {"province": self.province, "district": self.district, "commune": self.commune,
                "province_code": self.province_code, "commune_code": self.commune_code}

    @property
    def name(self) -> str:
        """The area as people write it, smallest first: ``Xã Thông Thụ, Nghệ An``."""
        return ", ".join(p for p in (self.commune, self.district, self.province) if p) or "-"

    @property
    def communes(self) -> frozenset[int] | None:
        """The codes of the area's communes (an old district's), ``None``: not narrowed."""
        if self.province_code is None:
            return None
        if self.commune_code is not None:
            return frozenset({self.commune_code})
        if self.district:
            return areas.district_communes(self.province_code, self.district).codes
        return None

    def covers(self, club: Club) -> bool:
        """Whether the club is in the area: by codes, or by its old text if not converted.

        Text is compared without accents, case or the kind word ("xã", "tỉnh"...).
        """
        if self.province_code is not None and club.province_code is not None:
            communes = self.communes
            return club.province_code == self.province_code and (
                communes is None or club.commune_code in communes)
        return by_text(self, club)


def by_text(area: Area, club: Club) -> bool:
    """Whether a club's text address is in the area (grants or clubs not converted).

    A club not converted is in an official province when its typed province is that
    province or one merged into it (``Hòa Bình`` is in ``Phú Thọ``); a grant given before
    2025 compares the names only.
    """
    if area.province_code is not None:
        if areas.province_of(club.province) != area.province_code:
            return False
    elif area.province and areas.province_key(area.province) != areas.province_key(
            club.province):
        return False
    return all(not wanted or key(wanted) == key(actual) for wanted, actual, key in (
        (area.district, club.district, areas.district_key),
        (area.commune, club.commune, areas.commune_key)))


def _order(club: Club) -> tuple[str, str, str, str, int]:
    return (fold(club.province), fold(club.district), fold(club.commune), fold(club.name),
            club.id)


async def clubs_in(tx: Transaction, area: Area) -> list[Club]:
    """The area's clubs, by province, district, commune and name."""
    return sorted((club for club, _ in await tx.list_clubs() if area.covers(club)), key=_order)


def unconverted(clubs: Iterable[Club]) -> int:
    """How many of ``clubs`` still have only their old typed address (matched by text)."""
    return sum(club.province_code is None and bool(club.province or club.commune)
               for club in clubs)


@dataclass(frozen=True)
class Quiet:
    """A club that did not meet in the month; ``nothing``: it recorded nothing at all."""

    club: Club
    nothing: bool


@dataclass(frozen=True)
class AreaReport:
    """The month of many clubs: each club's figures, the total, and the quiet clubs."""

    month: str
    rows: list[tuple[Club, list[report.Figure]]]
    total: list[report.Figure]
    quiet: list[Quiet]


def _figures(values: dict[str, int]) -> list[report.Figure]:
    values = {**values, **report.shares(values)}
    return [report.Figure(key, section, label, definition, kind, values[key])
            for key, section, label, definition, kind in report.FIGURES]


def sum_figures(rows: Sequence[tuple[Club, list[report.Figure]]]) -> list[report.Figure]:
    """The figures of many clubs added up, with the shares recomputed from the sums."""
    totals = {key: 0 for key, *_ in report.FIGURES}
    for _, figures in rows:
        for figure in figures:
            if figure.kind not in (report.SHARE, report.DAY):  # shares are recomputed
                totals[figure.key] += figure.value
    return _figures(totals)


async def area_report(
    tx: Transaction,
    clubs: Sequence[Club],
    month: str,
    progress: Callable[[int, int], None] | None = None,
    tz: str = CLUB_TZ,
    today: date | None = None,
) -> AreaReport:
    """Every figure of ``month`` (``YYYY-MM``) for ``clubs``, their total and the quiet ones.

    Reads the clubs :data:`BATCH` at a time with the grouped query
    (``Transaction.area_month_figures``) and calls ``progress(done, total)`` after each batch.
    A club is quiet when no attendance was recorded in the month; it "recorded nothing" when
    it has no ledger entry, reading, visit or attendance in the month either. ``today`` is
    the day of the report (see ``report.monthly``).
    """
    first, last = report.month_bounds(month)
    rows: list[tuple[Club, list[report.Figure]]] = []
    nothing: list[Quiet] = []
    no_meeting: list[Quiet] = []
    for start in range(0, len(clubs), BATCH):
        batch = clubs[start:start + BATCH]
        found = await tx.area_month_figures([club.id for club in batch], first, last, tz,
                                            today)
        for club in batch:
            values = found[club.id]
            rows.append((club, _figures(values)))
            if not values["meetings"]:
                idle = not (values["ledger_entries"] or values["measured"] or values["visits"])
                (nothing if idle else no_meeting).append(Quiet(club, idle))
        if progress is not None:
            progress(len(rows), len(clubs))
    return AreaReport(month, rows, sum_figures(rows), nothing + no_meeting)


# Grants (the command line's ``ishc-bot admin``)


def looks_like_code(text: str) -> bool:
    """Whether a text typed on its own is an association code (ten letters and digits)."""
    code = clean_code(text)
    return (len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)
            and any(c.isdigit() for c in code))  # not a ten-letter word


def new_code() -> str:
    """A fresh one-time code, e.g. ``K7M2QX9PAB`` (no look-alike characters).

    It always has a digit, so typed on its own it is never taken for a word.
    """
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if looks_like_code(code):
            return code


def grant_json(operator: Operator, accounts: int | None = None) -> dict[str, Any]:
    """A grant as plain JSON (for ``admin list --json``)."""
    found = {
        "id": operator.id, "role": operator.role, "name": operator.name,
        "province": operator.province, "district": operator.district,
        "commune": operator.commune, "province_code": operator.province_code,
        "commune_code": operator.commune_code, "granted_by": operator.granted_by,
        "granted_at": operator.granted_at.isoformat(),
        "revoked_at": operator.revoked_at.isoformat() if operator.revoked_at else None,
    }
    if accounts is not None:
        found["accounts"] = accounts
    return found


async def issue_code(tx: Transaction, operator_id: int, now: datetime) -> dict[str, Any]:
    """A new one-time code for a grant in force (another account, or an expired code).

    Raises:
        ValueError: There is no such grant, or it was revoked.
    """
    operator = await tx.get_operator(operator_id)
    if operator is None:
        raise ValueError(f"there is no grant {operator_id}")
    if not operator.active:
        raise ValueError(f"grant {operator_id} was revoked")
    code, expires = new_code(), now + timedelta(days=CODE_DAYS)
    await tx.add_operator_code(operator.id, hash_code(code), expires, now)
    return {**grant_json(operator), "code": code, "code_expires": expires.isoformat(),
            "type_in_chat": f"{LINK_COMMAND} {code}"}


async def grant(
    tx: Transaction,
    *,
    role: str,
    name: str,
    area: Area,
    granted_by: str,
    now: datetime,
    force: bool = False,
) -> dict[str, Any]:
    """Give an officer a role over an area, with a one-time code to link their chat account.

    The area is read as official units (accents and case do not matter, an old district is
    mapped to its new communes when unambiguous) and kept with their codes and names.

    Args:
        tx: An open transaction.
        role: ``association``.
        name: Who the officer is, e.g. ``Nguyễn Văn An, Hội NCT xã Thông Thụ``.
        area: The province (required), optionally a commune or an old district, as typed
            (or already official, with codes).
        granted_by: Who gives it (kept with the grant).
        now: The current UTC time.
        force: Give it even though no club is in the area yet.

    Returns:
        The grant as JSON with ``clubs`` (how many are in the area), ``unconverted`` (how
        many of them are matched by their old typed address), ``code`` (shown once; only its
        hash is kept), ``code_expires`` and ``type_in_chat``.

    Raises:
        ValueError: Unknown role, no name, an area not understood (``placing.AreaError``,
            in Vietnamese), or no club in the area (without ``force``).
    """
    if role not in GRANT_ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(GRANT_ROLES)})")
    if not nfc(name):
        raise ValueError("a grant needs the officer's name")
    if area.province_code is None:
        area = Area.at(placing.place(area.province, area.district, area.commune))
    clubs = await clubs_in(tx, area)
    spelled = [c.district for c in clubs if area.district
               and areas.district_key(c.district) == areas.district_key(area.district)]
    if spelled:  # an old district as the clubs spell it (with accents rather than without)
        area = replace(area, district=max(Counter(spelled).items(), key=lambda pair: (
            pair[1], sum(not ch.isascii() for ch in pair[0])))[0])
    if not clubs and not force:
        raise placing.AreaError(N_("no club is in {area} yet; check with `ishc-bot club list`, "
                                   "or add --force to give it before the clubs are created."),
                                area=area.name)
    operator = await tx.add_operator(
        role, nfc(name), (area.province, area.district, area.commune), granted_by, now,
        codes=(area.province_code, area.commune_code))
    return {**await issue_code(tx, operator.id, now), "clubs": len(clubs),
            "unconverted": unconverted(clubs)}


async def revoke(tx: Transaction, operator_id: int, now: datetime) -> Operator:
    """Revoke a grant: its accounts lose the view at once, its codes stop working.

    Raises:
        ValueError: There is no such grant, or it was already revoked.
    """
    if not await tx.revoke_operator(operator_id, now):
        found = await tx.get_operator(operator_id)
        raise ValueError(f"grant {operator_id} was already revoked" if found
                         else f"there is no grant {operator_id}")
    operator = await tx.get_operator(operator_id)
    assert operator is not None
    return operator
