"""The PostgreSQL schema of the idempotency records tables.

The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite.idempotency` (their
statements run on both backends, see :mod:`omnicrm.persistence._sql`); only the
tables differ: ``BIGINT`` instants and counters, ``TEXT COLLATE "C"`` keys (byte order,
as SQLite and Python sort), identity columns for sequence numbers.
"""

from __future__ import annotations

__all__ = ["MIGRATION"]

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
