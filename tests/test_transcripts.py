"""Golden transcripts: every flow's full text, as a person sees it, on every channel.

One club is built per channel (text-only, Telegram through the fake Bot API, Zalo through the
fake OA API) and every flow of ``bot/conversations/registry.py`` is driven in order by a script
typed the way a person would: the happy path, and for the key flows a wrong answer asked again
and a "Sửa" (edit) from the summary. Everything each person receives is written down: the
bot's exact text, Telegram's buttons (row by row), edits of earlier messages, pictures and
files. Each flow's transcript is compared exactly with
``tests/transcripts/<flow>.<channel>.txt`` (see ``tests/golden.py``); rewrite them only on
purpose with ``--update-golden`` and review the diff.

Deterministic on purpose: the harness clock stands still (28/11/2026, 09:00 in Vietnam) unless
a script moves it; codes come from a seeded generator and are still shown as placeholders
(``<MÃ-1>``, ``<MÃ LIÊN KẾT-1>``, numbered by first appearance), and loopback links as
``<LINK>``. Scripts build on each other (the club grows as flows run), so they run in order,
one test per channel; a script that stops is written into its transcript and fails the test,
and the others still run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot import association
from bot.association import Area
from bot.conversations.registry import FLOWS
from bot.invites import ALPHABET
from tests.golden import check, updating
from tests.harness import (
    Bot,
    Received,
    _text_choices,
    telegram_harness,
    text_harness,
    zalo_harness,
)

HARNESSES = {"text": text_harness, "telegram": telegram_harness, "zalo": zalo_harness}
SAVE = "Đúng, lưu lại"
CHANNEL_NAMES = {"text": "gõ chữ (local)", "telegram": "Telegram", "zalo": "Zalo"}
_INVITE = re.compile(rf"(?<![A-Za-z0-9])(?=[{ALPHABET}]*\d)[{ALPHABET}]{{8,10}}(?![A-Za-z0-9])")
_LINK_CODE = re.compile(r"(?:/lienket |liên kết của bác: )(\d{6})")
_URL = re.compile(r"https?://127\.0\.0\.1:\d+\S*")


class SeededSecrets:
    """Stands in for :mod:`secrets` in the modules that make codes: the same codes every run."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def choice(self, seq: Any) -> Any:
        return self._random.choice(seq)

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)

    def token_urlsafe(self, nbytes: int = 32) -> str:
        return "".join(self._random.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(nbytes))


