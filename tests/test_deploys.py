"""A deploy between two messages, through the service on every channel: a conversation whose
flow changed shape starts again politely, one whose flow did not goes on."""

from __future__ import annotations

from dataclasses import replace

from bot.conversations.loan_request import ASK_LOAN
from bot.conversations.registry import FLOWS
from bot.engine import Flow, Step, revision
from tests.test_roles import club as club  # the fixture

RESTART = "Câu hỏi đã thay đổi, mình bắt đầu lại nhé bác."
ASK_AMOUNT = "Bác muốn vay bao nhiêu tiền ạ?"
MENU = "Bác muốn làm gì ạ?"
SEND = "Đúng, gửi yêu cầu"  # a loan request is sent, not saved

amount, purpose, _other = ASK_LOAN.steps
ASK_LOAN_WITH_MONTHS = replace(  # a step inserted between the two questions
    ASK_LOAN, steps=(amount, Step("months", "Bác muốn vay trong mấy tháng ạ?"), purpose)
)


def with_flow(flow: Flow) -> list[Flow]:
    """The bot's flows with ``flow`` in place of the one of the same id."""
    return [flow if f.id == flow.id else f for f in FLOWS]


async def conversation(chat, person) -> list[dict]:
    return await chat.bot.rows(
        "SELECT s.flow_id, s.step_id, s.revision FROM sessions s JOIN identities i "
        "ON i.channel = s.channel AND i.chat_id = s.chat_id WHERE i.user_id = ?",
        str(person.user_id),
    )


async def at_purpose(chat, hoa) -> None:
    """Hoa asks for a loan of 8tr; the bot asks what it is for."""
    assert ASK_AMOUNT in (await hoa.say("/vayvon")).text
    reply = await hoa.say("8tr")
    assert "Lợn" in reply.labels
    assert await conversation(chat, hoa) == [
        {"flow_id": "ask_loan", "step_id": "purpose", "revision": revision(ASK_LOAN)}
    ]


async def test_a_changed_flow_starts_again_with_a_polite_note(chat, club):
    hoa = club.hoa
    await at_purpose(chat, hoa)
    chat.bot.deploy(with_flow(ASK_LOAN_WITH_MONTHS))
    before = len(hoa.messages)
    reply = await hoa.pick("Lợn")  # the answer to the old question: tapped or typed
    assert len(hoa.messages) == before + 1  # one message: the note and the first question
    assert reply.text.startswith(f"{RESTART}\n\n{ASK_AMOUNT}")
    assert await conversation(chat, hoa) == [
        {"flow_id": "ask_loan", "step_id": "amount", "revision": revision(ASK_LOAN_WITH_MONTHS)}
    ]
    assert await chat.bot.rows("SELECT id FROM loan_requests") == []

    assert "mấy tháng" in (await hoa.say("9tr")).text  # the new question
    assert "Lợn" in (await hoa.say("6")).labels
    reply = await hoa.pick("Lợn")
    assert "Bác xin vay 9.000.000" in reply.text and "mục đích: Lợn" in reply.text
    await hoa.pick(SEND)
    rows = await chat.bot.rows("SELECT amount, purpose, status FROM loan_requests")
    assert rows == [{"amount": 9_000_000, "purpose": "pig", "status": "pending"}]


async def test_an_unchanged_flow_goes_on_after_a_deploy(chat, club):
    hoa = club.hoa
    await at_purpose(chat, hoa)
    reworded = replace(purpose, prompt="Bác vay để làm gì ạ? (lời mới)")
    chat.bot.deploy(with_flow(replace(ASK_LOAN, steps=(amount, reworded, _other))))
    reply = await hoa.pick("Lợn")
    assert RESTART not in reply.text
    assert "Bác xin vay 8.000.000" in reply.text and "mục đích: Lợn" in reply.text
    await hoa.pick(SEND)
    rows = await chat.bot.rows("SELECT amount, purpose FROM loan_requests")
    assert rows == [{"amount": 8_000_000, "purpose": "pig"}]


async def test_conversations_saved_before_revisions_go_on_and_a_removed_flow_shows_the_menu(
    chat, club
):
    hoa = club.hoa
    await at_purpose(chat, hoa)
    await chat.bot.rows("UPDATE sessions SET revision = ''")  # as migration 0013 leaves them
    chat.bot.deploy(with_flow(ASK_LOAN_WITH_MONTHS))
    reply = await hoa.pick("Lợn")  # its step still exists: the first deploy disrupts nobody
    assert RESTART not in reply.text and "mục đích: Lợn" in reply.text
    assert await conversation(chat, hoa) == [
        {"flow_id": "ask_loan", "step_id": "_confirm",
         "revision": revision(ASK_LOAN_WITH_MONTHS)}
    ]

    chat.bot.deploy([f for f in FLOWS if f.id != "ask_loan"])
    reply = await hoa.pick(SEND)
    assert reply.text.startswith(RESTART)
    assert MENU in reply.text
    assert await conversation(chat, hoa) == [{"flow_id": "_menu", "step_id": "pick",
                                              "revision": ""}]
    assert await chat.bot.rows("SELECT id FROM loan_requests") == []
