"""The few rewrites that turn our shared SQL into PostgreSQL's.

The queries are written once (``storage/sql_core.py`` and the ``storage/sqlite_*.py``
mixins), in what SQLite and PostgreSQL both accept. What differs is rewritten here, outside
string literals, once per statement (cached):

- ``?`` parameters become ``$1``, ``$2``...;
- ``x IS ?`` / ``x IS NOT y`` (SQLite's null-safe comparison) become ``IS [NOT] DISTINCT FROM``;
- ``group_concat(col)`` becomes ``string_agg(col::text, ',')``;
- ``col COLLATE NOCASE`` (in ORDER BY) becomes ``lower(col)``;
- ``rowid`` (only ever a tie-break in ORDER BY) becomes ``ctid``;
- ``SELECT value FROM json_each(?)`` (a list of ids) becomes PostgreSQL's JSON function.
"""

from __future__ import annotations

import re
from functools import lru_cache

_STRING = re.compile(r"('(?:[^']|'')*')")
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(\s*([\w.]+)\s*\)", re.IGNORECASE)
_NOCASE = re.compile(r"([\w.]+)\s+COLLATE\s+NOCASE\b", re.IGNORECASE)
_ROWID = re.compile(r"\browid\b", re.IGNORECASE)
_JSON_IDS = re.compile(r"SELECT\s+value\s+FROM\s+json_each\(\?\)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """``sql`` as PostgreSQL reads it.

    Args:
        sql: A statement in the shared dialect (``?`` parameters).

    Returns:
        The statement with PostgreSQL's parameters and functions.
    """
    parts = _STRING.split(sql)
    number = 0
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # a string literal: as it is
            out.append(part)
            continue
        part = _JSON_IDS.sub("SELECT value::bigint FROM json_array_elements_text(?::json)", part)
        part = _IS_NOT.sub("IS DISTINCT FROM ", part)
        part = _IS.sub("IS NOT DISTINCT FROM ", part)
        part = _GROUP_CONCAT.sub(r"string_agg(\1::text, ',')", part)
        part = _NOCASE.sub(r"lower(\1)", part)
        part = _ROWID.sub("ctid", part)
        pieces = part.split("?")
        rebuilt = [pieces[0]]
        for piece in pieces[1:]:
            number += 1
            rebuilt.append(f"${number}{piece}")
        out.append("".join(rebuilt))
    return "".join(out)
