"""The conversation engine on its own: a tiny flow, hand-made contexts, no channel, no writes."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.conversations.registry import FLOWS
from bot.engine import (
    CONFIRM,
    EDIT,
    MENU_FLOW,
    UPDATED,
    Ctx,
    Done,
    Engine,
    Flow,
    Outcome,
    Step,
    revision,
)
from bot.i18n import N_
from bot.messages import (
    Button,
    Choice,
    Inbound,
    Reply,
    T,
    decode_button,
    encode_button,
)
from bot.parsers import ParseError
from bot.render import as_text, render
from storage.base import Club, Identity, Invite, Member, Session
from storage.sqlite import SQLiteStorage

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
TIMEOUT = timedelta(hours=2)
LETTERS_ONLY = N_("Please type letters only.")
NOT_A_NUMBER = N_("Please type a number.")
ABOVE_LIMIT = N_("That is above the limit of {limit}.")


class ReadOnlyTx:
    """A transaction stub: the few reads the flows need; anything else (a write) fails."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self.reads: list[str] = []

    async def get_meta(self, key: str) -> str | None:
        self.reads.append(f"get_meta:{key}")
        return str(self.limit)

    async def find_invite(self, code_hash: str, now: datetime) -> Invite | None:
        self.reads.append("find_invite")
        return Invite(id=3, club_id=1, role="member", expires_at=now + timedelta(days=9),
                      uses_left=None)

    async def phone_in_club(self, club_id: int, phone: str) -> bool:
        self.reads.append("phone_in_club")
        return phone == "+84912000111"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine must not use tx.{name}")


# --- a tiny flow ---------------------------------------------------------------------------


def parse_word(text: str, ctx: Ctx) -> str:
    word = text.strip()
    if not word.isalpha():
        raise ParseError(LETTERS_ONLY)
    return word


def parse_number(text: str, ctx: Ctx) -> int:
    if not text.strip().isdigit():
        raise ParseError(NOT_A_NUMBER)
    return int(text)


async def check_limit(value: int, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    limit = int(await ctx.tx.get_meta("limit"))
    if value > limit:
        raise ParseError(ABOVE_LIMIT, limit=limit)
    return {"_limit": limit}


KINDS = (
    Choice("poor", N_("Poor household")),
    Choice("near_poor", N_("Near-poor household")),
    Choice("hardship", N_("In hardship")),
)


def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    kind = next(c.label for c in KINDS if c.key == data["kind"])
    return T("Name: {name}\nKind: {kind}\nAmount: {amount}",
             name=data["name"], kind=T(kind), amount=data["amount"])


@dataclass(frozen=True)
class Record:
    """A fake effect: what would be saved."""

    data: dict[str, Any]

    async def apply(self, tx: Any, ctx: Ctx) -> list[Reply]:
        raise AssertionError("the engine never applies effects")


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    return Done([Reply((T("Saved."),))], [Record(dict(data))])


TINY = Flow(
    id="tiny",
    command="thu",
    title=N_("Tiny"),
    steps=(
        Step("name", N_("What is your name?"), parse=parse_word, label=N_("Name")),
        Step("kind", N_("Which kind?"), choices=KINDS, label=N_("Kind")),
        Step("amount", N_("How much?"), parse=parse_number, validate=check_limit,
             label=N_("Amount")),
    ),
    summary=summary,
    finish=finish,
)

CLUB = Club(1, "CLB thử", "Thông Thụ", "Quế Phong", "Nghệ An", 15, NOW)
MEMBER = Member(
    id=7, club_id=1, full_name="Vi Thị Lan", sex="female", birth_year=1956, birth_date=None,
    phone="+84912000111", village="Bản Lốc", household="ordinary", ethnicity=None,
    status="active", assisted_by=None, registered_at=NOW,
)


def make_ctx(
    text: str = "",
    *,
    button: Button | None = None,
    supported: bool = True,
    now: datetime = NOW,
    member: Member | None = MEMBER,
    tx: Any = None,
) -> Ctx:
    inbound = Inbound(
        channel="text", user_id="u1", chat_id="c1", external_id="e1", text=text,
        button=button, supported=supported, message_id="m1", display_name="Lan", locale="vi",
    )
    identity = Identity("text", "u1", "c1", member.id if member else None, "Lan", "vi", False,
                        now)
    return Ctx(
        tx=tx if tx is not None else ReadOnlyTx(),
        inbound=inbound,
        identity=identity,
        member=member,
        club=CLUB if member else None,
        roles=frozenset({"member"}) if member else frozenset(),
        now=now,
        today=now.date(),
        tz="Asia/Ho_Chi_Minh",
        locale="vi",
        flow_timeout=TIMEOUT,
    )


@pytest.fixture
def engine() -> Engine:
    return Engine([TINY])


def text_of(outcome: Outcome) -> str:
    return "\n\n".join(as_text(render(reply, "vi")) for reply in outcome.replies)


async def say(engine: Engine, session: Session | None, text: str, **kw: Any) -> Outcome:
    return await engine.advance(session, make_ctx(text, **kw))


async def at_step(engine: Engine, *answers: str) -> Session:
    """The session after ``/thu`` and the given answers."""
    outcome = await say(engine, None, "/thu")
    for answer in answers:
        outcome = await say(engine, outcome.session, answer)
        assert outcome.effects == []
    assert outcome.session is not None
    return outcome.session


# --- starting and answering ------------------------------------------------------------------


async def test_start_asks_the_first_question_with_its_reference(engine):
    outcome = await say(engine, None, "/thu")
    session = outcome.session
    assert session is not None
    assert (session.flow_id, session.step_id, session.data) == ("tiny", "name", {})
    assert session.expires_at == NOW + TIMEOUT
    [reply] = outcome.replies
    assert reply.ref == session.session_id[:8]
    assert reply.step == "name"
    assert reply.parts == (T("What is your name?"),)
    assert outcome.effects == []


async def test_command_word_without_slash_starts_the_flow(engine):
    outcome = await say(engine, None, "THU")
    assert outcome.session is not None and outcome.session.step_id == "name"


async def test_bad_input_shows_the_error_and_the_same_question(engine):
    session = await at_step(engine)
    outcome = await say(engine, session, "Lan 2")
    text = text_of(outcome)
    assert "Please type letters only." in text
    assert text.endswith("What is your name?")
    assert outcome.session is not None
    assert outcome.session.step_id == "name"
    assert outcome.session.data == {}
    assert outcome.session.session_id == session.session_id
    assert outcome.effects == []


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("2", "near_poor"),
        ("so 2", "near_poor"),
        ("ho can ngheo", "near_poor"),
        ("HỘ CẬN NGHÈO", "near_poor"),
        ("kho khan", "hardship"),
        ("hardship", "hardship"),  # the key itself
        ("near_poor", "near_poor"),
    ],
)
async def test_choice_by_number_label_without_accents_or_key(engine, typed, key):
    session = await at_step(engine, "Lan")
    assert session.step_id == "kind"
    outcome = await say(engine, session, typed)
    assert outcome.session is not None
    assert outcome.session.step_id == "amount"
    assert outcome.session.data["kind"] == key


