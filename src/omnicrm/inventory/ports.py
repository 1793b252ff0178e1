"""The inventory repository ports: narrow Protocols, each an ordinary table.

Implement them on your own tables and prove them with
:class:`omnicrm.testing.contracts.InventoryContract`. Every method runs inside the unit of
work that owns the repository; nothing is visible elsewhere until it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from omnicrm.channel import Channel
from omnicrm.inventory.columns import StockColumns
from omnicrm.inventory.holds import Hold, HoldStatus
from omnicrm.inventory.model import ChannelLocation, ChannelRoute, Item, Location
from omnicrm.inventory.stock import Movement, StockLevel
from omnicrm.unit_of_work import UnitOfWork

__all__ = [
    "ChannelRouteRepository",
    "HoldRepository",
    "InventoryStore",
    "InventoryUnitOfWork",
    "ItemRepository",
    "LocationRepository",
    "StockRepository",
]


class LocationRepository(Protocol):
    """Warehouses and stores (table ``locations``)."""

    def put(self, location: Location) -> None:
        """Insert or replace a location; bumps the network version."""
        ...

    def get(self, location_id: str) -> Location:
        """Return the location or raise ``NotFoundError``."""
        ...

    def get_many(self, location_ids: Iterable[str]) -> Mapping[str, Location]:
        """Return the existing locations among ``location_ids``."""
        ...

    def all(self) -> Sequence[Location]:
        """Every location, by id."""
        ...

    def network_version(self) -> int:
        """A counter bumped by every location, channel-route or item write (for caches)."""
        ...


class ChannelRouteRepository(Protocol):
    """Which locations serve which channel, in priority order (table ``channel_locations``)."""

    def put(self, route: ChannelRoute) -> None:
        """Replace the channel's route; bumps the network version."""
        ...

    def get(self, channel: Channel) -> ChannelRoute:
        """Return the channel's route (empty if none was set)."""
        ...

    def entry(self, channel: Channel, location_id: str) -> ChannelLocation | None:
        """Return one location's entry in the channel's route, or ``None``."""
        ...


class ItemRepository(Protocol):
    """The SKU catalogue, with kit components (table ``inventory_items``)."""

    def put(self, item: Item) -> None:
        """Insert or replace an item; bumps the network version."""
        ...

    def get(self, sku: str) -> Item:
        """Return the item or raise ``NotFoundError``."""
        ...

    def get_many(self, skus: Iterable[str]) -> Mapping[str, Item]:
        """Return the existing items among ``skus``."""
        ...


class StockRepository(Protocol):
    """Levels per SKU x location and the movement log they are the sum of."""

    def get(self, sku: str, location_id: str) -> StockLevel:
        """Return the level (all zero if nothing was ever recorded)."""
        ...

    def apply(self, movement: Movement, *, guard: int | None = None) -> StockLevel | None:
        """Add the movement's deltas to its level and append it to the log, atomically.

        This is the conditional write: it happens only if every state stays >= 0 and, when
        ``guard`` is given, ``on_hand - committed - held - safety_stock >= guard`` after
        the change ("hold only if available"). Returns the new level, or ``None`` having
        written nothing.
        """
        ...

    def columns(self, skus: Iterable[str]) -> Mapping[str, StockColumns]:
        """Return the column-wise levels of each SKU in ``skus`` (empty columns if none)."""
        ...

    def movements(
        self, *, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """Return the movement log (optionally of one SKU and/or location), oldest first."""
        ...

    def levels(self) -> Sequence[StockLevel]:
        """Every stored level, by SKU then location."""
        ...


class HoldRepository(Protocol):
    """Holds with their lines and status (table ``holds``)."""

    def add(self, hold: Hold) -> None:
        """Store a new hold; ``DuplicateError`` if the id exists."""
        ...

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        ...

    def transition(self, hold: Hold, expected: HoldStatus) -> bool:
        """Replace the hold only if its stored status is still ``expected``; say if it did."""
        ...

    def due(self, now: datetime, limit: int) -> Sequence[Hold]:
        """Active holds with ``expires_at <= now``, soonest first, at most ``limit``."""
        ...


class InventoryUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with the inventory repositories."""

    @property
    def locations(self) -> LocationRepository:
        """The locations repository."""
        ...

    @property
    def channel_routes(self) -> ChannelRouteRepository:
        """The channel-route repository."""
        ...

    @property
    def items(self) -> ItemRepository:
        """The item catalogue."""
        ...

    @property
    def stock(self) -> StockRepository:
        """Levels and movements."""
        ...

    @property
    def holds(self) -> HoldRepository:
        """Holds."""
        ...


class InventoryStore(Protocol):
    """A store whose units of work carry the inventory repositories."""

    @property
    def capabilities(self) -> frozenset[str]:
        """The ``Capability`` names this backend supports."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...

    def unit_of_work(
        self, *, read_only: bool = False, locks: Iterable[str] = ()
    ) -> InventoryUnitOfWork:
        """Return a new, not yet begun unit of work."""
        ...
