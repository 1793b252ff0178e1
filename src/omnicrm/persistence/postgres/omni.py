"""The PostgreSQL schema of the composition root's purchase log and watch list tables.

The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite.omni` (their
statements run on both backends, see :mod:`omnicrm.persistence._sql`); only the
tables differ: ``BIGINT`` instants and counters, ``TEXT COLLATE "C"`` keys (byte order,
as SQLite and Python sort), identity columns for sequence numbers.
"""

from __future__ import annotations

__all__ = ["MIGRATION"]

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE omni_purchases (
            order_id TEXT COLLATE "C" PRIMARY KEY,
            customer_id TEXT COLLATE "C" NOT NULL,
            channel TEXT COLLATE "C" NOT NULL,
            amount BIGINT NOT NULL,
            at_us BIGINT NOT NULL,
            merged_from TEXT COLLATE "C"
        )""",
    "CREATE INDEX omni_purchases_customer ON omni_purchases (customer_id)",
    """CREATE TABLE omni_watches (
            customer_id TEXT COLLATE "C" NOT NULL,
            sku TEXT COLLATE "C" NOT NULL,
            since_us BIGINT NOT NULL,
            PRIMARY KEY (customer_id, sku)
        )""",
    "CREATE INDEX omni_watches_sku ON omni_watches (sku)",
)
"""Version 1 of the ``omni`` schema component on PostgreSQL (listed in :mod:`.schema`)."""