async def test_choice_out_of_range_repeats_the_choices(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "7")
    assert "Bác gõ một số từ 1 đến 3" in text_of(outcome)
    assert outcome.session.step_id == "kind"
    assert [c.key for c in outcome.replies[-1].choices] == ["poor", "near_poor", "hardship"]


async def test_validator_reads_stored_data_and_refuses(engine):
    session = await at_step(engine, "Lan", "1")
    tx = ReadOnlyTx(limit=100)
    outcome = await say(engine, session, "500", tx=tx)
    assert "That is above the limit of 100." in text_of(outcome)
    assert outcome.session.step_id == "amount"
    assert "amount" not in outcome.session.data
    assert tx.reads == ["get_meta:limit"]
    outcome = await say(engine, session, "50")
    assert outcome.session.step_id == CONFIRM
    assert outcome.session.data == {"name": "Lan", "kind": "poor", "amount": 50, "_limit": 100}


# --- buttons ---------------------------------------------------------------------------------


async def test_button_for_the_current_question_advances(engine):
    session = await at_step(engine, "Lan")
    button = Button(session.session_id[:8], "kind", "hardship")
    outcome = await say(engine, session, "", button=button)
    assert outcome.session.step_id == "amount"
    assert outcome.session.data["kind"] == "hardship"


@pytest.mark.parametrize("stale", ["other_ref", "old_step"])
async def test_stale_button_is_refused_and_the_question_asked_again(engine, stale):
    session = await at_step(engine, "Lan")
    ref = "deadbeef" if stale == "other_ref" else session.session_id[:8]
    step = "name" if stale == "old_step" else "kind"
    outcome = await say(engine, session, "", button=Button(ref, step, "poor"))
    text = text_of(outcome)
    assert "Nút này thuộc câu hỏi cũ rồi ạ." in text
    assert "Which kind?" in text
    assert outcome.session.step_id == "kind"
    assert outcome.session.data == session.data
    assert outcome.effects == []


async def test_stale_confirm_button_saves_nothing(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "", button=Button("deadbeef", CONFIRM, "yes"))
    assert outcome.effects == []
    assert outcome.session.step_id == CONFIRM


async def test_command_button_from_a_notification_runs_the_command(engine):
    outcome = await say(engine, None, "", button=Button("-", "-", "/thu"))
    assert outcome.session.flow_id == "tiny"


# --- confirm and edit ------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1", "dung", "Đúng, lưu lại", "ok"])
async def test_confirm_yes_returns_the_effects_and_ends(engine, typed):
    session = await at_step(engine, "Lan", "1", "50")
    assert session.step_id == CONFIRM
    outcome = await say(engine, session, typed)
    assert outcome.session is None
    assert outcome.effects == [Record({"name": "Lan", "kind": "poor", "amount": 50,
                                       "_limit": 100})]
    assert text_of(outcome) == "Saved."


async def test_confirm_question_shows_the_summary_and_three_choices(engine):
    session = await at_step(engine, "Lan", "1")
    outcome = await say(engine, session, "50")
    text = text_of(outcome)
    assert "Name: Lan\nKind: Hộ nghèo\nAmount: 50" in text
    assert "Thông tin trên đã đúng chưa ạ?" in text
    assert [c.key for c in outcome.replies[-1].choices] == ["yes", "edit", "no"]
    assert "Trả lời 1, 2 hoặc 3" in text


