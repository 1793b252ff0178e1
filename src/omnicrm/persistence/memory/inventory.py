"""The in-memory inventory repositories (the reference implementation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import DuplicateError, NotFoundError
from omnicrm.inventory.columns import StockColumns
from omnicrm.inventory.holds import Hold, HoldStatus
from omnicrm.inventory.model import ChannelLocation, ChannelRoute, Item, Location
from omnicrm.inventory.stock import Movement, StockLevel
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.validation import check_id

__all__ = [
    "InventoryRepositories",
    "InventoryTables",
    "MemoryChannelRouteRepository",
    "MemoryHoldRepository",
    "MemoryItemRepository",
    "MemoryLocationRepository",
    "MemoryStockRepository",
]


class InventoryTables:
    """The committed inventory state, plus a derived per-SKU column cache."""

    def __init__(self) -> None:
        self.locations: Table[str, Location] = Table()
        self.routes: Table[Channel, ChannelRoute] = Table()
        self.meta: Table[str, int] = Table()
        self.items: Table[str, Item] = Table()
        self.levels: Table[tuple[str, str], StockLevel] = Table()
        self.by_sku: Table[str, frozenset[str]] = Table()
        self.movements: Table[int, Movement] = Table()
        self.holds: Table[str, Hold] = Table()
        self.active: Table[str, frozenset[str]] = Table()  # "active" -> ids of active holds
        self.columns: dict[str, StockColumns] = {}  # derived; dropped on every write or undo


def _bump(tables: InventoryTables, journal: Journal) -> None:
    tables.meta.put(journal, "network", (tables.meta.get("network") or 0) + 1)


class MemoryLocationRepository:
    """:class:`~omnicrm.inventory.ports.LocationRepository` over journaled dicts."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def put(self, location: Location) -> None:
        """Insert or replace a location."""
        self._t.locations.put(self._journal, location.id, location)
        _bump(self._t, self._journal)

    def get(self, location_id: str) -> Location:
        """Return the location or raise ``NotFoundError``."""
        found = self._t.locations.get(check_id("location_id", location_id))
        if found is None:
            raise NotFoundError("location", location_id)
        return found

    def get_many(self, location_ids: Iterable[str]) -> Mapping[str, Location]:
        """Return the existing locations among ``location_ids``."""
        rows = self._t.locations
        return {i: row for i in location_ids if (row := rows.get(i)) is not None}

    def all(self) -> Sequence[Location]:
        """Every location, by id."""
        return tuple(sorted(self._t.locations.values(), key=lambda loc: loc.id))

    def network_version(self) -> int:
        """The network version counter."""
        return self._t.meta.get("network") or 0


class MemoryChannelRouteRepository:
    """:class:`~omnicrm.inventory.ports.ChannelRouteRepository` over journaled dicts."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def put(self, route: ChannelRoute) -> None:
        """Replace the channel's route."""
        self._t.routes.put(self._journal, route.channel, route)
        _bump(self._t, self._journal)

    def get(self, channel: Channel) -> ChannelRoute:
        """Return the channel's route (empty if none)."""
        return self._t.routes.get(channel) or ChannelRoute(channel)

    def entry(self, channel: Channel, location_id: str) -> ChannelLocation | None:
        """Return one location's entry in the channel's route."""
        route = self._t.routes.get(channel)
        return None if route is None else route.entry(location_id)


