"""One club's five years, written through the storage API and returned as plain data.

:func:`generate` simulates a club day by day from its founding (5/11/2021) to the day before
the harness clock's today (28/11/2026) with a fixed ``random.Random(seed)``, and writes each
event as the bot would (``add_member`` / ``set_member_status`` / ``erase_member``, loans with
their schedules, ``add_entry`` for capital, disbursements, repayments, contributions and
reversals, readings, care links and visits, attendance, queued reminders), in one
transaction. It returns the same events as a :class:`History` of plain records, so a test can
work out every figure of any month on its own (``tests/test_report_golden.py``) and a
benchmark can copy the club (``bench/report.py``).

What happens, on purpose:

- members: three board members who came with the board code (active, never "approved"),
  founders approved on the founding day, later joiners (some registered by a volunteer),
  two registrations rejected, one still pending, four founders erased at chosen days (a care
  client, a volunteer, one in a month without a meeting, one in the last full month);
- fund: seed capital and a later grant, a loan carried over from the paper notebook, about
  ``loans_per_year`` loans of 5-20 million đồng over 12 months at 1 % (``bot.fund.schedule``),
  instalments mostly paid on the due day, some late (possibly the next month), some loans
  that stop paying, some repayments recorded wrong then reversed and recorded again (the
  reversal possibly the next month), two loans given by mistake and reversed (one within the
  month, one on 3/6/2024), quarterly contributions with one recorded twice and reversed;
- health: readings at the monthly meeting (some re-measured after rest, some urgent) and at
  home for members with a monitor; care links (one ended) and home visits;
- meetings on the 15th with attendance, none in 02/2022, 02/2024 and 08/2025, and an extra
  meeting on 28/03/2025; meeting and repayment reminders queued two days before.

Edges avoided: every moment is 09:00-11:00 in Vietnam (02:00-04:00 UTC), so the local
calendar day is plain (``tests/test_report.py`` checks a month's edges at local midnight
apart); every approval is on the day of registration. The four members erased later are
founders approved in 11/2021 (that month's "joined" still counts them), and they never
borrow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot import fund, health
from storage.base import NewMember
from storage.health import NewReading, NewVisit
from storage.ledger import NewEntry, NewLoan, ScheduleRow

SEED = 20211105
FOUNDED = date(2021, 11, 5)
TODAY = date(2026, 11, 28)  # the harness clock's day; history ends the day before
MEETING_DAY = 15
RATE_BP = 100
TERM = 12
CONTRIBUTION = 50_000
MISSED_MEETINGS = ("2022-02", "2024-02", "2025-08")
EXTRA_MEETING = date(2025, 3, 28)
MISTAKE_LOANS = (date(2023, 9, 4), date(2024, 5, 27))  # reversed 6 and 7 days later
DUPLICATE_CONTRIBUTION = date(2025, 6, 15)  # recorded twice, the copy reversed on 18/06
ERASURES = (  # (role of the founder erased, day)
    ("client", date(2023, 5, 20)), ("volunteer", date(2024, 9, 10)),
    ("member", date(2025, 8, 5)), ("member", date(2026, 10, 8)),
)
REJECTED = ((date(2023, 3, 16), date(2023, 3, 16)), (date(2025, 1, 10), date(2025, 1, 10)))
PENDING = date(2026, 11, 20)
HOUSEHOLDS = ("poor", "near_poor", "hardship", "ordinary")
RULES = health.Triage()


def at(day: date, minute: int = 0) -> datetime:
    """``minute`` minutes after 09:00 in Vietnam on ``day`` (as the UTC moment stored)."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC) + timedelta(minutes=minute)


# --- the plain records returned -----------------------------------------------------------------


@dataclass
class Person:
    """A registration; ``active_from`` is when they became a member (None: never)."""

    index: int
    id: int
    name: str
    sex: str
    birth_year: int
    household: str
    registered: date
    approved: date | None = None  # set_member_status(active) by someone (not the board code)
    active_from: date | None = None
    rejected: date | None = None
    erased: date | None = None
    roles: tuple[str, ...] = ()


@dataclass
class Entry:
    """A ledger entry as written (a reversal has ``reverses``)."""

    id: int
    kind: str
    day: date
    loan_id: int | None
    member_id: int | None
    principal: int
    interest: int
    cash: int
    reverses: int | None = None


@dataclass
class Reading:
    id: int
    member_id: int
    day: date
    measured_at: datetime
    systolic: int
    diastolic: int
    high: bool
    urgent: bool