async def test_confirm_no_saves_nothing(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "3")
    assert outcome.effects == []
    assert outcome.session.flow_id == MENU_FLOW
    assert "Đã dừng. Chưa lưu gì cả." in text_of(outcome)


async def test_edit_one_answer_and_come_back_to_confirm(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "sua")
    assert outcome.session.step_id == EDIT
    assert "Bác muốn sửa mục nào?" in text_of(outcome)
    assert [c.key for c in outcome.replies[-1].choices] == ["name", "kind", "amount", CONFIRM]
    assert outcome.effects == []

    outcome = await say(engine, outcome.session, "3")
    assert outcome.session.step_id == "amount"
    assert text_of(outcome) == "How much?"
    outcome = await say(engine, outcome.session, "abc")  # a mistake while editing
    assert "Please type a number." in text_of(outcome)
    outcome = await say(engine, outcome.session, "70")
    assert outcome.session.step_id == CONFIRM
    assert "Amount: 70" in text_of(outcome)
    assert "Kind: Hộ nghèo" in text_of(outcome)
    assert "_editing" not in outcome.session.data

    outcome = await say(engine, outcome.session, "dung")
    assert outcome.effects == [Record({"name": "Lan", "kind": "poor", "amount": 70,
                                       "_limit": 100})]


async def test_edit_a_choice_by_its_label(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "Sửa lại")
    outcome = await say(engine, outcome.session, "kind")
    assert outcome.session.step_id == "kind"
    outcome = await say(engine, outcome.session, "kho khan")
    assert outcome.session.step_id == CONFIRM
    assert "Kind: Khó khăn" in text_of(outcome)


async def test_edit_nothing_goes_back_to_confirm(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "2")
    outcome = await say(engine, outcome.session, "khong sua")
    assert outcome.session.step_id == CONFIRM
    assert "Amount: 50" in text_of(outcome)


# --- global words ----------------------------------------------------------------------------

CANCEL_TYPED = [
    "huy",
    "/huy",
    "HUY",
    "Huỷ!",
    unicodedata.normalize("NFC", "hủy"),
    unicodedata.normalize("NFD", "hủy"),
    unicodedata.normalize("NFC", "huỷ"),
    unicodedata.normalize("NFD", "huỷ"),
    unicodedata.normalize("NFD", "/hủy"),
    "huy bo",
    "thoat",
]


@pytest.mark.parametrize("typed", CANCEL_TYPED)
@pytest.mark.parametrize("answers", [(), ("Lan", "2"), ("Lan", "2", "50")])
async def test_cancel_words_end_the_flow_without_effects(engine, typed, answers):
    session = await at_step(engine, *answers)
    outcome = await say(engine, session, typed)
    assert outcome.effects == []
    assert outcome.session is not None and outcome.session.flow_id == MENU_FLOW
    text = text_of(outcome)
    assert text.startswith("Đã dừng. Chưa lưu gì cả.")
    assert "Bác muốn làm gì ạ?" in text


async def test_cancel_outside_a_flow_says_nothing_to_cancel(engine):
    outcome = await say(engine, None, "/huy")
    assert "Không có việc gì đang làm để hủy." in text_of(outcome)


async def test_menu_word_in_a_flow_stops_it_and_shows_the_menu(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "/menu")
    text = text_of(outcome)
    assert "Đã dừng. Chưa lưu gì cả." in text
    assert "1. Tiny" in text
    assert outcome.session.flow_id == MENU_FLOW
    assert outcome.effects == []
    outcome = await say(engine, outcome.session, "1")  # the menu is answerable by number
    assert outcome.session.flow_id == "tiny"


async def test_menu_word_outside_a_flow_shows_only_the_menu(engine):
    outcome = await say(engine, None, "menu")
    text = text_of(outcome)
    assert "Đã dừng" not in text
    assert "Bác muốn làm gì ạ?" in text


async def test_help_in_a_flow_explains_and_repeats_the_question(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "tro giup")
    text = text_of(outcome)
    assert "Gõ /huy để dừng" in text
    assert "Which kind?" in text
    assert outcome.session.step_id == "kind"
    assert outcome.session.data == {"name": "Lan"}


async def test_help_outside_a_flow_shows_the_menu(engine):
    outcome = await say(engine, None, "/trogiup")
    text = text_of(outcome)
    assert "Tôi giúp câu lạc bộ ghi chép sổ sách." in text
    assert outcome.session.flow_id == MENU_FLOW


async def test_unsupported_input_repeats_the_question(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "", supported=False)
    text = text_of(outcome)
    assert "chỉ đọc được chữ" in text
    assert "Which kind?" in text
    assert outcome.session.step_id == "kind"


async def test_unknown_command_repeats_the_question(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "/khongco")
    assert "Tôi chưa hiểu lệnh này." in text_of(outcome)
    assert outcome.session.step_id == "kind"


async def test_another_command_stops_the_flow_it_replaces(engine):
    session = await at_step(engine, "Lan")
    outcome = await say(engine, session, "/thu")
    assert "Tôi đã dừng việc trước" not in text_of(outcome)  # same flow: just starts again
    assert outcome.session.step_id == "name" and outcome.session.data == {}


