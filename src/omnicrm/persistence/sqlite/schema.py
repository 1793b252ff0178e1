"""The SQLite schema, created and migrated by version, one version line per component.

``MIGRATIONS[component]`` lists that component's versions in order; each version is a
tuple of SQL statements. Opening a store applies the versions a file lacks, in one
transaction, and records them in ``omnicrm_schema``. Each adapter module holds its own
statements (``MIGRATION`` for version 1); a capability adds its tables by listing its
component here. An existing version is never edited; a change is a new version.
"""

from __future__ import annotations

import sqlite3

from omnicrm.errors import StorageError
from omnicrm.persistence.sqlite._connection import begin_immediate, translate_errors
from omnicrm.persistence.sqlite.customers import MIGRATION as CUSTOMERS_V1
from omnicrm.persistence.sqlite.idempotency import MIGRATION as IDEMPOTENCY_V1
from omnicrm.persistence.sqlite.identity import MIGRATION as IDENTITY_V1
from omnicrm.persistence.sqlite.identity import MIGRATION_V2 as IDENTITY_V2
from omnicrm.persistence.sqlite.inventory import MIGRATION as INVENTORY_V1
from omnicrm.persistence.sqlite.loyalty import MIGRATION as LOYALTY_V1
from omnicrm.persistence.sqlite.loyalty import MIGRATION_V2 as LOYALTY_V2
from omnicrm.persistence.sqlite.omni import MIGRATION as OMNI_V1
from omnicrm.persistence.sqlite.timing import MIGRATION as TIMING_V1

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "core": (IDEMPOTENCY_V1,),
    "customers": (CUSTOMERS_V1,),
    "timing": (TIMING_V1,),
    "loyalty": (LOYALTY_V1, LOYALTY_V2),
    "inventory": (INVENTORY_V1,),
    "identity": (IDENTITY_V1, IDENTITY_V2),
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
