"""The SQLite inventory repositories: levels updated by conditional UPDATEs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import DuplicateError, NotFoundError
from omnicrm.inventory.codec import (
    dumps,
    hold_from_data,
    hold_json,
    item_from_data,
    item_to_data,
    location_from_data,
    location_to_data,
)
from omnicrm.inventory.columns import StockColumns
from omnicrm.inventory.holds import Hold, HoldStatus
from omnicrm.inventory.model import ChannelLocation, ChannelRoute, Item, Location
from omnicrm.inventory.stock import Movement, MovementReason, StockLevel
from omnicrm.persistence.sqlite._connection import translate_errors
from omnicrm.validation import check_id

__all__ = [
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


def _bump(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO inventory_meta (key, value) VALUES ('network', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = value + 1"
    )


class SQLiteLocationRepository:
    """:class:`~omnicrm.inventory.ports.LocationRepository` on ``inventory_locations``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
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

    def __init__(self, conn: sqlite3.Connection) -> None:
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

    def __init__(self, conn: sqlite3.Connection) -> None:
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


_LEVEL_COLUMNS = "on_hand, held, committed, incoming, safety_stock, expected_on"


def _level(sku: str, location_id: str, row: Sequence[Any]) -> StockLevel:
    return StockLevel(
        sku=sku,
        location_id=location_id,
        on_hand=row[0],
        held=row[1],
        committed=row[2],
        incoming=row[3],
        safety_stock=row[4],
        expected_on=None if row[5] is None else date.fromisoformat(row[5]),
    )


