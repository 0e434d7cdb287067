"""The shared SQL as PostgreSQL reads it (``storage/postgres_dialect.py``)."""

from __future__ import annotations

import pytest

from storage.postgres_dialect import translate


@pytest.mark.parametrize(
    ("shared", "postgres"),
    [
        ("SELECT * FROM members WHERE id = ? AND club_id = ?",
         "SELECT * FROM members WHERE id = $1 AND club_id = $2"),
        ("SELECT 'is it? yes' AS q, ? AS a", "SELECT 'is it? yes' AS q, $1 AS a"),
        ("SELECT 'it''s?' WHERE a = ?", "SELECT 'it''s?' WHERE a = $1"),
        ("WHERE member_id IS ? AND b IS NOT ? AND c IS NULL AND d IS NOT NULL",
         "WHERE member_id IS NOT DISTINCT FROM $1 AND b IS DISTINCT FROM $2 AND c IS NULL "
         "AND d IS NOT NULL"),
        ("SELECT group_concat(role) FROM member_roles r",
         "SELECT string_agg(role::text, ',') FROM member_roles r"),
        ("ORDER BY full_name COLLATE NOCASE, id", "ORDER BY lower(full_name), id"),
        ("ORDER BY last_seen_at DESC, rowid DESC", "ORDER BY last_seen_at DESC, ctid DESC"),
        ("club_id IN (SELECT value FROM json_each(?))",
         "club_id IN (SELECT value::bigint FROM json_array_elements_text($1::json))"),
    ],
)
def test_the_shared_dialect_becomes_postgresql(shared: str, postgres: str) -> None:
    assert translate(shared) == postgres
