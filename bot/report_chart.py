"""The board's one-picture summary of a club: the twelve months ending with a report month.

:func:`summary_chart` reads the figures (one storage call, ``Transaction.month_series``) and
returns a chart spec of kind ``"summary"`` (drawn by :mod:`bot.charts` when the message is
sent): the fund's cash and the principal owed at each month's end, the members measured and
those whose last reading was high, and the home visits. The labels are :class:`T`, translated
for the reader when the reply is queued; money stays in đồng (the picture shows millions).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import report
from bot.i18n import N_
from bot.messages import T
from storage.base import Transaction

MONTHS = 12


def first_month(month: str, count: int = MONTHS) -> str:
    """``YYYY-MM`` of the first of the ``count`` months ending with ``month``."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 - (count - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_label(month: str) -> T:
    """A short month label, ``T10/26`` in Vietnamese."""
    return T(N_("M{month}/{year}"), month=str(int(month[5:7])), year=month[2:4])


async def summary_chart(
    tx: Transaction, club_id: int, month: str, club_name: str
) -> dict[str, Any]:
    """The summary chart spec of a club's twelve months ending with ``month``.

    Args:
        tx: An open transaction (or a read-only snapshot).
        club_id: The club.
        month: The report's month, ``YYYY-MM``.
        club_name: Shown as the title.

    Returns:
        A spec for :func:`bot.charts.draw` (kind ``"summary"``), plain JSON apart from its
        :class:`T` labels; ``series`` holds the numbers (money in đồng), oldest month first.
    """
    start = date.fromisoformat(f"{first_month(month)}-01")
    _, end = report.month_bounds(month)
    rows = await tx.month_series(club_id, start, end)
    series: dict[str, list[Any]] = {
        "cash": [row["closing_cash"] for row in rows],
        "outstanding": [row["outstanding"] for row in rows],
        "measured": [row["measured"] for row in rows],
        "high": [row["measured_high"] for row in rows],
        "visits": [row["visits"] for row in rows],
    }
    return {
        "kind": "summary",
        "title": club_name,
        "subtitle": T(N_("The 12 months to {month}"), month=f"{month[5:7]}/{month[:4]}"),
        "months": [month_label(str(row["month"])) for row in rows],
        "series": series,
        "labels": {
            "money": T(N_("Fund (million đồng)")),
            "cash": T(N_("Closing cash")),
            "outstanding": T(N_("Outstanding")),
            "health": T(N_("Blood pressure (people)")),
            "measured": T(N_("People measured")),
            "high": T(N_("People with high blood pressure")),
            "visits": T(N_("Home visits")),
        },
    }
