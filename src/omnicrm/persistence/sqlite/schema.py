"""The SQLite schema, created and migrated by version, one version line per component.

``MIGRATIONS[component]`` lists that component's versions in order; each version is a
tuple of SQL statements. Opening a store applies the versions a file lacks, in one
transaction, and records them in ``omnicrm_schema``. Each adapter module holds its own
statements (``MIGRATION`` for version 1); a capability adds its tables by listing its
component here. An existing version is never edited; a change is a new version.
"""

from __future__ import annotations

import sqlite3

from omnicrm.persistence._sql import apply_migrations
from omnicrm.persistence.sqlite._connection import begin_immediate, translate_errors
from omnicrm.persistence.sqlite._loyalty_summaries import MIGRATION_V3 as LOYALTY_V3
from omnicrm.persistence.sqlite.customers import MIGRATION as CUSTOMERS_V1
from omnicrm.persistence.sqlite.idempotency import MIGRATION as IDEMPOTENCY_V1
from omnicrm.persistence.sqlite.idempotency import MIGRATION_V2 as IDEMPOTENCY_V2
from omnicrm.persistence.sqlite.identity import MIGRATION as IDENTITY_V1
from omnicrm.persistence.sqlite.identity import MIGRATION_V2 as IDENTITY_V2
from omnicrm.persistence.sqlite.identity import MIGRATION_V3 as IDENTITY_V3
from omnicrm.persistence.sqlite.identity import MIGRATION_V4 as IDENTITY_V4
from omnicrm.persistence.sqlite.identity import MIGRATION_V5 as IDENTITY_V5
from omnicrm.persistence.sqlite.inventory import MIGRATION as INVENTORY_V1
from omnicrm.persistence.sqlite.loyalty import MIGRATION as LOYALTY_V1
from omnicrm.persistence.sqlite.loyalty import MIGRATION_V2 as LOYALTY_V2
from omnicrm.persistence.sqlite.omni import MIGRATION as OMNI_V1
from omnicrm.persistence.sqlite.timing import MIGRATION as TIMING_V1
from omnicrm.persistence.sqlite.timing import MIGRATION_V2 as TIMING_V2

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "core": (IDEMPOTENCY_V1, IDEMPOTENCY_V2),
    "customers": (CUSTOMERS_V1,),
    "timing": (TIMING_V1, TIMING_V2),
    "loyalty": (LOYALTY_V1, LOYALTY_V2, LOYALTY_V3),
    "inventory": (INVENTORY_V1,),
    "identity": (IDENTITY_V1, IDENTITY_V2, IDENTITY_V3, IDENTITY_V4, IDENTITY_V5),
    "omni": (OMNI_V1,),
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
            versions = apply_migrations(
                conn,
                migrations,
                "CREATE TABLE IF NOT EXISTS omnicrm_schema ("
                "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
            )
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return versions
