"""Golden files: a text compared exactly with ``tests/transcripts/<name>.txt``.

Without ``--update-golden`` a difference (or a missing file) fails with a unified diff; with
it, the file is written instead. Rewrite goldens only on purpose and review the diff: a
change of wording then shows in review.
"""

from __future__ import annotations

import difflib
from pathlib import Path

TRANSCRIPTS = Path(__file__).parent / "transcripts"
HOW_TO_UPDATE = ".venv/bin/python -m pytest tests/test_transcripts.py --update-golden"


def updating(config) -> bool:
    """Whether this run rewrites the goldens (``--update-golden``)."""
    return bool(config.getoption("--update-golden"))


def check(name: str, text: str, update: bool) -> str | None:
    """Compare ``text`` with the golden ``name``; write it instead when ``update``.

    Args:
        name: The file name without ``.txt``, e.g. ``loan_request.zalo``.
        text: The whole transcript.
        update: Write the file instead of comparing.

    Returns:
        ``None`` when it matches (or was written), else a message with a unified diff.
    """
    path = TRANSCRIPTS / f"{name}.txt"
    if not text.endswith("\n"):
        text += "\n"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        return None
    if not path.exists():
        return f"{path.name}: no golden file; write it with `{HOW_TO_UPDATE}` and review it"
    expected = path.read_text(encoding="utf-8")
    if expected == text:
        return None
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"tests/transcripts/{path.name}", tofile=f"{path.name} (this run)",
    )
    return (f"{path.name} differs from this run (if the change is on purpose: "
            f"`{HOW_TO_UPDATE}`, then review the diff):\n" + "".join(diff))


def assert_golden(name: str, text: str, update: bool) -> None:
    """Fail with a unified diff unless ``text`` equals the golden ``name`` (see :func:`check`)."""
    problem = check(name, text, update)
    assert problem is None, problem
