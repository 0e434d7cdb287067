"""The layers stay apart: flows only read, core modules do not reach up into the flows, and
no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from storage.base import READS, ReadOnly
from storage.sqlite import SQLiteTransaction
from tests.harness import Bot

ROOT = Path(__file__).resolve().parent.parent


async def test_flows_get_a_transaction_that_only_reads(tmp_path, text_chat):
    club = await text_chat.bot.new_club()
    async with text_chat.bot.storage.transaction() as tx:
        view = ReadOnly(tx)
        assert (await view.get_club(club["club_id"])).name == "CLB LTHTGN bản Lốc"
        with pytest.raises(AttributeError, match="not a read"):
            view.add_member  # noqa: B018
        with pytest.raises(AttributeError, match="not a read"):
            view.set_meta  # noqa: B018


def test_every_read_exists_on_the_sqlite_transaction():
    assert len(READS) > 60
    assert all(callable(getattr(SQLiteTransaction, name, None)) for name in READS)
    assert "add_member" not in READS and "enqueue" not in READS


async def test_the_service_gives_the_engine_a_read_only_view(tmp_path):
    bot = Bot(tmp_path / "ishc.sqlite3")
    await bot.open()
    try:
        from bot.messages import Inbound

        seen = []
        real = bot.service.engine.advance

        async def advance(session, ctx):
            seen.append(type(ctx.tx))
            return await real(session, ctx)

        bot.service.engine.advance = advance
        await bot.service.handle(Inbound(channel="text", user_id="u", chat_id="u",
                                         external_id="1", text="/menu"))
        assert seen == [ReadOnly]
    finally:
        await bot.close()


def imports(path: Path) -> set[str]:
    """The project modules a file imports at its top level (``if TYPE_CHECKING`` included)."""
    found = set()
    body = ast.parse(path.read_text(encoding="utf-8")).body
    for node in [*body, *(n for b in body if isinstance(b, ast.If) for n in b.body)]:
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.split(".")[0] in ("bot", "storage")}


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    files = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("storage/**/*.py")]
    modules = {module_of(path): path for path in files}
    return {name: {m for m in imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_core_modules_do_not_import_flows():
    allowed = {"bot.app", "bot.cli"}  # the entry points load the registry of flows
    for module, imported in graph().items():
        if module.startswith("bot.conversations") or module in allowed:
            continue
        assert not [m for m in imported if m.startswith("bot.conversations")], module


def test_no_import_cycles():
    edges = graph()
    for package in ("bot", "storage"):  # a package's __init__ re-exports its modules
        edges.pop(package, None)
    edges["bot.outbox"] = set()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycles.append([*path[path.index(nxt):], nxt])
            elif len(path) < 12:
                visit(nxt, [*path, nxt])

    for start in ("bot.service", "bot.exports", "storage.base", "bot.engine", "bot.reminders"):
        visit(start, [start])
    assert cycles == []
