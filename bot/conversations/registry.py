"""The flows the bot offers, in menu order."""

from __future__ import annotations

from bot.conversations.approval import APPROVE
from bot.conversations.channel_choice import CHANNEL_CHOICE
from bot.conversations.erase import ERASE
from bot.conversations.erasure import ERASURE
from bot.conversations.invite_code import INVITE_CODE
from bot.conversations.language import LANGUAGE
from bot.conversations.linking import LINKING
from bot.conversations.members import MEMBERS
from bot.conversations.my_data import MY_DATA
from bot.conversations.registration import REGISTER, REGISTER_ASSISTED
from bot.conversations.roles import ROLES
from bot.engine import Flow

FLOWS: tuple[Flow, ...] = (
    REGISTER,
    APPROVE,
    MEMBERS,
    REGISTER_ASSISTED,
    ROLES,
    INVITE_CODE,
    MY_DATA,
    ERASURE,
    ERASE,
    LINKING,
    CHANNEL_CHOICE,
    LANGUAGE,
)
