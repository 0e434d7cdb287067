"""The engine refuses flows it could not run, when it loads them, naming the flow and why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversations.registry import FLOWS
from bot.engine import CONFIRM, EDIT, END, MENU_FLOW, Engine, Flow, Step, check_flows
from bot.i18n import N_
from bot.messages import Choice
from tests.test_engine import KINDS, TINY, make_ctx, text_of

NAME, KIND, AMOUNT = TINY.steps


def tiny(*steps: Step, **changes: object) -> Flow:
    """TINY with other steps (or other fields)."""
    return replace(TINY, steps=steps or TINY.steps, **changes)


def test_the_real_flows_load():
    check_flows(FLOWS)
    engine = Engine(FLOWS)
    assert list(engine.flows) == [flow.id for flow in FLOWS]
    assert {flow.command for flow in FLOWS} <= set(engine.commands)


async def test_a_flow_may_list_its_own_command_again_in_another_spelling():
    engine = Engine([tiny(aliases=("T hư", "thu"))])  # like "dangky" and "dang ky"
    outcome = await engine.advance(None, make_ctx("/thu"))
    assert text_of(outcome) == "What is your name?"


def test_two_flows_with_one_id_are_refused():
    with pytest.raises(ValueError, match="flow 'tiny': another flow has the same id"):
        Engine([TINY, tiny(command="khac")])


def test_a_flow_named_like_the_menu_is_refused():
    with pytest.raises(ValueError, match="flow '_menu': the id is the engine's menu"):
        Engine([tiny(id=MENU_FLOW)])


@pytest.mark.parametrize(
    ("command", "aliases", "word"),
    [
        ("thu", (), "thu"),  # the same command
        ("THƯ", (), "THƯ"),  # folded: case and accents
        ("khac", ("t hu",), "t hu"),  # an alias, folded without spaces
        ("khac", ("Thử",), "Thử"),
    ],
)
def test_a_command_or_alias_claimed_by_two_flows_is_refused(command, aliases, word):
    other = tiny(id="other", command=command, aliases=aliases)
    with pytest.raises(ValueError) as refused:
        Engine([TINY, other])
    assert str(refused.value) == (f"flow 'other': the command or alias {word!r} is already "
                                  "claimed by flow 'tiny'")


def test_an_alias_claiming_another_flows_command_is_refused():
    with pytest.raises(ValueError, match=r"flow 'tiny': .* 'dang ky' is already claimed "
                                         r"by flow 'register'"):
        Engine([*FLOWS, tiny(aliases=("dang ky",))])


def test_a_step_id_used_twice_is_refused():
    again = Step("name", N_("Which village?"))
    with pytest.raises(ValueError, match="flow 'tiny': the step id 'name' is used twice"):
        Engine([tiny(NAME, KIND, again, AMOUNT)])


@pytest.mark.parametrize("reserved", [CONFIRM, EDIT, END])
def test_a_step_id_reserved_by_the_engine_is_refused(reserved):
    with pytest.raises(ValueError, match=f"flow 'tiny': the step id '{reserved}' is reserved "
                                         "by the engine"):
        Engine([tiny(NAME, replace(KIND, id=reserved), AMOUNT)])


@pytest.mark.parametrize("target", ["nowhere", EDIT, MENU_FLOW, "Kind"])
def test_a_static_next_that_names_no_step_is_refused(target):
    with pytest.raises(ValueError, match=f"flow 'tiny': step 'name' goes next to '{target}', "
                                         "which is no step of the flow"):
        Engine([tiny(replace(NAME, next=target), KIND, AMOUNT)])


@pytest.mark.parametrize("target", ["amount", "kind", "name", END, CONFIRM])
def test_a_static_next_to_a_step_or_the_end_or_the_summary_is_fine(target):
    Engine([tiny(replace(NAME, next=target), KIND, AMOUNT)])


def test_a_next_computed_at_run_time_is_not_checked_here():
    Engine([tiny(replace(NAME, next=lambda data: "anything"), KIND, AMOUNT)])


def test_a_choice_key_offered_twice_is_refused():
    kinds = (*KINDS, Choice("poor", N_("Poor household")))
    with pytest.raises(ValueError, match="flow 'tiny': step 'kind' offers the choice key "
                                         "'poor' twice"):
        Engine([tiny(NAME, replace(KIND, choices=kinds), AMOUNT)])


def test_choices_computed_at_run_time_are_not_checked_here():
    async def choices(ctx, data):
        return (*KINDS, *KINDS)

    Engine([tiny(NAME, replace(KIND, choices=choices), AMOUNT)])


def test_steps_with_neither_summary_nor_finish_are_refused():
    with pytest.raises(ValueError, match="flow 'tiny': it has steps but neither a summary nor "
                                         "a finish"):
        Engine([tiny(summary=None, finish=None)])


def test_steps_with_a_summary_but_no_finish_are_refused():
    with pytest.raises(ValueError, match="flow 'tiny': it has steps and a summary but no "
                                         "finish"):
        Engine([tiny(finish=None)])


def test_a_one_shot_command_needs_neither():
    Engine([Flow(id="hello", command="chao", title=N_("Tiny"))])
