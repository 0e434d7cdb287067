"""/diemdanh asks only about members who had joined by the meeting's day, so the month's
report never counts more present than members. The clock is at Saturday 28/11/2026; the
test club meets on the 15th, so the last meeting is 15/11."""

from __future__ import annotations

from bot import report
from tests.test_health_flows import choose
from tests.test_roles import approve, register
from tests.test_roles import club as club  # the fixture

SAVE = "Đúng, lưu lại"


async def joined_in_october(chat) -> None:
    """The chair and Hoa joined in October (the fixture registers them on 28/11)."""
    async with chat.bot.storage.transaction() as tx:
        await tx._run("UPDATE members SET registered_at = '2026-10-01T01:00:00+00:00', "
                      "approved_at = CASE WHEN approved_at IS NULL THEN NULL ELSE "
                      "'2026-10-01T02:00:00+00:00' END")


async def november(chat, club) -> dict[str, int]:
    async with chat.bot.storage.transaction() as tx:
        return {f.key: f.value for f in await report.monthly(tx, club.info["club_id"],
                                                             "2026-11")}


async def test_members_who_joined_after_the_meeting_are_not_asked_about(chat, club):
    await joined_in_october(chat)
    mai, _ = await register(chat, club.info["member_code"], "Lò Thị Mai", "0977 111 222")
    await approve(club.chair, "Lò Thị Mai (1958, Bản Na Công)")  # on 28/11
    reply = await club.chair.say("/diemdanh")
    assert "Buổi họp Chủ nhật ngày 15/11/2026, những ai đã đến ạ?" in reply.text
    assert reply.labels[:3] == ["Mọi người đều đến", "Mồng Thị Hoa", "Vi Thị Lan"]
    assert "Lò Thị Mai" not in reply.labels
    reply = await choose(chat, club.chair, "Mọi người đều đến")
    assert "Có mặt 2 / vắng 0.\nKhông ai vắng." in reply.text
    reply = await club.chair.pick(SAVE)
    assert reply.text == "Đã lưu điểm danh: có mặt 2 / vắng 0."
    rows = await chat.bot.rows("SELECT m.full_name, a.present FROM attendance a "
                               "JOIN members m ON m.id = a.member_id ORDER BY m.full_name")
    assert rows == [{"full_name": "Mồng Thị Hoa", "present": 1},
                    {"full_name": "Vi Thị Lan", "present": 1}]
    figures = await november(chat, club)
    assert (figures["members"], figures["attended"], figures["joined"]) == (3, 2, 1)

    # On 15/12 Mai had joined: she is asked about.
    chat.bot.clock.advance(days=17)
    reply = await club.chair.say("/diemdanh")
    assert "Buổi họp Thứ Ba ngày 15/12/2026" in reply.text
    assert reply.labels[:4] == ["Mọi người đều đến", "Lò Thị Mai", "Mồng Thị Hoa", "Vi Thị Lan"]
    mai.unread()


async def test_a_club_with_nobody_at_the_last_meeting_has_nothing_to_record(chat, club):
    # Everyone joined on 28/11, after the meeting of 15/11.
    reply = await club.chair.say("/diemdanh")
    assert reply.text == ("Buổi họp Chủ nhật ngày 15/11/2026 chưa có thành viên nào trong câu "
                          "lạc bộ, nên chưa có gì để điểm danh. Bác điểm danh buổi họp sau "
                          "bằng /diemdanh vào ngày họp nhé.")
    assert reply.labels == []
    assert await chat.bot.rows("SELECT COUNT(*) AS n FROM attendance") == [{"n": 0}]
    figures = await november(chat, club)
    assert (figures["members"], figures["attended"]) == (2, 0)
