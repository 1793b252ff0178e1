"""The in-memory backend: the reference implementation, transactional like a database.

One lock serialises units of work, so each runs as if alone (serializable); every
write is journaled and a rollback undoes it exactly. Data lives as long as the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from omnicrm.errors import StateError
from omnicrm.idempotency import IdempotencyRecord
from omnicrm.persistence._base import BaseUnitOfWork
from omnicrm.persistence.memory import identity as _identity
from omnicrm.persistence.memory import inventory as _inventory
from omnicrm.persistence.memory import loyalty as _loyalty
from omnicrm.persistence.memory import omni as _omni
from omnicrm.persistence.memory import timing as _timing
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.persistence.memory.customers import CustomerTables, MemoryCustomerRepository
from omnicrm.persistence.memory.idempotency import MemoryIdempotencyRepository
from omnicrm.unit_of_work import Capability, lock_keys

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


class MemoryStore:
    """An in-process store. ``open_store("memory:")`` returns a new one."""

    capabilities: frozenset[str] = frozenset({Capability.THREADS})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._customers = CustomerTables()
        self._idempotency: Table[tuple[str, str], IdempotencyRecord] = Table()
        self._timing = _timing.TimingTables()
        # units of work are serialised by the lock and leave the journal empty (committed
        # or undone), so one journal, and repositories built over it once, serve them all
        self._journal = Journal()
        self._timing_repos = _timing.TimingRepositories(self._timing, self._journal)
        self._customer_repo = MemoryCustomerRepository(self._customers, self._journal)
        self._idempotency_repo = MemoryIdempotencyRepository(self._idempotency, self._journal)
        self._loyalty = _loyalty.LoyaltyTables()
        self._loyalty_repos = _loyalty.MemoryLoyaltyRepositories(self._loyalty, self._journal)
        self._inventory = _inventory.InventoryTables()
        self._inventory_repos = _inventory.InventoryRepositories(self._inventory, self._journal)
        self._identity = _identity.IdentityTables()
        self._identity_repos = _identity.MemoryIdentityRepositories(self._identity, self._journal)
        self._omni = _omni.OmniTables()
        self._purchases_repo = _omni.MemoryPurchaseLog(self._omni, self._journal)
        self._watches_repo = _omni.MemoryWatchList(self._omni, self._journal)

    def unit_of_work(
        self, *, read_only: bool = False, locks: Iterable[str] = ()
    ) -> MemoryUnitOfWork:
        """Return a new unit of work over this store (``read_only`` ones cannot commit).

        ``locks`` is checked and otherwise ignored: every unit of work runs alone.
        """
        if type(locks) is not tuple or locks:  # none named (the common case): nothing to check
            lock_keys(locks)
        return MemoryUnitOfWork(self, read_only=read_only)

    def close(self) -> None:
        """Nothing to release; kept for the :class:`~omnicrm.unit_of_work.Store` protocol."""


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work holding the store's lock from ``__enter__`` to ``__exit__``."""

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._store = store  # its repositories serve every unit of work (see the store)
        self._journal = store._journal
        self._locked = False

    @property
    def omni_purchases(self) -> _omni.MemoryPurchaseLog:
        """The composition root's purchase log."""
        self._require_active()
        return self._store._purchases_repo

    @property
    def omni_watches(self) -> _omni.MemoryWatchList:
        """The composition root's watch list."""
        self._require_active()
        return self._store._watches_repo

    @property
    def customers(self) -> MemoryCustomerRepository:
        """The customers repository."""
        self._require_active()
        return self._store._customer_repo

    @property
    def idempotency(self) -> MemoryIdempotencyRepository:
        """The idempotency-record repository."""
        self._require_active()
        return self._store._idempotency_repo

    @property
    def timing_events(self) -> _timing.MemoryProcessedEventRepository:
        """Processed event ids (timing engine)."""
        self._require_active()
        return self._store._timing_repos.events

    @property
    def timing_enrollments(self) -> _timing.MemoryEnrollmentRepository:
        """Positions in journeys (timing engine)."""
        self._require_active()
        return self._store._timing_repos.enrollments

    @property
    def timing_entries(self) -> _timing.MemoryEntryRepository:
        """Entries into journeys (timing engine)."""
        self._require_active()
        return self._store._timing_repos.entries

    @property
    def timing_actions(self) -> _timing.MemoryActionRepository:
        """Action decisions (timing engine)."""
        self._require_active()
        return self._store._timing_repos.actions

    @property
    def timing_merges(self) -> _timing.MemoryMergeRepository:
        """Records of customer merges (timing engine)."""
        self._require_active()
        return self._store._timing_repos.merges

    @property
    def timing_outcomes(self) -> _timing.MemoryOutcomeRepository:
        """Reported outcomes (timing engine)."""
        self._require_active()
        return self._store._timing_repos.outcomes

    @property
    def loyalty_accounts(self) -> _loyalty.MemoryAccountRepository:
        """The loyalty accounts repository."""
        self._require_active()
        return self._store._loyalty_repos.accounts

    @property
    def loyalty_grants(self) -> _loyalty.MemoryGrantRepository:
        """The loyalty grants repository."""
        self._require_active()
        return self._store._loyalty_repos.grants

    @property
    def loyalty_holds(self) -> _loyalty.MemoryHoldRepository:
        """The loyalty holds repository."""
        self._require_active()
        return self._store._loyalty_repos.holds

    @property
    def loyalty_orders(self) -> _loyalty.MemoryOrderRepository:
        """The loyalty orders repository."""
        self._require_active()
        return self._store._loyalty_repos.orders

    @property
    def loyalty_ledger(self) -> _loyalty.MemoryLedgerRepository:
        """The loyalty ledger repository."""
        self._require_active()
        return self._store._loyalty_repos.ledger

    @property
    def loyalty_summaries(self) -> _loyalty.MemorySummaryRepository:
        """The loyalty balance summaries repository."""
        self._require_active()
        return self._store._loyalty_repos.summaries

    @property
    def locations(self) -> _inventory.MemoryLocationRepository:
        """The inventory locations repository."""
        self._require_active()
        return self._store._inventory_repos.locations

    @property
    def channel_routes(self) -> _inventory.MemoryChannelRouteRepository:
        """The channel-to-locations routes repository."""
        self._require_active()
        return self._store._inventory_repos.channel_routes

    @property
    def items(self) -> _inventory.MemoryItemRepository:
        """The inventory item catalogue."""
        self._require_active()
        return self._store._inventory_repos.items

    @property
    def stock(self) -> _inventory.MemoryStockRepository:
        """Stock levels and movements."""
        self._require_active()
        return self._store._inventory_repos.stock

    @property
    def holds(self) -> _inventory.MemoryHoldRepository:
        """Inventory holds."""
        self._require_active()
        return self._store._inventory_repos.holds

    @property
    def identity_profiles(self) -> _identity.MemoryProfileRepository:
        """Identity: people."""
        self._require_active()
        return self._store._identity_repos.profiles

    @property
    def identity_records(self) -> _identity.MemorySourceRecordRepository:
        """Identity: source records."""
        self._require_active()
        return self._store._identity_repos.records

    @property
    def identity_keys(self) -> _identity.MemoryMatchKeyRepository:
        """Identity: the match-key index."""
        self._require_active()
        return self._store._identity_repos.keys

    @property
    def identity_decisions(self) -> _identity.MemoryDecisionRepository:
        """Identity: review queue and decisions."""
        self._require_active()
        return self._store._identity_repos.decisions

    @property
    def identity_audit(self) -> _identity.MemoryAuditRepository:
        """Identity: the audit trail."""
        self._require_active()
        return self._store._identity_repos.audit

    def _begin(self) -> None:
        store, me = self._store, threading.get_ident()
        if store._owner == me:
            raise StateError("a unit of work is already open on this thread; finish it first")
        store._lock.acquire()
        store._owner = me
        self._locked = True
        self._journal.forget()  # empty already, unless an undo raised in an earlier one

    def _commit(self) -> None:
        self._journal.forget()

    def _rollback(self) -> None:
        self._journal.undo_all()

    def _end(self) -> None:
        if self._locked:
            self._locked = False
            self._store._owner = None
            self._store._lock.release()
