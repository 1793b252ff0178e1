"""The composition root's own repositories: the purchase log and the watch list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from omnicrm.omni.model import PurchaseRecord, Watch
from omnicrm.unit_of_work import UnitOfWork

__all__ = ["OmniUnitOfWork", "PurchaseLog", "WatchList"]


class PurchaseLog(Protocol):
    """Purchases in every channel, the input of RFM."""

    def add(self, record: PurchaseRecord) -> PurchaseRecord:
        """Store a purchase; ``DuplicateError`` if its order id is stored."""
        ...

    def all(self) -> Sequence[PurchaseRecord]:
        """Every purchase, in ``(at, order_id)`` order."""
        ...

    def move(self, source: str, target: str) -> int:
        """Merge: give ``source``'s purchases to ``target``, marked as merged from it."""
        ...

    def restore(self, survivor: str, restored: str) -> int:
        """Unmerge: give back the purchases merged from ``restored`` into ``survivor``."""
        ...

    def erase(self, customer_id: str) -> int:
        """Delete a person's purchases; return how many."""
        ...


class WatchList(Protocol):
    """Customers waiting for an item to be back in stock."""

    def put(self, watch: Watch) -> None:
        """Add or replace a watch."""
        ...

    def watchers(self, sku: str) -> Sequence[Watch]:
        """The watches of ``sku``, by customer id."""
        ...

    def remove(self, customer_id: str, sku: str) -> None:
        """Remove a watch (nothing if absent)."""
        ...

    def erase(self, customer_id: str) -> int:
        """Delete a person's watches; return how many."""
        ...


class OmniUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with the composition root's repositories."""

    @property
    def omni_purchases(self) -> PurchaseLog:
        """The purchase log."""
        ...

    @property
    def omni_watches(self) -> WatchList:
        """The watch list."""
        ...
