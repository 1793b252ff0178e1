"""Inventory values as plain JSON text: for SQL adapters and idempotent replays."""

from __future__ import annotations

import functools
import json
from datetime import date, time
from typing import Any

from omnicrm.channel import Channel
from omnicrm.clock import from_micros, to_micros
from omnicrm.inventory.holds import Hold, HoldKind, HoldLine, HoldStatus
from omnicrm.inventory.model import (
    DailyHours,
    GeoPoint,
    Item,
    KitComponent,
    Location,
    LocationKind,
    OpeningHours,
)
from omnicrm.inventory.stock import StockLevel

__all__ = [
    "dumps",
    "hold_from_data",
    "hold_json",
    "hold_to_data",
    "item_from_data",
    "item_to_data",
    "level_from_data",
    "level_to_data",
    "location_from_data",
    "location_to_data",
]


def dumps(data: Any) -> str:
    """Compact, key-sorted JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def location_to_data(location: Location) -> dict[str, Any]:
    """Return a location as JSON-ready data."""
    return {
        "id": location.id,
        "name": location.name,
        "kind": location.kind.value,
        "lat": location.position.latitude,
        "lon": location.position.longitude,
        "tz": location.time_zone,
        "region": location.region,
        "hours": [
            None if d is None else [d.opens.isoformat(), d.closes.isoformat()]
            for d in location.hours.days
        ],
        "caps": sorted(c.value for c in location.capabilities),
        "lead": location.pickup_lead_minutes,
    }


def location_from_data(data: dict[str, Any]) -> Location:
    """Inverse of :func:`location_to_data`."""
    return Location(
        id=data["id"],
        name=data["name"],
        kind=LocationKind(data["kind"]),
        position=GeoPoint(data["lat"], data["lon"]),
        time_zone=data["tz"],
        region=data["region"],
        hours=OpeningHours(
            tuple(
                None
                if d is None
                else DailyHours(time.fromisoformat(d[0]), time.fromisoformat(d[1]))
                for d in data["hours"]
            )
        ),
        capabilities=data["caps"],
        pickup_lead_minutes=data["lead"],
    )


def item_to_data(item: Item) -> dict[str, Any]:
    """Return an item as JSON-ready data."""
    return {
        "sku": item.sku,
        "name": item.name,
        "components": [[c.sku, c.quantity] for c in item.components],
    }


def item_from_data(data: dict[str, Any]) -> Item:
    """Inverse of :func:`item_to_data`."""
    return Item(
        sku=data["sku"],
        name=data["name"],
        components=tuple(KitComponent(s, q) for s, q in data["components"]),
    )


def hold_to_data(hold: Hold) -> dict[str, Any]:
    """Return a hold as JSON-ready data, instants as epoch microseconds."""
    return {
        "id": hold.id,
        "kind": hold.kind.value,
        "channel": hold.channel.name,
        "lines": [[ln.sku, ln.location_id, ln.quantity] for ln in hold.lines],
        "status": hold.status.value,
        "created": to_micros(hold.created_at),
        "expires": to_micros(hold.expires_at),
        "updated": to_micros(hold.updated_at),
        "ref": hold.reference,
    }


@functools.lru_cache(maxsize=256)
def hold_json(hold: Hold) -> str:
    """The hold as compact JSON (memoised: a command encodes the same hold twice)."""
    return dumps(hold_to_data(hold))


def hold_from_data(data: dict[str, Any]) -> Hold:
    """Inverse of :func:`hold_to_data`."""
    return Hold(
        id=data["id"],
        kind=HoldKind(data["kind"]),
        channel=Channel(data["channel"]),
        lines=tuple(HoldLine(s, loc, q) for s, loc, q in data["lines"]),
        status=HoldStatus(data["status"]),
        created_at=from_micros(data["created"]),
        expires_at=from_micros(data["expires"]),
        updated_at=from_micros(data["updated"]),
        reference=data["ref"],
    )


def level_to_data(level: StockLevel) -> dict[str, Any]:
    """Return a level as JSON-ready data."""
    return {
        "sku": level.sku,
        "loc": level.location_id,
        "q": [level.on_hand, level.held, level.committed, level.incoming, level.safety_stock],
        "exp": None if level.expected_on is None else level.expected_on.isoformat(),
    }


def level_from_data(data: dict[str, Any]) -> StockLevel:
    """Inverse of :func:`level_to_data`."""
    on_hand, held, committed, incoming, safety = data["q"]
    return StockLevel(
        sku=data["sku"],
        location_id=data["loc"],
        on_hand=on_hand,
        held=held,
        committed=committed,
        incoming=incoming,
        safety_stock=safety,
        expected_on=None if data["exp"] is None else date.fromisoformat(data["exp"]),
    )
