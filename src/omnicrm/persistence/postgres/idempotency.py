"""The PostgreSQL schema of the idempotency records tables.

The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite.idempotency` (their
statements run on both backends, see :mod:`omnicrm.persistence._sql`); only the
tables differ: ``BIGINT`` instants and counters, ``TEXT COLLATE "C"`` keys (byte order,
as SQLite and Python sort), identity columns for sequence numbers.
"""

from __future__ import annotations

__all__ = ["MIGRATION", "MIGRATION_V2"]

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE idempotency (
            scope TEXT COLLATE "C" NOT NULL,
            key TEXT COLLATE "C" NOT NULL,
            fingerprint TEXT COLLATE "C" NOT NULL,
            result TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (scope, key)
        )""",
)
"""Version 1 of the ``core`` schema component on PostgreSQL (listed in :mod:`.schema`)."""

MIGRATION_V2: tuple[str, ...] = (
    'ALTER TABLE idempotency ADD COLUMN subject TEXT COLLATE "C"',
    "CREATE INDEX idempotency_subject ON idempotency (subject) WHERE subject IS NOT NULL",
)
"""Version 2 of ``core``: the customer a record is about, for erasure to redact it."""
