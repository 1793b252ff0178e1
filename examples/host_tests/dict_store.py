"""A host's own storage backend on plain dicts, written without inheriting from omnicrm.

It shows the minimum a backend needs: a Store with ``capabilities``, ``unit_of_work()``
and ``close()``; a unit of work that commits or rolls back as a whole; a customers
repository and an idempotency repository. Transactions copy the tables on begin and
swap them in on commit, under one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import attrs

from omnicrm.customers import Customer, IdentifierKey
from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError, StateError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import REDACTED, IdempotencyRecord


class DictStore:
    """Customers and idempotency records in two dicts."""

    capabilities = frozenset({"threads"})

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.customers: dict[str, Customer] = {}
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}

    def unit_of_work(self, *, read_only: bool = False, locks: Iterable[str] = ()) -> DictUnitOfWork:
        # One lock serialises every unit of work, so the aggregates a command names in
        # ``locks`` need no lock of their own: accept the argument and ignore it.
        return DictUnitOfWork(self, read_only=read_only)

    def close(self) -> None:
        pass


class DictCustomers:
    def __init__(self, rows: dict[str, Customer]) -> None:
        self.rows = rows

    def add(self, customer: Customer) -> Customer:
        if customer.id in self.rows:
            raise DuplicateError("customer", customer.id)
        self.rows[customer.id] = stored = attrs.evolve(customer, version=1)
        return stored

    def get(self, customer_id: str) -> Customer:
        if customer_id not in self.rows:
            raise NotFoundError("customer", customer_id)
        return self.rows[customer_id]

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, Customer]:
        return {i: self.rows[i] for i in customer_ids if i in self.rows}

    def find_by_identifier(self, key: IdentifierKey) -> Sequence[Customer]:
        return tuple(c for _, c in sorted(self.rows.items()) if key in c.identifiers)

    def update(self, customer: Customer) -> Customer:
        current = self.get(customer.id)
        if current.version != customer.version:
            raise ConcurrencyError("customer", customer.id, customer.version, current.version)
        self.rows[customer.id] = stored = attrs.evolve(customer, version=customer.version + 1)
        return stored

    def changed_since(
        self, since: datetime, *, after_id: str | None = None, limit: int | None = None
    ) -> Sequence[Customer]:
        rows = sorted(
            (c for c in self.rows.values() if c.updated_at >= since),
            key=lambda c: (c.updated_at, c.id),
        )
        if after_id is not None:
            rows = [c for c in rows if (c.updated_at, c.id) > (since, after_id)]
        return tuple(rows[:limit] if limit else rows)


class DictRecords:
    def __init__(self, rows: dict[tuple[str, str], IdempotencyRecord]) -> None:
        self.rows = rows

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.rows.get((scope, key))

    def add(self, record: IdempotencyRecord) -> None:
        if (record.scope, record.key) in self.rows:
            raise DuplicateError("idempotency record", (record.scope, record.key))
        self.rows[(record.scope, record.key)] = record

    def redact(self, subject: str) -> int:
        about = [pk for pk, r in self.rows.items() if r.subject == subject]
        for pk in about:
            self.rows[pk] = attrs.evolve(self.rows[pk], fingerprint=REDACTED, result=REDACTED)
        return len(about)


class DictUnitOfWork:
    def __init__(self, store: DictStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self.state = "new"
        self.pending: list[DomainEvent] = []
        self.events: tuple[DomainEvent, ...] = ()

    def __enter__(self) -> Self:
        if self.state != "new":
            raise StateError("a unit of work is used once")
        self.store.lock.acquire()
        self.state = "active"
        self._customers = DictCustomers(dict(self.store.customers))
        self._records = DictRecords(dict(self.store.records))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.state == "active":
            self.rollback()
        self.store.lock.release()

    def _active(self) -> None:
        if self.state != "active":
            raise StateError(f"the unit of work is {self.state}")

    @property
    def customers(self) -> DictCustomers:
        self._active()
        return self._customers

    @property
    def idempotency(self) -> DictRecords:
        self._active()
        return self._records

    def record(self, event: DomainEvent) -> None:
        self._active()
        self.pending.append(event)

    def commit(self) -> None:
        self._active()
        if self.read_only:
            raise StateError("a read-only unit of work cannot commit")
        self.store.customers = self._customers.rows
        self.store.records = self._records.rows
        self.events, self.pending, self.state = tuple(self.pending), [], "committed"

    def rollback(self) -> None:
        if self.state == "active":
            self.pending, self.state = [], "rolled back"
