"""The SQLite inventory repositories: locations, channel routes, items, and the bundle.

Stock levels, movements and holds live in :mod:`._inventory_stock`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import NotFoundError
from omnicrm.inventory.codec import (
    dumps,
    item_from_data,
    item_to_data,
    location_from_data,
    location_to_data,
)
from omnicrm.inventory.model import ChannelLocation, ChannelRoute, Item, Location
from omnicrm.persistence._sql import SQLConnection, translate_errors
from omnicrm.persistence.sqlite._inventory_stock import SQLiteHoldRepository, SQLiteStockRepository
from omnicrm.validation import check_id

__all__ = [
    "MIGRATION",
    "SQLiteChannelRouteRepository",
    "SQLiteHoldRepository",
    "SQLiteInventoryRepositories",
    "SQLiteItemRepository",
    "SQLiteLocationRepository",
    "SQLiteStockRepository",
]

_CHUNK = 500

MIGRATION: tuple[str, ...] = (
    "CREATE TABLE inventory_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE inventory_locations (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE inventory_channel_locations (
        channel TEXT NOT NULL,
        location_id TEXT NOT NULL,
        priority INTEGER NOT NULL,
        buffer INTEGER NOT NULL CHECK (buffer >= 0),
        PRIMARY KEY (channel, location_id)
    ) WITHOUT ROWID""",
    "CREATE TABLE inventory_items (sku TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE inventory_levels (
        sku TEXT NOT NULL,
        location_id TEXT NOT NULL,
        on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
        held INTEGER NOT NULL CHECK (held >= 0),
        committed INTEGER NOT NULL CHECK (committed >= 0),
        incoming INTEGER NOT NULL CHECK (incoming >= 0),
        safety_stock INTEGER NOT NULL CHECK (safety_stock >= 0),
        expected_on TEXT,
        PRIMARY KEY (sku, location_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE inventory_movements (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        sku TEXT NOT NULL,
        location_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        on_hand INTEGER NOT NULL,
        held INTEGER NOT NULL,
        committed INTEGER NOT NULL,
        incoming INTEGER NOT NULL,
        safety_stock INTEGER NOT NULL,
        expected_on TEXT,
        reference TEXT,
        idempotency_key TEXT NOT NULL,
        occurred_us INTEGER NOT NULL
    )""",
    "CREATE INDEX inventory_movements_level ON inventory_movements (sku, location_id, seq)",
    """CREATE TABLE inventory_holds (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        expires_us INTEGER NOT NULL,
        data TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX inventory_holds_due ON inventory_holds (status, expires_us, id)",
)
"""Version 1 of the ``inventory`` schema component."""


def _bump(conn: SQLConnection) -> None:
    conn.execute(
        "INSERT INTO inventory_meta (key, value) VALUES ('network', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = inventory_meta.value + 1"
    )


class SQLiteLocationRepository:
    """:class:`~omnicrm.inventory.ports.LocationRepository` on ``inventory_locations``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def put(self, location: Location) -> None:
        """Insert or replace a location."""
        with translate_errors("store a location"):
            self._conn.execute(
                "INSERT INTO inventory_locations (id, data) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (location.id, dumps(location_to_data(location))),
            )
            _bump(self._conn)

    def get(self, location_id: str) -> Location:
        """Return the location or raise ``NotFoundError``."""
        check_id("location_id", location_id)
        with translate_errors("read a location"):
            row = self._conn.execute(
                "SELECT data FROM inventory_locations WHERE id = ?", (location_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError("location", location_id)
        return location_from_data(json.loads(row[0]))

    def get_many(self, location_ids: Iterable[str]) -> Mapping[str, Location]:
        """Return the existing locations among ``location_ids``."""
        ids = list(location_ids)
        found: dict[str, Location] = {}
        with translate_errors("read locations"):
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for (data,) in self._conn.execute(
                    f"SELECT data FROM inventory_locations WHERE id IN ({marks})", chunk
                ):
                    location = location_from_data(json.loads(data))
                    found[location.id] = location
        return {i: found[i] for i in ids if i in found}

    def all(self) -> Sequence[Location]:
        """Every location, by id."""
        with translate_errors("read locations"):
            rows = self._conn.execute("SELECT data FROM inventory_locations ORDER BY id")
            return tuple(location_from_data(json.loads(data)) for (data,) in rows)

    def network_version(self) -> int:
        """The network version counter."""
        with translate_errors("read the network version"):
            row = self._conn.execute(
                "SELECT value FROM inventory_meta WHERE key = 'network'"
            ).fetchone()
        return 0 if row is None else int(row[0])


class SQLiteChannelRouteRepository:
    """:class:`~omnicrm.inventory.ports.ChannelRouteRepository` on one row per entry."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def put(self, route: ChannelRoute) -> None:
        """Replace the channel's route."""
        with translate_errors("store a channel route"):
            self._conn.execute(
                "DELETE FROM inventory_channel_locations WHERE channel = ?", (route.channel.name,)
            )
            self._conn.executemany(
                "INSERT INTO inventory_channel_locations (channel, location_id, priority, buffer) "
                "VALUES (?, ?, ?, ?)",
                [
                    (route.channel.name, e.location_id, i, e.buffer)
                    for i, e in enumerate(route.locations)
                ],
            )
            _bump(self._conn)

    def get(self, channel: Channel) -> ChannelRoute:
        """Return the channel's route (empty if none)."""
        with translate_errors("read a channel route"):
            rows = self._conn.execute(
                "SELECT location_id, buffer FROM inventory_channel_locations "
                "WHERE channel = ? ORDER BY priority",
                (channel.name,),
            ).fetchall()
        return ChannelRoute(channel, tuple(ChannelLocation(i, b) for i, b in rows))

    def entry(self, channel: Channel, location_id: str) -> ChannelLocation | None:
        """Return one location's entry in the channel's route."""
        with translate_errors("read a channel route"):
            row = self._conn.execute(
                "SELECT buffer FROM inventory_channel_locations "
                "WHERE channel = ? AND location_id = ?",
                (channel.name, location_id),
            ).fetchone()
        return None if row is None else ChannelLocation(location_id, int(row[0]))


class SQLiteItemRepository:
    """:class:`~omnicrm.inventory.ports.ItemRepository` on ``inventory_items``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def put(self, item: Item) -> None:
        """Insert or replace an item."""
        with translate_errors("store an item"):
            self._conn.execute(
                "INSERT INTO inventory_items (sku, data) VALUES (?, ?) "
                "ON CONFLICT (sku) DO UPDATE SET data = excluded.data",
                (item.sku, dumps(item_to_data(item))),
            )
            _bump(self._conn)

    def get(self, sku: str) -> Item:
        """Return the item or raise ``NotFoundError``."""
        check_id("sku", sku)
        with translate_errors("read an item"):
            row = self._conn.execute(
                "SELECT data FROM inventory_items WHERE sku = ?", (sku,)
            ).fetchone()
        if row is None:
            raise NotFoundError("sku", sku)
        return item_from_data(json.loads(row[0]))

    def get_many(self, skus: Iterable[str]) -> Mapping[str, Item]:
        """Return the existing items among ``skus``."""
        wanted = list(skus)
        found: dict[str, Item] = {}
        with translate_errors("read items"):
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for (data,) in self._conn.execute(
                    f"SELECT data FROM inventory_items WHERE sku IN ({marks})", chunk
                ):
                    item = item_from_data(json.loads(data))
                    found[item.sku] = item
        return {s: found[s] for s in wanted if s in found}


@attrs.define
class SQLiteInventoryRepositories:
    """The five inventory repositories of one SQLite unit of work."""

    locations: SQLiteLocationRepository
    channel_routes: SQLiteChannelRouteRepository
    items: SQLiteItemRepository
    stock: SQLiteStockRepository
    holds: SQLiteHoldRepository

    @classmethod
    def on(cls, conn: SQLConnection) -> SQLiteInventoryRepositories:
        """Build them on ``conn``."""
        return cls(
            SQLiteLocationRepository(conn),
            SQLiteChannelRouteRepository(conn),
            SQLiteItemRepository(conn),
            SQLiteStockRepository(conn),
            SQLiteHoldRepository(conn),
        )
