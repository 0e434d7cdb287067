"""The typed-answer corpus: answers as members type them, each read by the real parser or the
real choices of the flow step it answers.

``tests/corpus/typed.tsv`` has one answer a line: the step, the text typed and what it must
mean, separated by tabs (``#`` starts a comment). The step is a parser (``amount``, ``date``,
``date_ahead``, ``yes_no``, ``reading``, ``phone``, ``name``), the engine's summary question
(``confirm``: Đúng, lưu lại / Sửa lại / Hủy; ``confirm_short``: Đúng, lưu lại / Hủy), a pick
list built like the flows' (``pick_member``, ``pick_meeting``, ``pick_report``), or a real
flow step ``<flow id>.<step id>`` from ``bot/conversations/registry.py``. What it means is a
value (an amount in đồng, an ISO date, ``yes``/``no``, ``130/85 72``, a choice key, keys
joined by ``,`` for a pick-several question), ``?`` for "asked again", or ``?ambiguous`` for
"asked again because it could mean two answers".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import health
from bot.conversations.registry import FLOWS
from bot.engine import CHANGE_OR_CANCEL, CONFIRM, EDIT, MENU_FLOW, Ctx, Done, Engine, Flow, Step
from bot.engine import pick as engine_pick
from bot.i18n import N_
from bot.messages import Choice, Inbound, T
from bot.parsers import (
    MSG_CHOICE_AMBIGUOUS,
    ParseError,
    parse_amount,
    parse_date,
    parse_name,
    parse_phone,
    parse_yes_no,
)
from storage.base import Identity, Session

CORPUS = Path(__file__).resolve().parent / "corpus" / "typed.tsv"
TODAY = date(2026, 12, 5)  # a Saturday
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
AMBIGUOUS = {MSG_CHOICE_AMBIGUOUS, CHANGE_OR_CANCEL}


def rows() -> list[tuple[int, str, str, str]]:
    found = []
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        step, typed, means = line.split("\t")
        found.append((number, step, typed, means))
    return found


ROWS = rows()


def make_ctx(text: str) -> Ctx:
    inbound = Inbound(channel="text", user_id="u1", chat_id="c1", external_id="e1", text=text,
                      locale="vi")
    return Ctx(tx=None, inbound=inbound,  # type: ignore[arg-type]  # static choices only
               identity=Identity("text", "u1", "c1", None, "Lan", "vi", False, NOW),
               member=None, club=None, roles=frozenset(), now=NOW, today=TODAY,
               tz="Asia/Ho_Chi_Minh", locale="vi", flow_timeout=timedelta(hours=2))


async def _finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    return Done([], [object()])  # type: ignore[list-item]


FULL = Flow(id="full", command="full", title=N_("Tiny"), finish=_finish, who="anyone",
            summary=lambda ctx, data: T("Summary"),
            steps=(Step("name", N_("Tiny"), label=N_("Name")),))
SHORT = Flow(id="short", command="short", title=N_("Tiny"), finish=_finish, who="anyone",
             summary=lambda ctx, data: T("Summary"), steps=(Step("name", N_("Tiny")),))
LISTS = {
    "pick_member": (
        Choice("1", "Hà Thị Biết (1950, Bản Lốc)"), Choice("2", "Hà Văn Bình (1948, Bản Na)"),
        Choice("3", "Nguyễn Thị Lan (1956, Bản Lốc)"), Choice("4", "Lò Văn Lan (1960, Bản Na)"),
        Choice("5", "Vi Thị Hoa (1962, Bản Lốc)"),
    ),
    "pick_meeting": (
        Choice("2026-12", "15/12/2026 08:00"), Choice("2027-01", "15/01/2027 08:00"),
        Choice("2027-02", "15/02/2027 08:00"),
    ),
    "pick_report": (
        Choice("11", "Mồng Thị Hoa: 500.000\xa0₫ ngày 28/11/2026"),
        Choice("12", "Vi Văn Tùng: 1.200.000\xa0₫ ngày 01/12/2026"),
        Choice("13", "Mồng Thị Hoa: 2.000.000\xa0₫ ngày 03/12/2026"),
    ),
}
ENGINE = Engine([*FLOWS, FULL, SHORT])


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):  # a blood pressure reading
        pulse = f" {value['pulse']}" if value.get("pulse") else ""
        return f"{value['systolic']}/{value['diastolic']}{pulse}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def _confirm(flow: Flow, typed: str) -> str:
    session = Session(channel="text", chat_id="c1", flow_id=flow.id, step_id=CONFIRM,
                      session_id="s" * 32, data={"name": "Lan"}, expires_at=NOW + timedelta(1),
                      revision=ENGINE.revisions[flow.id])
    outcome = await ENGINE.advance(session, make_ctx(typed))
    if outcome.effects:
        return "yes"
    assert outcome.session is not None
    if outcome.session.flow_id == MENU_FLOW:
        return "no"
    if outcome.session.step_id == EDIT:
        return "edit"
    notes = [p.msgid for reply in outcome.replies for p in reply.parts]
    return "?ambiguous" if any(note in AMBIGUOUS for note in notes) else "?"


async def meaning(step_name: str, typed: str) -> str:
    """What ``typed`` means at ``step_name``: a value, ``?`` or ``?ambiguous``."""
    if step_name in ("confirm", "confirm_short"):
        return await _confirm(FULL if step_name == "confirm" else SHORT, typed)
    ctx = make_ctx(typed)
    try:
        if step_name == "amount":
            return str(parse_amount(typed))
        if step_name in ("date", "date_ahead"):
            return parse_date(typed, TODAY, ahead=step_name == "date_ahead").isoformat()
        if step_name == "yes_no":
            return _shown(parse_yes_no(typed))
        if step_name == "reading":
            reading = health.parse_reading(typed)
            return _shown({"systolic": reading.systolic, "diastolic": reading.diastolic,
                           "pulse": reading.pulse})
        if step_name == "phone":
            return parse_phone(typed)
        if step_name == "name":
            return parse_name(typed)
        if step_name in LISTS:
            return engine_pick(LISTS[step_name], ctx, typed)
        flow_id, _, step_id = step_name.partition(".")
        flow = ENGINE.flows[flow_id]
        step = flow.step(step_id)
        assert step is not None and not callable(step.choices), step_name
        if step.multi:
            return _shown(await ENGINE._several(step, ctx, {}, typed))
        return _shown(await ENGINE._parse(step, ctx, {}, typed))
    except ParseError as error:
        return "?ambiguous" if error.message in AMBIGUOUS else "?"


def test_the_corpus_is_large_and_covers_every_kind_of_step():
    steps = {step for _, step, _, _ in ROWS}
    assert len(ROWS) >= 300
    assert {"amount", "date", "yes_no", "reading", "confirm", "pick_member",
            "ask_loan.purpose", "blood_pressure.again", "blood_pressure.symptoms"} <= steps
    assert sum(means.startswith("?") for *_, means in ROWS) >= 40  # strict where it matters


@pytest.mark.parametrize(("line", "step", "typed", "means"), ROWS,
                         ids=[f"{n}:{s}:{t}" for n, s, t, _ in ROWS])
async def test_typed_answer(line: int, step: str, typed: str, means: str) -> None:
    got = await meaning(step, typed)
    if means == "?":
        assert got.startswith("?"), f"line {line}: {typed!r} at {step} read as {got!r}"
    else:
        assert got == means, f"line {line}: {typed!r} at {step}"


def test_step_names_are_real():
    for _, step, _, _ in ROWS:
        if "." in step:
            flow_id, _, step_id = step.partition(".")
            assert flow_id in ENGINE.flows and ENGINE.flows[flow_id].step(step_id), step


