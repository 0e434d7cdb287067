"""An answer means what was shown: /xacnhan read against the list on the person's screen.

Reports 1, 2 and 3 are listed; another board member decides report 1 meanwhile. Typing "2"
then means report 2 (not the second of the list as it is now), and report 1 is "gone".
"""

from __future__ import annotations

from tests.test_fund_flows import SAVE, report, vnd
from tests.test_fund_flows import lent as lent  # the fixture
from tests.test_roles import club as club  # the fixture
from tests.test_roles import give_role

GONE = "Mục đó không còn nữa (có thể người khác vừa xử lý xong). Đây là danh sách hiện giờ ạ."


async def three_reports(lent) -> list[str]:
    """Hoa (made treasurer) reports three payments; the chair opens /xacnhan."""
    await give_role(lent.chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Thủ quỹ")
    await lent.chair.pick(SAVE)
    for amount in ("100k", "200k", "300k"):
        await report(lent.hoa, amount)
        await lent.hoa.pick(SAVE)
    lent.chair.unread()
    lent.hoa.unread()
    reply = await lent.chair.say("/xacnhan")
    labels = [f"Mồng Thị Hoa: {vnd(n)} ngày 28/11/2026" for n in (100_000, 200_000, 300_000)]
    assert reply.labels[:3] == labels, reply.labels
    # Meanwhile Hoa, now treasurer too, confirms the first report herself.
    await lent.hoa.say("/xacnhan")
    await lent.hoa.pick(labels[0])
    await lent.hoa.pick("Đã nhận tiền, xác nhận")
    return labels


async def test_a_typed_number_means_the_report_that_was_shown(chat, lent):
    await three_reports(lent)
    reply = await lent.chair.say("2")
    assert f"Mồng Thị Hoa báo đã trả {vnd(200_000)}" in reply.text, reply.text


async def test_a_report_decided_meanwhile_is_gone_and_the_list_is_shown_again(chat, lent):
    labels = await three_reports(lent)
    reply = await lent.chair.say("1")
    assert reply.text.startswith(GONE), reply.text
    assert reply.labels[:2] == labels[1:], reply.labels
    reply = await lent.chair.say("1")  # the fresh list: 1 is now the 200k report
    assert f"Mồng Thị Hoa báo đã trả {vnd(200_000)}" in reply.text, reply.text


async def test_a_typed_amount_picks_its_report(chat, lent):
    await three_reports(lent)
    reply = await lent.chair.say("300k")
    assert f"Mồng Thị Hoa báo đã trả {vnd(300_000)}" in reply.text, reply.text
