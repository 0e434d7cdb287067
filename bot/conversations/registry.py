"""The flows the bot offers, in menu order."""

from __future__ import annotations

from bot.conversations.alert_ack import ALERT_ACK
from bot.conversations.approval import APPROVE
from bot.conversations.association_link import ASSOCIATION_LINK
from bot.conversations.attendance import ATTENDANCE
from bot.conversations.blood_pressure import BLOOD_PRESSURE
from bot.conversations.care import CARE
from bot.conversations.channel_choice import CHANNEL_CHOICE
from bot.conversations.clients import CLIENTS
from bot.conversations.contribution import CONTRIBUTE
from bot.conversations.data_export import DATA_EXPORT
from bot.conversations.disbursement import CARRIED_LOAN, GIVE_LOAN
from bot.conversations.erase import ERASE
from bot.conversations.erasure import ERASURE
from bot.conversations.fund_summary import FUND
from bot.conversations.health_view import HEALTH
from bot.conversations.invite_code import INVITE_CODE
from bot.conversations.language import LANGUAGE
from bot.conversations.linking import LINKING
from bot.conversations.loan_request import ASK_LOAN
from bot.conversations.loan_review import REVIEW_LOANS
from bot.conversations.loan_rules import LOAN_RULES
from bot.conversations.meeting_schedule import MEETING_SCHEDULE
from bot.conversations.members import MEMBERS
from bot.conversations.monthly_report import MONTHLY_REPORT
from bot.conversations.my_data import MY_DATA
from bot.conversations.my_loans import MY_LOANS
from bot.conversations.overdue import OVERDUE
from bot.conversations.payment_confirm import CONFIRM_PAYMENTS
from bot.conversations.registration import REGISTER, REGISTER_ASSISTED
from bot.conversations.reminder_pause import REMINDERS
from bot.conversations.repayment import COLLECT_PAYMENT, REPORT_PAYMENT
from bot.conversations.reversal import CORRECT
from bot.conversations.roles import ROLES
from bot.conversations.visit import VISIT
from bot.engine import Flow

FLOWS: tuple[Flow, ...] = (
    REGISTER,
    # Health: every member, every month; volunteers' home visits
    BLOOD_PRESSURE,
    HEALTH,
    VISIT,
    CLIENTS,
    ALERT_ACK,
    # Meetings: the schedule for everyone, attendance for the board
    MEETING_SCHEDULE,
    ATTENDANCE,
    # The revolving fund: members first, then the treasurer's daily work, then the rest.
    MY_LOANS,
    REPORT_PAYMENT,
    ASK_LOAN,
    CONFIRM_PAYMENTS,
    COLLECT_PAYMENT,
    GIVE_LOAN,
    REVIEW_LOANS,
    FUND,
    OVERDUE,
    CONTRIBUTE,
    # The club
    APPROVE,
    MEMBERS,
    MONTHLY_REPORT,
    DATA_EXPORT,
    REGISTER_ASSISTED,
    ROLES,
    CARE,
    INVITE_CODE,
    LOAN_RULES,
    CARRIED_LOAN,
    CORRECT,
    # The member's own account
    REMINDERS,
    MY_DATA,
    ERASURE,
    ERASE,
    LINKING,
    ASSOCIATION_LINK,
    CHANNEL_CHOICE,
    LANGUAGE,
)
