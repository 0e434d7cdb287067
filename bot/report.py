"""The club's monthly report: named, defined figures computed from the ledger and the logs.

Each :class:`Figure` has a label and a definition (both translated), so the chat summary and
the spreadsheet show the same numbers and say how each was computed. The storage computes the
counts (``Transaction.month_figures``); shares are worked out here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.i18n import N_
from storage.base import Transaction
from storage.reports import CLUB_TZ

MONEY = "money"
COUNT = "count"
SHARE = "share"
DAY = "day"  # a date as YYYYMMDD (0: none); not added up over clubs


@dataclass(frozen=True)
class Figure:
    """One line of the report: a key, its section, label, definition, kind and value."""

    key: str
    section: str
    label: str
    definition: str
    kind: str
    value: int


# (key, section, label, definition, kind), in report order.
FIGURES = (
    ("members", "members", N_("Members"), N_("Active members at the end of the month."), COUNT),
    ("women", "members", N_("Women"), N_("Active members who are women."), COUNT),
    ("share_women", "members", N_("Share of women"), N_("Women / members."), SHARE),
    ("age_under_60", "members", N_("Under 60"), N_("Age in the report's year under 60."),
     COUNT),
    ("age_60_69", "members", N_("60 to 69"), N_("Age in the report's year 60 to 69."), COUNT),
    ("age_70_79", "members", N_("70 to 79"), N_("Age in the report's year 70 to 79."), COUNT),
    ("age_80_up", "members", N_("80 and over"), N_("Age in the report's year 80 or more."),
     COUNT),
    ("share_older", "members", N_("Share of older people"), N_("Members aged 60 or more / "
                                                                "members."), SHARE),
    ("share_younger", "members", N_("Share of younger people"),
     N_("Members under 60 / members."), SHARE),
    ("poor_near_poor", "members", N_("Poor and near-poor"),
     N_("Members from poor or near-poor households."), COUNT),
    ("joined", "members", N_("Joined this month"), N_("Members approved this month."), COUNT),
    ("left_club", "members", N_("Left this month"), N_("Members erased this month."), COUNT),
    ("meetings", "meeting", N_("Meetings held"), N_("Days with attendance recorded."), COUNT),
    ("meeting_day", "meeting", N_("Meeting date"), N_("The last day of the month with "
                                                      "attendance recorded."), DAY),
    ("attended", "meeting", N_("Attendance"), N_("Members marked present at the last meeting "
                                                 "of the month."), COUNT),
    ("opening_cash", "fund", N_("Opening cash"), N_("Sum of the ledger's cash before the "
                                                    "month."), MONEY),
    ("loans_given", "fund", N_("Loans given"), N_("Disbursements this month, not reversed."),
     COUNT),
    ("disbursed", "fund", N_("Amount lent"), N_("Principal disbursed this month, less "
                                                "reversals."), MONEY),
    ("repaid", "fund", N_("Principal repaid"), N_("Principal repaid this month, less "
                                                  "reversals."), MONEY),
    ("interest", "fund", N_("Interest received"), N_("Interest received this month."), MONEY),
    ("contributions", "fund", N_("Contributions"), N_("Members' contributions this month."),
     MONEY),
    ("outstanding", "fund", N_("Outstanding"), N_("Principal owed at the end of the month."),
     MONEY),
    ("closing_cash", "fund", N_("Closing cash"), N_("Sum of the ledger's cash up to the end of "
                                                    "the month."), MONEY),
    ("overdue_loans", "fund", N_("Overdue loans"), N_("Loans owing principal at the end of the "
                                                      "month (or on the day of the report, for "
                                                      "the month still running) whose "
                                                      "instalments due by then were not all "
                                                      "paid."), COUNT),
    ("overdue_amount", "fund", N_("Overdue amount"), N_("Principal and interest due by the end of "
                                                        "the month (or the day of the report) "
                                                        "and not paid by then, on those "
                                                        "loans."), MONEY),
    ("borrowers", "fund", N_("Borrowers"), N_("Members owing principal at the end of the "
                                              "month."), COUNT),
    ("share_borrowers", "fund", N_("Share of members with a loan"), N_("Borrowers / members "
                                                                       "(target 50%)."), SHARE),
    ("measured", "health", N_("Members measured"), N_("Members with a reading this month."),
     COUNT),
    ("measured_high", "health", N_("High last reading"), N_("Members whose last reading "
                                                              "this month was high."), COUNT),
    ("share_high", "health", N_("Share with a high reading"), N_("Members whose last reading "
                                                                 "this month was high / "
                                                                 "members measured."), SHARE),
    ("urgent_readings", "health", N_("Urgent readings"), N_("Readings this month where the "
                                                            "person was told to get help "
                                                            "now."), COUNT),
    ("referred", "health", N_("Members referred"), N_("Members told this month to call 115 or "
                                                      "go to the commune health station at "
                                                      "once."), COUNT),
    ("alerts", "health", N_("Health alerts"), N_("Urgent readings this month whose alert went "
                                                  "out (also those never confirmed)."), COUNT),
    ("alerts_answered", "health", N_("Alerts answered"), N_("Of those alerts, the ones someone "
                                                            "answered \"I have called / I am on "
                                                            "my way\"."), COUNT),
    ("alerts_escalated", "health", N_("Alerts sent to the whole board"),
     N_("Of those alerts, the ones nobody answered in time, sent again to the whole board."),
     COUNT),
    ("clients", "care", N_("Care clients"), N_("Members with a volunteer at the end of the "
                                               "month."), COUNT),
    ("volunteers", "care", N_("Volunteers caring"), N_("Volunteers with a client."), COUNT),
    ("visits", "care", N_("Home visits"), N_("Visits recorded this month."), COUNT),
    ("clients_unvisited", "care", N_("Clients without a visit in 14 days"),
     N_("Clients with no visit in the 14 days up to the end of the month (or up to the day "
        "of the report, for the month still running)."), COUNT),
    ("reminders", "reminders", N_("Reminders sent"), N_("Reminders queued this month."), COUNT),
)
SECTIONS = {
    "members": N_("Members"), "meeting": N_("Meeting"), "fund": N_("Fund"),
    "health": N_("Health"), "care": N_("Home care"), "reminders": N_("Reminders"),
}


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def last_month(today: date) -> str:
    """``YYYY-MM`` of the month before ``today``'s."""
    previous = today.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def day_of(value: int) -> date | None:
    """The date of a :data:`DAY` figure's value (``None`` for 0)."""
    return date(value // 10000, value // 100 % 100, value % 100) if value else None


def _share(part: int, whole: int) -> int:
    """A percentage, rounded half up (0 when there is no whole)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def older_members(values: dict[str, int]) -> int:
    """Members aged 60 or more (the older people of Decision 1336)."""
    return values["age_60_69"] + values["age_70_79"] + values["age_80_up"]


def shares(values: dict[str, int]) -> dict[str, int]:
    """The percentages, from the counts (of one club, or summed over many)."""
    older = older_members(values)
    return {
        "share_women": _share(values["women"], values["members"]),
        "share_older": _share(older, values["members"]),
        "share_younger": _share(values["age_under_60"], values["members"]),
        "share_borrowers": _share(values["borrowers"], values["members"]),
        "share_high": _share(values["measured_high"], values["measured"]),
    }


async def monthly(
    tx: Transaction, club_id: int, month: str, tz: str = CLUB_TZ, today: date | None = None
) -> list[Figure]:
    """Every figure of a club's month (by the clubs' time zone ``tz``), in report order.

    ``today`` (club time) is the day of the report: for the month still running, what is
    measured at a day (overdue loans, clients without a visit) is measured then, not at the
    month's end.
    """
    first, last = month_bounds(month)
    values = await tx.month_figures(club_id, first, last, tz, today)
    values.update(shares(values))
    return [Figure(key, section, label, definition, kind, values[key])
            for key, section, label, definition, kind in FIGURES]
