"""A club's records read in full, for the board's data export (/xuatdulieu).

:class:`ArchiveStore` is mixed into :class:`storage.base.Transaction`. Each method returns
one sheet's rows as plain dicts (column name -> value), oldest first: money in whole đồng,
calendar days as :class:`datetime.date`, moments as UTC-aware :class:`datetime.datetime`,
names joined in. No secret goes out: no invite hashes, registration keys, chat ids or
message references. An erased member keeps only their number (``#id`` as the name) and the
dates of their record, as the rows that still point to them need.
"""

from __future__ import annotations

from typing import Any, Protocol

Row = dict[str, Any]


class ArchiveReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def archive_members(self, club_id: int) -> list[Row]:
        """Every member row of the club, whatever the status.

        Keys: ``id, full_name, sex, birth_year, birth_date, phone, village, household,
        ethnicity, status, roles`` (a list of role keys), ``registered_at, decided_at``.
        Personal details of an erased member are ``None``.
        """

    async def archive_loans(self, club_id: int) -> list[Row]:
        """Every loan of the club, with what has been repaid and what is still owed.

        Keys: ``id, member_id, member_name, principal, purpose, rate_bp, term_months,
        schedule, start_date, first_due, due_day, carried_over`` (bool), ``principal_paid,
        interest_paid, outstanding, created_by_name, created_at``.
        """

    async def archive_ledger(self, club_id: int) -> list[Row]:
        """Every ledger entry of the club, reversals included.

        Keys: ``id, day, kind, member_id, member_name, loan_id, principal, interest, cash,
        reverses, reversed_by, note, recorded_by_name, confirmed_by_name, created_at``.
        """

    async def archive_readings(self, club_id: int) -> list[Row]:
        """Every blood-pressure and weight reading of the club's members.

        Keys: ``id, day, measured_at, member_id, member_name, systolic, diastolic, pulse,
        weight_tenths, grade, high, urgent`` (bools), ``first_systolic, first_diastolic,
        symptoms`` (a list of keys), ``place, recorded_by_name``.
        """

    async def archive_visits(self, club_id: int) -> list[Row]:
        """Every home visit of the club.

        Keys: ``id, day, visited_at, client_id, client_name, volunteer_id, volunteer_name,
        services`` (a list of keys), ``concern, note``.
        """

    async def archive_attendance(self, club_id: int) -> list[Row]:
        """Every attendance mark of the club's meetings.

        Keys: ``day, member_id, member_name, present`` (bool), ``recorded_by_name,
        recorded_at``.
        """


class ArchiveStore(ArchiveReads, Protocol):
    """Reading and writing these records (part of every transaction)."""
