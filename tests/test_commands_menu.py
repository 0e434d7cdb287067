"""Telegram's "/" menu per person: the Vietnamese commands their roles allow, set with
``setMyCommands`` scoped to their chat, only when it changes, and again when their roles do.
The guests' menu is the default one (set once), so a newcomer's chat needs no call."""

from __future__ import annotations

from bot.handlers.commands import FIRST, LAST
from tests.test_roles import approve, give_role, join_as_chair, register

CHAIR_ONLY = "vaitro"
TREASURER = "xacnhan"


async def menu(chat, person) -> list[str]:
    """The commands set for a person's chat, once every menu being set is set."""
    await chat.channel.menus_idle()
    return chat.fake.menu_of(person.user_id)


def set_calls(fake, chat_id: int | None) -> list[dict]:
    """The setMyCommands calls for one chat (``None``: for the default menu)."""
    return [params for method, params in fake.calls
            if method == "setmycommands" and params["scope"].get("chat_id") == chat_id]


async def test_each_person_gets_the_commands_of_their_roles_and_a_role_change_updates_it(
    telegram_chat,
):
    fake = telegram_chat.fake
    info = await telegram_chat.bot.new_club()
    newcomer = telegram_chat.person("Khách")
    await newcomer.say("xin chào")
    guest_menu = await menu(telegram_chat, newcomer)
    assert guest_menu[0] == "menu" and guest_menu[-2:] == ["huy", "trogiup"]
    assert CHAIR_ONLY not in guest_menu and "vayvon" not in guest_menu
    # The guests' menu is the default one: set once, and no call for the newcomer's chat.
    assert [c["command"] for c in fake.commands[("default", None)]] == guest_menu
    assert set_calls(fake, newcomer.user_id) == []
    other = telegram_chat.person("Khách hai")
    await other.say("chào")
    assert await menu(telegram_chat, other) == guest_menu
    assert set_calls(fake, other.user_id) == [] and len(set_calls(fake, None)) == 1

    chair = await join_as_chair(telegram_chat, info)
    assert CHAIR_ONLY in await menu(telegram_chat, chair)
    described = {c["command"]: c["description"]
                 for c in fake.commands[("chat", chair.user_id)]}
    assert described["menu"] == "Xem mọi việc bác làm được"
    assert described["vaitro"] == "Giao hoặc thôi giao vai trò"
    assert described["huy"] == "Dừng việc đang làm, không lưu"

    hoa, _ = await register(telegram_chat, info["member_code"], "Mồng Thị Hoa", "0987 654 321")
    pending = await menu(telegram_chat, hoa)
    assert "vayvon" not in pending  # waiting for approval
    await approve(chair, "Mồng Thị Hoa (1958, Bản Na Công)")  # Hoa sends nothing meanwhile
    member_menu = await menu(telegram_chat, hoa)
    assert "vayvon" in member_menu and TREASURER not in member_menu
    assert CHAIR_ONLY not in member_menu

    calls = len(set_calls(fake, hoa.user_id))
    await hoa.say("/menu")
    await hoa.say("/vay")
    await menu(telegram_chat, hoa)
    assert len(set_calls(fake, hoa.user_id)) == calls  # unchanged: not set again

    await give_role(chair, "Mồng Thị Hoa (1958, Bản Na Công)", "Thủ quỹ")
    await chair.pick("Đúng, lưu lại")
    assert TREASURER in await menu(telegram_chat, hoa)  # at once, without Hoa writing
    assert len(set_calls(fake, hoa.user_id)) == calls + 1
    assert CHAIR_ONLY not in await menu(telegram_chat, hoa)
    # Only the guests' menu is everybody's: a member's commands never are.
    assert "vayvon" not in [c["command"] for c in fake.commands[("default", None)]]
    assert len(set_calls(fake, None)) == 1


async def test_a_failed_menu_is_retried_and_never_stops_the_replies(telegram_chat):
    fake = telegram_chat.fake
    await telegram_chat.bot.new_club()
    person = telegram_chat.person("Khách")
    telegram_chat.channel.menu_backoff = 0.01
    fake.fail_next("setMyCommands", status=502)
    reply = await person.say("xin chào")
    assert "Bác muốn làm gì ạ?" in reply.text  # the reply does not wait for the menu
    assert (await menu(telegram_chat, person))[0] == "menu"
    assert len(set_calls(fake, None)) == 2  # the default (guests') menu, failed then set


async def test_the_menu_is_in_the_persons_language(telegram_chat):
    fake = telegram_chat.fake
    info = await telegram_chat.bot.new_club()
    chair = await join_as_chair(telegram_chat, info)
    await menu(telegram_chat, chair)
    described = {c["command"]: c["description"] for c in fake.commands[("chat", chair.user_id)]}
    assert described["trogiup"] == "Trợ giúp"
    assert [c.key for c in FIRST] == ["menu"] and [c.key for c in LAST] == ["huy", "trogiup"]
    await chair.say("/ngonngu")
    await chair.pick("Tiếng Anh (English)")
    await menu(telegram_chat, chair)
    described = {c["command"]: c["description"] for c in fake.commands[("chat", chair.user_id)]}
    assert described["trogiup"] == "Help"
    assert described["vaitro"] == "Give or take roles"


async def test_text_channels_get_no_menu(chat):
    await chat.bot.new_club()
    person = chat.person("Khách")
    await person.say("xin chào")
    rows = await chat.bot.rows("SELECT key FROM meta WHERE key LIKE 'commands:%'")
    if chat.kind == "telegram":
        await chat.channel.menus_idle()
        rows = await chat.bot.rows("SELECT key FROM meta WHERE key LIKE 'commands:%'")
        assert rows == [{"key": "commands:telegram:"}]  # the default menu: the guests'
        await person.say("/ngonngu")
        await person.pick("Tiếng Anh (English)")
        await chat.channel.menus_idle()
        rows = await chat.bot.rows("SELECT key FROM meta WHERE key LIKE 'commands:%' "
                                   "ORDER BY key")
        assert rows == [{"key": "commands:telegram:"},
                        {"key": f"commands:telegram:{person.user_id}"}]  # a menu in English
    else:  # Zalo and the terminal have no command menu
        assert rows == []