# --- expiry and deploys ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1", "dung", "Lan"])
async def test_expired_session_says_timed_out_and_applies_nothing(engine, typed):
    session = await at_step(engine, "Lan", "1", "50")
    for expired in (replace(session, expires_at=NOW), replace(session, expires_at=NOW - TIMEOUT)):
        outcome = await say(engine, expired, typed)
        assert outcome.effects == []
        text = text_of(outcome)
        assert text.startswith("Việc lúc trước đã quá giờ nên đã dừng; chưa lưu gì.")
        assert "Bác muốn làm gì ạ?" in text
        assert outcome.session.flow_id == MENU_FLOW


async def test_expired_session_ignores_a_confirm_button(engine):
    session = await at_step(engine, "Lan", "1", "50")
    expired = replace(session, expires_at=NOW - timedelta(seconds=1))
    button = Button(session.session_id[:8], CONFIRM, "yes")
    outcome = await say(engine, expired, "", button=button)
    assert outcome.effects == []
    assert "quá giờ" in text_of(outcome)


async def test_expired_menu_ends_silently(engine):
    menu = (await say(engine, None, "/menu")).session
    assert menu is not None and menu.flow_id == MENU_FLOW
    outcome = await say(engine, menu, "1", now=NOW + TIMEOUT)
    text = text_of(outcome)
    assert "quá giờ" not in text  # only a menu was open: no task was lost
    assert "Bác muốn làm gì ạ?" in text
    assert outcome.effects == []


async def test_session_alive_until_its_expiry(engine):
    session = await at_step(engine, "Lan", "1", "50")
    later = NOW + TIMEOUT - timedelta(seconds=1)
    outcome = await say(engine, session, "dung", now=later)
    assert outcome.effects  # not expired yet


# --- deploys: a conversation whose flow changed starts again ---------------------------------

RESTART = "Câu hỏi đã thay đổi, mình bắt đầu lại nhé bác."
CHANGES = ["step inserted", "step removed", "choice key changed"]


def changed(change: str) -> Flow:
    """TINY after a deploy that changed its shape."""
    name, kind, amount = TINY.steps
    if change == "step inserted":
        village = Step("village", N_("Which village?"), label=N_("Village"))
        return replace(TINY, steps=(name, village, kind, amount))
    if change == "step removed":
        return replace(TINY, steps=(kind, amount))
    assert change == "choice key changed"
    kinds = (Choice("poor_household", KINDS[0].label), *KINDS[1:])
    return replace(TINY, steps=(name, replace(kind, choices=kinds), amount))


def reworded(flow: Flow) -> Flow:
    """``flow`` with every prompt, label and title reworded: the same shape."""
    steps = tuple(
        replace(step, prompt=f"{step.prompt} (new wording)",
                label=step.label and f"{step.label}!",
                choices=tuple(replace(c, label=f"{c.label}!") for c in step.choices))
        for step in flow.steps
    )
    return replace(flow, title="Tiny, reworded", steps=steps)


async def stored(session: Session) -> Session:
    """``session`` as the next process reads it: saved and loaded by the real storage."""
    store = SQLiteStorage(":memory:")
    await store.open()
    try:
        async with store.transaction() as tx:
            await tx.save_session(session)
        async with store.transaction() as tx:
            loaded = await tx.get_session(session.channel, session.chat_id)
    finally:
        await store.close()
    assert loaded is not None
    return loaded


async def test_a_flow_starts_with_its_revision_and_the_menu_has_none(engine):
    session = await at_step(engine)
    assert session.revision == revision(TINY) == engine.revisions["tiny"]
    assert re.fullmatch(r"[0-9a-f]{12}", session.revision)
    menu = (await say(engine, None, "/menu")).session
    assert menu is not None and menu.revision == ""


@pytest.mark.parametrize("change", CHANGES)
async def test_after_a_deploy_that_changed_the_flow_it_starts_again(engine, change):
    old = await stored(await at_step(engine, "Lan"))  # at "kind", saved by the old engine
    assert old.step_id == "kind" and old.revision == revision(TINY)
    new_flow = changed(change)
    new = Engine([new_flow])
    assert new.revisions["tiny"] != old.revision
    outcome = await new.advance(old, make_ctx("2"))  # "2" answered the old "kind"
    assert outcome.effects == []
    first = T(new_flow.steps[0].prompt)
    assert outcome.replies[0].parts == (T(UPDATED), first)
    assert text_of(outcome).startswith(f"{RESTART}\n\n{new_flow.steps[0].prompt}")
    session = outcome.session
    assert session is not None
    assert (session.flow_id, session.step_id, session.data) == ("tiny", new_flow.steps[0].id, {})
    assert session.revision == revision(new_flow)
    assert session.session_id != old.session_id  # the old question's buttons are dead


async def test_after_the_restart_the_answers_go_to_the_new_questions(engine):
    old = await stored(await at_step(engine, "Lan"))
    new = Engine([changed("step inserted")])
    outcome = await new.advance(old, make_ctx("2"))
    for typed, asked in [("Lan", "Which village?"), ("Ban Loc", "Which kind?"),
                         ("2", "How much?")]:
        outcome = await new.advance(await stored(outcome.session), make_ctx(typed))
        assert text_of(outcome).startswith(asked)
    outcome = await new.advance(outcome.session, make_ctx("50"))
    outcome = await new.advance(outcome.session, make_ctx("dung"))
    assert outcome.effects == [Record({"name": "Lan", "village": "Ban Loc", "kind": "near_poor",
                                       "amount": 50, "_limit": 100})]