class World:
    """One channel's club and a recorder of everything said and received."""

    def __init__(self, chat: Any) -> None:
        self.chat = chat
        self.kind: str = chat.kind
        self.people: dict[str, Any] = {}
        self.lines: list[str] = []
        self.codes: dict[str, str] = {}
        self.club: dict[str, Any] = {}
        self.snapshots: dict[str, int] = {}

    # --- people -------------------------------------------------------------------------------

    def person(self, who: str, name: str | None = None) -> Any:
        """A new person, called ``who`` in the transcript."""
        person = self.chat.person(name or who)
        self.people[who] = person
        return person

    # --- recording ----------------------------------------------------------------------------

    def begin(self, flow_id: str, title: str) -> None:
        self.lines = [
            f"# {title} ({flow_id}): kênh {CHANNEL_NAMES[self.kind]}",
            "# Tệp golden, viết lại bằng --update-golden (xem tests/golden.py).",
            "# Mã mời / mã liên kết / đường link là chỗ giữ chỗ <MÃ-n>, <MÃ LIÊN KẾT-n>, <LINK>.",
            "",
        ]

    def note(self, text: str) -> None:
        """A line for the reader (what happens between messages)."""
        self.lines.append(f"-- {text}")

    def clean(self, text: str) -> str:
        """Replace codes and loopback links with stable placeholders."""
        for found in _LINK_CODE.findall(text):
            self.codes.setdefault(found, f"<MÃ LIÊN KẾT-{self._count('LIÊN KẾT') + 1}>")
        for found in _INVITE.findall(text):
            self.codes.setdefault(found, f"<MÃ-{self._count('MÃ-') + 1}>")
        for code, placeholder in sorted(self.codes.items(), key=lambda kv: -len(kv[0])):
            spaced = f"{code[:3]} {code[3:]}" if code.isdigit() else code.lower()
            text = text.replace(code, placeholder).replace(spaced, placeholder)
        return _URL.sub("<LINK>", text)

    def _count(self, marker: str) -> int:
        return sum(marker in placeholder for placeholder in self.codes.values())

    def _received(self, actor: str) -> dict[str, list[Received]]:
        """What everyone received since the last look: the actor first, then the others."""
        order = [actor, *(who for who in self.people if who != actor)]
        return {who: self.people[who].unread() for who in order}

    def _write(self, received: dict[str, list[Received]]) -> None:
        for who, messages in received.items():
            for message in messages:
                self.lines.extend(self._render(who, message))

    def _render(self, who: str, message: Received) -> list[str]:
        method = getattr(message.raw, "method", "sendMessage")
        edited = " (sửa tin trước)" if method.startswith("edit") else ""
        out = [f"  bot → {who}{edited}:"]
        text = self.clean(message.text)
        out += [f"    | {line}" if line else "    |" for line in text.split("\n")]
        if self.kind == "telegram":
            markup = getattr(message.raw, "reply_markup", None) or {}
            for row in markup.get("inline_keyboard", []):
                out.append("    " + " ".join(f"[{self.clean(b['text'])}]" for b in row))
        if message.photo is not None:
            out.append("    (kèm ảnh biểu đồ)")
        if message.document is not None:
            name = message.document[0] if isinstance(message.document, tuple) else "tệp"
            out.append(f"    (kèm tệp: {self.clean(str(name))})")
        return out

    def last(self, who: str) -> Received:
        """The last message ``who`` received."""
        return self.people[who].messages[-1]

    # --- acting -------------------------------------------------------------------------------

    async def say(self, who: str, text: str) -> Received:
        """``who`` types ``text``; everything anyone receives is written down."""
        self.lines.append(f"{who}: {self.clean(text)}")
        await self.people[who].send(text)
        self._write(self._received(who))
        return self.last(who)

    async def pick(self, who: str, label: str) -> Received:
        """``who`` answers with a shown choice: a tap on Telegram, else its number typed."""
        person = self.people[who]
        if self.kind == "telegram":
            last = person.messages[-1]
            markup = last.raw.reply_markup or {}
            buttons = {b["text"]: b["callback_data"]
                       for row in markup.get("inline_keyboard", []) for b in row}
            if label not in buttons:
                raise AssertionError(f"no button {label!r} in {list(buttons)}")
            self.lines.append(f"{who}: [bấm «{label}»]")
            self.chat.fake.push_callback(person.user_id, buttons[label], message=last.raw.message)
            await self.chat.settle()
            self._write(self._received(who))
            return self.last(who)
        labels, answers = _text_choices(person.messages[-1].text)
        if label not in labels:
            raise AssertionError(f"no choice {label!r} in {labels}")
        typed = answers[labels.index(label)]
        self.lines.append(f"{who}: {typed}   (= «{label}»)")
        await person.send(typed)
        self._write(self._received(who))
        return self.last(who)

    async def choose(self, who: str, *labels: str) -> Received:
        """A "pick several" question: tap each then "Xong" on Telegram, else type the numbers."""
        if self.kind == "telegram":
            reply = self.last(who)
            for label in labels:
                reply = await self.pick(who, label)
            if "Xong" in _labels(reply):
                reply = await self.pick(who, "Xong")
            return reply
        shown, _ = _text_choices(self.last(who).text)
        return await self.say(who, ", ".join(str(shown.index(label) + 1) for label in labels))

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _labels(message: Received) -> list[str]:
    markup = getattr(message.raw, "reply_markup", None) or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


# --- the scripts, in the order they run ----------------------------------------------------------

Script = Callable[[World], Awaitable[None]]
SCRIPTS: list[tuple[str, Script]] = []
HOA = "Mồng Thị Hoa (1958, Bản Na Công)"
MAI = "Lò Thị Mai (1960, Bản Na Công)"


def script(flow_id: str) -> Callable[[Script], Script]:
    """Register a script writing the transcript of ``flow_id``."""

    def register(function: Script) -> Script:
        SCRIPTS.append((flow_id, function))
        return function

    return register


def shown(w: World, who: str) -> list[str]:
    """The choices under the last message ``who`` received (buttons or a numbered list)."""
    message = w.last(who)
    return _labels(message) if w.kind == "telegram" else _text_choices(message.text)[0]


async def answer(w: World, who: str, text: str) -> Received:
    """Pick ``text`` when it is a shown choice, else type it."""
    if text in shown(w, who):
        return await w.pick(who, text)
    return await w.say(who, text)


