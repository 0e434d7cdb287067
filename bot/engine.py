"""The conversation engine: pure steps from (session, input) to (session, replies, effects).

A flow is Python data (:class:`Flow` of :class:`Step`). The engine never writes and never
talks to the network: it reads through the read-only context it is given and returns the new
session, the replies and the effects; :mod:`bot.service` applies them in one transaction.

Global words work at every step: ``/huy`` (cancel), ``/menu`` and ``/trogiup`` (help), also
typed without the slash or accents. Outside a flow, anything else shows the person's menu.

A conversation remembers the :func:`revision` of its flow. If a deploy changed the flow's
shape since the conversation began, the next answer is not read against the new steps: the
flow starts again from its first question with a short note.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot import lexicon
from bot.i18n import N_, gettext
from bot.messages import Choice, Inbound, Recipient, Reply, T, joined
from bot.parsers import MSG_CHOICE, MSG_CHOICE_ONE, ParseError, parse_choice
from bot.text import fold
from storage.base import Club, Identity, Member, Reads, Session, Transaction
from storage.operators import Operator

CONFIRM = "_confirm"
EDIT = "_edit"
MENU_FLOW = "_menu"
END = "_end"
RESERVED_STEPS = frozenset({CONFIRM, EDIT, END})  # the engine's own steps

CANCEL_WORDS = frozenset({"huy", "huy bo", "thoat", "cancel"})
MENU_WORDS = frozenset({"menu"})
HELP_WORDS = frozenset({"trogiup", "tro giup", "giup", "help", "?"})
UPDATED = N_("The questions have changed; let us start again.")


class Effect(Protocol):
    """A change a flow asks for; the service applies it inside the update's transaction."""

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the change and return any notifications it causes."""


@dataclass
class Ctx:
    """What a flow may know about the update: who is writing, when, and a read-only view.

    ``tx`` only reads (:class:`storage.base.ReadOnly` of the update's transaction): the
    engine and the flows cannot write; their effects do, in ``apply(tx, ctx)``.
    """

    tx: Reads
    inbound: Inbound
    identity: Identity
    member: Member | None
    club: Club | None
    roles: frozenset[str]
    now: datetime
    today: date
    tz: str
    locale: str
    flow_timeout: timedelta
    operator: Operator | None = None  # an association officer's grant (storage/operators.py)

    @property
    def active(self) -> bool:
        """Whether the writer is an approved member."""
        return self.member is not None and self.member.status == "active"


@dataclass
class Done:
    """The end of a command or flow: replies to send and effects to apply."""

    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


Prompt = str | Callable[[Ctx, dict[str, Any]], T | Awaitable[T]]
Choices = tuple[Choice, ...] | Callable[[Ctx, dict[str, Any]], Awaitable[tuple[Choice, ...]]]


@dataclass(frozen=True)
class Step:
    """One question: a prompt, a parser (or choices) and an optional validator.

    Attributes:
        id: Stable id, stored in the session. Renaming it changes the flow's
            :func:`revision`: conversations in progress start again after the deploy.
        prompt: A message id, or a function building the question from the data so far.
        parse: Turns typed text into a JSON value, raising ``ParseError``.
        choices: Answers to pick from (buttons, or a numbered list on text channels).
        validate: Checks a parsed value against stored data, raising ``ParseError``; it may
            return extra facts to remember with the answer.
        next: The following step id, or a function of the data (``None``: the default, the
            next in order). After an answer is changed from the summary, a function's step
            is still asked (a follow-up question); otherwise the summary comes back.
        label: Name of the answer in the "what to change?" list; ``None`` = not editable.
        ask_contact: Offer a "share my phone number" button where the channel has one.
        skip: Skip the step when this returns true.
        multi: Several choices may be picked: typed at once (``1, 3``) or tapped one by one
            and then "Done". The answer is the list of keys.
        wait: How long the conversation waits for this answer before it times out (``None``:
            the flow time-out). Shorter where silence must not wait for hours: the re-measure
            of a very high reading, whose abandonment alerts the board.
    """

    id: str
    prompt: Prompt
    parse: Callable[[str, Ctx], Any] | None = None
    choices: Choices = ()
    validate: Callable[[Any, Ctx, dict[str, Any]], Awaitable[dict[str, Any] | None]] | None = None
    next: str | Callable[[dict[str, Any]], str | None] | None = None
    label: str | None = None
    ask_contact: bool = False
    skip: Callable[[Ctx, dict[str, Any]], bool] | None = None
    multi: bool = False
    wait: timedelta | None = None


Begin = Callable[[Ctx, str], Awaitable["dict[str, Any] | Done"]]
Finish = Callable[[Ctx, dict[str, Any], str], Awaitable[Done]]
Answered = Callable[[Ctx, dict[str, Any], str, str], Awaitable["Done | None"]]
Abandon = Callable[[Ctx, dict[str, Any], str], Awaitable["Done | None"]]
Summary = Callable[[Ctx, dict[str, Any]], T | Awaitable[T]]


@dataclass(frozen=True)
class Flow:
    """A command and, if it has steps, the guided conversation it starts.

    Attributes:
        id: Stable id, stored in sessions.
        command: The command word without slash, e.g. ``dangky``.
        title: Menu label (message id).
        steps: The questions; empty for a one-shot command.
        roles: Roles allowed to use it (any of them); empty = everybody.
        who: ``guest`` (not yet registered), ``anyone``, ``member`` (pending or active) or
            ``active``.
        begin: Builds the first data from the command's argument, or answers at once.
        summary: Shown before saving; the person must confirm it.
        finish: Called with the confirmed data; returns replies and effects.
        in_menu: Whether the menu lists it for people allowed to use it.
        typed: Recognises a text typed outside any task (or sent with ``/start``, as a
            Telegram link does) that starts this flow with the text as its argument: a code.
        version: Part of the flow's :func:`revision`. Bump it when the meaning of stored
            answers changes but the shape does not (e.g. a choice key now means something
            else, or a step's parser returns another kind of value): conversations begun
            before the deploy then start again.
        answered: Called after each answer is validated, with the data so far (including
            the answer), the step id and the session id; its replies are said before the
            next question and its effects applied before any of the finish's. For what must
            happen the moment an answer is known (an urgent reading's alert).
        abandon: Called with the data and the session id when a conversation of the flow
            ends without its finish: cancelled (``/huy``, ``/menu``, "Cancel" at the
            summary), replaced by another command, or timed out (at the next message, or by
            the service's sweeper). Its replies come before the engine's own note (which then
            no longer says that nothing was saved) and its effects are applied.
        confirm: The summary's "yes" button: what confirming does (saving, sending a
            request, erasing).
    """

    id: str
    command: str
    title: str
    steps: tuple[Step, ...] = ()
    roles: frozenset[str] = frozenset()
    who: str = "active"
    begin: Begin | None = None
    summary: Summary | None = None
    finish: Finish | None = None
    in_menu: bool = True
    aliases: tuple[str, ...] = ()
    refusal: str = N_("Sorry, you cannot use this.")
    typed: Callable[[str], bool] | None = None
    version: int = 1
    answered: Answered | None = None
    abandon: Abandon | None = None
    confirm: str = N_("Correct, save")

    def step(self, step_id: str) -> Step | None:
        """Return the step with this id, if any."""
        return next((s for s in self.steps if s.id == step_id), None)

    def allowed(self, ctx: Ctx) -> bool:
        """Whether the writer may use this flow (checked at start and at every step)."""
        if self.who == "guest":  # not yet in a club, and not an association officer either
            return ctx.member is None and ctx.operator is None
        if self.who == "anyone":
            return not self.roles or bool(self.roles & ctx.roles)
        if ctx.member is None or ctx.member.status not in ("pending", "active"):
            return False
        if self.who == "active" and not ctx.active:
            return False
        return not self.roles or bool(self.roles & ctx.roles)


@dataclass
class Outcome:
    """What the engine returns for one update."""

    session: Session | None
    replies: list[Reply]
    effects: list[Effect]


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


DYNAMIC = "*"  # a step's ``next`` or ``choices`` computed at run time, in a revision


def revision(flow: Flow) -> str:
    """A short fingerprint of the flow's shape, stored with each conversation of it.

    It covers what decides how a stored conversation is read: the step ids in order, each
    step's static ``next``, whether it takes several answers, the keys of its static choices
    and whether it can be changed from the summary, whether the flow has a summary, and the
    flow's ``version``. Wording (prompts, labels, titles) is left out: rewording is harmless.

    Args:
        flow: The flow.

    Returns:
        12 hexadecimal digits, the same in every process for the same shape.
    """
    shape = {
        "version": flow.version,
        "summary": flow.summary is not None,
        "steps": [
            {
                "id": step.id,
                "next": DYNAMIC if callable(step.next) else step.next,
                "multi": step.multi,
                "choices": DYNAMIC if callable(step.choices) else [c.key for c in step.choices],
                "editable": step.label is not None,
            }
            for step in flow.steps
        ],
    }
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_flows(flows: Sequence[Flow]) -> None:
    """Refuse flows the engine could not run as written, before any conversation starts.

    Args:
        flows: Every flow the bot offers.

    Raises:
        ValueError: Naming the flow and the problem: two flows with one id; a command or
            alias claimed by two flows (compared as the engine reads them, folded and without
            spaces); a step id used twice in a flow or reserved by the engine; a static
            ``next`` that names no step of the flow (``END`` and ``CONFIRM`` are allowed); a
            choice key offered twice in a step; steps without a ``finish`` to end them.
    """
    ids: set[str] = set()
    words: dict[str, str] = {}  # a command or alias as the engine reads it -> its flow's id
    for flow in flows:
        if flow.id == MENU_FLOW:
            raise ValueError(f"flow {flow.id!r}: the id is the engine's menu")
        if flow.id in ids:
            raise ValueError(f"flow {flow.id!r}: another flow has the same id")
        ids.add(flow.id)
        for word in (flow.command, *flow.aliases):
            folded = fold(word).replace(" ", "")
            claimed = words.setdefault(folded, flow.id)
            if claimed != flow.id:
                raise ValueError(f"flow {flow.id!r}: the command or alias {word!r} is already "
                                 f"claimed by flow {claimed!r}")
        _check_steps(flow)


def _check_steps(flow: Flow) -> None:
    """Refuse a flow whose steps the engine could not follow (see :func:`check_flows`)."""
    ids: set[str] = set()
    for step in flow.steps:
        if step.id in RESERVED_STEPS:
            raise ValueError(f"flow {flow.id!r}: the step id {step.id!r} is reserved by the "
                             "engine")
        if step.id in ids:
            raise ValueError(f"flow {flow.id!r}: the step id {step.id!r} is used twice")
        ids.add(step.id)
    for step in flow.steps:
        if isinstance(step.next, str) and step.next not in ids | {END, CONFIRM}:
            raise ValueError(f"flow {flow.id!r}: step {step.id!r} goes next to {step.next!r}, "
                             "which is no step of the flow")
        keys = [] if callable(step.choices) else [choice.key for choice in step.choices]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"flow {flow.id!r}: step {step.id!r} offers the choice key "
                             f"{twice[0]!r} twice")
    if flow.steps and flow.finish is None:  # the summary's "save" calls finish too
        has = "and a summary but no" if flow.summary else "but neither a summary nor a"
        raise ValueError(f"flow {flow.id!r}: it has steps {has} finish")


class Engine:
    """Advances flows. Holds only the flow registry; every call is independent.

    Args:
        flows: Every flow the bot offers, in menu order.

    Raises:
        ValueError: A flow the engine could not run (see :func:`check_flows`).
    """

    def __init__(self, flows: Sequence[Flow]) -> None:
        check_flows(flows)
        self.flows = {flow.id: flow for flow in flows}
        self.revisions = {flow.id: revision(flow) for flow in flows}
        self.commands: dict[str, Flow] = {}
        for flow in flows:
            for word in (flow.command, *flow.aliases):
                self.commands[fold(word).replace(" ", "")] = flow

    # Entry point

    async def advance(self, session: Session | None, ctx: Ctx) -> Outcome:
        """Handle one inbound update.

        Args:
            session: The chat's conversation in progress, if any.
            ctx: The update and what the service read for it.

        Returns:
            The new session (``None`` when no conversation continues), replies and effects.
        """
        inbound = ctx.inbound
        if session is not None and session.expires_at <= ctx.now:
            ended = await self.abandoned(session, ctx)
            outcome = await self._route(None, ctx)
            if self._in_flow(session) and outcome.replies:  # an idle menu ends silently
                note = T(N_("The previous conversation timed out.") if _kept(ended) else
                         N_("The previous conversation timed out; nothing was saved."))
                first = outcome.replies[0]
                outcome.replies[0] = replace(first, parts=(note, *first.parts))
            return _after(ended, outcome)
        if not inbound.supported:
            note = T(N_("Sorry, I can only read typed text. Please type your answer."))
            return await self._reprompt(session, ctx, note)
        if inbound.button is not None:
            return await self._press(session, ctx)
        return await self._route(session, ctx)

    async def _route(self, session: Session | None, ctx: Ctx) -> Outcome:
        text = ctx.inbound.text.strip()
        word = fold(text).lstrip("/").strip(" .!")
        if word in CANCEL_WORDS:
            in_flow = self._in_flow(session)
            note = N_("Stopped. Nothing was saved.") if in_flow else N_("Nothing to cancel.")
            return await self._stop(session, ctx, T(note))
        if word in MENU_WORDS:
            note = T(N_("Stopped. Nothing was saved.")) if self._in_flow(session) else None
            return await self._stop(session, ctx, note)
        if word in HELP_WORDS:
            return await self._help(session, ctx)
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            name = fold(name.split("@")[0])
            if name == "start":  # a Telegram link: /start, or /start with a code
                if not args.strip():
                    return await self._stop(session, ctx, None)
                flow = self._typed(ctx, args.strip())
                if flow is not None:
                    return await self.start(flow, ctx, args.strip(), session)
            flow = self.commands.get(name)
            if flow is None:
                return await self._reprompt(
                    session, ctx, T(N_("I do not know that command."))
                )
            return await self.start(flow, ctx, args.strip(), session)
        if not self._in_flow(session):  # outside a task a command word works without "/"
            flow = self.commands.get(word.replace(" ", ""))
            if flow is not None:
                return await self.start(flow, ctx, "", None)
        if session is None:
            return await self.fallback(ctx)
        if session.flow_id == MENU_FLOW:
            return await self._menu_answer(session, ctx)
        return await self._answer(session, ctx, text)

    async def fallback(self, ctx: Ctx) -> Outcome:
        """Outside a flow: a typed code starts its flow, anything else shows the menu.

        An invite code starts registration; an association code links an officer.
        """
        text = ctx.inbound.text.strip()
        flow = self._typed(ctx, text)
        if flow is not None:
            return await self.start(flow, ctx, text, None)
        return await self.menu(ctx)

    def _typed(self, ctx: Ctx, text: str) -> Flow | None:
        """The flow that a typed code starts for this person, if any."""
        return next((flow for flow in self.flows.values() if text and flow.typed is not None
                     and flow.typed(text) and flow.allowed(ctx)), None)

    # Starting and finishing

    async def start(
        self,
        flow: Flow,
        ctx: Ctx,
        args: str,
        previous: Session | None,
        note: T | None = None,
    ) -> Outcome:
        """Start ``flow`` (ending any other conversation in the chat).

        Args:
            flow: One of the engine's flows.
            ctx: The update.
            args: The command's argument (``""`` if none).
            previous: The conversation it replaces, if any.
            note: Said first, whatever happens (the flow asks its first question, answers
                at once, or is refused and the menu shows instead of the refusal).

        Returns:
            The new conversation at its first question, or the flow's answer.
        """
        ended = await self.abandoned(previous, ctx)
        return _after(ended, await self._begin(flow, ctx, args, previous, note, _kept(ended)))

    async def _begin(
        self, flow: Flow, ctx: Ctx, args: str, previous: Session | None, note: T | None,
        kept: bool,
    ) -> Outcome:
        """:meth:`start` once the previous conversation was abandoned.

        ``kept``: the abandoned conversation kept something, so the note no longer says that
        nothing of it was saved.
        """
        if not flow.allowed(ctx):
            return await self.menu(ctx, note or T(flow.refusal))
        data: dict[str, Any] | Done = {}
        if flow.begin is not None:
            data = await flow.begin(ctx, args)
        if isinstance(data, Done):
            return Outcome(None, _noted(data.replies, note), data.effects)
        prefix: list[T] = [note] if note else []
        if self._in_flow(previous) and previous.flow_id != flow.id:
            prefix.append(T(N_("I stopped the previous task.") if kept else
                            N_("I stopped the previous task; nothing of it was saved.")))
        session = Session(
            channel=ctx.inbound.channel,
            chat_id=ctx.inbound.chat_id,
            flow_id=flow.id,
            step_id="",
            session_id=uuid.uuid4().hex,
            data=data,
            expires_at=ctx.now + ctx.flow_timeout,
            revision=self.revisions[flow.id],
        )
        first = flow.steps[0].id if flow.steps else CONFIRM
        return await self._goto(flow, session, ctx, first, prefix)

    async def _finish(self, flow: Flow, session: Session, ctx: Ctx) -> Outcome:
        assert flow.finish is not None, f"flow {flow.id} has no finish"
        done = await flow.finish(ctx, session.data, session.session_id)
        return Outcome(None, done.replies, done.effects)

    # Steps

    async def _goto(
        self, flow: Flow, session: Session, ctx: Ctx, step_id: str, prefix: list[T]
    ) -> Outcome:
        while step_id not in (END, CONFIRM, EDIT):
            step = flow.step(step_id)
            assert step is not None, f"flow {flow.id} has no step {step_id}"
            if step.skip is None or not step.skip(ctx, session.data):
                break
            step_id = self._following(flow, step, session.data)
        if step_id == END or (step_id == CONFIRM and flow.summary is None):
            return await self._finish(flow, session, ctx)
        session = replace(session, step_id=step_id, expires_at=_expiry(flow, step_id, ctx))
        return await self._ask(flow, session, ctx, prefix)

    async def _ask(
        self, flow: Flow, session: Session, ctx: Ctx, prefix: Sequence[T] = ()
    ) -> Outcome:
        """Ask the session's current question and remember the choices it shows.

        The keys and labels of a step's computed choices are kept in ``session.data[SHOWN]``,
        so the answer is read against what the person saw (see :meth:`_shown`).
        """
        reply = await self.prompt(flow, session, ctx, prefix)
        data = {k: v for k, v in session.data.items() if k != SHOWN}
        step = flow.step(session.step_id)
        if step is not None and callable(step.choices):
            data[SHOWN] = _as_shown(step.id, [c for c in reply.choices if c is not DONE])
        return Outcome(replace(session, data=data), [reply], [])

    def _following(self, flow: Flow, step: Step, data: dict[str, Any]) -> str:
        follow = step.next(data) if callable(step.next) else step.next
        if data.get("_editing"):
            if callable(step.next) and follow not in (None, CONFIRM, END):
                return follow  # a follow-up of the changed answer (e.g. pick among matches)
            data.pop("_editing")
            return CONFIRM
        if follow:
            return follow
        index = flow.steps.index(step)
        return flow.steps[index + 1].id if index + 1 < len(flow.steps) else CONFIRM

    async def prompt(
        self, flow: Flow, session: Session, ctx: Ctx, prefix: Sequence[T] = ()
    ) -> Reply:
        """The question for the session's current step, after ``prefix`` notes."""
        ref = session.session_id[:8]
        if session.step_id == CONFIRM:
            assert flow.summary is not None
            summary = await _maybe(flow.summary(ctx, session.data))
            parts = (*prefix, summary, T(N_("Is this correct?")))
            return Reply(parts, _confirm_choices(flow), ref, CONFIRM)
        if session.step_id == EDIT:
            parts = (*prefix, T(N_("What do you want to change?")))
            return Reply(parts, _edit_choices(flow), ref, EDIT)
        step = flow.step(session.step_id)
        assert step is not None
        question = step.prompt if callable(step.prompt) else None
        text = await _maybe(question(ctx, session.data)) if question else T(step.prompt)
        choices = await self._choices(step, ctx, session.data)
        if step.multi:
            return Reply((*prefix, text, _picked_note(choices, session.data)), (*choices, DONE),
                         ref, step.id)
        return Reply((*prefix, text), choices, ref, step.id, step.ask_contact)

    async def _choices(self, step: Step, ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
        if callable(step.choices):
            return await step.choices(ctx, data)
        return step.choices

    async def _resume(self, session: Session, ctx: Ctx) -> tuple[Flow, Session] | Outcome:
        """The flow to go on with ``session`` in, or a polite restart if it cannot go on.

        Every update that reads the session's step comes through here: an answer (to a
        question, to the summary or to "what to change?"), a button pressed, help and any
        other reason to ask the question again. A conversation goes on only if its flow has
        the revision it began with; otherwise a deploy changed the flow, and it starts again
        from its first question after the note :data:`UPDATED` (the menu with the note if the
        flow is gone). A session saved before revisions existed (``""``) goes on if its step
        still exists, and takes the flow's revision from then on.

        Args:
            session: The conversation in progress (not the menu).
            ctx: The update.

        Returns:
            The flow and the session to continue, or the outcome of the restart.
        """
        flow = self.flows.get(session.flow_id)
        if flow is None:
            return await self.menu(ctx, T(UPDATED))
        current = self.revisions[flow.id]
        if session.revision in ("", current) and _known_step(flow, session.step_id):
            return flow, replace(session, revision=current)
        return await self.start(flow, ctx, "", None, T(UPDATED))

    async def _answer(self, session: Session, ctx: Ctx, text: str) -> Outcome:
        resumed = await self._resume(session, ctx)
        if isinstance(resumed, Outcome):
            return resumed
        flow, session = resumed
        if not flow.allowed(ctx):
            return await self.menu(ctx, T(flow.refusal))
        if session.step_id == CONFIRM:
            return await self._confirm(flow, session, ctx, text)
        if session.step_id == EDIT:
            return await self._edit(flow, session, ctx, text)
        step = flow.step(session.step_id)
        assert step is not None
        data = dict(session.data)
        try:
            if step.multi:
                value = await self._several(step, ctx, data, text)
                if value is None:  # one more tapped: ask again, showing what is picked
                    session = replace(session, data=data,
                                      expires_at=_expiry(flow, session.step_id, ctx))
                    return await self._ask(flow, session, ctx)
                data.pop(PICKED, None)
            else:
                value = await self._parse(step, ctx, data, text)
            extra = await step.validate(value, ctx, data) if step.validate else None
            data.update(extra or {})
        except ParseError as error:
            return await self._reprompt(session, ctx, _said(error))
        data.pop(SHOWN, None)
        data[step.id] = value
        session = replace(session, data=data)
        said = None  # what the flow does the moment this answer is known
        if flow.answered is not None:
            said = await flow.answered(ctx, dict(data), step.id, session.session_id)
        return _after(said, await self._goto(flow, session, ctx,
                                             self._following(flow, step, data), []))

    async def _parse(self, step: Step, ctx: Ctx, data: dict[str, Any], text: str) -> Any:
        if step.ask_contact and ctx.inbound.contact_phone:
            text = ctx.inbound.contact_phone
        choices = await self._choices(step, ctx, data)
        shown = _shown(step, data, choices)
        if not choices and not shown:
            return step.parse(text, ctx) if step.parse else text
        try:
            return _still_offered(pick(shown or choices, ctx, text), choices)
        except ParseError as error:
            numbered = re.fullmatch(r"\s*(?:so\s*)?[0-9]{1,3}\W*", fold(text)) is not None
            if step.parse is None or ctx.inbound.button is not None or (
                error.message == GONE and numbered
            ):
                raise
            try:
                return step.parse(text, ctx)
            except ParseError:
                if error.message == GONE:
                    raise error from None
                raise

    async def _several(
        self, step: Step, ctx: Ctx, data: dict[str, Any], text: str
    ) -> list[str] | None:
        """A multiple choice: the keys picked, or ``None`` after a tap that adds or removes one.

        The keys tapped so far are kept in ``data[PICKED]``.
        """
        offered = await self._choices(step, ctx, data)
        choices = (*offered, DONE)
        listed = (*(_shown(step, data, offered) or offered), DONE)
        only = {c.key: c for c in offered if c.exclusive}
        picked: list[str] = list(data.get(PICKED, []))
        if ctx.inbound.button is not None:
            key = _still_offered(pick(listed, ctx, text), choices)
            if key in only and picked and picked != [key]:
                raise ParseError(ALONE, name=T(only[key].label))
            if key in only:
                return [key]  # "None of these": nothing else to pick
            if key != DONE.key:
                data[PICKED] = [k for k in picked if k != key] if key in picked else [*picked, key]
                return None
        else:
            for piece in _pieces(text):
                key = _still_offered(pick(listed, ctx, piece), choices)
                if key != DONE.key and key not in picked:
                    picked.append(key)
            alone = next((only[k] for k in picked if k in only), None)
            if alone is not None and len(picked) > 1:
                raise ParseError(ALONE, name=T(alone.label))
        if not picked:
            raise ParseError(N_("Please pick at least one, for example 1."))
        return picked

    async def _confirm(self, flow: Flow, session: Session, ctx: Ctx, text: str) -> Outcome:
        choices = _confirm_choices(flow)
        try:
            if (ctx.inbound.button is None and len(choices) == 3
                    and lexicon.yes_no(text) is False
                    and not re.fullmatch(r"[0-9]+|thoi", lexicon.phrase(text))):
                raise ParseError(CHANGE_OR_CANCEL)  # "không": change it, or cancel it all?
            key = pick(choices, ctx, text)
        except ParseError as error:
            return await self._reprompt(session, ctx, _said(error))
        if key == "yes":
            return await self._finish(flow, session, ctx)
        if key == "no":
            return await self._stop(session, ctx, T(N_("Stopped. Nothing was saved.")))
        session = replace(session, step_id=EDIT, expires_at=_expiry(flow, EDIT, ctx))
        return await self._ask(flow, session, ctx)

    async def _edit(self, flow: Flow, session: Session, ctx: Ctx, text: str) -> Outcome:
        try:
            key = pick(_edit_choices(flow), ctx, text)
        except ParseError as error:
            return await self._reprompt(session, ctx, _said(error))
        if key == CONFIRM:
            session = replace(session, step_id=CONFIRM, expires_at=_expiry(flow, CONFIRM, ctx))
            return await self._ask(flow, session, ctx)
        data = {**session.data, "_editing": True}
        return await self._goto(flow, replace(session, data=data), ctx, key, [])

    async def _press(self, session: Session | None, ctx: Ctx) -> Outcome:
        button = ctx.inbound.button
        assert button is not None
        if button.ref == "-":
            return await self._route(session, replace_text(ctx, button.key))
        live = (
            session is not None
            and session.session_id[:8] == button.ref
            and session.step_id == button.step
        )
        if not live:
            note = T(N_("That button belongs to an earlier question."))
            return await self._reprompt(session, ctx, note)  # checks the revision
        return await self._route(session, ctx)  # an answer: checks the revision

    async def _reprompt(self, session: Session | None, ctx: Ctx, note: T) -> Outcome:
        """Say ``note`` and ask the current question again (or show the menu)."""
        if session is None or session.flow_id == MENU_FLOW:
            return await self.menu(ctx, note)
        resumed = await self._resume(session, ctx)
        if isinstance(resumed, Outcome):
            return resumed  # the question changed in a deploy: not asked again
        flow, session = resumed
        session = replace(session, expires_at=_expiry(flow, session.step_id, ctx))
        return await self._ask(flow, session, ctx, [note])

    async def _help(self, session: Session | None, ctx: Ctx) -> Outcome:
        if self._in_flow(session):
            note = T(
                N_(
                    "Answer the question below. Type /huy to stop without saving, "
                    "or /menu to see everything you can do."
                )
            )
            return await self._reprompt(session, ctx, note)
        return await self.menu(ctx, T(N_(
            "I help your club keep its records. Pick a task below by tapping it or typing "
            "its number. At any time: /huy stops, /menu shows this list, /ngonngu changes "
            "the language, /lienket links your Zalo and Telegram accounts."
        ), typed=N_(
            "I help your club keep its records. Type the number of a task below. At any "
            "time: /huy stops, /menu shows this list, /ngonngu changes the language, "
            "/lienket links your Zalo and Telegram accounts."
        )))

    # The menu (a one-step pseudo-flow, so a typed number picks an entry)

    def menu_flows(self, ctx: Ctx) -> list[Flow]:
        """The flows this person may start, in menu order."""
        return [flow for flow in self.flows.values() if flow.in_menu and flow.allowed(ctx)]

    async def menu(self, ctx: Ctx, note: T | None = None) -> Outcome:
        """Show the person's menu (after an optional note) and wait for a pick."""
        flows = self.menu_flows(ctx)
        choices = tuple(Choice(flow.command, flow.title) for flow in flows)
        parts = [note] if note else []
        if ctx.member is None and ctx.operator is None:
            parts.append(T(N_(
                "Hello! To join your club, type the invite code from the board. Already a "
                "member on Telegram or Zalo? Type /lienket there to get a link code."
            )))
        elif ctx.member is not None and ctx.member.status == "pending":
            parts.append(T(N_("Your registration is waiting for the board's approval.")))
        parts.append(T(N_("What would you like to do?")))
        session = Session(
            channel=ctx.inbound.channel,
            chat_id=ctx.inbound.chat_id,
            flow_id=MENU_FLOW,
            step_id="pick",
            session_id=uuid.uuid4().hex,
            data={SHOWN: _as_shown("pick", choices)},
            expires_at=ctx.now + ctx.flow_timeout,
        )
        reply = Reply(tuple(parts), choices, session.session_id[:8], "pick")
        return Outcome(session, [reply], [])

    async def _menu_answer(self, session: Session, ctx: Ctx) -> Outcome:
        """A pick from the menu, read against the entries that menu showed."""
        offered = tuple(Choice(f.command, f.title) for f in self.menu_flows(ctx))
        listed = _listed_as_shown(session.data.get(SHOWN), "pick", offered)
        try:
            key = _still_offered(pick(listed or offered, ctx, ctx.inbound.text), offered)
        except ParseError as error:
            if error.message == GONE:
                return await self.menu(ctx, T(GONE))
            return await self.fallback(ctx)
        return await self.start(self.commands[key], ctx, "", None)

    @staticmethod
    def _in_flow(session: Session | None) -> bool:
        return session is not None and session.flow_id != MENU_FLOW

    async def abandoned(self, session: Session | None, ctx: Ctx) -> Done | None:
        """What the flow of ``session`` does when it ends without its finish (its ``abandon``).

        Args:
            session: The conversation that ends (nothing happens for the menu or none).
            ctx: The update that ends it (or, from the sweeper, one built for its chat).

        Returns:
            The flow's replies and effects, or ``None``.
        """
        if not self._in_flow(session):
            return None
        assert session is not None
        flow = self.flows.get(session.flow_id)
        if flow is None or flow.abandon is None:
            return None
        return await flow.abandon(ctx, dict(session.data), session.session_id)

    async def _stop(self, session: Session | None, ctx: Ctx, note: T | None) -> Outcome:
        """End the conversation (its flow's ``abandon``) and show the menu after ``note``."""
        ended = await self.abandoned(session, ctx)
        if _kept(ended) and note is not None:
            note = T(N_("Stopped."))
        return _after(ended, await self.menu(ctx, note))


def _kept(done: Done | None) -> bool:
    """Whether an ``abandon`` hook said something (then something of the task was kept)."""
    return done is not None and bool(done.replies)


def _after(done: Done | None, outcome: Outcome) -> Outcome:
    """``outcome`` with a hook's replies said first and its effects applied first."""
    if done is None:
        return outcome
    return Outcome(outcome.session, [*done.replies, *outcome.replies],
                   [*done.effects, *outcome.effects])


def _said(error: ParseError) -> T:
    """What to say about an answer not understood.

    "Type a number from 1 to 3" is for a numbered list; where the choices are buttons (no
    numbers shown) the person is asked to tap one, and the number form stays for text channels.
    """
    if error.message == MSG_CHOICE:
        return T(N_("Please tap one of the buttons below, or type the answer."),
                 typed=N_("Please reply with a number from 1 to {count}, or type the answer."),
                 **error.params)
    if error.message == MSG_CHOICE_ONE:
        return T(N_("Please tap the button below, or type the answer."),
                 typed=N_("Please reply 1, or type the answer."), **error.params)
    return T(error.message, **error.params)


def _expiry(flow: Flow, step_id: str, ctx: Ctx) -> datetime:
    """When a conversation waiting at ``step_id`` times out (see :attr:`Step.wait`)."""
    step = flow.step(step_id)
    wait = step.wait if step is not None and step.wait is not None else ctx.flow_timeout
    return ctx.now + min(wait, ctx.flow_timeout)


def replace_text(ctx: Ctx, text: str) -> Ctx:
    """Return ``ctx`` as if the person had typed ``text`` (used for button presses)."""
    inbound = replace(ctx.inbound, text=text, button=None)
    return replace(ctx, inbound=inbound)


def pick(choices: Sequence[Choice], ctx: Ctx, text: str) -> str:
    """The key of the chosen answer: a pressed button's key, or what the person typed.

    Raises:
        ParseError: Nothing matches (or the button's key is not offered here).
    """
    button = ctx.inbound.button
    if button is not None:
        if any(choice.key == button.key for choice in choices):
            return button.key
        raise ParseError(N_("That button belongs to an earlier question."))
    return parse_choice(text, _options(choices, ctx.locale))


PICKED = "_picked"
SHOWN = "_shown"  # the choices a question showed: {"step", "keys", "labels"}
DONE = Choice("_done", N_("Done"), ("xong", "het", "roi", "done", "het roi", "xong roi"))
GONE = N_("That item is no longer there (someone may have just dealt with it). Here is the "
          "list as it is now.")
ALONE = N_("\"{name}\" cannot go with other answers. Please pick again.")
CHANGE_OR_CANCEL = N_("Do you want to change something, or cancel without saving? Please "
                      "type 2 to change or 3 to cancel.")


def _as_shown(step_id: str, choices: Sequence[Choice]) -> dict[str, Any]:
    """The record of the choices a question showed, kept in ``data[SHOWN]``."""
    return {"step": step_id, "keys": [c.key for c in choices],
            "labels": [c.label for c in choices]}


def _listed_as_shown(
    shown: Any, step_id: str, offered: Sequence[Choice]
) -> tuple[Choice, ...] | None:
    """The choices as a question showed them (``data[SHOWN]``), or ``None`` if not kept.

    Words typed for a choice still offered are its aliases too.
    """
    if not isinstance(shown, dict) or shown.get("step") != step_id:
        return None
    now = {c.key: c for c in offered}
    return tuple(
        replace(now[key], label=label) if key in now else Choice(key, label)
        for key, label in zip(shown.get("keys", []), shown.get("labels", []), strict=False)
    )


def _shown(step: Step, data: dict[str, Any], offered: Sequence[Choice]) -> tuple[Choice, ...]:
    """What the step's question showed, when its choices are computed (else ``()``)."""
    if not callable(step.choices):
        return ()
    return _listed_as_shown(data.get(SHOWN), step.id, offered) or ()


def _still_offered(key: str, offered: Sequence[Choice]) -> str:
    """``key`` if it is still among the choices now; else :data:`GONE` (say so, list again).

    Raises:
        ParseError: :data:`GONE`, the item picked from what was shown is gone meanwhile.
    """
    if key == DONE.key or any(choice.key == key for choice in offered):
        return key
    raise ParseError(GONE)


def _pieces(text: str) -> list[str]:
    """The answers in ``1, 3``, ``1 3 5``, ``ngã, ốm`` or ``ngã và ốm``."""
    pieces = [p.strip() for p in re.split(r"[,;+]|\s+(?:va|v\u00e0)\s+", text) if p.strip()]
    if all(re.fullmatch(r"[0-9\s]+", p) for p in pieces):
        return [n for p in pieces for n in p.split()]
    return pieces or [text]


def _picked_note(choices: Sequence[Choice], data: dict[str, Any]) -> T:
    """The line under a multiple choice: how to pick several, and what is picked so far."""
    labels = [T(c.label) for c in choices if c.key in data.get(PICKED, [])]
    if not labels:
        return T(N_("You may pick several: type their numbers, like 1, 3, or tap them one by "
                    "one, then Done."),
                 typed=N_("You may pick several: type their numbers, like 1, 3."))
    return T(N_("Picked so far: {names}. Tap more, or Done."), names=joined(labels, ", "),
             typed=N_("Picked so far: {names}. Type more numbers, or Done."))


def _noted(replies: list[Reply], note: T | None) -> list[Reply]:
    """``replies`` with ``note`` said first, in the first reply to the chat."""
    if note is None:
        return replies
    if replies and replies[0].to is None:
        return [replace(replies[0], parts=(note, *replies[0].parts)), *replies[1:]]
    return [Reply((note,)), *replies]


def _known_step(flow: Flow, step_id: str) -> bool:
    """Whether ``flow`` can still ask ``step_id`` (a deploy may have removed the step)."""
    if step_id == CONFIRM:
        return flow.summary is not None
    return step_id == EDIT or flow.step(step_id) is not None


def _options(choices: Sequence[Choice], locale: str) -> list[tuple[str, list[str]]]:
    return [
        (c.key, [gettext(c.label, locale), c.label, *c.aliases]) for c in choices
    ]


def _confirm_choices(flow: Flow) -> tuple[Choice, ...]:
    """Đúng, lưu lại (or the flow's own ``confirm``) / Sửa lại / Hủy.

    A plain "không" is Cancel only when there is nothing to change; with "Sửa lại" offered it
    could mean either, and :meth:`Engine._confirm` asks which (:data:`CHANGE_OR_CANCEL`).
    """
    choices = [Choice("yes", flow.confirm, ("dung", "co", "ok", "luu", "dung roi", "luu lai",
                                           "chuan"))]
    editable = any(step.label for step in flow.steps)
    if editable:
        choices.append(Choice("edit", N_("Change something"), ("sua", "sua lai", "chinh sua")))
    cancel = ("huy", "huy bo", "thoi") if editable else ("huy", "huy bo", "thoi", "khong")
    choices.append(Choice("no", N_("Cancel"), cancel))
    return tuple(choices)


def _edit_choices(flow: Flow) -> tuple[Choice, ...]:
    fields = tuple(Choice(step.id, step.label) for step in flow.steps if step.label)
    return (*fields, Choice(CONFIRM, N_("Nothing, go back")))


def refused(ctx: Ctx, roles: frozenset[str]) -> list[Reply]:
    """The refusal an effect returns unless the writer is active and holds one of ``roles``.

    Effects call this before writing: roles are checked again in the service layer, not only
    when the flow starts.
    """
    if ctx.active and ctx.roles & roles:
        return []
    return [Reply((T(N_("Sorry, you cannot use this.")),))]


def notify(member_id: int, *parts: T, choices: tuple[Choice, ...] = ()) -> Reply:
    """A message to another member, with optional command buttons (keys like ``/duyet``)."""
    return Reply(parts, choices, "-", "-", to=Recipient(member_id))
