"""The in-memory idempotency-record repository."""

from __future__ import annotations

from omnicrm.errors import DuplicateError
from omnicrm.idempotency import IdempotencyRecord
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