async def fill_in(w: World, who: str, code: str, name: str, phone: str, birth: str,
                  village: str, sex: str = "Nữ") -> None:
    """``who`` registers with ``code`` up to the summary, every answer typed or picked."""
    await w.say(who, f"/start {code}")
    await w.say(who, name)
    await w.pick(who, sex)
    await w.say(who, birth)
    await w.say(who, phone)
    await w.say(who, village)
    await w.pick(who, "Bình thường")
    await w.pick(who, "Bỏ qua")
    await w.pick(who, "Tôi đồng ý")


@script("register")
async def register_people(w: World) -> None:
    w.note("Lan nhận mã ban chủ nhiệm (mã dùng một lần) và trở thành chủ nhiệm.")
    w.person("Lan", "Vi Thị Lan")
    await fill_in(w, "Lan", w.club["board_code"], "Vi Thị Lan", "0912 000 111", "1956",
                  "Bản Lốc")
    await w.pick("Lan", SAVE)
    w.note("Hoa gõ lời chào, rồi mã mời thành viên; gõ sai tên, sửa số điện thoại ở bản tóm tắt.")
    w.person("Hoa", "Mồng Thị Hoa")
    await w.say("Hoa", "xin chao")
    await w.say("Hoa", w.club["member_code"].lower())
    await w.say("Hoa", "mong thi hoa 2")
    await w.say("Hoa", "Mồng Thị Hoa")
    await w.say("Hoa", "nu")
    await w.say("Hoa", "sinh nam 58")
    await w.say("Hoa", "0912 000 111")
    await w.say("Hoa", "0987 654 320")
    await w.say("Hoa", "Bản Na Công")
    await w.say("Hoa", "can ngheo")
    await w.say("Hoa", "Thái")
    await w.say("Hoa", "dong y")
    await w.pick("Hoa", "Sửa lại")
    await w.pick("Hoa", "Số điện thoại")
    await w.say("Hoa", "0987 654 321")
    await w.pick("Hoa", SAVE)
    w.note("Mai đăng ký với mã mời thành viên.")
    w.person("Mai", "Lò Thị Mai")
    await fill_in(w, "Mai", w.club["member_code"], "Lò Thị Mai", "0977 111 222", "1960",
                  "Bản Na Công")
    await w.pick("Mai", SAVE)


@script("approve")
async def approve_members(w: World) -> None:
    await w.say("Lan", "/duyet")
    await w.pick("Lan", HOA)
    await w.pick("Lan", "Duyệt")
    await w.say("Lan", "/duyet")
    await w.pick("Lan", MAI)
    await w.pick("Lan", "Duyệt")
    await w.say("Lan", "/duyet")


@script("invite_code")
async def new_invite_code(w: World) -> None:
    await w.say("Lan", "/mamoi")


@script("register_assisted")
async def assisted(w: World) -> None:
    await w.say("Lan", "/dangkyho")
    await w.say("Lan", "Lò Văn Páo")
    await w.pick("Lan", "Nam")
    await w.say("Lan", "năm 48")
    await w.say("Lan", "1948")
    await w.pick("Lan", "Không có điện thoại")
    await w.say("Lan", "ban loc")
    await w.pick("Lan", "Hộ nghèo")
    await w.pick("Lan", "Bỏ qua")
    await w.pick("Lan", "Người đó đồng ý")
    await w.pick("Lan", SAVE)


@script("members")
async def member_list(w: World) -> None:
    await w.say("Lan", "/thanhvien")


@script("roles")
async def roles(w: World) -> None:
    w.note("Chủ nhiệm giao cho Mai vai trò tình nguyện viên.")
    await w.say("Lan", "/vaitro")
    await w.pick("Lan", MAI)
    await w.pick("Lan", "Tình nguyện viên")
    await w.pick("Lan", "Giao vai trò này")
    await w.pick("Lan", SAVE)


@script("care")
async def care(w: World) -> None:
    await w.say("Lan", "/phancong")
    await w.pick("Lan", MAI)
    await w.say("Lan", "Hoa")
    await answer(w, "Lan", "Bắt đầu chăm sóc")
    await w.pick("Lan", SAVE)


@script("clients")
async def clients(w: World) -> None:
    await w.say("Mai", "/khachhang")
    await w.say("Lan", "/khachhang")


