"""The throwaway PostgreSQL cluster, and the PostgreSQL schema against SQLite's.

The schema (``storage/migrations/postgres/``: the baseline and what came after) must give
the shared SQL the same tables, columns, keys, indexes and triggers as the SQLite
migrations, and the triggers must refuse and keep balances as SQLite's do: the same
statements run on both and are compared.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from storage.postgres import migrations
from tests import postgres

TEMPLATE = "ishc_schema_test_template"
TYPES = {"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "BLOB": "bytea"}
ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
           "d": "SET DEFAULT"}


@pytest.fixture(scope="module")
def cluster():
    return postgres.shared()


@pytest.fixture(scope="module")
def sqlite_schema(tmp_path_factory) -> Path:
    """A database made by SQLiteStorage's own migrations (the reference)."""
    from storage.sqlite import SQLiteStorage

    path = tmp_path_factory.mktemp("sqlite") / "schema.sqlite3"
    storage = SQLiteStorage(str(path))

    async def make() -> None:
        await storage.open()
        await storage.close()

    asyncio.run(make())
    return path


@pytest.fixture(scope="module")
def template(cluster) -> str:
    """A database with the PostgreSQL migrations loaded by asyncpg, to copy for each test."""
    cluster.drop_database(TEMPLATE)
    cluster.create_database(TEMPLATE)

    async def load() -> None:
        conn = await asyncpg.connect(cluster.dsn(TEMPLATE))
        try:
            async with conn.transaction():
                for _, path in migrations():  # the baseline, then what came after it
                    await conn.execute(path.read_text(encoding="utf-8"))
        finally:
            await conn.close()

    asyncio.run(load())
    yield TEMPLATE
    cluster.drop_database(TEMPLATE)


@pytest.fixture
async def pg(cluster, template, request):
    """A connection to a fresh copy of the schema."""
    name = "t_" + re.sub(r"\W", "_", request.node.name)[:50].lower()
    cluster.drop_database(name)
    cluster.create_database(name, template=template)
    conn = await asyncpg.connect(cluster.dsn(name))
    yield conn
    await conn.close()
    cluster.drop_database(name)


@pytest.fixture
def lite(sqlite_schema, tmp_path):
    """A connection to a fresh copy of the SQLite schema, as SQLiteStorage sets it up."""
    path = tmp_path / "copy.sqlite3"
    path.write_bytes(sqlite_schema.read_bytes())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    yield conn
    conn.close()


# -- the cluster -------------------------------------------------------------------------


async def test_cluster_serves_databases(cluster):
    dsn = cluster.create_database("cluster_check")
    try:
        assert dsn.startswith("postgresql://postgres@127.0.0.1:")
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_database()") == "cluster_check"
            assert await conn.fetchval("SHOW fsync") == "off"
            assert await conn.fetchval("SHOW max_connections") == "200"
            assert int(await conn.fetchval("SHOW server_version_num")) >= 150000
        finally:
            await conn.close()
        assert (cluster.socket_dir / f".s.PGSQL.{cluster.port}").is_socket()
    finally:
        cluster.drop_database("cluster_check")
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(cluster.dsn("cluster_check"))


def test_a_cluster_of_its_own_stops_and_leaves_nothing():
    own = postgres.PostgresCluster()
    own.start()
    root, port = own.root, own.port
    assert root is not None and (root / "data" / "postmaster.pid").exists()
    own.stop()
    own.stop()  # twice is fine
    assert not root.exists()
    assert not own.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# -- the schema, read from both catalogs --------------------------------------------------


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall())


def _no_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _rowid_alias(conn: sqlite3.Connection, table: str, sql: str) -> str | None:
    """The column that is the table's rowid (an INTEGER PRIMARY KEY), if any."""
    pk = [row for row in conn.execute(f"PRAGMA table_info({table})") if row[5]]
    if len(pk) == 1 and pk[0][2] == "INTEGER" and "WITHOUT ROWID" not in sql.upper():
        return pk[0][1]
    return None


