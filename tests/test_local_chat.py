"""The local terminal chat: Ctrl-C leaves at once and cleanly, and the prompt names the person
typing (their registered name once they have one)."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
from pathlib import Path

from tests.test_cli import ROOT, run

WAIT = 30  # seconds: only a failure waits this long


def start(db: Path) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("TELEGRAM_", "ZALO_"))}
    environment.update({"ISHC_DB": str(db), "PYTHONPATH": str(ROOT), "ISHC_REMINDERS": "0"})
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment,
                            cwd=ROOT)


def read_until(process: subprocess.Popen[bytes], wanted: bytes) -> bytes:
    """Read the chat's output until ``wanted`` appears (the prompt waits for input then)."""
    assert process.stdout is not None
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while wanted not in seen:
            assert selector.select(WAIT), seen
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, seen
            seen += chunk
    return seen


def test_ctrl_c_while_waiting_for_input_leaves_at_once(tmp_path):
    with start(tmp_path / "demo.sqlite3") as process:
        try:
            read_until(process, "Vi Thị Lan> ".encode())
            process.send_signal(signal.SIGINT)  # stdin stays open: nothing is typed
            code = process.wait(WAIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        errors = process.stderr.read().decode()
    assert code in (0, 130) and "Traceback" not in errors, errors


def test_the_prompt_names_the_person_once_registered(tmp_path):
    db = tmp_path / "demo.sqlite3"
    first = run(["run"], db, stdin="/quit\n")
    code = next(line.split(": ")[1].split(" ")[0] for line in first.stdout.splitlines()
                if line.startswith("Mã mời thành viên của câu lạc bộ mẫu"))
    lines = ["/as new", code, "lo van pao", "nam", "1952", "0987 111 222", "ban loc", "1",
             "bo qua", "dong y", "1", "/menu", "/as chair", "/as new"]
    done = run(["run"], db, stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    # A prompt starts a line; the bot's lines are indented.
    prompts = re.findall(r"(?m)^(\S.*?)> ", done.stdout)
    assert prompts[:2] == ["Vi Thị Lan", "Người mới"]  # at start, then after /as new
    assert prompts[-4:] == ["Lo Van Pao", "Lo Van Pao", "Vi Thị Lan", "Lo Van Pao"]
