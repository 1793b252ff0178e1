"""Availability for the product page: which locations can serve a channel, nearest first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs
import numpy as np

from omnicrm.channel import Channel
from omnicrm.inventory.columns import IntArray, StockColumns
from omnicrm.inventory.geo import FloatArray
from omnicrm.inventory.model import GeoPoint, Item, LocationKind
from omnicrm.inventory.network import ChannelNetwork

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
        pickup_today: whether a pick-up ordered now can be collected today (needs stock).
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


def _rows(
    network: ChannelNetwork,
    atp: IntArray,
    chosen: IntArray,
    distances: FloatArray | None,
    ready: list[datetime | None],
) -> tuple[LocationAvailability, ...]:
    indices = chosen.tolist()
    quantities = atp[chosen].tolist()
    if distances is None:
        dist: list[float | None] = [None] * len(indices)
    else:
        dist = np.round(distances[chosen], 3).tolist()
    locations, groups, try_on = network.locations, network.pickup_group, network.try_on
    rows = []
    for i, quantity, km in zip(indices, quantities, dist, strict=True):
        loc = locations[i]
        group = groups[i]
        at = None if group < 0 or quantity <= 0 else ready[group]
        rows.append(
            LocationAvailability(
                loc.id, loc.name, loc.kind, quantity, km, at is not None, at, try_on[i], i
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
    ready = network.pickup_ready(now)
    result: dict[str, ProductAvailability] = {}
    for sku, item in items.items():
        atp = network.item_atp(item, columns)
        chosen = np.arange(len(network)) if include_empty else np.flatnonzero(atp > 0)
        ordered = network.nearest_first(chosen, distances, limit)
        result[sku] = ProductAvailability(
            sku,
            network.channel,
            int(atp.sum()),
            _rows(network, atp, ordered, distances, ready),
        )
    return result
