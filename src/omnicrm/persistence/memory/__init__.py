"""The in-memory backend: the reference implementation, transactional like a database.

One lock serialises units of work, so each runs as if alone (serializable); every
write is journaled and a rollback undoes it exactly. Data lives as long as the store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from operator import attrgetter
from typing import Any, NoReturn

from omnicrm.errors import StateError
from omnicrm.idempotency import IdempotencyRecord
from omnicrm.persistence._base import COMMITTED, NEW, ROLLED_BACK, BaseUnitOfWork, inactive
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
        # re-entrant, so that a second unit of work on the holding thread gets the lock
        # at once and finds ``_busy`` set (refused), where another thread waits its turn:
        # no thread id to fetch and compare per unit of work
        self._lock = threading.RLock()
        self._busy = False
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


class _Refusing:
    """Stands in for the store while a unit of work is not active: every look-up refuses."""

    __slots__ = ("_phase",)

    def __init__(self, phase: str) -> None:
        self._phase = phase

    def __getattr__(self, name: str) -> NoReturn:
        raise inactive(self._phase)


_NOT_BEGUN, _COMMITTED, _ROLLED_BACK = map(_Refusing, (NEW, COMMITTED, ROLLED_BACK))


def _repository(path: str, doc: str) -> Any:
    """A repository property reading ``path`` of the store through ``_live``.

    ``_live`` is the store while the unit of work is active and a :class:`_Refusing`
    otherwise, so the property refuses outside ``with`` and after commit, with the
    check done by the attribute look-up itself: no Python call per access.
    """
    return property(attrgetter(f"_live.{path}"), doc=doc)


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work holding the store's lock from ``__enter__`` to ``__exit__``."""

    __slots__ = ("_journal", "_live", "_locked", "_store")

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        # the base's three fields set here: no super() call for every unit of work
        self.read_only = read_only
        self._phase = NEW
        self._events = ()
        self._store = store  # its repositories serve every unit of work (see the store)
        self._journal = store._journal
        self._locked = False
        self._live: MemoryStore | _Refusing = _NOT_BEGUN

    omni_purchases: _omni.MemoryPurchaseLog = _repository(
        "_purchases_repo", "The composition root's purchase log."
    )
    omni_watches: _omni.MemoryWatchList = _repository(
        "_watches_repo", "The composition root's watch list."
    )
    customers: MemoryCustomerRepository = _repository("_customer_repo", "The customers repository.")
    idempotency: MemoryIdempotencyRepository = _repository(
        "_idempotency_repo", "The idempotency-record repository."
    )
    timing_events: _timing.MemoryProcessedEventRepository = _repository(
        "_timing_repos.events", "Processed event ids (timing engine)."
    )
    timing_enrollments: _timing.MemoryEnrollmentRepository = _repository(
        "_timing_repos.enrollments", "Positions in journeys (timing engine)."
    )
    timing_entries: _timing.MemoryEntryRepository = _repository(
        "_timing_repos.entries", "Entries into journeys (timing engine)."
    )
    timing_actions: _timing.MemoryActionRepository = _repository(
        "_timing_repos.actions", "Action decisions (timing engine)."
    )
    timing_merges: _timing.MemoryMergeRepository = _repository(
        "_timing_repos.merges", "Records of customer merges (timing engine)."
    )
    timing_outcomes: _timing.MemoryOutcomeRepository = _repository(
        "_timing_repos.outcomes", "Reported outcomes (timing engine)."
    )
    loyalty_accounts: _loyalty.MemoryAccountRepository = _repository(
        "_loyalty_repos.accounts", "The loyalty accounts repository."
    )
    loyalty_grants: _loyalty.MemoryGrantRepository = _repository(
        "_loyalty_repos.grants", "The loyalty grants repository."
    )
    loyalty_holds: _loyalty.MemoryHoldRepository = _repository(
        "_loyalty_repos.holds", "The loyalty holds repository."
    )
    loyalty_orders: _loyalty.MemoryOrderRepository = _repository(
        "_loyalty_repos.orders", "The loyalty orders repository."
    )
    loyalty_ledger: _loyalty.MemoryLedgerRepository = _repository(
        "_loyalty_repos.ledger", "The loyalty ledger repository."
    )
    loyalty_summaries: _loyalty.MemorySummaryRepository = _repository(
        "_loyalty_repos.summaries", "The loyalty balance summaries repository."
    )
    locations: _inventory.MemoryLocationRepository = _repository(
        "_inventory_repos.locations", "The inventory locations repository."
    )
    channel_routes: _inventory.MemoryChannelRouteRepository = _repository(
        "_inventory_repos.channel_routes", "The channel-to-locations routes repository."
    )
    items: _inventory.MemoryItemRepository = _repository(
        "_inventory_repos.items", "The inventory item catalogue."
    )
    stock: _inventory.MemoryStockRepository = _repository(
        "_inventory_repos.stock", "Stock levels and movements."
    )
    holds: _inventory.MemoryHoldRepository = _repository(
        "_inventory_repos.holds", "Inventory holds."
    )
    identity_profiles: _identity.MemoryProfileRepository = _repository(
        "_identity_repos.profiles", "Identity: people."
    )
    identity_records: _identity.MemorySourceRecordRepository = _repository(
        "_identity_repos.records", "Identity: source records."
    )
    identity_keys: _identity.MemoryMatchKeyRepository = _repository(
        "_identity_repos.keys", "Identity: the match-key index."
    )
    identity_decisions: _identity.MemoryDecisionRepository = _repository(
        "_identity_repos.decisions", "Identity: review queue and decisions."
    )
    identity_audit: _identity.MemoryAuditRepository = _repository(
        "_identity_repos.audit", "Identity: the audit trail."
    )

    def _begin(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._busy:  # this thread's own unit of work holds it
            store._lock.release()
            raise StateError("a unit of work is already open on this thread; finish it first")
        store._busy = self._locked = True
        self._journal.forget()  # empty already, unless an undo raised in an earlier one
        self._live = store

    def _commit(self) -> None:
        self._journal.forget()
        self._live = _COMMITTED

    def _rollback(self) -> None:
        self._live = _ROLLED_BACK
        self._journal.undo_all()

    def _end(self) -> None:
        if self._locked:
            self._locked = False
            self._store._busy = False
            self._store._lock.release()
