"""The loyalty schema's version 2 keeps the ledger and fewer indexes (SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omnicrm.persistence.sqlite.loyalty import MIGRATION
from omnicrm.persistence.sqlite.schema import MIGRATIONS, migrate

ENTRY = (
    "INSERT INTO loyalty_entries (program_id, member_id, company, grant_id, kind, debit, "
    "credit, amount, counterparty, ref, effective_us, recorded_us) "
    "VALUES ('p', 'm', 'acme', NULL, 'earn', 'company.issued', 'member.available', ?, "
    "NULL, NULL, ?, ?)"
)


def _plan(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> str:
    return " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_version_2_keeps_every_entry_and_numbers_on(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "v1.db", isolation_level=None)
    migrate(conn, retries=0, busy_timeout=1.0, migrations={**MIGRATIONS, "loyalty": (MIGRATION,)})
    for n in range(1, 6):
        conn.execute(ENTRY, (n, n, n))
    conn.execute("DELETE FROM loyalty_entries WHERE seq = 2")  # a gap survives as a gap

    versions = migrate(conn, retries=0, busy_timeout=1.0)

    assert versions["loyalty"] == len(MIGRATIONS["loyalty"])
    rows = conn.execute("SELECT seq, amount FROM loyalty_entries ORDER BY seq").fetchall()
    assert rows == [(1, 1), (3, 3), (4, 4), (5, 5)]
    conn.execute(ENTRY, (6, 6, 6))
    assert conn.execute("SELECT max(seq) FROM loyalty_entries").fetchone() == (6,)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index'")}
    assert {"loyalty_entries_member", "loyalty_entries_effective"} <= indexes
    assert not {"loyalty_grants_expiry", "loyalty_grants_confirm", "loyalty_holds_due"} & indexes
    conn.close()


def test_expiry_sweeps_use_the_live_indexes(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "v2.db", isolation_level=None)
    migrate(conn, retries=0, busy_timeout=1.0)
    grants = _plan(
        conn,
        "SELECT DISTINCT member_id FROM loyalty_grants WHERE program_id = ? "
        "AND remaining > 0 AND (expires_us <= ? OR (pending = 1 AND confirm_us <= ?)) "
        "ORDER BY member_id",
        ("p", 1, 1),
    )
    holds = _plan(
        conn,
        "SELECT DISTINCT member_id FROM loyalty_holds WHERE program_id = ? "
        "AND state = 'active' AND expires_us <= ? ORDER BY member_id",
        ("p", 1),
    )
    assert "loyalty_grants_live" in grants
    assert "TEMP B-TREE" not in grants
    assert "loyalty_holds_active" in holds
    conn.close()
