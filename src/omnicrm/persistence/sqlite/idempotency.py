"""The SQLite idempotency-record repository."""

from __future__ import annotations

from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import DuplicateError
from omnicrm.idempotency import REDACTED, IdempotencyRecord
from omnicrm.persistence._sql import INTEGRITY_ERRORS, SQLConnection, translate_errors

__all__ = ["MIGRATION", "MIGRATION_V2", "SQLiteIdempotencyRepository"]


MIGRATION: tuple[str, ...] = (
    """CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID""",
)
"""Version 1 of the ``core`` schema component (listed in :mod:`.schema`)."""

MIGRATION_V2: tuple[str, ...] = (
    "ALTER TABLE idempotency ADD COLUMN subject TEXT",
    "CREATE INDEX idempotency_subject ON idempotency (subject) WHERE subject IS NOT NULL",
)
"""Version 2 of ``core``: the customer a record is about, for erasure to redact it."""


class SQLiteIdempotencyRepository:
    """:class:`~omnicrm.idempotency.IdempotencyRepository` on the ``idempotency`` table."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """Return the record for ``(scope, key)``, or ``None``."""
        with translate_errors("read an idempotency record"):
            row = self._conn.execute(
                "SELECT fingerprint, result, created_at, subject FROM idempotency "
                "WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(
            scope=scope,
            key=key,
            fingerprint=row[0],
            result=row[1],
            created_at=from_micros(int(row[2])),
            subject=row[3],
        )

    def add(self, record: IdempotencyRecord) -> None:
        """Store a new record; ``DuplicateError`` if the key is taken."""
        with translate_errors("add an idempotency record"):
            try:
                self._conn.execute(
                    "INSERT INTO idempotency "
                    "(scope, key, fingerprint, result, created_at, subject) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.scope,
                        record.key,
                        record.fingerprint,
                        record.result,
                        to_micros(record.created_at),
                        record.subject,
                    ),
                )
            except INTEGRITY_ERRORS as exc:
                raise DuplicateError("idempotency record", (record.scope, record.key)) from exc

    def redact(self, subject: str) -> int:
        """Erase the results about ``subject`` (through the ``subject`` index)."""
        with translate_errors("redact idempotency records"):
            cursor = self._conn.execute(
                "UPDATE idempotency SET fingerprint = ?, result = ? WHERE subject = ?",
                (REDACTED, REDACTED, subject),
            )
        return cursor.rowcount