@dataclass
class CareLink:
    volunteer_id: int
    client_id: int
    start: date
    end: date | None = None  # unlinked, or one of the two erased


@dataclass
class Visit:
    client_id: int
    volunteer_id: int
    day: date


@dataclass
class History:
    """Everything that happened, as written (before any erasure removed health records)."""

    club_id: int
    club_name: str
    chair_id: int
    people: list[Person]
    ledger: list[Entry] = field(default_factory=list)
    # id -> borrower, amount, start, carried_over, schedule [(due day, principal + interest)]
    loans: dict[int, dict[str, Any]] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)
    care_links: list[CareLink] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    meetings: dict[date, dict[int, bool]] = field(default_factory=dict)
    reminders: list[datetime] = field(default_factory=list)  # queued_at of each

    def person(self, member_id: int) -> Person:
        return next(p for p in self.people if p.id == member_id)

    def months(self) -> list[str]:
        """Every ``YYYY-MM`` from the founding to today's month."""
        out, day = [], FOUNDED.replace(day=1)
        while day <= TODAY:
            out.append(f"{day:%Y-%m}")
            day = (day + timedelta(days=32)).replace(day=1)
        return out


# --- the simulation -----------------------------------------------------------------------------


@dataclass
class _Loan:
    id: int
    borrower: Person
    rows: list[fund.Installment]
    stops_after: int | None  # instalments paid before the borrower stops (None: all)
    mistake: bool = False


