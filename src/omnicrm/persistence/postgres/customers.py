"""The PostgreSQL schema of the customers tables.

The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite.customers` (their
statements run on both backends, see :mod:`omnicrm.persistence._sql`); only the
tables differ: ``BIGINT`` instants and counters, ``TEXT COLLATE "C"`` keys (byte order,
as SQLite and Python sort), identity columns for sequence numbers.
"""

from __future__ import annotations

__all__ = ["MIGRATION"]

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE customers (
            id TEXT COLLATE "C" PRIMARY KEY,
            version BIGINT NOT NULL,
            updated_us BIGINT NOT NULL,
            data TEXT COLLATE "C" NOT NULL
        )""",
    "CREATE INDEX customers_updated ON customers (updated_us, id)",
    """CREATE TABLE customer_identifiers (
            kind TEXT COLLATE "C" NOT NULL,
            value TEXT COLLATE "C" NOT NULL,
            customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            PRIMARY KEY (kind, value, customer_id)
        )""",
    "CREATE INDEX customer_identifiers_customer ON customer_identifiers (customer_id)",
)
"""Version 1 of the ``customers`` schema component on PostgreSQL (listed in :mod:`.schema`)."""
