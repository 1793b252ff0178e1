"""The SQLite backend (stdlib ``sqlite3``): the embedded default for a real process.

One file, WAL journaling, a connection per thread and process, write transactions
begun with ``BEGIN IMMEDIATE`` (a command waits its turn instead of failing half-way)
and retried with back-off while another writer holds the lock. Parameterised SQL only.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

from omnicrm.errors import ConfigurationError, StateError
from omnicrm.persistence._base import BaseUnitOfWork
from omnicrm.persistence.sqlite import identity as _identity
from omnicrm.persistence.sqlite import inventory as _inventory
from omnicrm.persistence.sqlite import loyalty as _loyalty
from omnicrm.persistence.sqlite import omni as _omni
from omnicrm.persistence.sqlite import timing as _timing
from omnicrm.persistence.sqlite._checkpoint import Checkpointer, checkpoint
from omnicrm.persistence.sqlite._connection import (
    ConnectionPool,
    begin_immediate,
    translate_errors,
)
from omnicrm.persistence.sqlite.customers import SQLiteCustomerRepository
from omnicrm.persistence.sqlite.idempotency import SQLiteIdempotencyRepository
from omnicrm.persistence.sqlite.schema import migrate
from omnicrm.unit_of_work import Capability
from omnicrm.validation import check_int

__all__ = ["SQLiteStore", "SQLiteUnitOfWork"]


class SQLiteStore:
    """A store on one SQLite file; ``open_store("sqlite:///path/to.db")`` returns one.

    Args:
        path: the database file (created if missing, with its schema).
        busy_timeout: seconds one attempt waits for another writer's lock.
        retries: further attempts, with jittered back-off, before ``StorageBusyError``.

    """

    capabilities: frozenset[str] = frozenset(
        {Capability.THREADS, Capability.PROCESSES, Capability.DURABLE}
    )

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0, retries: int = 20) -> None:
        text = str(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise ConfigurationError(
                "path", path, "must be a file path (an in-memory SQLite store cannot be shared)"
            )
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise ConfigurationError("busy_timeout", busy_timeout, "must be a number of seconds")
        self.path = Path(text)
        self._retries = check_int("retries", retries, minimum=0)
        self._busy_timeout = float(busy_timeout)
        self._pool = ConnectionPool(text, busy_timeout=self._busy_timeout)
        self._checkpointer = Checkpointer(text)
        self.schema_versions = migrate(
            self._pool.get(), retries=self._retries, busy_timeout=self._busy_timeout
        )

    def unit_of_work(self, *, read_only: bool = False) -> SQLiteUnitOfWork:
        """Return a new unit of work on this thread's connection.

        A ``read_only`` one is a deferred transaction with ``PRAGMA query_only``: it takes
        no write lock, so it reads a consistent snapshot while writers go on.
        """
        return SQLiteUnitOfWork(self, read_only=read_only)

    def _connection(self) -> sqlite3.Connection:
        return self._pool.get()

    def _begin(self, conn: sqlite3.Connection) -> None:
        begin_immediate(conn, retries=self._retries, busy_timeout=self._busy_timeout)

    def reopen(self) -> SQLiteStore:
        """Open the same file again as a new store (for durability checks)."""
        return SQLiteStore(self.path, busy_timeout=self._busy_timeout, retries=self._retries)

    def checkpoint(self) -> tuple[int, int]:
        """Copy the write-ahead log into the database file now (normally done in the background).

        Returns ``(pages in the log, pages copied)``; ``(-1, -1)`` if the file was busy.
        """
        return checkpoint(self._connection())

    def close(self) -> None:
        """Close this process's connections and stop its checkpoint thread."""
        self._checkpointer.close()
        self._pool.close()


