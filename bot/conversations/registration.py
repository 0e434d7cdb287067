"""Registration: a person joins a club with an invite code (``/start CODE`` or ``/dangky``).

A board member can also register someone without a phone (``/dangkyho``), recorded as
assisted. Nothing is saved until the person agrees to the data notice and confirms the
summary. New members wait for the board's approval; the board code makes its holder chair.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.conversations.common import BOARD, details
from bot.engine import CONFIRM, END, Ctx, Done, Flow, Step, notify, refused
from bot.i18n import N_
from bot.invites import clean_code, hash_code, looks_like_code
from bot.messages import Choice, Reply, T
from bot.parsers import (
    ParseError,
    parse_birth,
    parse_name,
    parse_phone,
    parse_text,
)
from bot.vocabulary import HOUSEHOLDS, SEXES
from storage.base import Consent, NewMember, Transaction

CONSENT_VERSION = "2026-11-v1"
CONSENT_TEXT = N_(
    "Before we save anything, please read this.\n"
    "The club keeps: your name, sex, birth date, phone, village and household status; later "
    "also your blood-pressure readings, loans and repayments, and home-care visits.\n"
    "Why: to run the club's revolving fund, health checks and home care, and to send you "
    "reminders.\n"
    "Who sees it: the club board, the treasurer and volunteers for their work; anonymous "
    "totals go to the Association of the Elderly. Health and loan details are sensitive "
    "data and are never posted in group chats.\n"
    "Your rights: see your data any time with /dulieu, ask to correct it, withdraw your "
    "agreement, or ask for it to be erased with /xoadulieu (loan records are kept as the "
    "fund's accounts require)."
)
OWN_CONSENT = N_("{notice}\n\nDo you agree?")
ASSISTED_CONSENT = N_(
    "Read this notice to the person and ask whether they agree.\n\n{notice}\n\n"
    "Did the person agree?"
)
AGREE = (
    Choice("agree", N_("I agree"), ("dong y", "co", "u")),
    Choice("disagree", N_("I do not agree"), ("khong dong y", "khong", "ko")),
)
AGREED_FOR = (
    Choice("agree", N_("The person agreed"), ("dong y", "co", "u")),
    Choice("disagree", N_("The person did not agree"), ("khong dong y", "khong", "ko")),
)
NO_PHONE = (Choice("none", N_("No phone"), ("khong co", "khong")),)
SKIP = (Choice("skip", N_("Skip"), ("bo qua", "khong")),)


def _assisted(data: dict[str, Any]) -> bool:
    return data.get("assisted_by") is not None


async def _invite(ctx: Ctx, code: str) -> dict[str, Any]:
    invite = await ctx.tx.find_invite(hash_code(code), ctx.now)
    if invite is None:
        raise ParseError(
            N_("This code is not valid or has expired. Please check it with the board.")
        )
    return {"club_id": invite.club_id, "invite_id": invite.id, "invite_role": invite.role}


async def begin(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start registering the writer, using the code in ``args`` if there is one."""
    if not args:
        return {}
    try:
        return {**await _invite(ctx, clean_code(args)), "code": clean_code(args)}
    except ParseError as error:
        return Done([Reply((T(error.message), T(N_("Type /dangky to try again."))))])


async def begin_assisted(ctx: Ctx, args: str) -> dict[str, Any] | Done:
    """Start registering someone on their behalf, in the board member's club."""
    assert ctx.member is not None
    return {"club_id": ctx.member.club_id, "assisted_by": ctx.member.id}


