"""The registration flow written the conventional way, for comparison in ``bench.registration``.

python-telegram-bot's ``ConversationHandler`` keeps the dialogue state, ``PicklePersistence``
keeps state and data in a pickle file, flushed every 60 s (PTB's default) and at shutdown:
not durable per update, and a crash re-runs or loses up to a minute of steps. Updates are
processed one at a time (PTB's default, which ``ConversationHandler`` expects).

Same ten steps, same questions and keyboards and the same forgiving parsers as ishc-bot.

Environment: ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_URL`` (the fake server on loopback),
``BENCH_PICKLE`` (the pickle file), ``BENCH_CODE`` (the valid invite code).
"""

from __future__ import annotations

import logging
import os
import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.i18n import gettext
from bot.parsers import (
    ParseError,
    parse_birth,
    parse_choice,
    parse_name,
    parse_phone,
    parse_text,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NAME, SEX, BIRTH, PHONE, VILLAGE, HOUSEHOLD, ETHNICITY, CONSENT, CONFIRM = range(9)

SEXES = (("female", "Nữ", ("nu", "ba", "gai")), ("male", "Nam", ("nam", "ong", "trai")))
HOUSEHOLDS = (
    ("poor", "Hộ nghèo", ("ngheo", "ho ngheo")),
    ("near_poor", "Hộ cận nghèo", ("can ngheo", "ho can ngheo")),
    ("hardship", "Khó khăn", ("kho khan",)),
    ("ordinary", "Bình thường", ("binh thuong", "khong")),
)
SKIP = (("skip", "Bỏ qua", ("bo qua", "khong")),)
AGREE = (
    ("agree", "Tôi đồng ý", ("dong y", "co", "u", "1")),
    ("disagree", "Tôi không đồng ý", ("khong dong y", "khong", "ko", "2")),
)
CONFIRMS = (
    ("yes", "Đúng, lưu lại", ("dung", "co", "ok", "luu")),
    ("edit", "Sửa lại", ("sua",)),
    ("no", "Hủy", ("huy",)),
)
ASK_NAME = "Bác cho biết họ và tên đầy đủ. Ví dụ: Nguyễn Văn An"
ASK_SEX = "Bác là nam hay nữ?"
ASK_BIRTH = "Bác sinh năm nào? Gõ năm hoặc ngày sinh. Ví dụ: 1958 hoặc 15/03/1958"
ASK_PHONE = "Số điện thoại của bác là gì? Ví dụ: 0912 345 678"
ASK_VILLAGE = "Bác ở thôn, bản hay khu phố nào? Ví dụ: Bản Lốc"
ASK_HOUSEHOLD = "Gia đình bác thuộc diện nào?"
ASK_ETHNICITY = "Dân tộc gì ạ? Ví dụ: Kinh, Thái, Mường. Bác có thể bỏ qua câu này."
ASK_CONSENT = (
    "Trước khi lưu, xin bác đọc kỹ:\n"
    "Câu lạc bộ sẽ lưu: họ tên, giới tính, ngày sinh, số điện thoại, thôn bản và hoàn cảnh gia "
    "đình của bác; sau này có thêm chỉ số huyết áp, khoản vay và trả nợ, và các lần thăm hỏi "
    "chăm sóc tại nhà.\n"
    "Để làm gì: để quản lý quỹ quay vòng, khám sức khỏe, chăm sóc tại nhà và nhắc lịch cho bác.\n"
    "Ai được xem: ban chủ nhiệm, thủ quỹ và tình nguyện viên khi làm việc; Hội Người cao tuổi chỉ "
    "nhận số liệu tổng hợp không ghi tên. Thông tin sức khỏe và vay vốn là dữ liệu nhạy cảm, "
    "không bao giờ đưa lên nhóm chat.\n"
    "Quyền của bác: xem dữ liệu bất cứ lúc nào bằng /dulieu, đề nghị sửa, rút lại sự đồng ý, "
    "hoặc đề nghị xóa bằng /xoadulieu (sổ vay vốn vẫn được giữ theo quy định sổ sách của quỹ)."
    "\n\nBác có đồng ý không?"
)
ASK_CONFIRM = "Thông tin trên đã đúng chưa ạ?"
BAD_CODE = "Mã này không đúng hoặc đã hết hạn. Bác hỏi lại ban chủ nhiệm giúp tôi nhé."
STOPPED = "Đã dừng. Chưa lưu gì cả."
DUPLICATE_PHONE = "Số điện thoại này đã đăng ký trong câu lạc bộ."

Options = tuple[tuple[str, str, tuple[str, ...]], ...]


def _keyboard(options: Options, step: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{step}|{key}")] for key, label, _ in options]
    )


def _pick(update: Update, options: Options, step: str) -> str:
    """The chosen key: a tapped button or a typed answer (number, label, accents optional)."""
    query = update.callback_query
    if query is not None:
        prefix, _, key = (query.data or "").partition("|")
        if prefix == step and key in {k for k, _, _ in options}:
            return key
        raise ParseError("Bác chọn một trong các nút ở trên.")
    text = update.effective_message.text or ""
    return parse_choice(text, [(key, (label, *words)) for key, label, words in options])


async def _say(update: Update, text: str, markup: object | None = None) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await update.effective_chat.send_message(text, reply_markup=markup)


async def _retry(update: Update, error: ParseError) -> None:
    await _say(update, gettext(error.message, "vi", **error.params))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    code = "".join(context.args or []).strip().upper()
    if code not in context.bot_data.setdefault("codes", set()):
        await _say(update, BAD_CODE)
        return ConversationHandler.END
    context.user_data["registration"] = {"code": code}
    await _say(update, ASK_NAME)
    return NAME


async def name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        context.user_data["registration"]["name"] = parse_name(update.message.text)
    except ParseError as error:
        await _retry(update, error)
        return NAME
    await _say(update, ASK_SEX, _keyboard(SEXES, "sex"))
    return SEX


async def sex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        context.user_data["registration"]["sex"] = _pick(update, SEXES, "sex")
    except ParseError as error:
        await _retry(update, error)
        return SEX
    await _say(update, ASK_BIRTH)
    return BIRTH


async def birth(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    today = datetime.now(UTC).astimezone(TZ).date()
    try:
        year, day = parse_birth(update.message.text, today)
    except ParseError as error:
        await _retry(update, error)
        return BIRTH
    context.user_data["registration"]["birth"] = (year, day)
    button = KeyboardButton("Gửi số điện thoại của tôi", request_contact=True)
    await _say(
        update,
        ASK_PHONE,
        ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True),
    )
    return PHONE


async def phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    message = update.message
    text = message.contact.phone_number if message.contact else message.text
    try:
        number = parse_phone(text)
    except ParseError as error:
        await _retry(update, error)
        return PHONE
    if number in context.bot_data.setdefault("phones", set()):
        await _say(update, DUPLICATE_PHONE)
        return PHONE
    context.user_data["registration"]["phone"] = number
    await _say(update, ASK_VILLAGE, ReplyKeyboardRemove())
    return VILLAGE


def _place(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in parse_text(text, max_len=60).split())


async def village(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        context.user_data["registration"]["village"] = _place(update.message.text)
    except ParseError as error:
        await _retry(update, error)
        return VILLAGE
    await _say(update, ASK_HOUSEHOLD, _keyboard(HOUSEHOLDS, "household"))
    return HOUSEHOLD


async def household(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        context.user_data["registration"]["household"] = _pick(update, HOUSEHOLDS, "household")
    except ParseError as error:
        await _retry(update, error)
        return HOUSEHOLD
    await _say(update, ASK_ETHNICITY, _keyboard(SKIP, "ethnicity"))
    return ETHNICITY


async def ethnicity(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        try:
            value = _pick(update, SKIP, "ethnicity")
        except ParseError:
            if update.callback_query is not None:
                raise
            value = _place(update.message.text)
    except ParseError as error:
        await _retry(update, error)
        return ETHNICITY
    context.user_data["registration"]["ethnicity"] = None if value == "skip" else value
    await _say(update, ASK_CONSENT, _keyboard(AGREE, "consent"))
    return CONSENT


def _summary(data: dict) -> str:
    year, day = data["birth"]
    labels = {key: label for key, label, _ in (*SEXES, *HOUSEHOLDS)}
    return (
        "Bác xem lại giúp tôi:\n"
        f"Họ tên: {data['name']}\n"
        f"Giới tính: {labels[data['sex']]}\n"
        f"Sinh: {day.strftime('%d/%m/%Y') if day else year}\n"
        f"Điện thoại: {data['phone']}\n"
        f"Thôn/bản: {data['village']}\n"
        f"Hoàn cảnh: {labels[data['household']]}\n"
        f"Dân tộc: {data['ethnicity'] or 'không nêu'}\n"
        f"{ASK_CONFIRM}"
    )


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        answer = _pick(update, AGREE, "consent")
    except ParseError as error:
        await _retry(update, error)
        return CONSENT
    if answer != "agree":
        context.user_data.pop("registration", None)
        await _say(update, "Không có sự đồng ý thì câu lạc bộ không lưu được, chưa lưu gì cả.")
        return ConversationHandler.END
    data = context.user_data["registration"]
    data["consent_at"] = datetime.now(UTC).isoformat()
    data["consent_message"] = update.effective_message.message_id
    await _say(update, _summary(data), _keyboard(CONFIRMS, "confirm"))
    return CONFIRM


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        answer = _pick(update, CONFIRMS, "confirm")
    except ParseError as error:
        await _retry(update, error)
        return CONFIRM
    data = context.user_data.pop("registration")
    if answer != "yes":
        await _say(update, STOPPED)
        return ConversationHandler.END
    phones = context.bot_data.setdefault("phones", set())
    if data["phone"] in phones:
        await _say(update, DUPLICATE_PHONE)
        return ConversationHandler.END
    phones.add(data["phone"])
    data["user_id"] = update.effective_user.id
    data["status"] = "pending"
    context.bot_data.setdefault("members", []).append(data)
    context.user_data["member"] = data
    await _say(
        update,
        f"Cảm ơn bác {data['name']}! Đăng ký của bác đã được gửi tới ban chủ nhiệm "
        "CLB bench. Khi được duyệt tôi sẽ báo bác.",
    )
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.pop("registration", None)
    await _say(update, STOPPED)
    return ConversationHandler.END


def _text(callback: object) -> MessageHandler:
    return MessageHandler(filters.TEXT & ~filters.COMMAND, callback)  # type: ignore[arg-type]


def _choice(callback: object, step: str) -> list:
    return [_text(callback), CallbackQueryHandler(callback, pattern=f"^{step}\\|")]  # type: ignore[arg-type]


def build(token: str, base_url: str, pickle_path: str, code: str) -> Application:
    warnings.filterwarnings("ignore", category=PTBUserWarning)  # per_message advice
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            NAME: [_text(name)],
            SEX: _choice(sex, "sex"),
            BIRTH: [_text(birth)],
            PHONE: [MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.CONTACT, phone)],
            VILLAGE: [_text(village)],
            HOUSEHOLD: _choice(household, "household"),
            ETHNICITY: _choice(ethnicity, "ethnicity"),
            CONSENT: _choice(consent, "consent"),
            CONFIRM: _choice(confirm, "confirm"),
        },
        fallbacks=[CommandHandler("huy", cancel)],
        name="registration",
        persistent=True,
    )
    app = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .persistence(PicklePersistence(pickle_path))
        .build()
    )
    app.add_handler(conversation)

    async def post_init(application: Application) -> None:
        application.bot_data.setdefault("codes", set()).add(code)

    app.post_init = post_init
    return app


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app = build(
        os.environ["TELEGRAM_BOT_TOKEN"],
        os.environ["TELEGRAM_API_URL"],
        os.environ["BENCH_PICKLE"],
        os.environ["BENCH_CODE"],
    )
    app.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main()