def at(session: Session, how: str) -> dict[str, Any]:
    """How the person goes on from ``session``: what they type or tap."""
    ref = session.session_id[:8]
    return {
        "typed": {"text": "2"},
        "button": {"text": "", "button": Button(ref, session.step_id, "poor")},
        "old button": {"text": "", "button": Button("deadbeef", "name", "x")},
        "help": {"text": "tro giup"},
        "photo": {"text": "", "supported": False},
        "confirm typed": {"text": "dung"},
        "confirm button": {"text": "", "button": Button(ref, CONFIRM, "yes")},
        "edit typed": {"text": "3"},
        "edit button": {"text": "", "button": Button(ref, EDIT, "amount")},
    }[how]


PATHS = [
    (("Lan",), "typed"),
    (("Lan",), "button"),
    (("Lan",), "old button"),
    (("Lan",), "help"),
    (("Lan",), "photo"),
    (("Lan", "1", "50"), "confirm typed"),
    (("Lan", "1", "50"), "confirm button"),
    (("Lan", "1", "50", "sua"), "edit typed"),
    (("Lan", "1", "50", "sua"), "edit button"),
]


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize(("answers", "how"), PATHS, ids=[how for _, how in PATHS])
async def test_every_way_of_answering_checks_the_revision(engine, change, answers, how):
    old = await stored(await at_step(engine, *answers))
    outcome = await Engine([changed(change)]).advance(old, make_ctx(**at(old, how)))
    assert outcome.effects == []  # in particular, "yes" to the old summary saves nothing
    assert text_of(outcome).startswith(RESTART)
    assert outcome.session is not None and outcome.session.flow_id == "tiny"
    assert outcome.session.step_id == changed(change).steps[0].id
    assert outcome.session.data == {}


@pytest.mark.parametrize(("answers", "how"), PATHS, ids=[how for _, how in PATHS])
async def test_an_unchanged_flow_goes_on_in_a_new_engine(engine, answers, how):
    old = await stored(await at_step(engine, *answers))
    kw = at(old, how)
    expected = await engine.advance(old, make_ctx(**kw))
    for new in (Engine([TINY]), Engine([reworded(TINY)])):
        outcome = await new.advance(old, make_ctx(**kw))
        assert RESTART not in text_of(outcome)
        assert outcome.effects == expected.effects
        assert outcome.session == expected.session


async def test_rewording_shows_the_new_words_in_the_same_conversation(engine):
    old = await stored(await at_step(engine, "Lan"))
    outcome = await Engine([reworded(TINY)]).advance(old, make_ctx("2"))
    assert text_of(outcome) == "How much? (new wording)"
    assert outcome.session.session_id == old.session_id
    assert outcome.session.data == {"name": "Lan", "kind": "near_poor"}


async def test_global_words_still_work_in_a_changed_flow(engine):
    old = await stored(await at_step(engine, "Lan"))
    new = Engine([changed("step inserted")])
    outcome = await new.advance(old, make_ctx("/huy"))
    assert text_of(outcome).startswith("Đã dừng. Chưa lưu gì cả.")
    assert outcome.session.flow_id == MENU_FLOW


async def test_a_restart_that_begin_answers_at_once_shows_the_answer_with_the_note(engine):
    async def nothing_to_do(ctx: Ctx, args: str) -> Done:
        return Done([Reply((T("Nothing to do now."),))])

    old = await stored(await at_step(engine, "Lan"))
    new = Engine([replace(changed("step removed"), begin=nothing_to_do)])
    outcome = await new.advance(old, make_ctx("2"))
    assert outcome.session is None and outcome.effects == []
    assert text_of(outcome) == f"{RESTART}\n\nNothing to do now."


async def test_a_restart_the_person_may_no_longer_make_shows_the_menu_with_the_note(engine):
    old = await stored(await at_step(engine, "Lan"))
    new = Engine([replace(changed("step removed"), roles=frozenset({"treasurer"}))])
    outcome = await new.advance(old, make_ctx("2"))
    assert outcome.effects == []
    assert outcome.session.flow_id == MENU_FLOW
    text = text_of(outcome)
    assert text.startswith(RESTART)
    assert "Bác muốn làm gì ạ?" in text and "Tiny" not in text


@pytest.mark.parametrize("kw", [{"text": "abc"}, {"text": "", "supported": False}])
async def test_a_flow_gone_in_a_deploy_shows_the_menu_with_the_note(engine, kw):
    old = await stored(await at_step(engine, "Lan"))
    outcome = await Engine([replace(TINY, id="other", command="khac")]).advance(
        old, make_ctx(**kw))
    assert outcome.effects == []
    assert outcome.session.flow_id == MENU_FLOW
    text = text_of(outcome)
    assert text.startswith(RESTART)
    assert "Bác muốn làm gì ạ?" in text


# Sessions saved before revisions existed (revision ""): the first deploy disrupts nobody.

UNKNOWN_INPUTS = [
    {"text": "abc"},
    {"text": "tro giup"},
    {"text": "", "supported": False},
    {"text": "/khongco"},
]


