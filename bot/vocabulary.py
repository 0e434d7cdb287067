"""The club's vocabulary: each code the database stores, with its words to read and to type.

The words people may type for a code are matched with or without accents. Flows, reports
and exports all name things from here, so a code reads the same everywhere and a new word for
it is added once.
"""

from __future__ import annotations

from datetime import date

from bot.i18n import N_, format_day
from bot.messages import Choice, T

SEXES = (
    Choice("female", N_("Female"), ("nu", "ba", "gai")),
    Choice("male", N_("Male"), ("nam", "ong", "trai")),
)
HOUSEHOLDS = (
    Choice("poor", N_("Poor household"), ("ngheo", "ho ngheo")),
    Choice("near_poor", N_("Near-poor household"), ("can ngheo", "ho can ngheo")),
    Choice("hardship", N_("In hardship"), ("kho khan",)),
    Choice("ordinary", N_("Ordinary"), ("binh thuong", "khong")),
)
ROLE_LABELS = {
    "chair": N_("Chair"),
    "vice_chair": N_("Vice chair"),
    "treasurer": N_("Treasurer"),
    "volunteer": N_("Volunteer"),
    "member": N_("Member"),
}
STATUS_LABELS = {
    "pending": N_("waiting for approval"),
    "active": N_("member"),
    "rejected": N_("not approved"),
    "erased": N_("erased"),
}
PURPOSES = (
    Choice("cow", N_("Cow"), ("bo",)),
    Choice("buffalo", N_("Buffalo"), ("trau",)),
    Choice("pig", N_("Pig"), ("lon", "heo")),
    Choice("goat", N_("Goat"), ("de",)),
    Choice("poultry", N_("Chickens, ducks"), ("ga", "vit", "ga vit")),
    Choice("fish", N_("Fish"), ("ca", "nuoi ca")),
    Choice("crops", N_("Crops"), ("trong trot", "lua", "rau")),
    Choice("trade", N_("Trade"), ("buon ban", "ban hang")),
    Choice("other", N_("Other"), ("khac",)),
)
SCHEDULE_LABELS = {
    "equal_principal": N_("equal monthly principal plus interest"),
    "interest_only": N_("monthly interest, principal at the end"),
    "lump_sum": N_("all at the end of the term"),
}
SYMPTOMS = (
    Choice("weakness", N_("Numbness or weakness of an arm or leg"), ("te", "yeu tay chan")),
    Choice("confusion", N_("Drowsy or confused"), ("lo mo", "lu lan")),
    Choice("speech", N_("Difficulty speaking"), ("noi kho",)),
    Choice("chest_pain", N_("Chest pain"), ("dau nguc",)),
    Choice("breath", N_("Short of breath"), ("kho tho",)),
    Choice("headache", N_("Severe headache"), ("dau dau",)),
    Choice("vision", N_("Blurred vision"), ("nhin mo", "mo mat")),
    Choice("vomiting", N_("Nausea or vomiting"), ("buon non", "non")),
    Choice("dizzy", N_("Dizzy or fainting"), ("chong mat", "ngat")),
    Choice("none", N_("None of these"), ("khong", "khong co", "khong co gi", "khong sao"),
           exclusive=True),
)
ENTRY_KINDS = {
    "disbursement": N_("Loan given"),
    "opening": N_("Loan from the notebook"),
    "repayment": N_("Repayment"),
    "contribution": N_("Contribution"),
    "capital": N_("Money put in"),
}
SERVICES = (
    Choice("meal", N_("Cooking a meal"), ("nau an", "bua an", "com")),
    Choice("cleaning", N_("Cleaning"), ("don dep", "quet nha")),
    Choice("hygiene", N_("Personal hygiene"), ("ve sinh", "tam goi")),
    Choice("medicine_purchase", N_("Buying medicine"), ("mua thuoc",)),
    Choice("medicine_reminder", N_("Reminding to take medicine"), ("nhac uong thuoc",)),
    Choice("bp_check", N_("Measuring blood pressure"), ("do huyet ap",)),
    Choice("massage", N_("Massage"), ("xoa bop",)),
    Choice("farm_help", N_("Help in the fields"), ("dong ang", "lam ruong")),
    Choice("companionship", N_("Talking, keeping company"), ("tro chuyen",)),
    Choice("other", N_("Other"), ("khac",)),
)
CONCERNS = (
    Choice("none", N_("Nothing worrying"), ("khong", "khong co")),
    Choice("fall", N_("A fall"), ("nga",)),
    Choice("not_eating", N_("Not eating"), ("bo an",)),
    Choice("sick", N_("Ill"), ("om", "benh")),
    Choice("needs_doctor", N_("Needs to see a doctor"), ("di kham", "can di kham")),
    Choice("other", N_("Something else"), ("khac",)),
)
# Weekdays as Python numbers them (0 = Monday).
WEEKDAY_DATES = (
    N_("Monday {day}"), N_("Tuesday {day}"), N_("Wednesday {day}"), N_("Thursday {day}"),
    N_("Friday {day}"), N_("Saturday {day}"), N_("Sunday {day}"),
)


def purpose_label(key: str) -> T | str:
    """The purpose's label."""
    return next((T(c.label) for c in PURPOSES if c.key == key), key)


def day_text(day: date) -> T:
    """``Tuesday 15/12/2026``."""
    return T(WEEKDAY_DATES[day.weekday()], day=format_day(day))