class _Writer:
    """The club's life, day by day, written through ``tx``."""

    def __init__(self, tx: Any, rng: random.Random, members: int, loans_per_year: int,
                 measured_share: float, home_share: float) -> None:
        self.tx, self.rng = tx, rng
        self.members, self.loans_per_year = members, loans_per_year
        self.measured_share, self.home_share = measured_share, home_share
        self.keys = 0
        self.cash = 0
        self.pay_on: dict[date, list[tuple[_Loan, fund.Installment, bool]]] = {}
        self.reverse_on: dict[date, list[tuple[Entry, Any]]] = {}
        self.open: dict[int, _Loan] = {}  # borrower's person index -> their open loan
        self.hypertensive: set[int] = set()
        self.home_monitor: set[int] = set()
        self.planned_joins: dict[date, list[int]] = {}

    def key(self, what: str) -> str:
        self.keys += 1
        return f"club{self.history.club_id}-{what}-{self.keys}"

    # members

    async def register(self, index: int, day: date, *, board: bool = False,
                       assisted: bool = False, decision: str | None = "active",
                       decided: date | None = None) -> Person:
        rng = self.rng
        person = Person(
            index=index, id=0, name=f"Thành viên {index:03d}",
            sex=rng.choices(("female", "male"), (6, 4))[0],
            birth_year=rng.randrange(1936, 1972),
            household=rng.choices(HOUSEHOLDS, (15, 20, 10, 55))[0], registered=day,
        )
        status = "active" if board or assisted else "pending"
        person.id, _ = await self.tx.add_member(NewMember(
            club_id=self.history.club_id, full_name=person.name, sex=person.sex,
            birth_year=person.birth_year, birth_date=None, phone=f"+8491{index:07d}",
            village="Bản Lốc", household=person.household, ethnicity="Thái", status=status,
            assisted_by=None, registration_key=self.key("member"),
        ), at(day, index % 30))
        self.history.people.append(person)
        if board:
            person.active_from = day
        elif decision is not None:
            when = decided or day
            by = self.history.chair_id or None
            await self.tx.set_member_status(person.id, decision, by, at(when, 40))
            if decision == "active":
                person.approved = person.active_from = when
            else:
                person.rejected = when
        if person.active_from is not None:
            if rng.random() < 0.25:
                self.hypertensive.add(person.id)
            if rng.random() < self.home_share:
                self.home_monitor.add(person.id)
        return person

    def active(self, day: date) -> list[Person]:
        return [p for p in self.history.people if p.active_from is not None
                and p.active_from <= day and (p.erased is None or p.erased > day)]

    async def erase(self, person: Person, day: date) -> None:
        await self.tx.erase_member(person.id, self.history.chair_id, at(day, 50))
        person.erased = day
        for link in self.history.care_links:
            if link.end is None and person.id in (link.volunteer_id, link.client_id):
                link.end = day

    # money

    async def entry(self, kind: str, day: date, minute: int = 20, **amounts: Any) -> Entry:
        new = NewEntry(club_id=self.history.club_id, kind=kind, day=day, key=self.key(kind),
                       recorded_by=self.history.chair_id, **amounts)
        entry_id, _ = await self.tx.add_entry(new, at(day, minute))
        entry = Entry(entry_id, kind, day, new.loan_id, new.member_id, new.principal,
                      new.interest, new.cash, new.reverses)
        self.history.ledger.append(entry)
        self.cash += new.cash
        return entry

    async def reverse(self, original: Entry, day: date) -> Entry:
        return await self.entry(
            original.kind, day, minute=70, loan_id=original.loan_id,
            member_id=original.member_id, principal=-original.principal,
            interest=-original.interest, cash=-original.cash, reverses=original.id)

    async def lend(self, person: Person, amount: int, day: date, *, carried: bool = False,
                   mistake: bool = False) -> _Loan:
        rng = self.rng
        first = fund.first_due(day, MEETING_DAY)
        rows = fund.schedule(amount, RATE_BP, TERM, "equal_principal", first, MEETING_DAY)
        loan_id, _ = await self.tx.add_loan(NewLoan(
            club_id=self.history.club_id, member_id=person.id, principal=amount,
            purpose=rng.choice(("cow", "pig", "poultry", "crops", "trade")), rate_bp=RATE_BP,
            term_months=TERM, schedule="equal_principal", start_date=day, first_due=first,
            due_day=MEETING_DAY, carried_over=carried, request_id=None,
            created_by=self.history.chair_id, key=self.key("loan"),
            installments=tuple(ScheduleRow(r.number, r.due, r.principal, r.interest)
                               for r in rows),
        ), at(day, 15))
        stops = rng.randrange(2, TERM) if not mistake and rng.random() < 0.06 else None
        loan = _Loan(loan_id, person, rows, stops, mistake)
        self.history.loans[loan_id] = {"borrower": person.id, "amount": amount,
                                       "start": day, "carried_over": carried,
                                       "schedule": [(r.due, r.principal + r.interest)
                                                    for r in rows]}
        if carried:
            await self.entry("opening", day, loan_id=loan_id, member_id=person.id,
                             principal=amount)
        else:
            given = await self.entry("disbursement", day, loan_id=loan_id, member_id=person.id,
                                     principal=amount, cash=-amount)
            if mistake:  # given by mistake: reversed 6 or 7 days later, before any payment
                later = day + timedelta(days=6 + MISTAKE_LOANS.index(day))
                self.reverse_on.setdefault(later, []).append((given, None))
                return loan
        self.open[person.index] = loan
        for row in rows:
            if stops is not None and row.number > stops:
                break
            late = rng.random() < 0.12
            paid = row.due + timedelta(days=rng.randrange(4, 40)) if late else row.due
            if paid < TODAY:
                wrong = rng.random() < 0.03
                self.pay_on.setdefault(paid, []).append((loan, row, wrong))
        return loan

    async def pay(self, loan: _Loan, row: fund.Installment, day: date, wrong: bool) -> None:
        principal = row.principal - (100_000 if wrong else 0)
        entry = await self.entry("repayment", day, minute=25, loan_id=loan.id,
                                 member_id=loan.borrower.id, principal=-principal,
                                 interest=row.interest, cash=principal + row.interest)
        if wrong:  # found at the next check: reversed and recorded again, maybe next month
            later = min(day + timedelta(days=self.rng.randrange(0, 21)), TODAY - timedelta(1))
            self.reverse_on.setdefault(later, []).append((entry, (loan, row)))
        if row.number == loan.rows[-1].number and not wrong:
            self.open.pop(loan.borrower.index, None)

    # health

    async def measure(self, person: Person, day: date, minute: int, place: str) -> bool:
        rng = self.rng
        age = day.year - person.birth_year
        if person.id in self.hypertensive:
            systolic, diastolic = rng.gauss(148, 12), rng.gauss(90, 7)
        else:
            systolic, diastolic = rng.gauss(118 + (age - 60) * 0.4, 9), rng.gauss(76, 6)
        if rng.random() < 0.02:  # a crisis now and then
            systolic, diastolic = systolic + 45, diastolic + 22
        s = min(max(round(systolic), 90), 230)
        d = min(max(round(diastolic), 50), min(130, s - 25))
        reading = health.Reading(s, d, None)
        high, urgent = health.is_high(reading, RULES), health.is_crisis(reading, RULES)
        reading_id, _ = await self.tx.add_reading(NewReading(
            club_id=self.history.club_id, member_id=person.id, measured_at=at(day, minute),
            day=day, systolic=s, diastolic=d, pulse=None, weight_tenths=None,
            grade=health.grade(reading), high=high, urgent=urgent, first_systolic=None,
            first_diastolic=None, symptoms=(), place=place, recorded_by=None,
            key=self.key("reading"),
        ), at(day, minute))
        self.history.readings.append(
            Reading(reading_id, person.id, day, at(day, minute), s, d, high, urgent))
        return high

    # the days

    async def run(self, club_id: int) -> History:
        rng, tx = self.rng, self.tx
        self.history = History(club_id, "", 0, [])
        board = [await self.register(i, FOUNDED, board=True) for i in range(3)]
        self.history.chair_id = board[0].id
        for person, role in zip(board, ("chair", "vice_chair", "treasurer"), strict=True):
            await tx.grant_role(person.id, role, None, at(FOUNDED))
            person.roles = (role,)
        founders = round(self.members * 0.75)
        people = board + [await self.register(i, FOUNDED) for i in range(3, founders)]
        later = sorted(FOUNDED + timedelta(days=rng.randrange(40, (TODAY - FOUNDED).days - 20))
                       for _ in range(self.members - founders - len(REJECTED) - 1))
        for index, day in enumerate(later, founders):
            self.planned_joins.setdefault(day, []).append(index)

        # The volunteers and their clients, and who is erased: a client, a volunteer and
        # two other founders (none of them the borrower of the carried-over loan).
        carried = people[5]
        older = [p for p in people[6:] if p.birth_year <= 1950]
        younger = [p for p in people[6:] if p.birth_year > 1950]
        volunteers, clients = younger[:4], older[:5]
        others = [p for p in people[6:] if p not in volunteers and p not in clients]
        erased = list(zip((clients[0], volunteers[0], *others[-2:]),
                          (day for _, day in ERASURES), strict=True))
        never_borrow = {p.id for p, _ in erased}
        for person in volunteers:
            await tx.grant_role(person.id, "volunteer", board[0].id, at(FOUNDED, 5))
            person.roles += ("volunteer",)
        link_plan = [(volunteers[k % len(volunteers)], client,
                      FOUNDED + timedelta(days=30 + 20 * k)) for k, client in enumerate(clients)]
        link_plan.append((volunteers[1], clients[2], date(2022, 6, 1)))  # a second volunteer
        unlink = (volunteers[1], clients[2], date(2024, 3, 10))
        link_starts: dict[date, list[tuple[Person, Person]]] = {}
        for volunteer, client, day in link_plan:
            link_starts.setdefault(day, []).append((volunteer, client))

        await self.entry("capital", FOUNDED, cash=10_000_000 * self.loans_per_year)
        await self.lend(carried, 8_000_000, FOUNDED, carried=True)
        span = (TODAY - FOUNDED).days
        loan_days: dict[date, int] = {}
        for _ in range(self.loans_per_year * span // 365):
            day = FOUNDED + timedelta(days=rng.randrange(10, span - 1))
            loan_days[day] = loan_days.get(day, 0) + 1

        day = FOUNDED
        while day < TODAY:
            month = f"{day:%Y-%m}"
            for index in self.planned_joins.get(day, []):
                await self.register(index, day, assisted=rng.random() < 0.3)
            for number, (registered, decided) in enumerate(REJECTED):
                if day == registered:
                    await self.register(900 + number, day, decision="rejected",
                                        decided=decided)
            if day == PENDING:
                await self.register(999, day, decision=None)
            if day == date(2023, 6, 15):
                await self.entry("capital", day, minute=3, cash=50_000_000)
            for volunteer, client in link_starts.get(day, []):
                if volunteer.erased is None and client.erased is None:
                    await tx.link_care(volunteer.id, client.id, board[0].id, at(day, 45))
                    self.history.care_links.append(CareLink(volunteer.id, client.id, day))
            if day == unlink[2]:
                await tx.unlink_care(unlink[0].id, unlink[1].id, at(day, 45))
                for link in self.history.care_links:
                    if (link.volunteer_id, link.client_id, link.end) == (
                            unlink[0].id, unlink[1].id, None):
                        link.end = day

            meeting = (day.day == MEETING_DAY and month not in MISSED_MEETINGS) or (
                day == EXTRA_MEETING)
            if meeting:
                await self.meet(day, quarter=day.day == MEETING_DAY and day.month % 3 == 0)
            for loan, row, wrong in self.pay_on.pop(day, []):
                await self.pay(loan, row, day, wrong)
            for original, again in self.reverse_on.pop(day, []):
                await self.reverse(original, day)
                if again is not None:
                    await self.pay(again[0], again[1], day, False)
            for _ in range(loan_days.get(day, 0)):
                await self.new_loan(day, never_borrow)
            if day in MISTAKE_LOANS:
                borrower = next(p for p in self.active(day) if p.id not in never_borrow
                                and p.index not in self.open)
                await self.lend(borrower, 6_000_000, day, mistake=True)
            for person in self.active(day):
                if person.id in self.home_monitor and rng.random() < 0.06:
                    await self.measure(person, day, 90 + rng.randrange(20), "self")
            for link in self.history.care_links:
                if link.end is None and day > link.start and rng.random() < 0.11:
                    await tx.add_visit(NewVisit(
                        club_id=club_id, client_id=link.client_id,
                        volunteer_id=link.volunteer_id, visited_at=at(day, 100), day=day,
                        services=("talk",), concern=None, note="", key=self.key("visit"),
                    ), at(day, 100))
                    self.history.visits.append(Visit(link.client_id, link.volunteer_id, day))
            if day.day == MEETING_DAY - 2:
                await self.remind(day)
            for person, when in erased:
                if when == day:
                    await self.erase(person, day)
            day += timedelta(days=1)
        return self.history

    async def meet(self, day: date, quarter: bool) -> None:
        rng = self.rng
        members = self.active(day)
        present = [p for p in members if rng.random() < 0.8]
        await self.tx.record_attendance(
            self.history.club_id, day, [p.id for p in present],
            [p.id for p in members if p not in present], self.history.chair_id, at(day, 110))
        self.history.meetings[day] = {p.id: p in present for p in members}
        for person in present:
            if rng.random() < self.measured_share:
                minute = rng.randrange(0, 60)
                if await self.measure(person, day, minute, "meeting") and rng.random() < 0.5:
                    await self.measure(person, day, minute + 10, "meeting")  # after a rest
        if quarter:
            for person in members:
                await self.entry("contribution", day, minute=60, member_id=person.id,
                                 cash=CONTRIBUTION)
            if day == DUPLICATE_CONTRIBUTION:
                copy = await self.entry("contribution", day, minute=61,
                                        member_id=members[0].id, cash=CONTRIBUTION)
                self.reverse_on.setdefault(day + timedelta(days=3), []).append((copy, None))

    async def new_loan(self, day: date, never_borrow: set[int]) -> None:
        rng = self.rng
        free = [p for p in self.active(day)
                if p.index not in self.open and p.id not in never_borrow]
        if not free:
            return
        weights = [3 if p.household in ("poor", "near_poor") else 1 for p in free]
        person = rng.choices(free, weights)[0]
        amount = rng.randrange(10, 41) * 500_000
        if amount > self.cash:
            return
        await self.lend(person, amount, day)

    async def remind(self, day: date) -> None:
        rng = self.rng
        due = day + timedelta(days=2)
        for person in self.active(day):
            if rng.random() < 0.5:
                await self.tx.record_reminder(
                    self.key("remind"), self.history.club_id, person.id, "meeting", at(due),
                    at(day, 5), None)
                self.history.reminders.append(at(day, 5))
        for loan in list(self.open.values()):
            if any(row.due == due for row in loan.rows):
                await self.tx.record_reminder(
                    self.key("remind"), self.history.club_id, loan.borrower.id, "repayment",
                    at(due), at(day, 6), None)
                self.history.reminders.append(at(day, 6))


async def generate(
    storage: Any,
    seed: int = SEED,
    *,
    name: str = "CLB LTHTGN bản Lốc",
    province: str = "Nghệ An",
    members: int = 40,
    loans_per_year: int = 20,
    measured_share: float = 0.85,
    home_share: float = 0.15,
) -> History:
    """Write one club's five years into ``storage`` (one transaction) and return them.

    Args:
        storage: An open storage.
        seed: The random seed; the same seed gives the same club.
        name: The club's name.
        province: Its province.
        members: How many people ever register, at least 30 (three quarters are founders).
        loans_per_year: About how many loans are given a year (fewer when cash is short).
        measured_share: Chance that a member present at a meeting is measured.
        home_share: Share of members with a monitor at home (measured a few times a month).

    Returns:
        The events as plain records (the ids are the database's).
    """
    if members < 30:
        raise ValueError("the history needs at least 30 members (volunteers, clients, ...)")
    async with storage.transaction() as tx:
        club = await tx.create_club(name, "Thông Thụ", "Quế Phong", province, MEETING_DAY,
                                    at(FOUNDED))
        writer = _Writer(tx, random.Random(seed), members, loans_per_year, measured_share,
                         home_share)
        history = await writer.run(club.id)
        history.club_name = name
    return history