async def test_a_session_without_revision_goes_on_if_its_step_exists(engine):
    old = replace(await at_step(engine, "Lan"), revision="")
    outcome = await Engine([changed("step inserted")]).advance(old, make_ctx("2"))
    assert text_of(outcome) == "How much?"
    assert outcome.session.data == {"name": "Lan", "kind": "near_poor"}
    assert outcome.session.revision == revision(changed("step inserted"))  # from now on
    help_ = await engine.advance(old, make_ctx("tro giup"))
    assert "Which kind?" in text_of(help_) and help_.session.revision == revision(TINY)


@pytest.mark.parametrize("kw", UNKNOWN_INPUTS)
async def test_a_session_without_revision_on_a_removed_step_starts_again(engine, kw):
    old = replace(await at_step(engine, "Lan"), step_id="removed_step", revision="")
    outcome = await say(engine, old, **kw)
    assert outcome.effects == []
    assert text_of(outcome) == f"{RESTART}\n\nWhat is your name?"
    assert outcome.session.step_id == "name" and outcome.session.data == {}
    assert outcome.session.revision == revision(TINY)


@pytest.mark.parametrize("kw", UNKNOWN_INPUTS)
async def test_a_session_without_revision_in_a_removed_flow_shows_the_menu(engine, kw):
    old = replace(await at_step(engine, "Lan"), flow_id="removed_flow", revision="")
    outcome = await say(engine, old, **kw)
    assert outcome.effects == []
    assert outcome.session is not None and outcome.session.flow_id == MENU_FLOW
    text = text_of(outcome)
    assert text.startswith(RESTART)
    assert "Bác muốn làm gì ạ?" in text


@pytest.mark.parametrize("ref", ["live", "old"])
async def test_a_button_on_a_removed_step_without_revision_starts_again(engine, ref):
    session = await at_step(engine, "Lan")
    old = replace(session, step_id="removed_step", revision="")
    button = Button(session.session_id[:8] if ref == "live" else "deadbeef", "removed_step",
                    "x")
    outcome = await say(engine, old, "", button=button)
    assert outcome.effects == []
    assert text_of(outcome) == f"{RESTART}\n\nWhat is your name?"


async def test_the_summary_of_a_flow_that_lost_it_is_not_shown_again(engine):
    session = await at_step(engine, "Lan", "1", "50")
    no_summary = Engine([replace(TINY, summary=None)])
    for old in (session, replace(session, revision="")):
        outcome = await no_summary.advance(old, make_ctx("dung"))
        assert outcome.effects == []
        assert text_of(outcome) == f"{RESTART}\n\nWhat is your name?"


# What the revision covers

SAME_SHAPE = {
    "reworded": reworded,
    "other parser": lambda f: replace(f, steps=(replace(f.steps[0], parse=None), *f.steps[1:])),
    "other roles": lambda f: replace(f, roles=frozenset({"treasurer"})),
    "other summary": lambda f: replace(f, summary=lambda ctx, data: T("Other.")),
}
OTHER_SHAPE = {
    **{change: lambda f, change=change: changed(change) for change in CHANGES},
    "version bumped": lambda f: replace(f, version=2),
    "no summary": lambda f: replace(f, summary=None),
    "steps swapped": lambda f: replace(f, steps=(f.steps[1], f.steps[0], f.steps[2])),
    "step renamed": lambda f: replace(f, steps=(replace(f.steps[0], id="full_name"),
                                                *f.steps[1:])),
    "not editable": lambda f: replace(f, steps=(replace(f.steps[0], label=None),
                                                *f.steps[1:])),
    "several answers": lambda f: replace(f, steps=(f.steps[0], replace(f.steps[1], multi=True),
                                                   f.steps[2])),
    "static next": lambda f: replace(f, steps=(replace(f.steps[0], next="amount"),
                                               *f.steps[1:])),
    "next computed": lambda f: replace(f, steps=(replace(f.steps[0], next=lambda d: None),
                                                 *f.steps[1:])),
    "choices computed": lambda f: replace(f, steps=(f.steps[0],
                                                    replace(f.steps[1], choices=choices_of),
                                                    f.steps[2])),
    "choice added": lambda f: replace(f, steps=(
        f.steps[0], replace(f.steps[1], choices=(*KINDS, Choice("other", "Other"))),
        f.steps[2])),
}


async def choices_of(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    return KINDS


@pytest.mark.parametrize("change", sorted(SAME_SHAPE))
def test_wording_and_behaviour_inside_a_step_keep_the_revision(change):
    assert revision(SAME_SHAPE[change](TINY)) == revision(TINY)


@pytest.mark.parametrize("change", sorted(OTHER_SHAPE))
def test_a_change_of_shape_or_version_changes_the_revision(change):
    assert revision(OTHER_SHAPE[change](TINY)) != revision(TINY)


def test_the_revision_is_the_same_in_every_process():
    script = ("from bot.conversations.registry import FLOWS; from bot.engine import revision; "
              "print(' '.join(revision(f) for f in FLOWS))")
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, check=True, cwd=ROOT)
        assert done.stdout.split() == [revision(flow) for flow in FLOWS]


# --- plain JSON state and purity -------------------------------------------------------------

