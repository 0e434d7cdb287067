"""``ishc-bot check``: is the database sound, and do the fund's balances match its ledger?

Everything is read in one read-only snapshot, so it is safe while the service runs:
``PRAGMA integrity_check``, ``PRAGMA foreign_key_check``, the schema version against the
code's, and the invariants the triggers of ``storage/migrations/0004_fund.sql`` keep:

- each loan with ledger entries has one ``loan_balances`` row, of the loan's club and
  borrower, whose ``outstanding`` is the sum of its entries' ``principal``,
  ``principal_paid`` the sum of ``-principal`` over its repayments (reversals included) and
  ``interest_paid`` the sum of its entries' ``interest``; no row for a loan without entries;
- each club with entries has one ``fund_balances`` row whose ``cash``, ``lent_out``,
  ``disbursed`` (disbursements and opening balances), ``repaid``, ``interest``,
  ``contributions`` and ``capital`` are the sums of its entries; a club without entries has
  none, or one of zeros;
- the tables, indexes and triggers are the code's (a dropped trigger would let the balances
  drift silently); objects the code does not know, like Litestream's, are left alone;
- no balance is negative. The fund's ``cash`` is the exception the schema allows (a reversal
  may show that money counted earlier never came): negative cash is a warning, not a failure.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.backup import integrity_errors, latest_schema
from storage.sqlite import migrations

LOAN_COLUMNS = ("outstanding", "principal_paid", "interest_paid")
FUND_COLUMNS = ("cash", "lent_out", "disbursed", "repaid", "interest", "contributions",
                "capital")

# What each balance should be, computed from the ledger alone.
LOAN_SUMS = """
SELECT ledger.loan_id, loans.club_id, loans.member_id,
       sum(ledger.principal) AS outstanding,
       sum(CASE WHEN ledger.kind = 'repayment' THEN -ledger.principal ELSE 0 END)
           AS principal_paid,
       sum(ledger.interest) AS interest_paid
FROM ledger LEFT JOIN loans ON loans.id = ledger.loan_id
WHERE ledger.loan_id IS NOT NULL GROUP BY ledger.loan_id
"""
FUND_SUMS = """
SELECT club_id,
       sum(cash) AS cash,
       sum(principal) AS lent_out,
       sum(CASE WHEN kind IN ('disbursement', 'opening') THEN principal ELSE 0 END)
           AS disbursed,
       sum(CASE WHEN kind = 'repayment' THEN -principal ELSE 0 END) AS repaid,
       sum(interest) AS interest,
       sum(CASE WHEN kind = 'contribution' THEN cash ELSE 0 END) AS contributions,
       sum(CASE WHEN kind = 'capital' THEN cash ELSE 0 END) AS capital
FROM ledger GROUP BY club_id
"""


@dataclass(frozen=True)
class Problem:
    """One thing found wrong (or, as a warning, worth a look)."""

    check: str  # integrity | foreign_keys | schema | loan_balance | fund_balance | negative
    message: str
    club_id: int | None = None
    loan_id: int | None = None
    column: str | None = None
    expected: Any = None
    found: Any = None


@dataclass
class Report:
    """The outcome of :func:`check`."""

    db: str
    schema_version: int | None = None
    code_schema_version: int = field(default_factory=latest_schema)
    loans: int = 0
    clubs_with_entries: int = 0
    ledger_entries: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing failed (warnings do not count)."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON data."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _rows(conn: sqlite3.Connection, sql: str) -> list[sqlite3.Row]:
    return conn.execute(sql).fetchall()


def _has_tables(conn: sqlite3.Connection, *names: str) -> bool:
    marks = ", ".join("?" for _ in names)
    found = conn.execute(
        f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({marks})", names
    ).fetchone()[0]
    return found == len(names)


def _schema(conn: sqlite3.Connection, report: Report) -> None:
    version = report.schema_version = conn.execute("PRAGMA user_version").fetchone()[0]
    latest = report.code_schema_version
    if version < latest:
        report.problems.append(Problem(
            "schema", f"schema version {version} is older than the code's {latest} "
            "(the service migrates it when it starts)", expected=latest, found=version))
    elif version > latest:
        report.problems.append(Problem(
            "schema", f"schema version {version} is newer than the code's {latest} "
            "(this code must not run on it)", expected=latest, found=version))


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Tables, indexes, triggers and views by (type, name), with their SQL."""
    found = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%'"
    )
    return {(kind, name): " ".join(sql.split()) for kind, name, sql in found}


