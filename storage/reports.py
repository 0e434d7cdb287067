"""Monthly figures of a club, computed from the ledger and the logs (never typed in).

:class:`ReportStore` is mixed into :class:`storage.base.Transaction`; ``bot/report.py`` names
and defines each figure for the chat summary and the spreadsheet.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol


class ReportStore(Protocol):
    """Reads for the monthly report (part of every transaction)."""

    async def month_figures(self, club_id: int, start: date, end: date) -> dict[str, int]:
        """Every figure of the club's month ``start``..``end`` (inclusive), by key.

        Keys and definitions are those of ``bot.report.FIGURES``.
        """