SCRIPT = ["/thu", "Lan 2", "Lan", "ho can ngheo", "900", "50", "sua", "3", "60", "tro giup",
          "sua", "kind", "1", "dung"]


def through_json(session: Session | None) -> Session | None:
    if session is None:
        return None
    stored = json.dumps({"step": session.step_id, "data": session.data})  # no default=
    loaded = json.loads(stored)
    return replace(session, step_id=loaded["step"], data=loaded["data"])


async def play(engine: Engine, script: list[str], *, via_json: bool) -> tuple[list, list]:
    session: Session | None = None
    texts, effects = [], []
    for typed in script:
        outcome = await say(engine, session, typed)
        texts.append(text_of(outcome))
        effects.extend(outcome.effects)
        session = through_json(outcome.session) if via_json else outcome.session
    return texts, effects


async def test_state_is_plain_json_and_continues_identically(engine):
    direct = await play(engine, SCRIPT, via_json=False)
    stored = await play(engine, SCRIPT, via_json=True)
    assert stored == direct
    assert direct[1] == [Record({"name": "Lan", "kind": "poor", "amount": 60, "_limit": 100})]


async def test_same_input_same_outcome(engine):
    session: Session | None = None
    for typed in SCRIPT:
        ctx = make_ctx(typed)
        before = copy.deepcopy(session)
        first = await engine.advance(session, ctx)
        second = await engine.advance(session, ctx)
        assert session == before, f"the engine changed the session it was given ({typed!r})"
        if session is not None and session.flow_id != MENU_FLOW and typed != "/thu":
            assert first == second, typed  # a new conversation gets a new random id
        else:
            assert first.replies[0].parts == second.replies[0].parts
        session = first.session


async def test_registration_flow_state_is_plain_json_and_engine_never_writes():
    engine = Engine(FLOWS)
    tx = ReadOnlyTx()
    script = ["/start K7M2QX9P", "mong thi hoa", "nu", "15/03/1958", "0912000111",
              "0987 654 321", "ban na cong", "2", "bo qua", "dong y", "sua", "4", "0988777666",
              "dung"]
    session = None
    outcome = None
    for typed in script:
        outcome = await engine.advance(session, make_ctx(typed, member=None, tx=tx))
        session = through_json(outcome.session)
    assert outcome is not None and outcome.session is None
    [effect] = outcome.effects
    data = effect.data
    assert data["phone"] == "+84988777666"
    assert data["birth"] == {"year": 1958, "date": "1958-03-15"}
    assert data["consent"] == "agree" and data["consent_message"] == "m1"
    assert "find_invite" in tx.reads and "phone_in_club" in tx.reads


# --- rendering -------------------------------------------------------------------------------


def test_render_numbered_list_and_hint():
    reply = Reply((T("Which kind?"),), KINDS, "3f9a1c2e", "kind")
    message = render(reply, "vi")
    assert [b.label for b in message.buttons] == ["Hộ nghèo", "Hộ cận nghèo", "Khó khăn"]
    assert message.hint == "Trả lời 1, 2 hoặc 3"
    assert as_text(message) == (
        "Which kind?\n\n1. Hộ nghèo\n2. Hộ cận nghèo\n3. Khó khăn\nTrả lời 1, 2 hoặc 3"
    )
    for button in message.buttons:
        assert len(button.data.encode()) <= 64
        assert decode_button(button.data) == Button("3f9a1c2e", "kind", KINDS[
            button.number - 1].key)


def test_render_hints_for_one_and_two_choices():
    one = render(Reply((T("x"),), KINDS[:1], "r", "s"), "vi")
    two = render(Reply((T("x"),), KINDS[:2], "r", "s"), "vi")
    assert one.hint == "Trả lời 1"
    assert two.hint == "Trả lời 1 hoặc 2"


def test_render_without_choices_is_plain_text_and_joins_parts():
    message = render(Reply((T("Done."), T("Stopped. Nothing was saved."))), "vi")
    assert as_text(message) == "Xong rồi ạ.\n\nĐã dừng. Chưa lưu gì cả."
    assert message.buttons == () and message.hint is None


def test_render_translates_nested_parameters():
    reply = Reply((T("{role}!", role=T(N_("Treasurer"))),))
    assert render(reply, "vi").text == "Thủ quỹ!"


def test_contact_keyboard_only_without_choices():
    asked = render(Reply((T("Phone?"),), ask_contact=True), "vi")
    assert asked.ask_contact == "Gửi số điện thoại của tôi"
    with_choices = render(Reply((T("Phone?"),), KINDS[:1], "r", "s", ask_contact=True), "vi")
    assert with_choices.ask_contact is None


def test_button_data_round_trip_and_limit():
    data = encode_button("3f9a1c2e", "household", "near_poor")
    assert data == "v1|3f9a1c2e|household|near_poor"
    assert decode_button(data) == Button("3f9a1c2e", "household", "near_poor")
    assert decode_button(encode_button("-", "-", "/duyet")) == Button("-", "-", "/duyet")
    with pytest.raises(ValueError):
        encode_button("3f9a1c2e", "s" * 40, "k" * 20)
    assert decode_button("v2|a|b|c") is None
    assert decode_button("something else") is None
    assert decode_button("v1|a|b") is None