@script("blood_pressure")
async def blood_pressure(w: World) -> None:
    w.note("Hoa gõ sai, rồi đúng; sửa cân nặng ở bản tóm tắt.")
    await w.say("Hoa", "/huyetap")
    await w.say("Hoa", "85/130")
    await w.say("Hoa", "130/85 72 😊")
    if "Cân nặng" not in w.last("Hoa").text:  # asked again: typed without the emoji
        await w.say("Hoa", "130/85 72")
    await w.say("Hoa", "52,5")
    await w.pick("Hoa", "Sửa lại")
    await answer(w, "Hoa", "Cân nặng")
    await w.say("Hoa", "53")
    await w.pick("Hoa", SAVE)
    w.note("Một số đo nguy hiểm: lời khuyên và báo động.")
    await w.say("Hoa", "/huyetap")
    await w.say("Hoa", "210/125")
    await urgent_steps(w, "Hoa", SAVE)
    w.note("Lại một số đo nguy hiểm, nhưng lần này Hoa chọn Hủy ở bản tóm tắt.")
    await w.say("Hoa", "/huyetap")
    await w.say("Hoa", "205/120")
    await urgent_steps(w, "Hoa", "Hủy")


async def urgent_steps(w: World, who: str, last: str) -> None:
    """After an urgent reading: confirm it, cannot re-measure, no sign, no weight, ``last``."""
    for _ in range(6):
        choices = shown(w, who)
        if last in choices:
            await w.pick(who, last)
            return
        for label in ("Đúng rồi", "Không đo lại được", "Không cân"):
            if label in choices:
                await w.pick(who, label)
                break
        else:
            if "Không có dấu hiệu nào" not in choices:
                raise AssertionError(f"unexpected question: {w.last(who).text}")
            await w.choose(who, "Không có dấu hiệu nào")
    raise AssertionError("the reading never reached its summary")


@script("alert_ack")
async def alert_ack(w: World) -> None:
    w.note("Chủ nhiệm Lan trả lời báo động bằng cách gõ, Hoa được báo là có người đến.")
    await w.say("Lan", "da goi")
    if shown(w, "Lan"):  # two alerts open: the list of whom to answer
        await w.say("Lan", "1")


@script("visit")
async def visit(w: World) -> None:
    await w.say("Mai", "/thamnom")
    await w.say("Mai", "Hoa")  # part of the name; picked from the list if it is asked again
    if HOA in shown(w, "Mai"):
        await w.pick("Mai", HOA)
    for _ in range(8):
        reply = w.last("Mai")
        choices = shown(w, "Mai")
        if SAVE in choices:
            await w.pick("Mai", SAVE)
            break
        if "Đo huyết áp" in choices:
            await w.choose("Mai", "Đo huyết áp")
        elif "Huyết áp" in reply.text and "Ví dụ: 130/85" in reply.text:
            await w.say("Mai", "135/85")
        elif "Không cân" in choices:
            await w.pick("Mai", "Không cân")
        elif "Không có" in choices:
            await w.pick("Mai", "Không có")
        elif "Bỏ qua" in choices:
            await w.pick("Mai", "Bỏ qua")
        elif choices:
            await w.pick("Mai", choices[0])
        else:
            await w.say("Mai", "Bác khỏe, ăn ngủ tốt")


@script("health")
async def health(w: World) -> None:
    await w.say("Hoa", "/suckhoe")
    await w.say("Lan", "/suckhoe")
    await w.pick("Lan", "Thành viên khác")
    await answer(w, "Lan", "Hoa")
    await w.say("Lan", "/suckhoe")
    await w.pick("Lan", "Cả câu lạc bộ")
    await w.say("Mai", "/suckhoe")
    await answer(w, "Mai", HOA)


@script("meeting_schedule")
async def meeting_schedule(w: World) -> None:
    await w.say("Hoa", "/lichhop")
    await w.say("Lan", "/lichhop")
    await w.pick("Lan", "Dời một buổi họp")
    await w.say("Lan", "15/12")  # the date of a listed meeting
    if "15/12/2026 08:00" in shown(w, "Lan"):  # asked again: picked from the list
        await w.pick("Lan", "15/12/2026 08:00")
    for _ in range(6):
        reply = w.last("Lan")
        choices = shown(w, "Lan")
        if SAVE in choices:
            await w.pick("Lan", SAVE)
            break
        if choices and "Giữ nguyên giờ" in choices:
            await w.pick("Lan", "Giữ nguyên giờ")
        elif choices and "Giữ nguyên chỗ" in choices:
            await w.pick("Lan", "Giữ nguyên chỗ")
        elif choices and "ngày" in reply.text.lower() and "buổi" in reply.text:
            await w.pick("Lan", choices[0])
        elif "ngày" in reply.text.lower():
            await w.say("Lan", "18/12")
        elif choices:
            await w.pick("Lan", choices[0])
        else:
            break