async def check_code(code: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The typed invite code must be valid now."""
    return await _invite(ctx, code)


async def check_phone(phone: str, ctx: Ctx, data: dict[str, Any]) -> None:
    """The same phone cannot join the same club twice."""
    if phone != "none" and await ctx.tx.phone_in_club(data["club_id"], phone):
        raise ParseError(N_("This phone number is already registered in the club."))


async def note_consent(answer: str, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """Keep the evidence of the consent answer: when, and which message."""
    return {"consent_at": ctx.now.isoformat(), "consent_message": ctx.inbound.message_id}


def _parse_birth(text: str, ctx: Ctx) -> dict[str, Any]:
    year, day = parse_birth(text, ctx.today)
    return {"year": year, "date": day.isoformat() if day else None}


def _place(text: str, ctx: Ctx) -> str:
    """A place name: checked, with each word capitalised (``ban loc`` -> ``Ban Loc``)."""
    return " ".join(word[:1].upper() + word[1:] for word in parse_text(text, max_len=60).split())


def _prompt(own: str, assisted: str) -> Any:
    return lambda ctx, data: T(assisted if _assisted(data) else own)


def _consent_prompt(ctx: Ctx, data: dict[str, Any]) -> T:
    return T(ASSISTED_CONSENT if _assisted(data) else OWN_CONSENT, notice=T(CONSENT_TEXT))


async def _consent_choices(ctx: Ctx, data: dict[str, Any]) -> tuple[Choice, ...]:
    return AGREED_FOR if _assisted(data) else AGREE


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "sex": data["sex"],
        "birth_year": data["birth"]["year"],
        "birth_date": data["birth"]["date"],
        "phone": None if data["phone"] == "none" else data["phone"],
        "village": data["village"],
        "household": data["household"],
        "ethnicity": None if data["ethnicity"] == "skip" else data["ethnicity"],
    }


def summary(ctx: Ctx, data: dict[str, Any]) -> T:
    """The answers, for the person to check before saving."""
    return T(N_("Please check:\n{details}"), details=details(_values(data)))


async def finish(ctx: Ctx, data: dict[str, Any], session_id: str) -> Done:
    """Save the registration (only when the person agreed and confirmed)."""
    if data.get("consent") != "agree":
        return Done([Reply((T(N_(
            "Without agreement the club cannot keep your details, so nothing was saved. "
            "You can register again at any time with /dangky."
        )),))])
    return Done(effects=[Register(data=data, key=session_id)])


@dataclass(frozen=True)
class Register:
    """Effect: create the member, link the chat, keep consent, notify the board."""

    data: dict[str, Any]
    key: str

    async def apply(self, tx: Transaction, ctx: Ctx) -> list[Reply]:
        """Write the member; a repeated key changes nothing."""
        data, values = self.data, _values(self.data)
        club_id = data["club_id"]
        assisted_by = data.get("assisted_by")
        board_code = data.get("invite_role") == "board"
        if assisted_by is not None and (refusal := refused(ctx, BOARD)):
            return refusal
        again = T(N_("Nothing was saved. Type /menu to start again."))
        if values["phone"] and await tx.phone_in_club(club_id, values["phone"]):
            taken = T(N_("This phone number is already registered in the club."))
            return [Reply((taken, again))]
        if "invite_id" in data and not await tx.use_invite(data["invite_id"]):
            used = T(N_("This code has already been used. Please ask the board."))
            return [Reply((used, again))]
        birth_date = values["birth_date"]
        member_id, created = await tx.add_member(
            NewMember(
                club_id=club_id,
                full_name=values["name"],
                sex=values["sex"],
                birth_year=values["birth_year"],
                birth_date=date.fromisoformat(birth_date) if birth_date else None,
                phone=values["phone"],
                village=values["village"],
                household=values["household"],
                ethnicity=values["ethnicity"],
                status="active" if board_code or assisted_by else "pending",
                assisted_by=assisted_by,
                registration_key=self.key,
            ),
            ctx.now,
        )
        if not created:
            return []
        if assisted_by is None:
            await tx.link_identity(ctx.inbound.channel, ctx.inbound.user_id, member_id)
        else:
            await tx.set_member_status(member_id, "active", assisted_by, ctx.now)
        await tx.grant_role(member_id, "member", assisted_by, ctx.now)
        await tx.add_consent(
            Consent(
                member_id=member_id,
                text_version=CONSENT_VERSION,
                given_at=ctx.now,
                channel=ctx.inbound.channel,
                message_id=data.get("consent_message", ""),
                assisted_by=assisted_by,
            )
        )
        club = await tx.get_club(club_id)
        assert club is not None
        if board_code:
            await tx.grant_role(member_id, "chair", None, ctx.now)
            text = N_(
                "Welcome, {name}! You are now the chair of {club}. Type /menu to start: "
                "you can give roles, approve members and create invite codes."
            )
            return [Reply((T(text, name=values["name"], club=club.name),))]
        if assisted_by is not None:
            text = N_("{name} is now a member of {club}.")
            return [Reply((T(text, name=values["name"], club=club.name),))]
        replies = [Reply((T(N_(
            "Thank you, {name}! Your registration was sent to the board of {club}. "
            "I will tell you when it is approved."
        ), name=values["name"], club=club.name),))]
        for board in await tx.members_with_roles(club_id, BOARD):
            replies.append(notify(
                board.id,
                T(N_("New registration waiting for approval: {name}, born {year}, {village}."),
                  name=values["name"], year=values["birth_year"], village=values["village"]),
                choices=(Choice("/duyet", N_("Review now")),),
            ))
        return replies


def _steps() -> tuple[Step, ...]:
    return (
        Step(
            "code",
            N_("Please type the invite code from your club board. Example: K7M2QX9P"),
            parse=lambda text, ctx: clean_code(text),
            validate=check_code,
            skip=lambda ctx, data: "club_id" in data,
        ),
        Step(
            "name",
            _prompt(
                N_("What is your full name? Example: Nguyễn Văn An"),
                N_("What is the person's full name? Example: Nguyễn Thị Bé"),
            ),
            parse=lambda text, ctx: parse_name(text),
            label=N_("Name"),
        ),
        Step(
            "sex",
            _prompt(N_("Are you male or female?"), N_("Is the person male or female?")),
            choices=SEXES,
            label=N_("Sex"),
        ),
        Step(
            "birth",
            _prompt(
                N_("When were you born? Type the year or the date. Example: 1958 or 15/03/1958"),
                N_("When was the person born? Type the year or the date. Example: 1958"),
            ),
            parse=lambda text, ctx: _parse_birth(text, ctx),
            label=N_("Birth"),
        ),
        Step(
            "phone",
            _prompt(
                N_("What is your phone number? Example: 0912 345 678"),
                N_("What is the person's phone number? Example: 0912 345 678"),
            ),
            parse=lambda text, ctx: parse_phone(text),
            choices=lambda ctx, data: _phone_choices(data),
            validate=check_phone,
            ask_contact=True,
            label=N_("Phone"),
        ),
        Step(
            "village",
            _prompt(
                N_("Which village (thôn, bản or khu phố) do you live in? Example: Bản Lốc"),
                N_("Which village does the person live in? Example: Bản Lốc"),
            ),
            parse=_place,
            label=N_("Village"),
        ),
        Step(
            "household",
            _prompt(
                N_("Which best describes your household?"),
                N_("Which best describes the person's household?"),
            ),
            choices=HOUSEHOLDS,
            label=N_("Household"),
        ),
        Step(
            "ethnicity",
            N_("Which ethnic group? Example: Kinh, Thái, Mường. You may skip this."),
            parse=_place,
            choices=SKIP,
            label=N_("Ethnic group"),
        ),
        Step(
            "consent",
            _consent_prompt,
            choices=_consent_choices,
            validate=note_consent,
            next=lambda data: CONFIRM if data["consent"] == "agree" else END,
        ),
    )


async def _phone_choices(data: dict[str, Any]) -> tuple[Choice, ...]:
    return NO_PHONE if _assisted(data) else ()


STEPS = _steps()

REGISTER = Flow(
    id="register",
    command="dangky",
    title=N_("Join the club"),
    steps=STEPS,
    who="guest",
    begin=begin,
    summary=summary,
    finish=finish,
    aliases=("start", "dang ky"),
    typed=looks_like_code,
    refusal=N_("You are already registered."),
)

REGISTER_ASSISTED = Flow(
    id="register_assisted",
    command="dangkyho",
    title=N_("Register someone without a phone"),
    steps=STEPS[1:],
    roles=BOARD,
    begin=begin_assisted,
    summary=summary,
    finish=finish,
    aliases=("dang ky ho",),
)
