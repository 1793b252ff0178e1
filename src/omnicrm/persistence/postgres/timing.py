"""The PostgreSQL schema of the timing engine's tables.

The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite.timing` (their
statements run on both backends, see :mod:`omnicrm.persistence._sql`); only the
tables differ: ``BIGINT`` instants and counters, ``TEXT COLLATE "C"`` keys (byte order,
as SQLite and Python sort), identity columns for sequence numbers.
"""

from __future__ import annotations

__all__ = ["MIGRATION", "MIGRATION_V2"]

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE timing_seen (
            event_id TEXT COLLATE "C" PRIMARY KEY,
            at_us BIGINT NOT NULL
        )""",
    """CREATE TABLE timing_positions (
            customer_id TEXT COLLATE "C" NOT NULL,
            journey_id TEXT COLLATE "C" NOT NULL,
            run BIGINT NOT NULL,
            step_id TEXT COLLATE "C" NOT NULL,
            active BIGINT NOT NULL,
            due_us BIGINT,
            wait_event TEXT COLLATE "C",
            version BIGINT NOT NULL,
            data TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (customer_id, journey_id)
        )""",
    "CREATE INDEX timing_positions_due ON timing_positions (due_us, customer_id, journey_id) "
    "WHERE active = 1 AND due_us IS NOT NULL",
    """CREATE TABLE timing_entries (
            customer_id TEXT COLLATE "C" NOT NULL,
            journey_id TEXT COLLATE "C" NOT NULL,
            run BIGINT NOT NULL,
            at_us BIGINT NOT NULL,
            holdout BIGINT NOT NULL,
            PRIMARY KEY (customer_id, journey_id, run)
        )""",
    """CREATE TABLE timing_actions (
            action_id TEXT COLLATE "C" PRIMARY KEY,
            customer_id TEXT COLLATE "C" NOT NULL,
            due_us BIGINT NOT NULL,
            channel TEXT COLLATE "C",
            is_send BIGINT NOT NULL,
            data TEXT COLLATE "C" NOT NULL
        )""",
    "CREATE INDEX timing_actions_sends ON timing_actions (customer_id, due_us) WHERE is_send = 1",
    "CREATE INDEX timing_actions_due ON timing_actions (due_us, action_id)",
    """CREATE TABLE timing_outcomes (
            action_id TEXT COLLATE "C" NOT NULL,
            kind TEXT COLLATE "C" NOT NULL,
            at_us BIGINT NOT NULL,
            PRIMARY KEY (action_id, kind)
        )""",
)
"""Version 1 of the ``timing`` schema component on PostgreSQL (listed in :mod:`.schema`)."""

MIGRATION_V2: tuple[str, ...] = (
    """CREATE TABLE timing_merges (
            survivor TEXT COLLATE "C" NOT NULL,
            absorbed TEXT COLLATE "C" NOT NULL,
            data TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (survivor, absorbed)
        )""",
    "CREATE INDEX timing_merges_absorbed ON timing_merges (absorbed)",
    "CREATE INDEX timing_actions_customer ON timing_actions (customer_id, due_us, action_id)",
)
"""Version 2 of ``timing`` on PostgreSQL: merge records and actions by customer."""