@script("attendance")
async def attendance(w: World) -> None:
    await w.say("Lan", "/diemdanh")
    for _ in range(6):
        choices = shown(w, "Lan")
        if SAVE in choices:
            await w.pick("Lan", SAVE)
            break
        if "Mồng Thị Hoa" in " ".join(choices):
            await w.choose("Lan", next(s for s in choices if "Mồng Thị Hoa" in s))
        elif choices:
            await w.pick("Lan", choices[0])
        else:
            break


@script("loan_rules")
async def loan_rules(w: World) -> None:
    await w.say("Lan", "/quyche")
    await w.pick("Lan", "Lãi suất")
    await w.say("Lan", "một phần trăm")
    if SAVE not in shown(w, "Lan"):  # asked again: typed as a number
        await w.say("Lan", "1")
    await w.pick("Lan", SAVE)


@script("contribute")
async def contribute(w: World) -> None:
    await w.say("Lan", "/gopquy")
    await w.pick("Lan", "Tiền khác: vốn hỗ trợ, ủng hộ, tiền quỹ đang có")
    await w.say("Lan", "Dự án hỗ trợ")
    await w.say("Lan", "50tr")
    await w.pick("Lan", "Hôm nay")
    await w.pick("Lan", SAVE)
    await w.say("Lan", "/gopquy")
    choices = shown(w, "Lan")
    await w.pick("Lan", choices[0])
    await answer(w, "Lan", "Hoa")
    await answer(w, "Lan", "50000")
    await answer(w, "Lan", "Hôm nay")
    await w.say("Lan", "dung roi")  # at Đúng / Sửa / Hủy
    if SAVE in shown(w, "Lan"):  # asked again: picked
        await w.pick("Lan", SAVE)


@script("fund")
async def fund_summary(w: World) -> None:
    await w.say("Lan", "/quy")


@script("ask_loan")
async def ask_loan(w: World) -> None:
    await w.say("Hoa", "/vayvon")
    await w.say("Hoa", "muoi trieu")
    if "bao nhiêu tiền" in w.last("Hoa").text:  # asked again: typed in figures
        await w.say("Hoa", "10tr")
    await w.say("Hoa", "mua bo")
    for _ in range(6):
        choices = shown(w, "Hoa")
        if SAVE in choices or "Đúng, gửi đi" in choices:
            await w.pick("Hoa", SAVE if SAVE in choices else "Đúng, gửi đi")
            break
        if "Bò" in choices:
            await w.pick("Hoa", "Bò")
        elif "12 tháng" in choices:
            await w.pick("Hoa", "12 tháng")
        elif choices:
            await w.pick("Hoa", choices[0])
        else:
            await w.say("Hoa", "mua bò giống")


@script("review_loans")
async def review_loans(w: World) -> None:
    await w.say("Lan", "/duyetvay")
    for _ in range(6):
        choices = shown(w, "Lan")
        if SAVE in choices:
            await w.pick("Lan", SAVE)
            break
        if "Đồng ý cho vay" in choices:
            await w.pick("Lan", "Đồng ý cho vay")
        elif "Hôm nay" in choices:
            await w.pick("Lan", "Hôm nay")
        elif choices:
            await w.pick("Lan", choices[0])
        else:
            break


@script("give_loan")
async def give_loan(w: World) -> None:
    await w.say("Lan", "/giaingan")
    await w.say("Lan", "mai")
    await w.say("Lan", "100 ty")
    await w.say("Lan", "5tr")
    await w.pick("Lan", "Lợn")
    await w.pick("Lan", "Hôm nay")
    await w.pick("Lan", "12 tháng")
    await w.pick("Lan", "Sửa lại")
    await answer(w, "Lan", "Số tiền")
    await w.say("Lan", "6tr")
    await answer(w, "Lan", SAVE)


@script("my_loans")
async def my_loans(w: World) -> None:
    await w.say("Hoa", "/vay")


