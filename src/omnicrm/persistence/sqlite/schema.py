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
    "timing": (
        (
            """CREATE TABLE timing_seen (
                event_id TEXT PRIMARY KEY,
                at_us INTEGER NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE timing_positions (
                customer_id TEXT NOT NULL,
                journey_id TEXT NOT NULL,
                run INTEGER NOT NULL,
                step_id TEXT NOT NULL,
                active INTEGER NOT NULL,
                due_us INTEGER,
                wait_event TEXT,
                version INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (customer_id, journey_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX timing_positions_due ON timing_positions (due_us, customer_id, "
            "journey_id) WHERE active = 1 AND due_us IS NOT NULL",
            """CREATE TABLE timing_entries (
                customer_id TEXT NOT NULL,
                journey_id TEXT NOT NULL,
                run INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                holdout INTEGER NOT NULL,
                PRIMARY KEY (customer_id, journey_id, run)
            ) WITHOUT ROWID""",
            """CREATE TABLE timing_actions (
                action_id TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                due_us INTEGER NOT NULL,
                channel TEXT,
                is_send INTEGER NOT NULL,
                data TEXT NOT NULL
            ) WITHOUT ROWID""",
            "CREATE INDEX timing_actions_sends ON timing_actions (customer_id, due_us) "
            "WHERE is_send = 1",
            "CREATE INDEX timing_actions_due ON timing_actions (due_us, action_id)",
            """CREATE TABLE timing_outcomes (
                action_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                at_us INTEGER NOT NULL,
                PRIMARY KEY (action_id, kind)
            ) WITHOUT ROWID""",
        ),
    ),
    "loyalty": (
        (
            """CREATE TABLE loyalty_accounts (
                program_id TEXT NOT NULL,
                member_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_us INTEGER NOT NULL,
                debt TEXT NOT NULL,
                rolling_us INTEGER,
                PRIMARY KEY (program_id, member_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX loyalty_accounts_member ON loyalty_accounts (member_id)",
            "CREATE INDEX loyalty_accounts_rolling ON loyalty_accounts (program_id, rolling_us) "
            "WHERE rolling_us IS NOT NULL",
            """CREATE TABLE loyalty_grants (
                id TEXT PRIMARY KEY,
                program_id TEXT NOT NULL,
                member_id TEXT NOT NULL,
                company TEXT NOT NULL,
                kind TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                remaining INTEGER NOT NULL CHECK (remaining >= 0),
                granted_us INTEGER NOT NULL,
                expires_us INTEGER,
                pending INTEGER NOT NULL,
                confirm_us INTEGER,
                order_id TEXT,
                merged_from TEXT,
                merge_id TEXT,
                version INTEGER NOT NULL
            )""",
            "CREATE INDEX loyalty_grants_live ON loyalty_grants "
            "(program_id, member_id, kind, pending, confirm_us, expires_us, remaining) "
            "WHERE remaining > 0",
            "CREATE INDEX loyalty_grants_expiry ON loyalty_grants (program_id, expires_us) "
            "WHERE remaining > 0",
            "CREATE INDEX loyalty_grants_confirm ON loyalty_grants (program_id, confirm_us) "
            "WHERE remaining > 0 AND pending = 1",
            """CREATE TABLE loyalty_holds (
                id TEXT PRIMARY KEY,
                program_id TEXT NOT NULL,
                member_id TEXT NOT NULL,
                company TEXT NOT NULL,
                channel TEXT NOT NULL,
                order_id TEXT,
                points INTEGER NOT NULL CHECK (points > 0),
                allocations TEXT NOT NULL,
                created_us INTEGER NOT NULL,
                expires_us INTEGER NOT NULL,
                state TEXT NOT NULL,
                captured INTEGER NOT NULL,
                version INTEGER NOT NULL
            )""",
            "CREATE INDEX loyalty_holds_active ON loyalty_holds (program_id, member_id) "
            "WHERE state = 'active'",
            "CREATE INDEX loyalty_holds_due ON loyalty_holds (program_id, expires_us) "
            "WHERE state = 'active'",
            """CREATE TABLE loyalty_orders (
                program_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                member_id TEXT NOT NULL,
                gross INTEGER NOT NULL,
                points_used INTEGER NOT NULL,
                earned TEXT NOT NULL,
                spent TEXT NOT NULL,
                returned INTEGER NOT NULL,
                earned_us INTEGER,
                version INTEGER NOT NULL,
                PRIMARY KEY (program_id, order_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE loyalty_entries (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                program_id TEXT NOT NULL,
                member_id TEXT NOT NULL,
                company TEXT NOT NULL,
                grant_id TEXT,
                kind TEXT NOT NULL,
                debit TEXT NOT NULL,
                credit TEXT NOT NULL,
                amount INTEGER NOT NULL CHECK (amount > 0),
                counterparty TEXT,
                ref TEXT,
                effective_us INTEGER NOT NULL,
                recorded_us INTEGER NOT NULL
            )""",
            "CREATE INDEX loyalty_entries_member "
            "ON loyalty_entries (program_id, member_id, effective_us)",
            "CREATE INDEX loyalty_entries_effective ON loyalty_entries (program_id, effective_us)",
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
