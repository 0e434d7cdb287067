"""A stateful test of registration under what goes wrong in real life.

Hypothesis drives two people registering (interleaved, sometimes at the very same moment)
and a chair approving them, while the platform redelivers updates, people type wrong answers
and global words, the process restarts (sometimes after a commit but before the reply went
out), and the clock jumps so conversations time out and the sweeper runs. A small model of
each person (step, expiry, consent, confirmation, status, messages expected) is compared with
the database after every step.

Hypothesis rules are synchronous: the async harness runs on an event loop owned by the
machine, and everything (storage, outbox, loop, temporary folder) is closed in ``teardown``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.messages import Inbound
from tests.harness import Bot, Received, TextChannel

MENU = ("_menu", "pick")
STEPS = ("name", "sex", "birth", "phone", "village", "household", "ethnicity", "consent")
EDITABLE = STEPS[:7]  # the "what to change?" list, numbered 1..7; 8 goes back
CONFIRM = "_confirm"
EDIT = "_edit"
TIMEOUT = timedelta(hours=2)
MAX_CLOCK = timedelta(days=6)  # the sweeper forgets inbox rows after 7 days


GLOBAL_WORDS = {
    "huy": "cancel", "/huy": "cancel", "Hủy": "cancel", "huỷ bỏ": "cancel",
    "menu": "menu", "/menu": "menu", "MENU": "menu",
    "tro giup": "help", "/trogiup": "help", "Trợ giúp": "help", "?": "help",
}
WRONG = {
    "name": ("Lo 2", "123", "@@"),
    "sex": ("9", "0"),
    "birth": ("abc", "sinh nam xx", "3000"),
    "phone": ("abc", "12345"),
    "village": ("x",),
    "household": ("9", "xyz"),
    "ethnicity": ("x",),
    "consent": ("9", "maybe"),
    CONFIRM: ("9", "xyz"),
    EDIT: ("99", "xyz"),
}

TIMED_OUT = "quá giờ"  # "The previous conversation timed out; nothing was saved."
SWEPT = "Lâu rồi bác chưa trả lời"
ALREADY = "Bác đã đăng ký rồi ạ."
SUMMARY = "Bác xem lại giúp tôi"
SENT_TO_BOARD = "đã được gửi tới ban chủ nhiệm"
HELP_IN_FLOW = "/huy"


@dataclass
class Person:
    """The model of one chat: what the bot should have stored and sent."""

    chat: str
    name: str
    phone_typed: str
    phone: str
    year: int
    session: tuple[str, str] | None = None  # (flow_id, step_id) as the sessions row has it
    expires: datetime | None = None
    editing: bool = False
    consented: bool = False
    confirmed: bool = False
    status: str | None = None  # members.status once registered
    sends: int = 0  # non-duplicate messages sent
    expected: int = 0  # messages the chat should have received
    inbounds: list[Inbound] = field(default_factory=list)
    message_no: int = 0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.year}, Ban Loc)"


def answers(person: Person, step: str) -> tuple[str, ...]:
    """Correct answers to a registration question, in several spellings."""
    return {
        "name": (person.name, person.name.lower(), person.name.upper()),
        "sex": ("nu", "1", "Nữ"),
        "birth": (str(person.year), f"sinh năm {person.year}"),
        "phone": (person.phone_typed, "+84 " + person.phone_typed[1:]),
        "village": ("Ban Loc", "ban loc"),
        "household": ("4", "binh thuong", "can ngheo"),
        "ethnicity": ("bo qua", "Thai"),
    }[step]


class RegistrationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.bot: Bot | None = None
        self.channel = TextChannel()
        self.db = Path(self.tmp.name) / "ishc.sqlite3"
        self.counter = 0
        self.external_ids: set[str] = set()
        self.chair = Person("chair", "Vi Thi Lan", "0912 000 111", "+84912000111", 1956)
        self.people = [
            Person("p1", "Lo Thi Mai", "0987 654 301", "+84987654301", 1950),
            Person("p2", "Mong Thi Hoa", "0987 654 302", "+84987654302", 1958),
        ]
        try:
            self.run(self._setup())
        except BaseException:
            self.teardown()
            raise

    # Plumbing

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        try:
            if self.bot is not None:
                self.run(self.bot.close())
                self.bot = None
        finally:
            self.loop.close()
            self.tmp.cleanup()

    async def _open(self, clock: Any = None) -> None:
        bot = Bot(self.db)
        if clock is not None:
            bot.clock = clock  # the same time line across a restart
        await bot.open(self.channel)
        self.bot = bot

    async def _setup(self) -> None:
        await self._open()
        assert self.bot is not None
        self.t0 = self.bot.clock()
        self.club = await self.bot.new_club()
        chair = self.chair
        script = (f"/start {self.club['board_code']}", "vi thi lan", "nu", "1956",
                  chair.phone_typed, "Ban Loc", "4", "bo qua", "dong y", "1")
        for text in script:
            await self._handle(self._inbound(chair, text))
            await self.bot.outbox.drain()
        chair.sends = chair.expected = len(script)
        chair.status, chair.consented, chair.confirmed = "active", True, True
        assert "chủ nhiệm" in self.received(chair)[-1].text

    def now(self) -> datetime:
        assert self.bot is not None
        return self.bot.clock()

    def received(self, person: Person) -> list[Received]:
        return self.channel.inbox.get(person.chat, [])

    def _inbound(self, person: Person, text: str) -> Inbound:
        self.counter += 1
        person.message_no += 1
        inbound = Inbound(
            channel="text",
            user_id=person.chat,
            chat_id=person.chat,
            external_id=f"u{self.counter}",
            text=text,
            message_id=str(person.message_no),
            display_name=person.name,
            locale="vi",
        )
        person.inbounds.append(inbound)
        self.external_ids.add(inbound.external_id)
        return inbound

    async def _handle(self, inbound: Inbound) -> bool:
        """Give the update to the service; return whether it was a duplicate."""
        assert self.bot is not None
        return (await self.bot.service.handle(inbound)).duplicate

    def send(self, person: Person, text: str, double: bool = False) -> list[Received]:
        """One new message from ``person`` (delivered twice at once if ``double``)."""
        inbound = self._inbound(person, text)
        before = len(self.received(person))

        async def go() -> list[bool]:
            assert self.bot is not None
            copies = [inbound, inbound] if double else [inbound]
            duplicates = await asyncio.gather(*(self._handle(c) for c in copies))
            await self.bot.outbox.drain()
            return list(duplicates)

        duplicates = self.run(go())
        assert duplicates.count(False) == 1, f"{text!r} processed {duplicates}"
        new = self.received(person)[before:]
        assert new, f"{person.name} got no reply to {text!r}"
        return new

    # The model of the registration dialogue

    def effective(self, person: Person) -> tuple[tuple[str, str] | None, bool]:
        """The session the engine will use, and whether an in-flow one just timed out."""
        session = person.session
        if session is not None and person.expires is not None and person.expires <= self.now():
            return None, session != MENU
        return session, False

    def touch(self, person: Person, session: tuple[str, str] | None) -> None:
        person.session = session
        person.expires = self.now() + TIMEOUT if session is not None else None
        if session is None or session[0] != "register":
            person.editing = False

    def plan(self, person: Person, kind: str, variant: int) -> tuple[str, list[str]]:
        """Apply one message of ``kind`` to the model; return its text and expected fragments.

        Kinds: ``next`` (the next correct answer), ``wrong`` (an answer the parser refuses),
        ``start`` (``/start CODE`` at any moment) and ``global`` (cancel, menu, help).
        """
        session, timed_out = self.effective(person)
        expect = [TIMED_OUT] if timed_out else []
        if timed_out:
            event("answered after a timeout, before the sweeper")
        person.sends += 1
        person.expected += 1
        step = session[1] if session is not None and session[0] == "register" else None
        code = self.club["member_code"]

        if kind == "global":
            word = sorted(GLOBAL_WORDS)[variant % len(GLOBAL_WORDS)]
            if GLOBAL_WORDS[word] == "help" and step is not None:
                self.touch(person, session)
                expect.append(HELP_IN_FLOW)
            else:
                self.touch(person, MENU)
            return word, expect

        if kind == "start" or (kind == "next" and step is None):
            if person.status is not None:
                self.touch(person, MENU)
                return f"/start {code}", [*expect, ALREADY]
            text = (f"/start {code}", code, code.lower(), f"/start {code.lower()}")[variant % 4]
            if step is not None:  # in a live flow a typed code would be taken as an answer
                text = (f"/start {code}", f"/start {code.lower()}")[variant % 2]
            self.touch(person, ("register", "name"))
            person.consented = person.editing = False
            return text, [*expect, "họ và tên"]

        if kind == "wrong":
            if step is None:
                self.touch(person, MENU)
                return "xin chao", expect
            options = WRONG[step]
            self.touch(person, session)
            return options[variant % len(options)], expect

        assert kind == "next" and step is not None
        if step == CONFIRM:
            if variant % 4 == 3:
                self.touch(person, ("register", EDIT))
                return ("2", "Sửa lại")[variant // 4 % 2], expect
            self.touch(person, None)
            person.status, person.confirmed = "pending", True
            event("registered")
            assert person.consented, "the model reached the summary without consent"
            self.chair.expected += 1  # "New registration waiting for approval"
            return ("1", "Đúng, lưu lại", "dung")[variant % 3], [*expect, SENT_TO_BOARD]
        if step == EDIT:
            pick = variant % (len(EDITABLE) + 1)
            if pick == len(EDITABLE):
                event("went back from the edit list")
                self.touch(person, ("register", CONFIRM))  # going back counts as an answer
                return ("8", "Không sửa, quay lại")[variant // 8 % 2], [*expect, SUMMARY]
            self.touch(person, ("register", EDITABLE[pick]))
            event("edited an answer")
            person.editing = True
            return str(pick + 1), expect
        if step == "consent":
            if variant % 6 == 5:
                self.touch(person, None)
                return ("khong dong y", "2")[variant // 6 % 2], [*expect, "chưa lưu gì"]
            person.consented = True
            self.touch(person, ("register", CONFIRM))
            return ("dong y", "1", "Tôi đồng ý")[variant % 3], [*expect, SUMMARY]
        text = answers(person, step)[variant % len(answers(person, step))]
        if person.editing:
            self.touch(person, ("register", CONFIRM))
            person.editing = False
            return text, [*expect, SUMMARY]
        self.touch(person, ("register", STEPS[STEPS.index(step) + 1]))
        return text, expect

    def say(self, person: Person, kind: str, variant: int, double: bool = False) -> None:
        text, expect = self.plan(person, kind, variant)
        new = self.send(person, text, double)
        for fragment in expect:
            assert any(fragment in m.text for m in new), (fragment, [m.text for m in new])

    # Rules

    people_ix = st.integers(0, 1)
    variants = st.integers(0, 59)

    @rule(who=people_ix, variants=st.lists(variants, min_size=1, max_size=6))
    def answer(self, who: int, variants: list[int]) -> None:
        """The person types the next correct answers (or starts, or re-starts when done)."""
        for variant in variants:
            self.say(self.people[who], "next", variant)

    @rule(who=people_ix, variants=st.lists(variants, min_size=14, max_size=14))
    def answer_to_the_end(self, who: int, variants: list[int]) -> None:
        """The person answers every remaining question until the registration is saved."""
        person = self.people[who]
        for variant in variants:
            if person.status is not None:
                break
            self.say(person, "next", variant)

    @rule(who=people_ix, variant=variants)
    def answer_wrong(self, who: int, variant: int) -> None:
        """Letters for a year, "abc" for a phone, a number not in the list..."""
        self.say(self.people[who], "wrong", variant)

    @rule(who=people_ix, variant=variants)
    def global_word(self, who: int, variant: int) -> None:
        """huy, menu or tro giup, in any spelling, at any step."""
        self.say(self.people[who], "global", variant)

    @rule(who=people_ix, variant=variants)
    def start_over(self, who: int, variant: int) -> None:
        """/start CODE again, at any moment (a registered person is refused)."""
        self.say(self.people[who], "start", variant)

    @rule(who=st.integers(0, 2), back=st.integers(0, 30))
    def redeliver(self, who: int, back: int) -> None:
        """The platform sends an update again: nothing happens, nobody hears anything."""
        everyone = (self.chair, *self.people)
        person = everyone[who] if everyone[who].inbounds else self.chair
        inbound = person.inbounds[-1 - back % len(person.inbounds)]
        before = {p.chat: len(self.received(p)) for p in everyone}

        async def go() -> bool:
            assert self.bot is not None
            duplicate = await self._handle(inbound)
            await self.bot.outbox.drain()
            return duplicate

        assert self.run(go()), f"redelivered {inbound.external_id} was processed again"
        after = {p.chat: len(self.received(p)) for p in everyone}
        assert after == before

    @rule(who=people_ix, variant=variants)
    def delivered_twice_at_once(self, who: int, variant: int) -> None:
        """The same update arrives twice concurrently (a retry racing the original)."""
        self.say(self.people[who], "next", variant, double=True)

    @rule(first=variants, second=variants)
    def both_at_once(self, first: int, second: int) -> None:
        """The two people answer at the same moment (one transaction each, interleaved)."""
        a, b = self.people
        texts = [self.plan(a, "next", first), self.plan(b, "next", second)]
        inbounds = [self._inbound(a, texts[0][0]), self._inbound(b, texts[1][0])]
        before = [len(self.received(a)), len(self.received(b))]

        async def go() -> list[bool]:
            assert self.bot is not None
            duplicates = await asyncio.gather(*(self._handle(i) for i in inbounds))
            await self.bot.outbox.drain()
            return list(duplicates)

        assert self.run(go()) == [False, False]
        for person, (_, expect), count in zip((a, b), texts, before, strict=True):
            new = self.received(person)[count:]
            assert new, f"{person.name} got no reply"
            for fragment in expect:
                assert any(fragment in m.text for m in new), (fragment, [m.text for m in new])

    @rule(unsent=st.none() | people_ix, variant=variants)
    def restart(self, unsent: int | None, variant: int) -> None:
        """The process restarts; with ``unsent``, right after a commit, before the reply went."""
        assert self.bot is not None
        clock = self.bot.clock
        if unsent is not None:
            person = self.people[unsent]
            event("restart between commit and send")
            text, _ = self.plan(person, "next", variant)
            assert not self.run(self._handle(self._inbound(person, text)))
        self.run(self.bot.close())
        self.bot = None
        self.run(self._open(clock))
        assert self.bot is not None
        self.run(self.bot.outbox.drain())  # the new process sends what the old one left

    @rule(
        minutes=st.one_of(st.integers(1, 180), st.sampled_from([60, 119, 120, 121])),
        sweep=st.booleans(),
    )
    def time_passes(self, minutes: int, sweep: bool) -> None:
        """The clock jumps; the sweeper may run, ending timed-out conversations and saying so."""
        if not self.advance(minutes) or not sweep:
            return
        swept = self.expect_sweep(self.chair, *self.people)
        before = {p.chat: len(self.received(p)) for p in swept}
        assert self.bot is not None
        self.run(self.bot.service.sweep())
        self.run(self.bot.outbox.drain())
        for person in swept:
            assert SWEPT in self.received(person)[before[person.chat]].text

    @rule(
        who=people_ix,
        variant=variants,
        minutes=st.integers(60, 180),
        sweeper_first=st.booleans(),
    )
    def sweeper_races_an_answer(
        self, who: int, variant: int, minutes: int, sweeper_first: bool
    ) -> None:
        """After a pause, the sweeper and the person's answer arrive at the same moment."""
        if not self.advance(minutes):
            return
        person = self.people[who]
        others = [p for p in (self.chair, *self.people) if p is not person]
        swept = self.expect_sweep(*others)
        racing = person.session not in (None, MENU) and person.expires is not None and (
            person.expires <= self.now()
        )
        text, expect = self.plan(person, "next", variant)
        inbound = self._inbound(person, text)
        before = {p.chat: len(self.received(p)) for p in (self.chair, *self.people)}

        async def go() -> None:
            assert self.bot is not None
            jobs = [self.bot.service.sweep(), self._handle(inbound)]
            await asyncio.gather(*(jobs[::-1] if not sweeper_first else jobs))
            await self.bot.outbox.drain()

        self.run(go())
        for other in swept:
            assert SWEPT in self.received(other)[before[other.chat]].text
        new = [m.text for m in self.received(person)[before[person.chat]:]]
        told = [m for m in new if SWEPT in m]
        if told:  # the sweeper won: it said so, and the answer found no conversation
            assert racing, new
            event("the sweeper won the race")
            person.expected += 1
            expect = [f for f in expect if f != TIMED_OUT]
            assert not any(TIMED_OUT in m for m in new), new
        elif racing:
            event("the answer won the race")
        for fragment in expect:
            assert any(fragment in m for m in new), (fragment, new)

    def advance(self, minutes: int) -> bool:
        """Move the clock, unless that would reach the inbox's retention."""
        assert self.bot is not None
        if self.now() + timedelta(minutes=minutes) - self.t0 > MAX_CLOCK:
            return False
        self.bot.clock.advance(minutes=minutes)
        return True

    def expect_sweep(self, *people: Person) -> list[Person]:
        """Apply a sweep to the model; return who is told their conversation ended."""
        swept = []
        for person in people:
            expired = person.expires is not None and person.expires <= self.now()
            if person.session is not None and expired:
                if person.session != MENU:
                    event("the sweeper ended a conversation")
                    person.expected += 1
                    swept.append(person)
                self.touch(person, None)
        return swept

    @precondition(lambda self: any(p.status == "pending" for p in self.people))
    @rule(which=st.integers(0, 1), how=st.sampled_from(["1", "Duyệt"]))
    def approve(self, which: int, how: str) -> None:
        """The chair approves a waiting person with /duyet."""
        pending = [p for p in self.people if p.status == "pending"]
        person = pending[which % len(pending)]
        chair = self.chair
        assert chair.session is None
        reply = self.send(chair, "/duyet")[-1]
        assert person.label in reply.labels, (person.label, reply.labels)
        self.send(chair, str(reply.labels.index(person.label) + 1))
        done = self.send(chair, how)
        assert f"{person.name} đã là thành viên." in done[0].text
        person.status = "active"
        event("approved")
        left = sum(p.status == "pending" for p in self.people)
        chair.sends += 3
        chair.expected += 3 + (1 if left else 0)
        person.expected += 1
        assert "đã duyệt bác" in self.received(person)[-1].text

    # Invariants

    @invariant()
    def database_matches_model(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        bot = self.bot
        assert bot is not None
        everyone = (self.chair, *self.people)
        by_phone = {p.phone: p for p in everyone}

        # Every reply committed to the outbox is sent, once.
        await bot.outbox.drain()
        due = await bot.rows(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?",
            self.now().isoformat(),
        )
        assert due == [], f"committed replies never sent: {due}"
        unsent = await bot.rows("SELECT id, status FROM outbox WHERE status != 'sent'")
        assert unsent == []
        sent = Counter(
            row["chat_id"] for row in await bot.rows("SELECT chat_id FROM outbox")
        )
        for person in everyone:
            got = len(self.received(person))
            assert sent[person.chat] == got, (person.name, sent[person.chat], got)
            # One reply per message sent, plus the notices the model expects.
            assert got >= person.sends, (person.name, got, person.sends)
            assert got == person.expected, (person.name, got, person.expected)

        # Members: one per phone, only after consent and confirmation, one consent each.
        members = await bot.rows("SELECT id, phone, full_name, status FROM members")
        phones = Counter(row["phone"] for row in members)
        assert all(count == 1 for count in phones.values()), phones
        for row in members:
            person = by_phone.get(row["phone"])
            assert person is not None, f"unexpected member {row}"
            assert person.consented and person.confirmed, f"{row} saved without confirmation"
            assert row["full_name"] == person.name
            assert row["status"] == person.status, (row, person.status)
        registered = {p.phone for p in everyone if p.status is not None}
        assert set(phones) == registered
        consents = await bot.rows(
            "SELECT members.id, COUNT(consents.id) AS n FROM members "
            "LEFT JOIN consents ON consents.member_id = members.id GROUP BY members.id"
        )
        assert all(row["n"] == 1 for row in consents), consents
        assert await bot.rows("SELECT id FROM consents WHERE message_id = ''") == []
        linked = await bot.rows(
            "SELECT identities.user_id, members.phone FROM identities "
            "JOIN members ON members.id = identities.member_id"
        )
        assert {(row["user_id"], row["phone"]) for row in linked} == {
            (p.chat, p.phone) for p in everyone if p.status is not None
        }

        # Sessions: plain JSON, at most one per chat, at the step the model expects.
        sessions = await bot.rows(
            "SELECT channel, chat_id, flow_id, step_id, data, expires_at FROM sessions"
        )
        chats = Counter((row["channel"], row["chat_id"]) for row in sessions)
        assert all(count == 1 for count in chats.values()), chats
        stored = {}
        for row in sessions:
            data = json.loads(row["data"])
            assert isinstance(data, dict)
            stored[row["chat_id"]] = (
                (row["flow_id"], row["step_id"]),
                datetime.fromisoformat(row["expires_at"]),
                data,
            )
        for person in everyone:
            if person.session is None:
                assert person.chat not in stored, (person.name, stored.get(person.chat))
                continue
            session, expires, data = stored[person.chat]
            assert session == person.session, (person.name, session, person.session)
            assert expires == person.expires, (person.name, expires, person.expires)
            if session[0] == "register":
                assert data.get("_editing", False) == person.editing, (person.name, data)
                assert data.get("consent") == ("agree" if person.consented else None)

        # The inbox: exactly one row per distinct update.
        inbox = await bot.rows("SELECT external_id FROM inbox")
        assert len(inbox) == len({row["external_id"] for row in inbox})
        assert {row["external_id"] for row in inbox} == self.external_ids


RegistrationMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRegistrationMachine = RegistrationMachine.TestCase