@script("report_payment")
async def report_payment(w: World) -> None:
    await w.say("Hoa", "/trano")
    await answer(w, "Hoa", "500000")
    await w.say("Hoa", "hnay")
    if "Hôm nay" in shown(w, "Hoa"):  # asked again: picked
        await w.pick("Hoa", "Hôm nay")
    await answer(w, "Hoa", SAVE)


@script("confirm_payments")
async def confirm_payments(w: World) -> None:
    await w.say("Lan", "/xacnhan")
    choices = shown(w, "Lan")
    if choices:
        await w.pick("Lan", choices[0])
    await answer(w, "Lan", "Xác nhận")


@script("collect_payment")
async def collect_payment(w: World) -> None:
    await w.say("Lan", "/thutien")
    await w.say("Lan", "mai")
    await answer(w, "Lan", "560.000")
    await answer(w, "Lan", "Hôm nay")
    await answer(w, "Lan", SAVE)


@script("correct_entry")
async def correct_entry(w: World) -> None:
    await w.say("Lan", "/dieuchinh")
    choices = shown(w, "Lan")
    if choices:
        await w.pick("Lan", choices[0])
    await answer(w, "Lan", "Ghi nhầm số tiền")
    await answer(w, "Lan", SAVE)


@script("carried_loan")
async def carried_loan(w: World) -> None:
    await w.say("Lan", "/nhapsovay")
    for typed in ("Páo", "3tr", "Trâu", "15/11", "12 tháng", SAVE):
        await answer(w, "Lan", typed)


@script("overdue")
async def overdue(w: World) -> None:
    await w.say("Lan", "/quahan")


@script("monthly_report")
async def monthly_report(w: World) -> None:
    await w.say("Lan", "/baocao")
    await w.say("Lan", "11/2026")


@script("data_export")
async def data_export(w: World) -> None:
    await w.say("Lan", "/xuatdulieu")
    await w.say("Lan", "pdf")
    await w.say("Lan", "excel")


@script("reminder_pause")
async def reminder_pause(w: World) -> None:
    await w.say("Hoa", "/nhacnho")
    await w.pick("Hoa", "Nhắc lịch họp")
    await w.say("Hoa", "/nhacnho")
    await w.pick("Hoa", "Nhắc lịch họp")


@script("my_data")
async def my_data(w: World) -> None:
    await w.say("Hoa", "/dulieu")


@script("linking")
async def linking(w: World) -> None:
    w.person("Hoa (máy khác)", "Hoa")
    await w.say("Hoa", "/lienket")
    code = w.last("Hoa").text.split(": ", 1)[1][:6]
    await w.say("Hoa (máy khác)", "/lienket 12ab")
    await w.say("Hoa (máy khác)", f"/lienket {code[:3]} {code[3:]}")


@script("channel_choice")
async def channel_choice(w: World) -> None:
    await w.say("Hoa", "/kenh")
    choices = shown(w, "Hoa")
    if choices:
        await w.pick("Hoa", choices[0])


@script("association_link")
async def association_link(w: World) -> None:
    async with w.chat.bot.storage.transaction() as tx:
        given = await association.grant(
            tx, role="association", name="Nguyễn Văn An", area=Area(province="Nghệ An"),
            granted_by="test", now=w.chat.bot.clock())
    w.clean(f"/start {given['code']}")
    w.note("Quản trị viên cấp mã cho cán bộ Hội tỉnh Nghệ An (ishc-bot admin grant).")
    w.person("Cán bộ Hội", "Nguyễn Văn An")
    await w.say("Cán bộ Hội", f"/hoinct {given['code'].lower()}")
    await w.say("Cán bộ Hội", "/baocao")
    await w.pick("Cán bộ Hội", shown(w, "Cán bộ Hội")[0])


@script("language")
async def language(w: World) -> None:
    await w.say("Hoa", "/ngonngu")
    await w.pick("Hoa", "Tiếng Anh (English)")
    await w.say("Hoa", "/menu")
    await w.say("Hoa", "ngon ngu")
    await w.pick("Hoa", "Tiếng Việt")


@script("erasure")
async def erasure(w: World) -> None:
    await w.say("Mai", "/xoadulieu")
    await w.pick("Mai", "Hủy")
    await w.say("Hoa", "/xoadulieu")
    await answer(w, "Hoa", SAVE)


