"""Round trips to PostgreSQL per update: the registration dialogue through the real service.

The robust figure behind the PostgreSQL throughput (a process's write transactions take
turns, so one process is bound by its round trips). The service runs in this process on a
database of the test cluster (``tests.postgres``; durability does not change the count);
every exchange asyncpg makes with the server on the storage's pooled connections is counted
(statements, prepares, ``BEGIN``/``SAVEPOINT``/``COMMIT``). Two loads of the ten-message
registration (``bench.registration.dialogue``): one update at a time (each alone in its
transaction), then ``PEOPLE`` chats at once (each step a polling batch, as group commit
sees it). Replies are queued, not delivered (no sender), so recording deliveries is left
out.

Usage: ``python -m bench.pg_roundtrips [PEOPLE]`` (default 20).
"""

from __future__ import annotations

import asyncio
import collections
import sys
import tempfile
from pathlib import Path
from typing import Any

import storage.postgres as pg
from bench.registration import dialogue
from bot.messages import Inbound
from tests.harness import Bot

COUNTS: collections.Counter[str] = collections.Counter()
EXCHANGES = {"prepare", "bind_execute", "bind_execute_many", "query", "bind", "execute",
             "close_statement"}  # asyncpg's protocol methods: one round trip each


class Counting:
    """A connection's protocol, counting the exchanges with the server."""

    def __init__(self, protocol: Any) -> None:
        object.__setattr__(self, "_inner", protocol)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in EXCHANGES or not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            COUNTS[name] += 1
            return value(*args, **kwargs)

        return counted

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)


def count_round_trips() -> None:
    """Count the exchanges of every pooled connection the storage opens from now on."""
    setup = pg._setup

    async def counting(conn: Any) -> None:
        await setup(conn)
        conn._protocol = Counting(conn._protocol)

    pg._setup = counting


async def measure(people: int) -> dict[str, float]:
    """Round trips per update, one at a time and ``people`` chats per batch."""
    Bot.backend = "postgres"
    bot = Bot(Path(tempfile.mkdtemp(prefix="ishc-roundtrips-")) / "db")
    await bot.open()
    code = (await bot.new_club())["member_code"]
    numbers = iter(range(1, 10**9))

    def update(index: int, text: str) -> Inbound:
        user = str(10_000 + index)
        return Inbound(channel="telegram", user_id=user, chat_id=user,
                       external_id=f"m{next(numbers)}", text=text, display_name="Bác")

    figures: dict[str, float] = {}
    try:
        COUNTS.clear()
        for index in range(people):
            for text, _ in dialogue(code, index):
                await bot.service.handle(update(index, text))
        figures["one at a time"] = sum(COUNTS.values()) / (people * 10)
        COUNTS.clear()
        talks = [dialogue(code, index) for index in range(people, 2 * people)]
        for step in range(10):
            batch = [update(people + i, talk[step][0]) for i, talk in enumerate(talks)]
            results = await bot.service.handle_batch(batch)
            assert not any(isinstance(r, BaseException) for r in results), results
        figures[f"{people} chats per batch"] = sum(COUNTS.values()) / (people * 10)
        [row] = await bot.rows("SELECT count(*) AS n FROM members")
        assert row["n"] == 2 * people, f"only {row['n']} of {2 * people} registered"
    finally:
        await bot.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    people = int(args[0]) if args else 20
    count_round_trips()
    for label, value in asyncio.run(measure(people)).items():
        print(f"round trips to PostgreSQL per update, {label}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