class MemoryItemRepository:
    """:class:`~omnicrm.inventory.ports.ItemRepository` over journaled dicts."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def put(self, item: Item) -> None:
        """Insert or replace an item."""
        self._t.items.put(self._journal, item.sku, item)
        _bump(self._t, self._journal)

    def get(self, sku: str) -> Item:
        """Return the item or raise ``NotFoundError``."""
        found = self._t.items.get(check_id("sku", sku))
        if found is None:
            raise NotFoundError("sku", sku)
        return found

    def get_many(self, skus: Iterable[str]) -> Mapping[str, Item]:
        """Return the existing items among ``skus``."""
        rows = self._t.items
        return {s: row for s in skus if (row := rows.get(s)) is not None}


class MemoryStockRepository:
    """:class:`~omnicrm.inventory.ports.StockRepository` over journaled dicts."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def get(self, sku: str, location_id: str) -> StockLevel:
        """Return the level (zeros if none)."""
        found = self._t.levels.get((sku, location_id))
        return found or StockLevel(sku=sku, location_id=location_id)

    def apply(self, movement: Movement, *, guard: int | None = None) -> StockLevel | None:
        """Apply the movement if every state stays >= 0 and the guard holds."""
        t = self._t
        key = (movement.sku, movement.location_id)
        current = t.levels.get(key)
        level = current or StockLevel(sku=key[0], location_id=key[1])
        if not level.can_apply(movement):
            return None
        after = level.apply(movement)
        if guard is not None and (
            after.on_hand - after.committed - after.held - after.safety_stock < guard
        ):
            return None
        if current is None:
            t.by_sku.put(self._journal, key[0], (t.by_sku.get(key[0]) or frozenset()) | {key[1]})
        t.levels.put(self._journal, key, after)
        sequence = len(t.movements) + 1
        t.movements.put(self._journal, sequence, attrs.evolve(movement, sequence=sequence))
        cache = t.columns
        cache.pop(key[0], None)

        def drop() -> None:
            cache.pop(key[0], None)

        self._journal.record(drop)
        return after

    def columns(self, skus: Iterable[str]) -> Mapping[str, StockColumns]:
        """Return column-wise levels per SKU, built once per SKU after each change."""
        t = self._t
        result: dict[str, StockColumns] = {}
        for sku in skus:
            found = t.columns.get(sku)
            if found is None:
                levels = t.levels
                rows = [levels.get((sku, loc)) for loc in t.by_sku.get(sku) or ()]
                found = StockColumns.from_levels(sku, [r for r in rows if r is not None])
                t.columns[sku] = found
            result[sku] = found
        return result

    def movements(
        self, *, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """Return the movement log, oldest first, optionally filtered."""
        log = self._t.movements
        rows = (log.get(i) for i in range(1, len(log) + 1))
        return tuple(
            m
            for m in rows
            if m is not None
            and (sku is None or m.sku == sku)
            and (location_id is None or m.location_id == location_id)
        )

    def levels(self) -> Sequence[StockLevel]:
        """Every stored level, by SKU then location."""
        return tuple(level for _, level in sorted(self._t.levels.items()))


class MemoryHoldRepository:
    """:class:`~omnicrm.inventory.ports.HoldRepository` over journaled dicts."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def _index(self, hold: Hold) -> None:
        active = self._t.active.get("active") or frozenset()
        changed = active | {hold.id} if hold.status is HoldStatus.ACTIVE else active - {hold.id}
        if changed != active:
            self._t.active.put(self._journal, "active", changed)

    def add(self, hold: Hold) -> None:
        """Store a new hold."""
        if hold.id in self._t.holds:
            raise DuplicateError("hold", hold.id)
        self._t.holds.put(self._journal, hold.id, hold)
        self._index(hold)

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        found = self._t.holds.get(check_id("hold_id", hold_id))
        if found is None:
            raise NotFoundError("hold", hold_id)
        return found

    def transition(self, hold: Hold, expected: HoldStatus) -> bool:
        """Replace the hold if its stored status is still ``expected``."""
        current = self._t.holds.get(hold.id)
        if current is None or current.status is not expected:
            return False
        self._t.holds.put(self._journal, hold.id, hold)
        self._index(hold)
        return True

    def due(self, now: datetime, limit: int) -> Sequence[Hold]:
        """Active holds lapsed at ``now``, soonest first."""
        holds = self._t.holds
        found = [
            h
            for i in self._t.active.get("active") or ()
            if (h := holds.get(i)) is not None and h.expires_at <= now
        ]
        found.sort(key=lambda h: (h.expires_at, h.id))
        return tuple(found[:limit])


class InventoryRepositories:
    """The five inventory repositories of one memory unit of work."""

    def __init__(self, tables: InventoryTables, journal: Journal) -> None:
        self.locations = MemoryLocationRepository(tables, journal)
        self.channel_routes = MemoryChannelRouteRepository(tables, journal)
        self.items = MemoryItemRepository(tables, journal)
        self.stock = MemoryStockRepository(tables, journal)
        self.holds = MemoryHoldRepository(tables, journal)
