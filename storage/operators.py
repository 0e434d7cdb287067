"""Association operators (area roles given from the command line).

An officer of the Association of the Elderly gets a grant (``ishc-bot admin grant``): a role
("association"), an area (a province, optionally narrowed to a district and a commune) and a
name. A one-time code, kept only as a hash, links their chat account to the grant; they are
not a club member. A grant is revoked, never deleted.

:class:`OperatorStore` is mixed into :class:`storage.base.Transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Operator:
    """A grant: who, which role over which area, given by whom and when, and if revoked.

    The area is an official unit by code (``province_code``, and ``commune_code`` or
    ``None`` for the whole province: bot/areas.py) with its official names in the text
    fields; a grant given before the areas of 2025 has text only (``province_code`` None).
    """

    id: int
    role: str
    name: str
    province: str
    district: str
    commune: str
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None = None
    province_code: int | None = None
    commune_code: int | None = None

    @property
    def active(self) -> bool:
        """Whether the grant is in force (not revoked)."""
        return self.revoked_at is None


class OperatorReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def get_operator(self, operator_id: int) -> Operator | None:
        """One grant, revoked or not."""

    async def list_operators(self) -> list[tuple[Operator, int]]:
        """Every grant with its number of linked chat accounts, oldest first."""

    async def operator_for(self, channel: str, user_id: str) -> Operator | None:
        """The grant in force that this chat account serves, if any (one lookup per update)."""


class OperatorStore(OperatorReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def add_operator(
        self,
        role: str,
        name: str,
        area: tuple[str, str, str],
        granted_by: str,
        now: datetime,
        codes: tuple[int | None, int | None] = (None, None),
    ) -> Operator:
        """Record a grant; ``area`` is ``(province, district, commune)``, ``''`` = all.

        ``codes`` are the official province's and commune's (``None`` commune = the whole
        province).
        """

    async def revoke_operator(self, operator_id: int, now: datetime) -> bool:
        """Revoke a grant; ``False`` if there is none or it already was."""

    async def add_operator_code(
        self, operator_id: int, code_hash: str, expires_at: datetime, now: datetime
    ) -> None:
        """Store a one-time code's hash for a grant."""

    async def use_operator_code(self, code_hash: str, now: datetime) -> Operator | None:
        """Use a code once: its grant, or ``None`` if wrong, used, expired or revoked."""

    async def link_operator(
        self, channel: str, user_id: str, operator_id: int, now: datetime
    ) -> None:
        """Attach a chat account to a grant (replacing any grant it served before)."""