def _default(value: str | None) -> str | None:
    if value is None:
        return None
    return re.sub(r"::(text|bigint|integer)\b", "", value)


async def test_same_tables_and_columns(lite, pg):
    tables = _sqlite_tables(lite)
    pg_tables = {r["table_name"] for r in await pg.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert pg_tables == set(tables)
    for table, sql in tables.items():
        foreign = {row[3] for row in lite.execute(f"PRAGMA foreign_key_list({table})")}
        alias = _rowid_alias(lite, table, sql)
        expected = [
            (name, TYPES[type_], bool(notnull or pk), _default(default),
             name == alias and name not in foreign)
            for _, name, type_, notnull, default, pk
            in lite.execute(f"PRAGMA table_info({table})")
        ]
        rows = await pg.fetch(
            "SELECT column_name, data_type, is_nullable, column_default, is_identity, "
            "collation_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            table)
        got = [(r["column_name"], r["data_type"], r["is_nullable"] == "NO",
                _default(r["column_default"]), r["is_identity"] == "YES") for r in rows]
        assert got == expected, table
        # Text compares by its bytes, as SQLite's BINARY does, whatever the database locale.
        assert {r["collation_name"] for r in rows if r["data_type"] == "text"} <= {"C"}, table


async def test_same_keys_and_checks(lite, pg):
    for table, sql in _sqlite_tables(lite).items():
        info = lite.execute(f"PRAGMA table_info({table})").fetchall()
        primary = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
        unique = set()
        for _, index, _unique, origin, _ in lite.execute(f"PRAGMA index_list({table})"):
            if origin == "u":
                unique.add(tuple(r[2] for r in lite.execute(f"PRAGMA index_info({index})")))
        foreign = {(r[3], r[2], r[4], r[5], r[6])
                   for r in lite.execute(f"PRAGMA foreign_key_list({table})")}
        checks = len(re.findall(r"\bCHECK\s*\(", _no_comments(sql), re.IGNORECASE))

        constraints = await pg.fetch(
            "SELECT c.contype::text, c.confupdtype::text, c.confdeltype::text, f.relname AS ref, "
            "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) "
            "      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n "
            "      ORDER BY k.i)::text[] AS cols, "
            "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) "
            "      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n "
            "      ORDER BY k.i)::text[] AS refcols "
            "FROM pg_constraint c LEFT JOIN pg_class f ON f.oid = c.confrelid "
            "WHERE c.conrelid = $1::regclass", table)
        by_type = {kind: [r for r in constraints if r["contype"] == kind] for kind in "pufc"}
        assert [list(r["cols"]) for r in by_type["p"]] == [primary], table
        assert {tuple(r["cols"]) for r in by_type["u"]} == unique, table
        assert {(r["cols"][0], r["ref"], r["refcols"][0], ACTIONS[r["confupdtype"]],
                 ACTIONS[r["confdeltype"]]) for r in by_type["f"]} == foreign, table
        assert len(by_type["c"]) == checks, table


async def test_same_indexes(lite, pg):
    expected = {}
    for name, table, sql in lite.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master "
            "WHERE type = 'index' AND sql IS NOT NULL"):
        columns = [r[2] for r in lite.execute(f"PRAGMA index_xinfo({name})") if r[5]]
        unique = sql.upper().startswith("CREATE UNIQUE")
        expected[name] = (table, unique, columns, " WHERE " in _no_comments(sql).upper())
    rows = await pg.fetch(
        "SELECT i.relname AS name, t.relname AS table, x.indisunique AS unique, "
        "ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, false) "
        "      FROM generate_series(1, x.indnkeyatts) k)::text[] AS cols, "
        "x.indpred IS NOT NULL AS partial "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public' "
        "WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "                  WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u'))")
    got = {r["name"]: (r["table"], r["unique"], list(r["cols"]), r["partial"]) for r in rows}
    assert got == expected


def _sqlite_triggers(conn: sqlite3.Connection) -> dict[str, tuple[str, str, str]]:
    triggers = {}
    for name, table, sql in conn.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
        match = re.match(r"CREATE TRIGGER \w+ (BEFORE|AFTER) (INSERT|UPDATE|DELETE) ON (\w+)",
                         sql, re.IGNORECASE)
        assert match and match[3] == table, sql
        triggers[name] = (table, match[1].upper(), match[2].upper())
    return triggers


async def test_same_triggers(lite, pg):
    rows = await pg.fetch(
        "SELECT trigger_name, event_object_table, action_timing, event_manipulation, "
        "action_orientation FROM information_schema.triggers "
        "WHERE trigger_schema = 'public'")
    assert {r["action_orientation"] for r in rows} == {"ROW"}
    got = {r["trigger_name"]: (r["event_object_table"], r["action_timing"],
                               r["event_manipulation"]) for r in rows}
    assert got == _sqlite_triggers(lite)


# -- the same statements on both ------------------------------------------------------------


def _numbered(sql: str) -> str:
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


class Both:
    """Runs each statement on SQLite and on PostgreSQL (autocommit, like a transaction each)."""

    def __init__(self, lite: sqlite3.Connection, pg) -> None:
        self.lite = lite
        self.pg = pg

    async def run(self, sql: str, *args) -> None:
        self.lite.execute(sql, args)
        await self.pg.execute(_numbered(sql), *args)

    async def refused(self, sql: str, *args) -> tuple[str, Exception]:
        """Both refuse the statement: SQLite's message and PostgreSQL's error."""
        with pytest.raises(sqlite3.IntegrityError) as lite_error:
            self.lite.execute(sql, args)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as pg_error:
            await self.pg.execute(_numbered(sql), *args)
        return str(lite_error.value), pg_error.value

    async def same_refusal(self, sql: str, *args) -> str:
        """Both refuse with the same message, PostgreSQL with SQLSTATE 23000 (a trigger's)."""
        message, error = await self.refused(sql, *args)
        assert error.sqlstate == "23000", error
        assert error.message == message
        return message

    async def rows(self, sql: str, *args) -> list[tuple]:
        """The rows, the same on both."""
        expected = [tuple(row) for row in self.lite.execute(sql, args)]
        got = [tuple(row) for row in await self.pg.fetch(_numbered(sql), *args)]
        assert got == expected, sql
        return got


NOW = "2024-05-01T08:00:00+00:00"
MEMBER = ("INSERT INTO members (id, club_id, full_name, sex, birth_year, village, household, "
          "status, registered_at, registration_key) VALUES (?, ?, ?, 'female', 1950, 'Thôn 1', "
          "'poor', 'active', ?, ?)")
LOAN = ("INSERT INTO loans (id, club_id, member_id, principal, purpose, rate_bp, term_months, "
        "schedule, start_date, first_due, due_day, carried_over, created_at, idempotency_key) "
        "VALUES (?, ?, ?, ?, 'lợn giống', 100, 12, 'equal_principal', '2024-05-01', "
        "'2024-06-10', 10, 0, ?, ?)")
ENTRY = ("INSERT INTO ledger (club_id, kind, loan_id, member_id, principal, interest, cash, "
         "day, reverses, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '2024-05-01', "
         "?, ?, ?)")
READING = ("INSERT INTO readings (id, club_id, member_id, measured_at, day, systolic, diastolic, "
           "grade, high, urgent, place, idempotency_key, created_at, confirmed) "
           "VALUES (?, 1, ?, ?, '2024-05-01', 150, 95, 'grade_1', 1, 0, 'meeting', ?, ?, ?)")
VISIT = ("INSERT INTO visits (id, club_id, client_id, volunteer_id, visited_at, day, services, "
         "idempotency_key, created_at) VALUES (?, 1, ?, 3, ?, '2024-05-01', '[]', ?, ?)")


async def _club(both: Both) -> None:
    """Two clubs, three members of club 1 and one of club 2, a loan to member 1."""
    for club in (1, 2):
        await both.run("INSERT INTO clubs (id, name, meeting_day, created_at) "
                       "VALUES (?, ?, 10, ?)", club, f"CLB {club}", NOW)
    for member, club in ((1, 1), (2, 1), (3, 1), (4, 2)):
        await both.run(MEMBER, member, club, f"Bà {member}", NOW, f"reg-{member}")
    await both.run(LOAN, 1, 1, 1, 1_000_000, NOW, "loan-1")
    await both.run("INSERT INTO installments (loan_id, number, due, principal, interest, "
                   "cum_total) VALUES (1, 1, '2024-06-10', 100000, 10000, 110000)")


async def _entry(both: Both, key: str, kind: str, loan, member, principal: int, interest: int,
                 cash: int, reverses=None, club: int = 1) -> None:
    await both.run(ENTRY, club, kind, loan, member, principal, interest, cash, reverses, key, NOW)


async def _entry_id(both: Both, key: str) -> int:
    [(entry,)] = await both.rows("SELECT id FROM ledger WHERE idempotency_key = ?", key)
    return entry


async def test_ledger_triggers_keep_the_same_balances(lite, pg):
    both = Both(lite, pg)
    await _club(both)
    await _entry(both, "capital", "capital", None, None, 0, 0, 5_000_000)
    await _entry(both, "contribution", "contribution", None, 2, 0, 0, 20_000)
    await _entry(both, "disbursement", "disbursement", 1, 1, 1_000_000, 0, -1_000_000)
    await _entry(both, "repayment", "repayment", 1, 1, -100_000, 10_000, 110_000)
    await both.run(LOAN, 2, 1, 2, 300_000, NOW, "loan-2")
    await _entry(both, "opening", "opening", 2, 2, 300_000, 0, 0)
    await _entry(both, "repayment-2", "repayment", 2, 2, -50_000, 3_000, 53_000)
    # A reversal undoes the second repayment (same kind, negated amounts).
    original = await _entry_id(both, "repayment-2")
    await _entry(both, "reversal", "repayment", 2, 2, 50_000, -3_000, -53_000, original)
    await _entry(both, "other-club", "contribution", None, 4, 0, 0, 7_000, club=2)

    funds = await both.rows("SELECT * FROM fund_balances ORDER BY club_id")
    assert funds == [(1, 5_000_000 + 20_000 - 1_000_000 + 110_000, 1_200_000, 1_300_000,
                      100_000, 10_000, 20_000, 5_000_000),
                     (2, 7_000, 0, 0, 0, 0, 7_000, 0)]
    loans = await both.rows("SELECT * FROM loan_balances ORDER BY loan_id")
    assert loans == [(1, 1, 1, 900_000, 100_000, 10_000), (2, 1, 2, 300_000, 0, 0)]

    # Paying back more than is owed would leave the balance negative: refused as a whole.
    _, error = await both.refused(ENTRY, 1, "repayment", 1, 1, -2_000_000, 0, 2_000_000, None,
                                  "too-much", NOW)
    assert isinstance(error, asyncpg.CheckViolationError)
    await both.rows("SELECT count(*) FROM ledger WHERE idempotency_key = 'too-much'")
    assert await both.rows("SELECT * FROM loan_balances ORDER BY loan_id") == loans
    assert await both.rows("SELECT * FROM fund_balances ORDER BY club_id") == funds


async def test_ledger_entries_must_match_their_loan_and_original(lite, pg):
    both = Both(lite, pg)
    await _club(both)
    await _entry(both, "disbursement", "disbursement", 1, 1, 1_000_000, 0, -1_000_000)
    original = await _entry_id(both, "disbursement")
    loan_message = await both.same_refusal(
        ENTRY, 1, "repayment", 1, 2, -1000, 0, 1000, None, "not-the-borrower", NOW)
    assert loan_message == "a loan entry must be in the loan's club and of its borrower"
    assert await both.same_refusal(
        ENTRY, 2, "repayment", 1, 1, -1000, 0, 1000, None, "not-the-club", NOW) == loan_message
    reversal_message = await both.same_refusal(
        ENTRY, 1, "disbursement", 1, 1, -999, 0, 999, original, "half-reversal", NOW)
    assert reversal_message == "a reversal must negate an original entry of the same club"
    # Wrong both ways: SQLite's newer trigger speaks first, and PostgreSQL says the same.
    assert await both.same_refusal(
        ENTRY, 1, "disbursement", 1, 2, -999, 0, 999, original, "both", NOW) == reversal_message
    await _entry(both, "reversal", "disbursement", 1, 1, -1_000_000, 0, 1_000_000, original)
    # A second reversal of the same entry breaks UNIQUE (reverses) on both.
    await both.refused(ENTRY, 1, "disbursement", 1, 1, -1_000_000, 0, 1_000_000, original,
                       "reversal-again", NOW)
    assert await both.rows("SELECT * FROM loan_balances") == [(1, 1, 1, 0, 0, 0)]


async def test_append_only_tables_refuse_with_the_same_messages(lite, pg):
    both = Both(lite, pg)
    await _club(both)
    await _entry(both, "capital", "capital", None, None, 0, 0, 5_000_000)
    await both.run(READING, 1, 1, NOW, "reading-1", NOW, 1)
    await both.run(VISIT, 1, 1, NOW, "visit-1", NOW)
    refusals = {
        "UPDATE ledger SET note = 'x'": "the ledger is append-only: record a reversal instead",
        "DELETE FROM ledger": "the ledger is append-only: record a reversal instead",
        "UPDATE loans SET purpose = 'x'": "loans are fixed when given",
        "DELETE FROM loans": "loans are fixed when given",
        "UPDATE installments SET due = 'x'": "schedules are fixed when the loan is given",
        "DELETE FROM installments": "schedules are fixed when the loan is given",
        "UPDATE readings SET systolic = 160": "health records are kept as measured",
        "DELETE FROM readings": "health records are kept as measured",
        "UPDATE visits SET note = 'x'": "visit records are kept as recorded",
        "DELETE FROM visits": "visit records are kept as recorded",
    }
    for sql, message in refusals.items():
        assert await both.same_refusal(sql) == message, sql


async def test_unconfirmed_readings_and_erased_members(lite, pg):
    both = Both(lite, pg)
    await _club(both)
    await both.run(READING, 1, 1, NOW, "reading-1", NOW, 0)  # not confirmed yet
    await both.run("UPDATE readings SET systolic = 155, confirmed = 1 WHERE id = 1")
    await both.same_refusal("UPDATE readings SET systolic = 150 WHERE id = 1")
    await both.run(READING, 2, 2, NOW, "reading-2", NOW, 0)
    for change in ("idempotency_key = 'other'", "member_id = 1", "created_at = 'x'",
                   "id = 9", "club_id = 2"):
        message = await both.same_refusal(f"UPDATE readings SET {change} WHERE id = 2")
        assert message == "health records are kept as measured"
    await both.run(VISIT, 1, 1, NOW, "visit-1", NOW)
    await both.run(VISIT, 2, 2, NOW, "visit-2", NOW)
    # Only the member's erasure removes their health records.
    await both.run("UPDATE members SET status = 'erased' WHERE id = 1")
    await both.run("DELETE FROM readings WHERE member_id = 1")
    await both.run("DELETE FROM visits WHERE client_id = 1")
    await both.same_refusal("DELETE FROM readings WHERE member_id = 2")
    await both.same_refusal("DELETE FROM visits WHERE client_id = 2")
    assert await both.rows("SELECT id, systolic, confirmed FROM readings") == [(2, 150, 0)]
    assert await both.rows("SELECT id FROM visits") == [(2,)]


async def test_constraints_refuse_the_same_rows(lite, pg):
    both = Both(lite, pg)
    await _club(both)
    # The same phone twice in a club, while pending or active; free again once rejected.
    phone = ("INSERT INTO members (id, club_id, full_name, sex, birth_year, village, household, "
             "status, registered_at, registration_key, phone) VALUES (?, 1, 'X', 'male', 1950, "
             "'v', 'poor', ?, ?, ?, '0912')")
    await both.run(phone, 10, "pending", NOW, "p-10")
    await both.refused(phone, 11, "active", NOW, "p-11")
    await both.run("UPDATE members SET status = 'rejected' WHERE id = 10")
    await both.run(phone, 12, "active", NOW, "p-12")
    # An original entry must move money the way its kind says.
    await both.refused(ENTRY, 1, "contribution", None, 1, 0, 0, -5, None, "negative", NOW)
    await both.refused(ENTRY, 1, "contribution", 1, 1, 0, 0, 5, None, "with-loan", NOW)
    await both.refused(ENTRY, 1, "disbursement", None, 1, 5, 0, -5, None, "no-loan", NOW)
    # Meeting rules: a 'day' rule has a day, a 'weekday' rule a weekday and its nth.
    rule = ("INSERT INTO meeting_rules (club_id, kind, day, weekday, nth, time, changed_at) "
            "VALUES (1, ?, ?, ?, ?, '08:00', ?)")
    await both.refused(rule, "day", None, 1, 1, NOW)
    await both.refused(rule, "weekday", None, 1, None, NOW)
    await both.run(rule, "weekday", None, 6, -1, NOW)
    # Readings: within bounds, systolic above diastolic.
    reading = READING.replace("150, 95", "?, ?")
    for systolic, diastolic in ((120, 130), (310, 90), (120, 30)):
        await both.refused(reading, 5, 1, NOW, systolic, diastolic, f"r-{systolic}", NOW, 1)
    await both.run(reading, 5, 1, NOW, 300, 180, "r-ok", NOW, 1)
    await both.refused("INSERT INTO operators (role, name, province, granted_by, granted_at) "
                       "VALUES ('association', '', 'Hà Nội', 'cli', ?)", NOW)
    await both.refused(LOAN.replace("?, 'lợn giống'", "0, 'lợn giống'"), 5, 1, 1, NOW, "zero")
    # Foreign keys are enforced on both.
    await both.refused(MEMBER, 20, 99, "Nobody's", NOW, "r-20")
    await both.refused("INSERT INTO care_links (club_id, volunteer_id, client_id, assigned_at) "
                       "VALUES (1, 2, 2, ?)", NOW)
    assert await both.rows("SELECT id, status FROM members WHERE phone = '0912' ORDER BY id") \
        == [(10, "rejected"), (12, "active")]


async def test_text_sorts_by_bytes_as_in_sqlite(lite, pg):
    both = Both(lite, pg)
    await both.run("INSERT INTO clubs (id, name, meeting_day, created_at) VALUES (1, 'c', 1, ?)",
                   NOW)
    names = ["Đào", "an", "Bình", "ánh", "Z", "bình", "Ân"]
    for number, name in enumerate(names, 1):
        await both.run(MEMBER, number, 1, name, NOW, f"r-{number}")
    await both.rows("SELECT full_name FROM members ORDER BY full_name, id")
    # SQLite's NOCASE folds ASCII letters only; lower() under "C" as well.
    lowered = [tuple(r) for r in lite.execute(
        "SELECT full_name FROM members ORDER BY full_name COLLATE NOCASE, id")]
    got = [tuple(r) for r in await pg.fetch(
        "SELECT full_name FROM members ORDER BY lower(full_name), id")]
    assert got == lowered