class SQLiteUnitOfWork(BaseUnitOfWork):
    """One SQLite write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""

    def __init__(self, store: SQLiteStore, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._store = store
        self._conn = store._connection()
        self._customers = SQLiteCustomerRepository(self._conn)
        self._idempotency = SQLiteIdempotencyRepository(self._conn)

    @property
    def omni_purchases(self) -> _omni.SQLitePurchaseLog:
        """The composition root's purchase log."""
        self._require_active()
        return self._purchases_repos

    @property
    def omni_watches(self) -> _omni.SQLiteWatchList:
        """The composition root's watch list."""
        self._require_active()
        return self._watches_repos

    @property
    def customers(self) -> SQLiteCustomerRepository:
        """The customers repository."""
        self._require_active()
        return self._customers

    @property
    def idempotency(self) -> SQLiteIdempotencyRepository:
        """The idempotency-record repository."""
        self._require_active()
        return self._idempotency

    @property
    def timing_events(self) -> _timing.SQLiteProcessedEventRepository:
        """Processed event ids (timing engine)."""
        self._require_active()
        return self._timing_repos.events

    @property
    def timing_enrollments(self) -> _timing.SQLiteEnrollmentRepository:
        """Positions in journeys (timing engine)."""
        self._require_active()
        return self._timing_repos.enrollments

    @property
    def timing_entries(self) -> _timing.SQLiteEntryRepository:
        """Entries into journeys (timing engine)."""
        self._require_active()
        return self._timing_repos.entries

    @property
    def timing_actions(self) -> _timing.SQLiteActionRepository:
        """Action decisions (timing engine)."""
        self._require_active()
        return self._timing_repos.actions

    @property
    def timing_outcomes(self) -> _timing.SQLiteOutcomeRepository:
        """Reported outcomes (timing engine)."""
        self._require_active()
        return self._timing_repos.outcomes

    @property
    def loyalty_accounts(self) -> _loyalty.SQLiteAccountRepository:
        """The loyalty accounts repository."""
        self._require_active()
        return self._loyalty_repos.accounts

    @property
    def loyalty_grants(self) -> _loyalty.SQLiteGrantRepository:
        """The loyalty grants repository."""
        self._require_active()
        return self._loyalty_repos.grants

    @property
    def loyalty_holds(self) -> _loyalty.SQLiteHoldRepository:
        """The loyalty holds repository."""
        self._require_active()
        return self._loyalty_repos.holds

    @property
    def loyalty_orders(self) -> _loyalty.SQLiteOrderRepository:
        """The loyalty orders repository."""
        self._require_active()
        return self._loyalty_repos.orders

    @property
    def loyalty_ledger(self) -> _loyalty.SQLiteLedgerRepository:
        """The loyalty ledger repository."""
        self._require_active()
        return self._loyalty_repos.ledger

    @property
    def locations(self) -> _inventory.SQLiteLocationRepository:
        """The inventory locations repository."""
        self._require_active()
        return self._inventory_repos.locations

    @property
    def channel_routes(self) -> _inventory.SQLiteChannelRouteRepository:
        """The channel-to-locations routes repository."""
        self._require_active()
        return self._inventory_repos.channel_routes

    @property
    def items(self) -> _inventory.SQLiteItemRepository:
        """The inventory item catalogue."""
        self._require_active()
        return self._inventory_repos.items

    @property
    def stock(self) -> _inventory.SQLiteStockRepository:
        """Stock levels and movements."""
        self._require_active()
        return self._inventory_repos.stock

    @property
    def holds(self) -> _inventory.SQLiteHoldRepository:
        """Inventory holds."""
        self._require_active()
        return self._inventory_repos.holds

    @property
    def identity_profiles(self) -> _identity.SQLiteProfileRepository:
        """Identity: people."""
        self._require_active()
        return self._identity_repos.profiles

    @property
    def identity_records(self) -> _identity.SQLiteSourceRecordRepository:
        """Identity: source records."""
        self._require_active()
        return self._identity_repos.records

    @property
    def identity_keys(self) -> _identity.SQLiteMatchKeyRepository:
        """Identity: the match-key index."""
        self._require_active()
        return self._identity_repos.keys

    @property
    def identity_decisions(self) -> _identity.SQLiteDecisionRepository:
        """Identity: review queue and decisions."""
        self._require_active()
        return self._identity_repos.decisions

    @property
    def identity_audit(self) -> _identity.SQLiteAuditRepository:
        """Identity: the audit trail."""
        self._require_active()
        return self._identity_repos.audit

    @cached_property
    def _timing_repos(self) -> _timing.TimingRepositories:
        return _timing.TimingRepositories(self._conn)

    @cached_property
    def _loyalty_repos(self) -> _loyalty.SQLiteLoyaltyRepositories:
        return _loyalty.SQLiteLoyaltyRepositories(self._conn)

    @cached_property
    def _inventory_repos(self) -> _inventory.SQLiteInventoryRepositories:
        return _inventory.SQLiteInventoryRepositories.on(self._conn)

    @cached_property
    def _identity_repos(self) -> _identity.SQLiteIdentityRepositories:
        return _identity.SQLiteIdentityRepositories(self._conn)

    @cached_property
    def _purchases_repos(self) -> _omni.SQLitePurchaseLog:
        return _omni.SQLitePurchaseLog(self._conn)

    @cached_property
    def _watches_repos(self) -> _omni.SQLiteWatchList:
        return _omni.SQLiteWatchList(self._conn)

    def _begin(self) -> None:
        if self._conn.in_transaction:
            raise StateError("a unit of work is already open on this thread; finish it first")
        if self.read_only:
            with translate_errors("begin a read-only transaction"):
                self._conn.execute("PRAGMA query_only=1")
                self._conn.execute("BEGIN DEFERRED")
            return
        self._store._begin(self._conn)

    def _commit(self) -> None:
        with translate_errors("commit"):
            self._conn.execute("COMMIT")
        if not self.read_only:
            self._store._checkpointer.committed()

    def _rollback(self) -> None:
        with translate_errors("roll back"):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if self.read_only:
                self._conn.execute("PRAGMA query_only=0")

    def _end(self) -> None:
        """Nothing to release: the connection stays with its thread."""
