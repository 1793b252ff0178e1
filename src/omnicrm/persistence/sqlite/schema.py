"""The SQLite schema, created and migrated by version, one version line per component.

``MIGRATIONS[component]`` lists that component's versions in order; each version is a
tuple of SQL statements. Opening a store applies the versions a file lacks, in one
transaction, and records them in ``omnicrm_schema``. A capability adds its tables by
adding a component here; an existing version is never edited, only appended to.
"""

from __future__ import annotations

import sqlite3

from omnicrm.errors import StorageError
from omnicrm.persistence.sqlite._connection import begin_immediate, translate_errors

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "core": (
        (
            """CREATE TABLE idempotency (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                result TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (scope, key)
            ) WITHOUT ROWID""",
        ),
    ),
    "customers": (
        (
            """CREATE TABLE customers (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                updated_us INTEGER NOT NULL,
                data TEXT NOT NULL
            )""",
            "CREATE INDEX customers_updated ON customers (updated_us, id)",
            """CREATE TABLE customer_identifiers (
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
                PRIMARY KEY (kind, value, customer_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX customer_identifiers_customer ON customer_identifiers (customer_id)",
        ),
    ),
    "identity": (
        (
            """CREATE TABLE identity_profiles (
                customer_id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                data TEXT NOT NULL
            )""",
            """CREATE TABLE identity_records (
                source TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                data TEXT
            )""",
            "CREATE INDEX identity_records_customer ON identity_records (customer_id)",
            """CREATE TABLE identity_keys (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                key TEXT NOT NULL,
                source TEXT NOT NULL,
                UNIQUE (key, source)
            )""",
            "CREATE INDEX identity_keys_key ON identity_keys (key, seq)",
            "CREATE INDEX identity_keys_source ON identity_keys (source)",
            """CREATE TABLE identity_decisions (
                a TEXT NOT NULL,
                b TEXT NOT NULL,
                verdict TEXT NOT NULL,
                score REAL NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (a, b)
            ) WITHOUT ROWID""",
            "CREATE INDEX identity_decisions_b ON identity_decisions (b)",
            "CREATE INDEX identity_decisions_pending ON identity_decisions (verdict, score)",
            """CREATE TABLE identity_audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                entry_id TEXT NOT NULL UNIQUE,
                customer_id TEXT NOT NULL,
                other_id TEXT,
                data TEXT NOT NULL
            )""",
            "CREATE INDEX identity_audit_customer ON identity_audit (customer_id)",
            "CREATE INDEX identity_audit_other ON identity_audit (other_id)",
        ),
    ),
}


def migrate(
    conn: sqlite3.Connection,
    *,
    retries: int,
    busy_timeout: float,
    migrations: dict[str, tuple[tuple[str, ...], ...]] = MIGRATIONS,
) -> dict[str, int]:
    """Bring the file's schema up to date; return each component's version."""
    begin_immediate(conn, retries=retries, busy_timeout=busy_timeout)
    try:
        with translate_errors("migrate the schema"):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS omnicrm_schema ("
                "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            found = dict(conn.execute("SELECT component, version FROM omnicrm_schema"))
            versions: dict[str, int] = {}
            for component, steps in migrations.items():
                current = int(found.get(component, 0))
                if current > len(steps):
                    raise StorageError(
                        f"schema component {component!r} is at version {current}, newer than "
                        f"this omnicrm knows ({len(steps)}); upgrade omnicrm"
                    )
                for statements in steps[current:]:
                    for statement in statements:
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO omnicrm_schema (component, version) VALUES (?, ?) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (component, len(steps)),
                )
                versions[component] = len(steps)
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return versions