@script("erase")
async def erase(w: World) -> None:
    await w.say("Lan", "/xoa")
    for _ in range(5):
        choices = shown(w, "Lan")
        if SAVE in choices:
            await w.pick("Lan", SAVE)
            break
        if HOA in choices:
            await w.pick("Lan", HOA)
        elif choices:
            await w.pick("Lan", choices[0])
        else:
            break
    await w.say("Hoa", "/dulieu")


# --- the test ----------------------------------------------------------------------------------


def test_every_flow_has_a_script():
    scripted = [flow_id for flow_id, _ in SCRIPTS]
    assert sorted(set(scripted)) == sorted(scripted), "one script per flow"
    assert {flow.id for flow in FLOWS} <= set(scripted), "a flow without a golden transcript"


@pytest.mark.parametrize("kind", [*sorted(HARNESSES), "telegram-postgres"])
async def test_golden_transcripts(kind, tmp_path, monkeypatch, request):
    """Every flow on one channel, each transcript compared with its golden file.

    ``telegram-postgres`` is Telegram again with the service on PostgreSQL: every flow must
    read exactly as on SQLite (the same golden files, never rewritten from this run).
    """
    golden, update = kind, updating(request.config)
    if kind == "telegram-postgres":
        monkeypatch.setattr(Bot, "backend", "postgres")
        kind, update = "telegram", False
    import bot.association
    import bot.conversations.linking
    import bot.exports
    import bot.invites

    seeded = SeededSecrets(13)
    for module in (bot.invites, bot.conversations.linking, bot.association, bot.exports):
        monkeypatch.setattr(module, "secrets", seeded)
    titles = {flow.id: flow.command for flow in FLOWS}
    problems: list[str] = []
    async with HARNESSES[kind](tmp_path) as chat:
        w = World(chat)
        w.club = await chat.bot.new_club()
        for flow_id, run in SCRIPTS:
            w.begin(flow_id, f"/{titles.get(flow_id, flow_id)}")
            try:
                await run(w)
            except Exception as error:  # written down, then the test fails
                w.lines.append(f"!! the script stopped here: {type(error).__name__}: {error}")
                problems.append(f"{flow_id}.{golden}: the script stopped: {error}")
            problem = check(f"{flow_id}.{kind}", w.render(), update)
            if problem:
                problems.append(problem)
    assert not problems, "\n\n".join(problems)


# --- the golden files and the recorder themselves ----------------------------------------------


def test_a_golden_is_compared_exactly_and_written_only_on_purpose(tmp_path, monkeypatch):
    from tests import golden

    monkeypatch.setattr(golden, "TRANSCRIPTS", tmp_path)
    missing = check("flow.text", "a\nb\n", update=False)
    assert missing is not None and "no golden file" in missing and "--update-golden" in missing
    assert not (tmp_path / "flow.text.txt").exists()
    assert check("flow.text", "a\nb\n", update=True) is None
    assert (tmp_path / "flow.text.txt").read_text(encoding="utf-8") == "a\nb\n"
    assert check("flow.text", "a\nb\n", update=False) is None
    differs = check("flow.text", "a\nc\n", update=False)
    assert differs is not None and "-b\n+c\n" in differs and "--update-golden" in differs
    assert (tmp_path / "flow.text.txt").read_text(encoding="utf-8") == "a\nb\n"


def test_codes_and_links_become_stable_placeholders():
    class Chat:
        kind = "zalo"

    w = World(Chat())
    assert w.clean("Mã mời thành viên mới: K7M2QX9P\n/start K7M2QX9P") == (
        "Mã mời thành viên mới: <MÃ-1>\n/start <MÃ-1>")
    assert w.clean("/hoinct k7m2qx9p, /start AB3CDEFGHJ") == "/hoinct <MÃ-1>, /start <MÃ-2>"
    assert w.clean("Mã liên kết của bác: 048213 (dùng trong 10 phút).") == (
        "Mã liên kết của bác: <MÃ LIÊN KẾT-1> (dùng trong 10 phút).")
    assert w.clean("/lienket 048 213") == "/lienket <MÃ LIÊN KẾT-1>"
    assert w.clean("tải tệp: http://127.0.0.1:40123/media/abc?x=1 nhé") == "tải tệp: <LINK> nhé"
    assert w.clean("Trả 1.500.000 ₫, ĐT 0987654321, năm 2026") == (
        "Trả 1.500.000 ₫, ĐT 0987654321, năm 2026")
