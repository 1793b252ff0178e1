"""Availability for the product page: which locations can serve a channel, nearest first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs
import numpy as np

from omnicrm.channel import Channel
from omnicrm.inventory.columns import IntArray, StockColumns
from omnicrm.inventory.geo import FloatArray
from omnicrm.inventory.model import GeoPoint, Item, Location, LocationCapability, LocationKind
from omnicrm.inventory.network import ChannelNetwork, finite

__all__ = ["LocationAvailability", "ProductAvailability", "compute_availability"]


@attrs.frozen
class LocationAvailability:
    """One location's offer of one SKU to one channel.

    Attributes:
        location_id: the location.
        name: its display name.
        kind: warehouse or store.
        quantity: units available to promise to the channel there.
        distance_km: great-circle distance from the shopper, if a point was given.
        pickup_today: whether a pick-up ordered now can be collected today.
        ready_at: when that pick-up would be ready, in the store's own zone.
        try_on: whether the store offers try-on.
        priority: the location's rank in the channel's route (0 is first).

    """

    location_id: str
    name: str
    kind: LocationKind
    quantity: int
    distance_km: float | None
    pickup_today: bool
    ready_at: datetime | None
    try_on: bool
    priority: int


@attrs.frozen
class ProductAvailability:
    """A SKU's availability for a channel.

    Attributes:
        sku: the SKU.
        channel: the channel asked about.
        total: units available to promise across every location serving the channel.
        locations: the listed locations, nearest first (or by channel priority).

    """

    sku: str
    channel: Channel
    total: int
    locations: tuple[LocationAvailability, ...]

    @property
    def in_stock(self) -> bool:
        """Whether any unit can be promised."""
        return self.total > 0


class _PickupMemo:
    """Pick-up readiness per (zone, hours, lead): stores sharing them share one answer."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._seen: dict[object, datetime | None] = {}

    def ready(self, location: Location) -> datetime | None:
        if LocationCapability.PICK_UP not in location.capabilities:
            return None
        key = (location.time_zone, location.hours, location.pickup_lead_minutes)
        if key not in self._seen:
            self._seen[key] = location.pickup_ready_today(self._now)
        return self._seen[key]


def _rows(
    network: ChannelNetwork,
    atp: IntArray,
    chosen: IntArray,
    distances: FloatArray | None,
    memo: _PickupMemo,
) -> tuple[LocationAvailability, ...]:
    rows = []
    quantities = atp[chosen].tolist()
    dist = None if distances is None else distances[chosen].tolist()
    for n, i in enumerate(chosen.tolist()):
        loc = network.locations[i]
        ready = memo.ready(loc)
        rows.append(
            LocationAvailability(
                loc.id,
                loc.name,
                loc.kind,
                quantities[n],
                None if dist is None else finite(dist[n]),
                ready is not None,
                ready,
                LocationCapability.TRY_ON in loc.capabilities,
                i,
            )
        )
    return tuple(rows)


def compute_availability(
    network: ChannelNetwork,
    items: Mapping[str, Item],
    columns: Mapping[str, StockColumns],
    *,
    near: GeoPoint | None,
    now: datetime,
    limit: int | None,
    include_empty: bool,
) -> dict[str, ProductAvailability]:
    """Availability of every item in ``items`` for ``network``'s channel (pure function).

    Args:
        network: the channel's locations.
        items: the items to answer for, by SKU (kits included).
        columns: stock columns for every SKU the items need.
        near: the shopper's position; sorts nearest first and fills ``distance_km``.
        now: the current instant, for pick-up today.
        limit: list at most this many locations per SKU (the total counts them all).
        include_empty: list locations with nothing available too.

    """
    distances = network.distances(near)
    memo = _PickupMemo(now)
    result: dict[str, ProductAvailability] = {}
    for sku, item in items.items():
        atp = network.item_atp(item, columns)
        chosen = np.arange(len(network)) if include_empty else np.flatnonzero(atp > 0)
        ordered = network.nearest_first(chosen, distances)
        if limit is not None:
            ordered = ordered[:limit]
        result[sku] = ProductAvailability(
            sku,
            network.channel,
            int(atp.sum()),
            _rows(network, atp, ordered, distances, memo),
        )
    return result
