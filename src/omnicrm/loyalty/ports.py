"""The loyalty repository ports: one narrow Protocol per ordinary table.

Every mutable row carries a ``version``; ``update`` replaces a row only if the stored
version still equals the one the caller read (``ConcurrencyError`` otherwise), so two
units of work can never both spend the same points. The ledger is append-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from omnicrm.loyalty.model import (
    Account,
    BalanceSummary,
    Grant,
    GrantSummary,
    Hold,
    LedgerEntry,
    Order,
)
from omnicrm.unit_of_work import Store, UnitOfWork

__all__ = [
    "AccountRepository",
    "GrantRepository",
    "HoldRepository",
    "LedgerRepository",
    "LoyaltyStore",
    "LoyaltyUnitOfWork",
    "OrderRepository",
    "SummaryRepository",
]


class AccountRepository(Protocol):
    """Member accounts, unique by ``(program_id, member_id)``."""

    def add(self, account: Account) -> Account:
        """Store a new account (version 1); ``DuplicateError`` if it exists."""
        ...

    def get(self, program_id: str, member_id: str) -> Account | None:
        """Return the account, or ``None``."""
        ...

    def update(self, account: Account) -> Account:
        """Replace it if the stored version equals ``account.version``; return version + 1."""
        ...

    def programs_of(self, member_id: str) -> Sequence[str]:
        """Return the ids of the programs the member has an account in, sorted."""
        ...

    def rolling_due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Return members whose ``rolling_expires_at`` is at or before ``now``, sorted."""
        ...


class GrantRepository(Protocol):
    """Grants: a projection of the ledger holding each grant's remaining points."""

    def add(self, grant: Grant) -> Grant:
        """Store a new grant (version 1); ``DuplicateError`` if the id exists."""
        ...

    def get(self, grant_id: str) -> Grant:
        """Return the grant, or raise ``NotFoundError``."""
        ...

    def get_many(self, grant_ids: Iterable[str]) -> Mapping[str, Grant]:
        """Return the grants that exist among ``grant_ids``, keyed by id."""
        ...

    def update(self, grant: Grant) -> Grant:
        """Replace it if the stored version equals ``grant.version``; return version + 1."""
        ...

    def live(self, program_id: str, member_id: str) -> Sequence[Grant]:
        """Return the member's grants with ``remaining > 0`` (pending included), by id."""
        ...

    def summary(self, program_id: str, member_id: str) -> Sequence[GrantSummary]:
        """Return the member's live remaining points grouped by kind, state and dates."""
        ...

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Return members having a live grant that confirms or expires at or before ``now``."""
        ...


class HoldRepository(Protocol):
    """Checkout holds."""

    def add(self, hold: Hold) -> Hold:
        """Store a new hold (version 1); ``DuplicateError`` if the id exists."""
        ...

    def get(self, hold_id: str) -> Hold:
        """Return the hold, or raise ``NotFoundError``."""
        ...

    def update(self, hold: Hold) -> Hold:
        """Replace it if the stored version equals ``hold.version``; return version + 1."""
        ...

    def active(self, program_id: str, member_id: str) -> Sequence[Hold]:
        """Return the member's active holds, by id."""
        ...

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Return members with an active hold expiring at or before ``now``, sorted."""
        ...


class OrderRepository(Protocol):
    """What each order earned and spent, for returns."""

    def add(self, order: Order) -> Order:
        """Store a new order (version 1); ``DuplicateError`` if it exists."""
        ...

    def get(self, program_id: str, order_id: str) -> Order | None:
        """Return the order, or ``None``."""
        ...

    def update(self, order: Order) -> Order:
        """Replace it if the stored version equals ``order.version``; return version + 1."""
        ...


class SummaryRepository(Protocol):
    """Each member's balance summary, one row by ``(program_id, member_id)``.

    Written by every command that changes the member's grants, holds or account, in the
    same unit of work (so it always equals what their live grants and holds add up to),
    for members with many live grants (dropped when they have few); read by balances
    while valid. The summary is an aggregate over all of a member's rows, so a backend
    must run the write units of work of one member one after another (the memory store's
    lock and SQLite's ``BEGIN IMMEDIATE`` do; a server database needs serializable
    isolation or a lock on the member's account row taken when a write unit of work
    reads it), or two commands could each write a summary missing the other's change.
    """

    def get(self, program_id: str, member_id: str) -> BalanceSummary | None:
        """Return the member's summary, or ``None`` (never written: count from grants)."""
        ...

    def put(self, summary: BalanceSummary) -> None:
        """Store the member's summary, replacing the one stored."""
        ...

    def drop(self, program_id: str, member_id: str) -> None:
        """Remove the member's summary if there is one."""
        ...


class LedgerRepository(Protocol):
    """The append-only ledger."""

    def append(self, entries: Sequence[LedgerEntry]) -> None:
        """Append entries, giving each the next sequence number in order."""
        ...

    def for_member(
        self, program_id: str, member_id: str, *, until: datetime | None = None
    ) -> Sequence[LedgerEntry]:
        """Return the member's entries (effective at or before ``until``), by effect then seq."""
        ...

    def between(self, program_id: str, start: datetime, end: datetime) -> Sequence[LedgerEntry]:
        """Return the entries effective in ``[start, end)``, by effect then seq."""
        ...


class LoyaltyUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with the loyalty repositories."""

    @property
    def loyalty_accounts(self) -> AccountRepository:
        """Member accounts."""
        ...

    @property
    def loyalty_grants(self) -> GrantRepository:
        """Grants."""
        ...

    @property
    def loyalty_holds(self) -> HoldRepository:
        """Checkout holds."""
        ...

    @property
    def loyalty_orders(self) -> OrderRepository:
        """Orders."""
        ...

    @property
    def loyalty_ledger(self) -> LedgerRepository:
        """The ledger."""
        ...

    @property
    def loyalty_summaries(self) -> SummaryRepository:
        """Balance summaries."""
        ...


class LoyaltyStore(Store, Protocol):
    """A store whose units of work carry the loyalty repositories."""

    def unit_of_work(
        self, *, read_only: bool = False, locks: Iterable[str] = ()
    ) -> LoyaltyUnitOfWork:
        """Return a new, not yet begun unit of work."""
        ...
