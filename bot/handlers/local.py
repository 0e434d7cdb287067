"""The local terminal chat: the same engine and database, without any chat platform.

Like ``rasa shell``: type as one of the demo people, switch with ``/as NAME`` (chair,
treasurer, volunteer, member, new, or any name for another newcomer). Choices are shown as a
numbered list, as on every text-only channel. A chart is drawn to a PNG file in the temporary
folder, and its path is printed (open it with an image viewer); a file (a report, a data
export) is saved there too. Progress updates are left out, as on other text-only channels.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot import charts
from bot.demo import PERSONAS
from bot.messages import Inbound, OutMessage
from bot.render import as_text, for_typing
from bot.service import Service
from bot.text import fold
from storage.errors import StorageUnavailable


class LocalChannel:
    """Sender and input for the terminal (channel name ``local``).

    Args:
        service: The bot service.
        write: Where bot messages are printed.
    """

    channel = "local"
    rate = 1000.0
    chat_rate = 1000.0

    def __init__(self, service: Service, write: Callable[[str], None] = print) -> None:
        self.service = service
        self.write = write
        self.names = {p.key: p.name for p in PERSONAS}
        self.persona = "chair"
        self._ids = itertools.count(1)

    async def send(self, chat_id: str, message: OutMessage) -> None:
        """Print a message addressed to one of the personas (a chart or file: its path)."""
        if message.replaces:
            return
        message = for_typing(message)  # nothing to tap in a terminal
        who = self.names.get(chat_id, chat_id)
        picture = None
        if message.document is not None:
            async with self.service.storage.transaction() as tx:
                found = await tx.get_media(message.document["token"], self.service.clock())
            if found is None:
                message = replace(
                    message, text=charts.with_note(message.text, message.document_note)
                )
            else:
                saved = await asyncio.to_thread(_save, found[1], message.document["filename"])
                message = replace(message, text=f"{message.text}\n[file: {saved}]")
        if message.chart is not None:
            png = await charts.picture(message.chart)
            if png is None:
                message = replace(
                    message, text=charts.with_note(message.text, message.chart_note)
                )
            else:
                picture = await asyncio.to_thread(_save, png, "chart.png")
        body = as_text(message).replace("\n", "\n    ")
        if picture is not None:
            body = f"[chart: {picture}]\n    {body}"
        self.write(f"  [bot -> {who}]\n    {body}\n")

    def switch(self, name: str) -> str:
        """Become another person; unknown names become new, unregistered people."""
        wanted = fold(name)
        for persona in PERSONAS:
            if wanted in (persona.key, fold(persona.name), *persona.words):
                self.persona = persona.key
                return persona.name
        key = "guest-" + wanted.replace(" ", "-")
        self.names[key] = name.strip()
        self.persona = key
        return name.strip()

    async def say(self, text: str) -> None:
        """Send ``text`` to the bot as the current persona.

        While the database cannot be written, the same message is tried again each second
        (as a platform redelivers it), so it is never lost.
        """
        inbound = Inbound(
            channel=self.channel,
            user_id=self.persona,
            chat_id=self.persona,
            external_id=uuid.uuid4().hex,
            text=text,
            message_id=str(next(self._ids)),
            display_name=self.names.get(self.persona, self.persona),
            locale="vi",
        )
        while True:
            try:
                await self.service.handle(inbound)
                return
            except StorageUnavailable as error:
                self.write(f"  (the database is not available: {error}; trying again...)\n")
                await asyncio.sleep(1.0)


async def repl(channel: LocalChannel, drain: Callable[[], asyncio.Future], banner: str) -> None:
    """Read lines from the terminal until end of input or ``/quit``."""
    loop = asyncio.get_running_loop()
    channel.write(banner)
    while True:
        prompt = f"{channel.names.get(channel.persona, channel.persona)}> "
        try:
            line = await loop.run_in_executor(None, _read, prompt)
        except EOFError:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit", "/thoat"):
            break
        if line.startswith("/as "):
            channel.write(f"  (now typing as {channel.switch(line[4:])})\n")
            continue
        await channel.say(line)
        await drain()


def _save(data: bytes, name: str) -> Path:
    """Write a picture or file to a new file in the temporary folder; return its path."""
    with tempfile.NamedTemporaryFile(prefix="ishc-", suffix="-" + name, delete=False) as file:
        file.write(data)
    return Path(file.name)


def _read(prompt: str) -> str:
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line
