"""The in-memory purchase log and watch list of the composition root."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from omnicrm.errors import DuplicateError
from omnicrm.omni.model import PurchaseRecord, Watch
from omnicrm.persistence.memory._tables import Journal, Table

__all__ = ["MemoryPurchaseLog", "MemoryWatchList", "OmniTables"]


class OmniTables:
    """The committed state: purchases by order id, watches by (customer, sku)."""

    def __init__(self) -> None:
        self.purchases: Table[str, PurchaseRecord] = Table()
        self.watches: Table[tuple[str, str], Watch] = Table()


class MemoryPurchaseLog:
    """:class:`~omnicrm.omni.ports.PurchaseLog` over a journaled dict."""

    def __init__(self, tables: OmniTables, journal: Journal) -> None:
        self._t = tables.purchases
        self._journal = journal

    def add(self, record: PurchaseRecord) -> PurchaseRecord:
        """Store a purchase; ``DuplicateError`` if its order id is stored."""
        if record.order_id in self._t:
            raise DuplicateError("purchase", record.order_id)
        self._t.put(self._journal, record.order_id, record)
        return record

    def all(self) -> Sequence[PurchaseRecord]:
        """Every purchase, in ``(at, order_id)`` order."""
        return sorted(self._t.values(), key=lambda r: (r.at, r.order_id))

    def _rewrite(self, rows: list[PurchaseRecord], customer_id: str, marker: str | None) -> int:
        for row in rows:
            self._t.put(
                self._journal,
                row.order_id,
                attrs.evolve(row, customer_id=customer_id, merged_from=marker),
            )
        return len(rows)

    def move(self, source: str, target: str) -> int:
        """Merge: give ``source``'s purchases to ``target``, marked as merged from it."""
        rows = [r for r in self._t.values() if r.customer_id == source]
        return self._rewrite(rows, target, source)

    def restore(self, survivor: str, restored: str) -> int:
        """Unmerge: give back the purchases merged from ``restored`` into ``survivor``."""
        rows = [
            r for r in self._t.values() if r.customer_id == survivor and r.merged_from == restored
        ]
        return self._rewrite(rows, restored, None)

    def erase(self, customer_id: str) -> int:
        """Delete a person's purchases; return how many."""
        keys = [k for k, r in self._t.items() if r.customer_id == customer_id]
        for key in keys:
            self._t.delete(self._journal, key)
        return len(keys)


class MemoryWatchList:
    """:class:`~omnicrm.omni.ports.WatchList` over a journaled dict."""

    def __init__(self, tables: OmniTables, journal: Journal) -> None:
        self._t = tables.watches
        self._journal = journal

    def put(self, watch: Watch) -> None:
        """Add or replace a watch."""
        self._t.put(self._journal, (watch.customer_id, watch.sku), watch)

    def watchers(self, sku: str) -> Sequence[Watch]:
        """The watches of ``sku``, by customer id."""
        return sorted((w for w in self._t.values() if w.sku == sku), key=lambda w: w.customer_id)

    def remove(self, customer_id: str, sku: str) -> None:
        """Remove a watch (nothing if absent)."""
        self._t.delete(self._journal, (customer_id, sku))

    def erase(self, customer_id: str) -> int:
        """Delete a person's watches; return how many."""
        keys = [k for k, _ in self._t.items() if k[0] == customer_id]
        for key in keys:
            self._t.delete(self._journal, key)
        return len(keys)