def code_schema() -> dict[tuple[str, str], str]:
    """The objects the code's migrations make, applied to an empty database in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        for _, path in migrations():
            conn.executescript(path.read_text(encoding="utf-8"))
        return _objects(conn)
    finally:
        conn.close()


def _schema_objects(conn: sqlite3.Connection, report: Report) -> None:
    have = _objects(conn)
    for (kind, name), sql in sorted(code_schema().items()):
        if (kind, name) not in have:
            report.problems.append(Problem("schema", f"{kind} {name} is missing"))
        elif have[kind, name] != sql:
            report.problems.append(Problem(
                "schema", f"{kind} {name} differs from the code's", expected=sql,
                found=have[kind, name]))


def _foreign_keys(conn: sqlite3.Connection, report: Report) -> None:
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall()[:100]:
        report.problems.append(Problem(
            "foreign_keys", f"{table} row {rowid} refers to a missing row of {parent}"))


def _loans(conn: sqlite3.Connection, report: Report) -> None:
    expected = {row["loan_id"]: row for row in _rows(conn, LOAN_SUMS)}
    found = {row["loan_id"]: row for row in _rows(conn, "SELECT * FROM loan_balances")}
    report.loans = conn.execute("SELECT count(*) FROM loans").fetchone()[0]
    for loan_id in sorted(expected.keys() | found.keys()):
        want, have = expected.get(loan_id), found.get(loan_id)
        club = want["club_id"] if want and want["club_id"] is not None else (
            have["club_id"] if have else None)
        where = f"loan {loan_id} (club {club})"
        if have is None:
            report.problems.append(Problem(
                "loan_balance", f"{where}: has ledger entries but no loan_balances row",
                club, loan_id))
            continue
        if want is None:
            report.problems.append(Problem(
                "loan_balance", f"{where}: has a loan_balances row but no ledger entries",
                club, loan_id, expected=None, found=dict(have)))
            continue
        if want["club_id"] is None:
            report.problems.append(Problem(
                "loan_balance", f"{where}: ledger entries for a loan that does not exist",
                club, loan_id))
            continue
        for column in ("club_id", "member_id", *LOAN_COLUMNS):
            if want[column] != have[column]:
                report.problems.append(Problem(
                    "loan_balance", f"{where}: {column} expected {want[column]} "
                    f"(from the ledger), found {have[column]}",
                    club, loan_id, column, want[column], have[column]))
        for column in LOAN_COLUMNS:
            if have[column] < 0:
                report.problems.append(Problem(
                    "negative", f"{where}: {column} is negative ({have[column]})",
                    club, loan_id, column, found=have[column]))


def _funds(conn: sqlite3.Connection, report: Report) -> None:
    expected = {row["club_id"]: row for row in _rows(conn, FUND_SUMS)}
    found = {row["club_id"]: row for row in _rows(conn, "SELECT * FROM fund_balances")}
    report.clubs_with_entries = len(expected)
    for club in sorted(expected.keys() | found.keys()):
        want, have = expected.get(club), found.get(club)
        if have is None:
            report.problems.append(Problem(
                "fund_balance", f"club {club}: has ledger entries but no fund_balances row",
                club))
            continue
        for column in FUND_COLUMNS:
            should = want[column] if want is not None else 0
            if should != have[column]:
                report.problems.append(Problem(
                    "fund_balance", f"club {club}: {column} expected {should} "
                    f"(from the ledger), found {have[column]}",
                    club, None, column, should, have[column]))
            if have[column] < 0:
                negative = Problem("negative", f"club {club}: {column} is negative "
                                   f"({have[column]})", club, None, column, found=have[column])
                (report.warnings if column == "cash" else report.problems).append(negative)


def check(db: str | Path) -> Report:
    """Check the database file ``db`` (read-only; safe while the service runs).

    Args:
        db: The database file.

    Returns:
        What was found; ``report.ok`` is False if anything failed.

    Raises:
        FileNotFoundError: There is no file at ``db``.
    """
    path = Path(db)
    if not path.is_file():
        raise FileNotFoundError(f"no database at {path}")
    report = Report(db=str(path.resolve()))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None)
    except sqlite3.Error as error:
        report.problems.append(Problem("integrity", f"cannot open the database: {error}"))
        return report
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("BEGIN")  # one snapshot for every check
        errors = integrity_errors(conn)
        report.problems.extend(Problem("integrity", error) for error in errors)
        if errors:
            return report  # a damaged file: what it says past here cannot be trusted
        _schema(conn, report)
        if report.schema_version == report.code_schema_version:
            _schema_objects(conn, report)
        _foreign_keys(conn, report)
        if _has_tables(conn, "ledger", "loans", "loan_balances", "fund_balances"):
            report.ledger_entries = conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
            _loans(conn, report)
            _funds(conn, report)
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem("integrity", f"reading the database failed: {error}"))
    finally:
        conn.close()
    return report