def test_every_real_flow_button_fits_in_64_bytes():
    longest_ref = "f" * 8
    for flow in FLOWS:
        for step in flow.steps:
            if callable(step.choices):
                continue
            for choice in step.choices:
                assert len(encode_button(longest_ref, step.id, choice.key).encode()) <= 64
        for key in ("yes", "edit", "no", CONFIRM, *(s.id for s in flow.steps)):
            assert len(encode_button(longest_ref, EDIT, key).encode()) <= 64


# --- typed answers, shown keys and exclusive picks -------------------------------------------

SIGNS = (
    Choice("pain", N_("Chest pain"), ("dau nguc",)),
    Choice("breath", N_("Short of breath"), ("kho tho",)),
    Choice("none", N_("None of these"), ("khong", "khong co"), exclusive=True),
)
LIVE: list[Choice] = [Choice("r1", "Report 1 15/02/2027"), Choice("r2", "Report 2 16/02/2027"),
                      Choice("r3", "Report 3 17/02/2027")]


async def live_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    return tuple(LIVE)


SEVERAL = Flow(
    id="several", command="nhieu", title=N_("Tiny"),
    steps=(
        Step("signs", N_("Which kind?"), choices=SIGNS, multi=True, label=N_("Kind")),
        Step("report", N_("Which kind?"), choices=live_choices, label=N_("Amount")),
    ),
    summary=lambda ctx, data: T("{signs} {report}", signs=",".join(data["signs"]),
                                report=data["report"]),
    finish=finish,
)
ONE = Flow(id="one", command="mot", title=N_("Tiny"),
           steps=(Step("kind", N_("Which kind?"), choices=KINDS[:1]),), finish=finish)


@pytest.fixture
def several() -> Engine:
    LIVE[:] = [Choice("r1", "Report 1 15/02/2027"), Choice("r2", "Report 2 16/02/2027"),
               Choice("r3", "Report 3 17/02/2027")]
    return Engine([SEVERAL, ONE, TINY])


async def test_tapping_an_exclusive_choice_finishes_the_question(several):
    outcome = await say(several, None, "/nhieu")
    ref = outcome.session.session_id[:8]
    outcome = await say(several, outcome.session, "", button=Button(ref, "signs", "none"))
    assert outcome.session.step_id == "report"
    assert outcome.session.data["signs"] == ["none"]


@pytest.mark.parametrize("typed", ["3", "ko", "không có", "khong co a 😊", "Không có dấu hiệu"])
async def test_typing_the_exclusive_choice_alone_finishes(several, typed):
    outcome = await say(several, None, "/nhieu")
    outcome = await say(several, outcome.session, typed)
    assert outcome.session.step_id == "report", text_of(outcome)
    assert outcome.session.data["signs"] == ["none"]


@pytest.mark.parametrize("typed", ["1, 3", "dau nguc va khong co"])
async def test_the_exclusive_choice_with_others_asks_again(several, typed):
    outcome = await say(several, None, "/nhieu")
    outcome = await say(several, outcome.session, typed)
    assert outcome.session.step_id == "signs"
    assert "không đi cùng câu trả lời khác được" in text_of(outcome)


async def test_shown_keys_are_kept_and_a_gone_item_is_said(several):
    outcome = await say(several, None, "/nhieu")
    outcome = await say(several, outcome.session, "1")
    outcome = await say(several, outcome.session, "xong")
    assert outcome.session.step_id == "report"
    assert outcome.session.data["_shown"]["keys"] == ["r1", "r2", "r3"]
    LIVE.pop(0)  # decided by someone else meanwhile
    kept = await say(several, outcome.session, "2")
    assert kept.session.step_id == CONFIRM and kept.session.data["report"] == "r2"
    assert "_shown" not in kept.session.data
    gone = await say(several, outcome.session, "1")
    assert gone.session.step_id == "report"
    assert text_of(gone).startswith("Mục đó không còn nữa")
    assert gone.session.data["_shown"]["keys"] == ["r2", "r3"]
    ref = outcome.session.session_id[:8]
    pressed = await say(several, outcome.session, "", button=Button(ref, "report", "r1"))
    assert text_of(pressed).startswith("Mục đó không còn nữa")
    by_date = await say(several, outcome.session, "17/2")
    assert by_date.session.data["report"] == "r3"


async def test_no_at_the_summary_asks_change_or_cancel(engine):
    session = await at_step(engine, "Lan", "1", "50")
    outcome = await say(engine, session, "ko")
    assert outcome.session.step_id == CONFIRM
    assert "Bác muốn sửa lại hay hủy" in text_of(outcome)
    assert (await say(engine, session, "thôi")).session is not None  # the menu
    saved = await say(engine, session, "dung roi 👍")
    assert saved.effects and saved.session is None


async def test_one_choice_never_says_from_1_to_1(several):
    outcome = await say(several, None, "/mot")
    outcome = await say(several, outcome.session, "7")
    assert "Bác gõ 1 hoặc gõ câu trả lời nhé." in text_of(outcome)
    assert "từ 1 đến 1" not in text_of(outcome)


async def test_the_menu_is_read_as_it_was_shown(several):
    outcome = await say(several, None, "menu")
    assert outcome.session.data["_shown"]["keys"] == ["nhieu", "mot", "thu"]
    picked = await say(several, outcome.session, "2")
    assert picked.session.flow_id == "one"