class SQLiteStockRepository:
    """:class:`~omnicrm.inventory.ports.StockRepository` on levels and movements tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, sku: str, location_id: str) -> StockLevel:
        """Return the level (zeros if none)."""
        with translate_errors("read a stock level"):
            row = self._conn.execute(
                f"SELECT {_LEVEL_COLUMNS} FROM inventory_levels WHERE sku = ? AND location_id = ?",
                (sku, location_id),
            ).fetchone()
        if row is None:
            return StockLevel(sku=sku, location_id=location_id)
        return _level(sku, location_id, row)

    def apply(self, movement: Movement, *, guard: int | None = None) -> StockLevel | None:
        """Apply the movement with one conditional UPDATE (or INSERT for a new level)."""
        m = movement
        expected = None if m.expected_on is None else m.expected_on.isoformat()
        with translate_errors("apply a stock movement"):
            row = self._conn.execute(
                "UPDATE inventory_levels SET on_hand = on_hand + :oh, held = held + :h, "
                "committed = committed + :c, incoming = incoming + :i, "
                "safety_stock = safety_stock + :s, expected_on = CASE WHEN incoming + :i = 0 "
                "THEN NULL ELSE COALESCE(:exp, expected_on) END "
                "WHERE sku = :sku AND location_id = :loc AND on_hand + :oh >= 0 "
                "AND held + :h >= 0 AND committed + :c >= 0 AND incoming + :i >= 0 "
                "AND safety_stock + :s >= 0 AND (:guard IS NULL OR "
                "(on_hand + :oh) - (committed + :c) - (held + :h) - (safety_stock + :s) "
                f">= :guard) RETURNING {_LEVEL_COLUMNS}",
                {
                    "oh": m.on_hand,
                    "h": m.held,
                    "c": m.committed,
                    "i": m.incoming,
                    "s": m.safety_stock,
                    "exp": expected,
                    "sku": m.sku,
                    "loc": m.location_id,
                    "guard": guard,
                },
            ).fetchone()
            if row is not None:
                after = _level(m.sku, m.location_id, row)
            else:
                after_new = self._insert(m, guard)
                if after_new is None:
                    return None
                after = after_new
            self._conn.execute(
                "INSERT INTO inventory_movements (id, sku, location_id, reason, on_hand, held, "
                "committed, incoming, safety_stock, expected_on, reference, idempotency_key, "
                "occurred_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.id,
                    m.sku,
                    m.location_id,
                    m.reason.value,
                    m.on_hand,
                    m.held,
                    m.committed,
                    m.incoming,
                    m.safety_stock,
                    expected,
                    m.reference,
                    m.idempotency_key,
                    to_micros(m.occurred_at),
                ),
            )
        return after

    def _insert(self, m: Movement, guard: int | None) -> StockLevel | None:
        """Create the level of a first movement, if it is valid from zero."""
        exists = self._conn.execute(
            "SELECT 1 FROM inventory_levels WHERE sku = ? AND location_id = ?",
            (m.sku, m.location_id),
        ).fetchone()
        zero = StockLevel(sku=m.sku, location_id=m.location_id)
        if exists is not None or not zero.can_apply(m):
            return None
        after = zero.apply(m)
        if guard is not None and (
            after.on_hand - after.committed - after.held - after.safety_stock < guard
        ):
            return None
        self._conn.execute(
            f"INSERT INTO inventory_levels (sku, location_id, {_LEVEL_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.sku,
                m.location_id,
                after.on_hand,
                after.held,
                after.committed,
                after.incoming,
                after.safety_stock,
                None if after.expected_on is None else after.expected_on.isoformat(),
            ),
        )
        return after

    def columns(self, skus: Iterable[str]) -> Mapping[str, StockColumns]:
        """Return column-wise levels per SKU."""
        wanted = list(dict.fromkeys(skus))
        rows: dict[str, list[tuple[str, int, int]]] = {s: [] for s in wanted}
        with translate_errors("read stock levels"):
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for sku, loc, free, on_hand in self._conn.execute(
                    "SELECT sku, location_id, on_hand - held - committed - safety_stock, "
                    f"on_hand FROM inventory_levels WHERE sku IN ({marks}) "
                    "ORDER BY sku, location_id",
                    chunk,
                ):
                    rows[sku].append((loc, free, on_hand))
        return {s: StockColumns.from_rows(s, r) for s, r in rows.items()}

    def movements(
        self, *, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """Return the movement log, oldest first, optionally filtered."""
        where, params = ["1 = 1"], []
        if sku is not None:
            where.append("sku = ?")
            params.append(sku)
        if location_id is not None:
            where.append("location_id = ?")
            params.append(location_id)
        with translate_errors("read movements"):
            rows = self._conn.execute(
                "SELECT seq, id, sku, location_id, reason, on_hand, held, committed, incoming, "
                "safety_stock, expected_on, reference, idempotency_key, occurred_us "
                f"FROM inventory_movements WHERE {' AND '.join(where)} ORDER BY seq",
                params,
            ).fetchall()
        return tuple(
            Movement(
                sequence=r[0],
                id=r[1],
                sku=r[2],
                location_id=r[3],
                reason=MovementReason(r[4]),
                on_hand=r[5],
                held=r[6],
                committed=r[7],
                incoming=r[8],
                safety_stock=r[9],
                expected_on=None if r[10] is None else date.fromisoformat(r[10]),
                reference=r[11],
                idempotency_key=r[12],
                occurred_at=from_micros(r[13]),
            )
            for r in rows
        )

    def levels(self) -> Sequence[StockLevel]:
        """Every stored level, by SKU then location."""
        with translate_errors("read stock levels"):
            rows = self._conn.execute(
                f"SELECT sku, location_id, {_LEVEL_COLUMNS} FROM inventory_levels "
                "ORDER BY sku, location_id"
            ).fetchall()
        return tuple(_level(r[0], r[1], r[2:]) for r in rows)


class SQLiteHoldRepository:
    """:class:`~omnicrm.inventory.ports.HoldRepository` on ``inventory_holds``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, hold: Hold) -> None:
        """Store a new hold."""
        with translate_errors("add a hold"):
            try:
                self._conn.execute(
                    "INSERT INTO inventory_holds (id, status, expires_us, data) "
                    "VALUES (?, ?, ?, ?)",
                    (hold.id, hold.status.value, to_micros(hold.expires_at), _hold_json(hold)),
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateError("hold", hold.id) from exc

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        check_id("hold_id", hold_id)
        with translate_errors("read a hold"):
            row = self._conn.execute(
                "SELECT data FROM inventory_holds WHERE id = ?", (hold_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError("hold", hold_id)
        return hold_from_data(json.loads(row[0]))

    def transition(self, hold: Hold, expected: HoldStatus) -> bool:
        """Replace the hold if its stored status is still ``expected``."""
        with translate_errors("update a hold"):
            cursor = self._conn.execute(
                "UPDATE inventory_holds SET status = ?, expires_us = ?, data = ? "
                "WHERE id = ? AND status = ?",
                (
                    hold.status.value,
                    to_micros(hold.expires_at),
                    _hold_json(hold),
                    hold.id,
                    expected.value,
                ),
            )
        return cursor.rowcount == 1

    def due(self, now: datetime, limit: int) -> Sequence[Hold]:
        """Active holds lapsed at ``now``, soonest first."""
        with translate_errors("read due holds"):
            rows = self._conn.execute(
                "SELECT data FROM inventory_holds WHERE status = 'active' AND expires_us <= ? "
                "ORDER BY expires_us, id LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
        return tuple(hold_from_data(json.loads(data)) for (data,) in rows)


def _hold_json(hold: Hold) -> str:
    return hold_json(hold)


@attrs.define
class SQLiteInventoryRepositories:
    """The five inventory repositories of one SQLite unit of work."""

    locations: SQLiteLocationRepository
    channel_routes: SQLiteChannelRouteRepository
    items: SQLiteItemRepository
    stock: SQLiteStockRepository
    holds: SQLiteHoldRepository

    @classmethod
    def on(cls, conn: sqlite3.Connection) -> SQLiteInventoryRepositories:
        """Build them on ``conn``."""
        return cls(
            SQLiteLocationRepository(conn),
            SQLiteChannelRouteRepository(conn),
            SQLiteItemRepository(conn),
            SQLiteStockRepository(conn),
            SQLiteHoldRepository(conn),
        )
