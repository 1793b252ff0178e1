"""The in-memory backend: the reference implementation, transactional like a database.

One lock serialises units of work, so each runs as if alone (serializable); every
write is journaled and a rollback undoes it exactly. Data lives as long as the store.
"""

from __future__ import annotations

import threading

from omnicrm.errors import StateError
from omnicrm.idempotency import IdempotencyRecord
from omnicrm.persistence._base import BaseUnitOfWork
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.persistence.memory.customers import CustomerTables, MemoryCustomerRepository
from omnicrm.persistence.memory.idempotency import MemoryIdempotencyRepository
from omnicrm.persistence.memory.identity import (
    IdentityTables,
    MemoryAuditRepository,
    MemoryDecisionRepository,
    MemoryIdentityRepositories,
    MemoryMatchKeyRepository,
    MemoryProfileRepository,
    MemorySourceRecordRepository,
)
from omnicrm.unit_of_work import Capability

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


class MemoryStore:
    """An in-process store. ``open_store("memory:")`` returns a new one."""

    capabilities: frozenset[str] = frozenset({Capability.THREADS})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._customers = CustomerTables()
        self._idempotency: Table[tuple[str, str], IdempotencyRecord] = Table()
        self._identity = IdentityTables()

    def unit_of_work(self) -> MemoryUnitOfWork:
        """Return a new unit of work over this store."""
        return MemoryUnitOfWork(self)

    def _acquire(self) -> None:
        if self._owner == threading.get_ident():
            raise StateError("a unit of work is already open on this thread; finish it first")
        self._lock.acquire()
        self._owner = threading.get_ident()

    def _release(self) -> None:
        self._owner = None
        self._lock.release()

    def close(self) -> None:
        """Nothing to release; kept for the :class:`~omnicrm.unit_of_work.Store` protocol."""


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work holding the store's lock from ``__enter__`` to ``__exit__``."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store
        self._journal = Journal()
        self._locked = False
        self._customers = MemoryCustomerRepository(store._customers, self._journal)
        self._idempotency = MemoryIdempotencyRepository(store._idempotency, self._journal)
        self._identity = MemoryIdentityRepositories(store._identity, self._journal)

    @property
    def customers(self) -> MemoryCustomerRepository:
        """The customers repository."""
        self._require_active()
        return self._customers

    @property
    def idempotency(self) -> MemoryIdempotencyRepository:
        """The idempotency-record repository."""
        self._require_active()
        return self._idempotency

    @property
    def identity_profiles(self) -> MemoryProfileRepository:
        """Identity: people."""
        self._require_active()
        return self._identity.profiles

    @property
    def identity_records(self) -> MemorySourceRecordRepository:
        """Identity: source records."""
        self._require_active()
        return self._identity.records

    @property
    def identity_keys(self) -> MemoryMatchKeyRepository:
        """Identity: the match-key index."""
        self._require_active()
        return self._identity.keys

    @property
    def identity_decisions(self) -> MemoryDecisionRepository:
        """Identity: review queue and decisions."""
        self._require_active()
        return self._identity.decisions

    @property
    def identity_audit(self) -> MemoryAuditRepository:
        """Identity: the audit trail."""
        self._require_active()
        return self._identity.audit

    def _begin(self) -> None:
        self._store._acquire()
        self._locked = True

    def _commit(self) -> None:
        self._journal.forget()

    def _rollback(self) -> None:
        self._journal.undo_all()

    def _end(self) -> None:
        if self._locked:
            self._locked = False
            self._store._release()
