"""The in-memory idempotency-record repository."""

from __future__ import annotations

import attrs

from omnicrm.errors import DuplicateError
from omnicrm.idempotency import REDACTED, IdempotencyRecord
from omnicrm.persistence.memory._tables import Journal, Table

__all__ = ["MemoryIdempotencyRepository"]


class MemoryIdempotencyRepository:
    """:class:`~omnicrm.idempotency.IdempotencyRepository` over a journaled dict."""

    def __init__(self, table: Table[tuple[str, str], IdempotencyRecord], journal: Journal) -> None:
        self._table = table
        self._journal = journal

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """Return the record for ``(scope, key)``, or ``None``."""
        return self._table.get((scope, key))

    def add(self, record: IdempotencyRecord) -> None:
        """Store a new record; ``DuplicateError`` if the key is taken."""
        pk = (record.scope, record.key)
        if pk in self._table:
            raise DuplicateError("idempotency record", pk)
        self._table.put(self._journal, pk, record)

    def redact(self, subject: str) -> int:
        """Erase the results about ``subject`` (a scan: erasure is rare)."""
        about = [(pk, r) for pk, r in self._table.items() if r.subject == subject]
        for pk, record in about:
            redacted = attrs.evolve(record, fingerprint=REDACTED, result=REDACTED)
            self._table.put(self._journal, pk, redacted)
        return len(about)
