"""The PostgreSQL schema, created and migrated by version, one version line per component.

``MIGRATIONS[component]`` lists that component's versions in order; each version is a
tuple of SQL statements. Opening a store applies the versions the database lacks, in
one transaction holding the store's advisory lock (so processes opening the same
database at once migrate it once), and records them in ``omnicrm_schema``. A schema
newer than this omnicrm knows is refused. An existing version is never edited; a
change is a new version. PostgreSQL has its own version line: its version 1 of each
component is the shape SQLite reached by its latest version.
"""

from __future__ import annotations

from omnicrm.persistence._sql import Migrations, apply_migrations, translate_errors
from omnicrm.persistence.postgres._connection import PgConnection
from omnicrm.persistence.postgres.customers import MIGRATION as CUSTOMERS_V1
from omnicrm.persistence.postgres.idempotency import MIGRATION as IDEMPOTENCY_V1
from omnicrm.persistence.postgres.idempotency import MIGRATION_V2 as IDEMPOTENCY_V2
from omnicrm.persistence.postgres.identity import MIGRATION as IDENTITY_V1
from omnicrm.persistence.postgres.identity import MIGRATION_V2 as IDENTITY_V2
from omnicrm.persistence.postgres.identity import MIGRATION_V3 as IDENTITY_V3
from omnicrm.persistence.postgres.identity import MIGRATION_V4 as IDENTITY_V4
from omnicrm.persistence.postgres.inventory import MIGRATION as INVENTORY_V1
from omnicrm.persistence.postgres.loyalty import MIGRATION as LOYALTY_V1
from omnicrm.persistence.postgres.loyalty import MIGRATION_V2 as LOYALTY_V2
from omnicrm.persistence.postgres.omni import MIGRATION as OMNI_V1
from omnicrm.persistence.postgres.timing import MIGRATION as TIMING_V1
from omnicrm.persistence.postgres.timing import MIGRATION_V2 as TIMING_V2

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: Migrations = {
    "core": (IDEMPOTENCY_V1, IDEMPOTENCY_V2),
    "customers": (CUSTOMERS_V1,),
    "timing": (TIMING_V1, TIMING_V2),
    "loyalty": (LOYALTY_V1, LOYALTY_V2),
    "inventory": (INVENTORY_V1,),
    "identity": (IDENTITY_V1, IDENTITY_V2, IDENTITY_V3, IDENTITY_V4),
    "omni": (OMNI_V1,),
}


def migrate(
    conn: PgConnection,
    begin: str,
    *,
    migrations: Migrations = MIGRATIONS,
) -> dict[str, int]:
    """Bring the schema up to date in one transaction; return each component's version.

    ``begin`` is the store's write-transaction opening (``BEGIN`` and its lock).
    """
    with translate_errors("migrate the schema"):
        conn.script(begin)
        try:
            versions = apply_migrations(
                conn,
                {  # each version's statements in one round trip: they take no parameters
                    component: tuple((";\n".join(statements),) for statements in steps)
                    for component, steps in migrations.items()
                },
                "CREATE TABLE IF NOT EXISTS omnicrm_schema ("
                'component TEXT COLLATE "C" PRIMARY KEY, version BIGINT NOT NULL)',
            )
            conn.script("COMMIT")
        except BaseException:
            if conn.usable and conn.in_transaction:
                conn.script("ROLLBACK")
            raise
    return versions
