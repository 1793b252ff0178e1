"""The unit of work shared by the SQL backends: every repository on one connection."""

from __future__ import annotations

from functools import cached_property

from omnicrm.persistence._base import BaseUnitOfWork
from omnicrm.persistence._sql import SQLConnection
from omnicrm.persistence.sqlite import identity as _identity
from omnicrm.persistence.sqlite import inventory as _inventory
from omnicrm.persistence.sqlite import loyalty as _loyalty
from omnicrm.persistence.sqlite import omni as _omni
from omnicrm.persistence.sqlite import timing as _timing
from omnicrm.persistence.sqlite.customers import SQLiteCustomerRepository
from omnicrm.persistence.sqlite.idempotency import SQLiteIdempotencyRepository

__all__ = ["SQLUnitOfWork"]


class SQLUnitOfWork(BaseUnitOfWork):
    """Every repository of a SQL backend, on one connection; subclasses begin and commit.

    The repositories are the SQL ones of :mod:`omnicrm.persistence.sqlite`, written
    against :class:`~omnicrm.persistence._sql.SQLConnection`; each capability's are
    built on first use.
    """

    def __init__(self, conn: SQLConnection, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._conn = conn
        self._customers = SQLiteCustomerRepository(conn)
        self._idempotency = SQLiteIdempotencyRepository(conn)

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
    def timing_merges(self) -> _timing.SQLiteMergeRepository:
        """Records of customer merges (timing engine)."""
        self._require_active()
        return self._timing_repos.merges

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
    def loyalty_summaries(self) -> _loyalty.SQLiteSummaryRepository:
        """The loyalty balance summaries repository."""
        self._require_active()
        return self._loyalty_repos.summaries

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
