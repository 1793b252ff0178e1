"""The in-memory customers repository (the reference implementation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from omnicrm.customers.model import Customer, IdentifierKey
from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.persistence.paging import check_page
from omnicrm.validation import check_id

__all__ = ["CustomerTables", "MemoryCustomerRepository"]


class CustomerTables:
    """The committed state: profiles and the identifier index."""

    def __init__(self) -> None:
        self.rows: Table[str, Customer] = Table()
        self.by_identifier: Table[IdentifierKey, frozenset[str]] = Table()


class MemoryCustomerRepository:
    """:class:`~omnicrm.customers.ports.CustomerRepository` over journaled dicts."""

    def __init__(self, tables: CustomerTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def _index(
        self, customer_id: str, old: Iterable[IdentifierKey], new: Iterable[IdentifierKey]
    ) -> None:
        old_set, new_set = frozenset(old), frozenset(new)
        index = self._t.by_identifier
        for key in old_set - new_set:
            ids = (index.get(key) or frozenset()) - {customer_id}
            if ids:
                index.put(self._journal, key, ids)
            else:
                index.delete(self._journal, key)
        for key in new_set - old_set:
            index.put(self._journal, key, (index.get(key) or frozenset()) | {customer_id})

    def add(self, customer: Customer) -> Customer:
        """Store a new profile with version 1."""
        if customer.id in self._t.rows:
            raise DuplicateError("customer", customer.id)
        stored = attrs.evolve(customer, version=1)
        self._t.rows.put(self._journal, customer.id, stored)
        self._index(customer.id, (), stored.identifiers)
        return stored

    def get(self, customer_id: str) -> Customer:
        """Return the profile or raise ``NotFoundError``."""
        found = self._t.rows.get(check_id("customer_id", customer_id))
        if found is None:
            raise NotFoundError("customer", customer_id)
        return found

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, Customer]:
        """Return the existing profiles among ``customer_ids``."""
        found = {}
        for customer_id in customer_ids:
            row = self._t.rows.get(check_id("customer_ids", customer_id))
            if row is not None:
                found[customer_id] = row
        return found

    def find_by_identifier(self, key: IdentifierKey) -> Sequence[Customer]:
        """Return the profiles carrying ``key``, by id."""
        ids = self._t.by_identifier.get(key) or frozenset()
        rows = (self._t.rows.get(i) for i in sorted(ids))
        return tuple(r for r in rows if r is not None)

    def update(self, customer: Customer) -> Customer:
        """Replace the profile if the version matches; return it with the next version."""
        current = self._t.rows.get(customer.id)
        if current is None:
            raise NotFoundError("customer", customer.id)
        if current.version != customer.version:
            raise ConcurrencyError("customer", customer.id, customer.version, current.version)
        stored = attrs.evolve(customer, version=current.version + 1)
        self._t.rows.put(self._journal, customer.id, stored)
        self._index(customer.id, current.identifiers, stored.identifiers)
        return stored

    def changed_since(
        self, since: datetime, *, after_id: str | None = None, limit: int | None = None
    ) -> Sequence[Customer]:
        """Return profiles changed at or after ``since`` (after ``after_id`` on ties)."""
        since_utc, limit = check_page(since, after_id, limit)
        rows = sorted(
            (c for c in self._t.rows.values() if c.updated_at >= since_utc),
            key=lambda c: (c.updated_at, c.id),
        )
        if after_id is not None:
            rows = [c for c in rows if (c.updated_at, c.id) > (since_utc, after_id)]
        return tuple(rows if limit is None else rows[:limit])
