"""The local terminal chat: the same engine and database, without any chat platform.

Like ``rasa shell``: type as one of the demo people, switch with ``/as NAME`` (chair,
treasurer, volunteer, member, new, or any name for another newcomer). Choices are shown as a
numbered list, as on every text-only channel. A chart is drawn to a PNG file in the temporary
folder, and its path is printed (open it with an image viewer); a file (a report, a data
export) is saved there too. Progress updates are left out, as on other text-only channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot import charts
from bot.demo import PERSONAS
from bot.i18n import N_, gettext
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

    async def shown_name(self) -> str:
        """Who is typing: their name as registered once they have one, else the persona's."""
        try:
            async with self.service.storage.transaction() as tx:
                found = await tx.identity(self.channel, self.persona)
                member = (await tx.get_member(found.member_id)
                          if found and found.member_id else None)
        except StorageUnavailable:  # a locked database must not end the chat at the prompt
            member = None
        if member is not None and member.status not in ("rejected", "erased"):
            return member.full_name
        return self.names.get(self.persona, self.persona)

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


async def repl(
    channel: LocalChannel,
    drain: Callable[[], asyncio.Future],
    banner: str,
    lines: Lines | None = None,
) -> None:
    """Read lines from the terminal until end of input or ``/quit``.

    The prompt names the person typing (as registered, once they are). Lines are read by a
    daemon thread (:class:`Lines`), so Ctrl-C ends the chat at once even while it waits for
    a line: nothing waits for Enter.
    """
    lines = lines or Lines()
    channel.write(banner)
    while True:
        _prompt(f"{await channel.shown_name()}> ")
        line = await lines.next()
        if line is None:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit", "/thoat"):
            break
        if line.startswith("/as "):
            channel.switch(line[4:])
            name = await channel.shown_name()
            channel.write(f"  {gettext(N_('(now typing as {name})'), name=name)}\n")
            continue
        await channel.say(line)
        await drain()


class Lines:
    """The lines typed in the terminal, read by a daemon thread.

    The thread reads the file descriptor with ``os.read`` (no buffered object, so no lock is
    held), and a process leaving does not wait for it: Ctrl-C never waits for Enter.

    Args:
        fd: The file descriptor to read (default: standard input).
    """

    def __init__(self, fd: int | None = None) -> None:
        self._fd = sys.stdin.fileno() if fd is None else fd
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, name="local-chat-input", daemon=True).start()

    async def next(self) -> str | None:
        """The next line typed, without its line end; ``None`` at the end of input."""
        return await self._queue.get()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    self._put(pending)
                self._put(None)
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                self._put(line)

    def _put(self, line: bytes | None) -> None:
        text = None if line is None else line.decode("utf-8", "replace").rstrip("\r")
        with contextlib.suppress(RuntimeError):  # the loop is closed: the chat has ended
            self._loop.call_soon_threadsafe(self._queue.put_nowait, text)


def _save(data: bytes, name: str) -> Path:
    """Write a picture or file to a new file in the temporary folder; return its path."""
    with tempfile.NamedTemporaryFile(prefix="ishc-", suffix="-" + name, delete=False) as file:
        file.write(data)
    return Path(file.name)


def _prompt(prompt: str) -> None:
    sys.stdout.write(prompt)
    sys.stdout.flush()
