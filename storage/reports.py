"""Monthly figures of a club, computed from the ledger and the logs (never typed in).

:class:`ReportStore` is mixed into :class:`storage.base.Transaction`; ``bot/report.py`` names
and defines each figure for the chat summary and the spreadsheet.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

CLUB_TZ = "Asia/Ho_Chi_Minh"  # the default of ISHC_TZ: a month runs midnight to midnight there


class ReportReads(Protocol):
    """What may be read of these records (flows and the engine get only reads)."""

    async def month_figures(
        self, club_id: int, start: date, end: date, tz: str = CLUB_TZ, today: date | None = None
    ) -> dict[str, int]:
        """Every figure of the club's month ``start``..``end`` (inclusive), by key.

        Keys and definitions are those of ``bot.report.FIGURES``. Moments (approvals,
        erasures, care links, reminders) count in the month by the clubs' time zone ``tz``.
        Figures measured at a day (overdue loans, clients without a visit in 14 days) are
        measured at ``end``, or at ``today`` when it is earlier (the month still running).
        """

    async def month_series(
        self, club_id: int, start: date, end: date
    ) -> list[dict[str, int | str]]:
        """A few figures of each month from ``start``'s month to ``end``'s, oldest first.

        One dict per month (every month, zeros where nothing happened): ``month``
        (``YYYY-MM``) and the keys ``closing_cash``, ``outstanding``, ``measured``,
        ``measured_high`` and ``visits``, each defined as in ``bot.report.FIGURES`` (so the
        last month's values equal that month's report).
        """

    async def area_month_figures(
        self, club_ids: list[int], start: date, end: date, tz: str = CLUB_TZ,
        today: date | None = None,
    ) -> dict[int, dict[str, int]]:
        """Every figure of the month for many clubs at once (the association's view), by club.

        For each club the same values as :meth:`month_figures` (a club without any record
        has zeros), plus ``ledger_entries``: the fund's entries dated in the month. A few
        grouped queries whatever the number of clubs.
        """


class ReportStore(ReportReads, Protocol):
    """Reading and writing these records (part of every transaction)."""
