"""The demo club, seeded on the first local run so a newcomer can try every flow.

The club was founded about half a year before the first run and has a history, so every
command shows something real at once: cash in the fund (seed capital and members'
contributions), two running loans (one paid on time, one overdue), a volunteer with two
clients and their visits, blood-pressure readings at each monthly meeting (a few high), and
the attendance of the last meetings. Everything is written through the stores, the way the
flows' effects write it, so the ledger's balances hold (``ishc-bot check`` passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import fund, health
from bot.clubs import create_club
from bot.invites import MEMBER_CODE_DAYS, hash_code, new_code
from bot.meetings import default_rule, meetings
from storage.base import Consent, NewMember, Storage, Transaction
from storage.health import NewReading, NewVisit
from storage.ledger import LoanRules, NewEntry, NewLoan, ScheduleRow
from storage.reports import CLUB_TZ

DEMO_CODE_KEY = "demo_member_code"
MEETING_DAY = 15
FOUNDED_DAYS = 200  # the club's age at the first run
RATE_BP = 50  # 0.5 % a month
CAPITAL = 30_000_000


@dataclass(frozen=True)
class Persona:
    """A demo person in the terminal chat."""

    key: str
    name: str
    roles: tuple[str, ...]
    words: tuple[str, ...]


PERSONAS = (
    Persona("chair", "Vi Thị Lan", ("chair", "member"), ("chu nhiem", "chunhiem", "cn")),
    Persona("treasurer", "Lương Văn Kiềm", ("treasurer", "member"), ("thu quy", "thuquy")),
    Persona("volunteer", "Hà Thị Biết", ("volunteer", "member"), ("tinh nguyen vien", "tnv")),
    Persona("member", "Mồng Thị Hoa", ("member",), ("thanh vien", "thanhvien", "tv")),
    Persona("new", "Người mới", (), ("moi", "nguoi moi", "khach")),
)
# Members without a chat account of their own in the demo: (name, sex, birth year, household).
OTHERS = (
    ("Lò Văn Pao", "male", 1941, "poor"),  # lives alone: a client of the volunteer
    ("Lương Thị Xuân", "female", 1944, "near_poor"),  # a client of the volunteer
    ("Vi Văn Hùng", "male", 1968, "near_poor"),  # a borrower behind with his payments
)


@dataclass(frozen=True)
class _Demo:
    """What the history is written with."""

    tx: Transaction
    club_id: int
    chair: int
    treasurer: int
    zone: ZoneInfo

    def at(self, day: date, hour: int = 9) -> datetime:
        """A moment of a club day (stored in UTC by the stores)."""
        return datetime.combine(day, time(hour), self.zone)


async def seed(storage: Storage, now: datetime, tz: str = CLUB_TZ) -> str | None:
    """Create the demo club, its people and its history if the database has no club yet.

    Args:
        storage: The database.
        now: The moment of the first run; the history ends on that day.
        tz: The clubs' time zone.

    Returns:
        The demo member invite code (kept in clear for the demo only), or ``None`` if the
        database already had clubs and nothing was seeded.
    """
    async with storage.transaction() as tx:
        if await tx.list_clubs():
            return await tx.get_meta(DEMO_CODE_KEY)
        zone = ZoneInfo(tz)
        today = now.astimezone(zone).date()
        founded = now - timedelta(days=FOUNDED_DAYS)
        club = await create_club(
            tx,
            name="CLB LTHTGN bản Lốc (demo)",
            commune="Thông Thụ",
            district="Quế Phong",
            province="Nghệ An",
            meeting_day=MEETING_DAY,
            now=founded,
        )
        people = await _people(tx, club["club_id"], founded, now)
        demo = _Demo(tx, club["club_id"], people["Vi Thị Lan"], people["Lương Văn Kiềm"], zone)
        await _fund(demo, people, founded.astimezone(zone).date(), today, now)
        held = [m.day for m in meetings(default_rule(MEETING_DAY), [],
                                        founded.astimezone(zone).date(), 12) if m.day <= today]
        await _health(demo, people, held)
        await _care(demo, people, today)
        for day in held[-2:]:  # the last two meetings' attendance
            came = [i for name, i in people.items() if name != "Lò Văn Pao"
                    and not (name == "Vi Văn Hùng" and day == held[-1])]
            await tx.record_attendance(demo.club_id, day, came,
                                       [i for i in people.values() if i not in came],
                                       demo.chair, demo.at(day, 11))
        # The club's own member code expired long ago: a fresh one, as /mamoi makes it.
        code = new_code()
        await tx.create_invite(demo.club_id, hash_code(code), "member",
                               now + timedelta(days=MEMBER_CODE_DAYS), None, now)
        await tx.set_meta(DEMO_CODE_KEY, code)
        return code


async def _people(tx: Transaction, club_id: int, founded: datetime,
                  now: datetime) -> dict[str, int]:
    """The personas (the board set up with the club) and the other members, approved."""
    people: dict[str, int] = {}
    joined = founded + timedelta(days=1)
    for number, persona in enumerate(PERSONAS[:-1], 1):
        member_id, _ = await tx.add_member(
            NewMember(
                club_id=club_id,
                full_name=persona.name,
                sex="male" if persona.key == "treasurer" else "female",
                birth_year=1950 + number * 3,
                birth_date=date(1950 + number * 3, number, 10),
                phone=f"+8491234560{number}",
                village="Bản Lốc",
                household="ordinary",
                ethnicity="Thái",
                status="active",
                assisted_by=None,
                registration_key=f"demo:{persona.key}",
            ),
            founded,
        )
        people[persona.name] = member_id
        if persona.key != "chair":  # the chair joined with the board code
            await tx.set_member_status(member_id, "active", people["Vi Thị Lan"], joined)
        for role in persona.roles:
            await tx.grant_role(member_id, role, None, founded)
        await tx.touch_identity("local", persona.key, persona.key, persona.name, "vi", now)
        await tx.link_identity("local", persona.key, member_id)
        await tx.add_consent(Consent(member_id, "demo", founded, "local", "demo", None))
    for number, (name, sex, born, household) in enumerate(OTHERS, 5):
        member_id, _ = await tx.add_member(
            NewMember(club_id, name, sex, born, None, f"+8491234560{number}", "Bản Lốc",
                      household, "Thái", "active", people["Vi Thị Lan"], f"demo:other{number}"),
            joined,
        )
        await tx.set_member_status(member_id, "active", people["Vi Thị Lan"], joined)
        people[name] = member_id
    return people


async def _fund(demo: _Demo, people: dict[str, int], founded: date, today: date,
                now: datetime) -> None:
    """Seed capital, monthly contributions and two loans: one paid on time, one overdue."""
    tx, club_id = demo.tx, demo.club_id
    await tx.set_loan_rules(club_id, LoanRules(rate_bp=RATE_BP, term_months=10),
                            demo.chair, demo.at(founded))
    await tx.add_entry(NewEntry(club_id, "capital", founded, "demo:capital", cash=CAPITAL,
                                note="Vốn hỗ trợ ban đầu", recorded_by=demo.treasurer,
                                confirmed_by=demo.treasurer, source="demo"), demo.at(founded))
    month = founded.replace(day=1)
    while month <= today:
        day = fund.month_day(month.year, month.month, MEETING_DAY)
        if founded < day <= today:
            for name in ("Mồng Thị Hoa", "Vi Văn Hùng", "Lương Thị Xuân"):
                await tx.add_entry(NewEntry(
                    club_id, "contribution", day, f"demo:gop:{name}:{day}",
                    member_id=people[name], cash=20_000, recorded_by=demo.treasurer,
                    confirmed_by=demo.treasurer, source="demo"), demo.at(day, 10))
        month = fund.add_months(month, 1, 1)
    # Hoa's loan: four months ago, every instalment due so far paid on its day.
    await _loan(demo, "Mồng Thị Hoa", people["Mồng Thị Hoa"], 5_000_000, "cow",
                fund.add_months(today, -4, 5), today, paid_until=today)
    # Hùng's loan: three months ago, only the first instalment paid: overdue.
    start = fund.add_months(today, -3, 5)
    await _loan(demo, "Vi Văn Hùng", people["Vi Văn Hùng"], 3_000_000, "pig", start, today,
                paid_until=fund.first_due(start, MEETING_DAY))


async def _loan(demo: _Demo, name: str, member_id: int, amount: int, purpose: str,
                start: date, today: date, paid_until: date) -> None:
    """A loan given on ``start`` as ``/giaingan`` records it, paid up to ``paid_until``.

    Each instalment due by then is paid in full on its due day.
    """
    tx, club_id = demo.tx, demo.club_id
    rows = fund.schedule(amount, RATE_BP, 10, "equal_principal",
                         fund.first_due(start, MEETING_DAY), MEETING_DAY)
    key = f"demo:loan:{name}"
    loan_id, _ = await tx.add_loan(NewLoan(
        club_id=club_id, member_id=member_id, principal=amount, purpose=purpose,
        rate_bp=RATE_BP, term_months=10, schedule="equal_principal", start_date=start,
        first_due=rows[0].due, due_day=MEETING_DAY, carried_over=False, request_id=None,
        created_by=demo.treasurer, key=key,
        installments=tuple(ScheduleRow(r.number, r.due, r.principal, r.interest)
                           for r in rows)), demo.at(start))
    await tx.add_entry(NewEntry(club_id, "disbursement", start, f"loan:{key}", loan_id=loan_id,
                                member_id=member_id, principal=amount, cash=-amount,
                                recorded_by=demo.treasurer, source="demo"), demo.at(start))
    for row in rows:
        if row.due > min(paid_until, today):
            break
        await tx.add_entry(NewEntry(
            club_id, "repayment", row.due, f"demo:pay:{name}:{row.number}", loan_id=loan_id,
            member_id=member_id, principal=-row.principal, interest=row.interest,
            cash=row.total, recorded_by=demo.treasurer, confirmed_by=demo.treasurer,
            source="demo"), demo.at(row.due, 10))


# (systolic, diastolic, pulse) by member, one a meeting; the last ones are the latest.
READINGS = {
    "Vi Thị Lan": ((128, 82, 74), (132, 84, 76), (126, 80, 72)),
    "Lương Văn Kiềm": ((142, 92, 80), (146, 94, 82), (150, 95, 84)),
    "Hà Thị Biết": ((118, 76, 70), (120, 78, 70), (122, 78, 72)),
    "Mồng Thị Hoa": ((136, 86, 78), (138, 88, 76), (134, 86, 78)),
    "Lương Thị Xuân": ((155, 96, 86), (160, 98, 88), (162, 100, 90)),
    "Vi Văn Hùng": ((124, 80, 72), (126, 82, 74), (128, 82, 74)),
}


async def _health(demo: _Demo, people: dict[str, int], held: list[date]) -> None:
    """Readings at each meeting, graded as ``/huyetap`` grades them."""
    rules = await health.triage(demo.tx)
    for name, values in READINGS.items():
        days = held[-len(values):]
        for day, (systolic, diastolic, pulse) in zip(days, values[-len(days):], strict=True):
            reading = health.Reading(systolic, diastolic, pulse)
            await demo.tx.add_reading(NewReading(
                demo.club_id, people[name], demo.at(day, 8), day, systolic, diastolic, pulse,
                None, health.grade(reading), health.is_high(reading, rules),
                False, None, None, (), "meeting", people["Hà Thị Biết"],
                f"demo:bp:{name}:{day}"), demo.at(day, 8))


async def _care(demo: _Demo, people: dict[str, int], today: date) -> None:
    """The volunteer cares for Pao (visited this week) and Xuân (not for three weeks)."""
    volunteer = people["Hà Thị Biết"]
    start = today - timedelta(days=60)
    for client, days_ago in (("Lò Văn Pao", (45, 30, 16, 4)), ("Lương Thị Xuân", (40, 22))):
        await demo.tx.link_care(volunteer, people[client], demo.chair, demo.at(start))
        for ago in days_ago:
            day = today - timedelta(days=ago)
            await demo.tx.add_visit(NewVisit(
                demo.club_id, people[client], volunteer, demo.at(day, 15), day,
                ("meal", "medicine_reminder") if client == "Lò Văn Pao" else ("cleaning",),
                None, "", f"demo:visit:{client}:{day}"), demo.at(day, 15))
