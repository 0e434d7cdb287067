"""Health records: blood-pressure and weight readings, care links and home visits.

Readings and visits are written once and never changed. :class:`HealthStore` is mixed into
:class:`storage.base.Transaction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from storage.records import Member


@dataclass(frozen=True)
class NewReading:
    """A reading to record; ``key`` makes recording it idempotent.

    ``weight_tenths`` is the weight in tenths of a kilogram (525 = 52,5 kg). ``confirmed`` is
    false for an urgent reading kept before the person confirmed it (or when they never did).
    """

    club_id: int
    member_id: int
    measured_at: datetime
    day: date
    systolic: int
    diastolic: int
    pulse: int | None
    weight_tenths: int | None
    grade: str
    high: bool
    urgent: bool
    first_systolic: int | None
    first_diastolic: int | None
    symptoms: tuple[str, ...]
    place: str
    recorded_by: int | None
    key: str
    visit_id: int | None = None
    confirmed: bool = True


@dataclass(frozen=True)
class StoredReading(NewReading):
    """A recorded reading."""

    id: int = 0


@dataclass(frozen=True)
class NewVisit:
    """A home-care visit to record; ``key`` makes recording it idempotent."""

    club_id: int
    client_id: int
    volunteer_id: int
    visited_at: datetime
    day: date
    services: tuple[str, ...]
    concern: str | None
    note: str
    key: str


@dataclass(frozen=True)
class StoredVisit(NewVisit):
    """A recorded visit."""

    id: int = 0


@dataclass(frozen=True)
class MemberHealth:
    """A member with their latest reading and whether they were measured since a day."""

    member: Member
    latest: StoredReading | None
    measured_since: bool


@dataclass(frozen=True)
class Client:
    """A care client with the day of their last visit and how many volunteers they have."""

    member: Member
    last_visit: date | None
    volunteers: int


class HealthReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def readings_of(self, member_id: int, limit: int = 60) -> list[StoredReading]:
        """A member's readings, newest first."""

    async def reading_by_key(self, key: str) -> StoredReading | None:
        """The reading recorded with this idempotency key, if any."""

    async def club_health(self, club_id: int, since: date) -> list[MemberHealth]:
        """Every active member of a club with their latest reading, by name."""

    async def unmeasured_members(
        self, club_ids: list[int], since: date
    ) -> dict[int, list[int]]:
        """Active members of each club with no reading on or after ``since``."""

    async def high_last_readings(self, club_id: int) -> int:
        """How many active members' latest reading was high."""

    async def clients_of(self, volunteer_id: int) -> list[Client]:
        """A volunteer's clients, by name."""

    async def care_clients(self, club_id: int) -> list[Client]:
        """Every client of a club (members with at least one volunteer), by name."""

    async def volunteers_of(self, client_id: int) -> list[Member]:
        """The volunteers caring for a client, by name."""

    async def visits_of(self, client_id: int, limit: int = 20) -> list[StoredVisit]:
        """A client's visits, newest first."""


class HealthStore(HealthReads, Protocol):
    """Reading and writing these records (part of every transaction)."""

    async def add_reading(self, reading: NewReading, now: datetime) -> tuple[int, bool]:
        """Record a reading; ``(id, created)``. Same key: the existing id."""

    async def confirm_reading(self, reading: NewReading, now: datetime) -> bool:
        """Turn the unconfirmed reading with ``reading.key`` into ``reading``, confirmed.

        Returns:
            ``False`` if there is no such reading, it is already confirmed, or it is another
            member's (nothing is changed then).
        """

    async def link_care(
        self, volunteer_id: int, client_id: int, by: int | None, now: datetime
    ) -> bool:
        """Make a volunteer care for a client; ``False`` if they already do."""

    async def unlink_care(self, volunteer_id: int, client_id: int, now: datetime) -> bool:
        """End a care link; ``False`` if there was none."""

    async def add_visit(self, visit: NewVisit, now: datetime) -> tuple[int, bool]:
        """Record a visit; ``(id, created)``. Same key: the existing id."""

    async def forget_health(self, member_id: int, now: datetime) -> None:
        """Delete an erased member's readings, visits and alerts; end their care links."""

