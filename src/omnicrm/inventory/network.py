"""The locations serving one channel, laid out as arrays for fast availability and sourcing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from omnicrm.inventory.columns import IntArray, StockColumns
from omnicrm.inventory.geo import FloatArray, haversine_km_many
from omnicrm.inventory.model import (
    ChannelRoute,
    GeoPoint,
    Item,
    Location,
    LocationCapability,
    LocationKind,
)

__all__ = ["ChannelNetwork", "component_skus"]


class ChannelNetwork:
    """One channel's locations in priority order, with positions and buffers as arrays.

    Built once per network version and reused; it holds no stock.

    Args:
        route: the channel's route.
        locations: the locations by id (entries naming unknown locations are skipped).

    """

    def __init__(self, route: ChannelRoute, locations: Mapping[str, Location]) -> None:
        entries = [e for e in route.locations if e.location_id in locations]
        self.channel = route.channel
        self.locations: tuple[Location, ...] = tuple(locations[e.location_id] for e in entries)
        self.index: dict[str, int] = {loc.id: i for i, loc in enumerate(self.locations)}
        self.buffer: IntArray = np.asarray([e.buffer for e in entries], dtype=np.int64)
        self.lat: FloatArray = np.radians(
            np.asarray([loc.position.latitude for loc in self.locations], dtype=np.float64)
        )
        self.lon: FloatArray = np.radians(
            np.asarray([loc.position.longitude for loc in self.locations], dtype=np.float64)
        )
        self.is_store = np.asarray(
            [loc.kind is LocationKind.STORE for loc in self.locations], dtype=bool
        )
        groups: dict[object, int] = {}
        self.pickup_group: list[int] = []  # -1: no pick-up; else an index into pickup_sample
        self.pickup_sample: list[Location] = []
        for loc in self.locations:
            if LocationCapability.PICK_UP not in loc.capabilities:
                self.pickup_group.append(-1)
                continue
            key = (loc.time_zone, loc.hours, loc.pickup_lead_minutes)
            if key not in groups:
                groups[key] = len(self.pickup_sample)
                self.pickup_sample.append(loc)
            self.pickup_group.append(groups[key])
        self.try_on = [LocationCapability.TRY_ON in loc.capabilities for loc in self.locations]
        ids = np.asarray([loc.id for loc in self.locations], dtype=np.str_)
        self._order = np.argsort(ids, kind="stable")
        self._sorted_ids: npt.NDArray[np.str_] = ids[self._order]
        self._token = object()  # identifies this layout in StockColumns.memo

    def pickup_ready(self, now: datetime) -> list[datetime | None]:
        """Per pick-up group, when a pick-up ordered at ``now`` is ready today (or ``None``)."""
        return [loc.pickup_ready_today(now) for loc in self.pickup_sample]

    def __len__(self) -> int:
        return len(self.locations)

    def _align(self, columns: StockColumns) -> tuple[IntArray, IntArray]:
        """Positions in ``columns`` of this network's locations, and their indices here."""
        found = columns.memo.get(self._token)
        if found is not None:
            return found  # type: ignore[no-any-return]
        ids = columns.location_ids
        if len(ids) == 0 or len(self.locations) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pos = np.searchsorted(self._sorted_ids, ids)
        np.minimum(pos, len(self._sorted_ids) - 1, out=pos)
        hit = self._sorted_ids[pos] == ids
        aligned = (np.flatnonzero(hit), self._order[pos[hit]])
        columns.memo[self._token] = aligned
        return aligned

    def free(self, columns: StockColumns) -> IntArray:
        """Units free before buffers, per location of this network (0 where no level)."""
        out = np.zeros(len(self.locations), dtype=np.int64)
        source, target = self._align(columns)
        out[target] = columns.free[source]
        return out

    def atp(self, columns: StockColumns) -> IntArray:
        """Available to promise for this channel per location: free - buffer, never < 0."""
        result: IntArray = np.maximum(self.free(columns) - self.buffer, 0)
        return result

    def item_atp(self, item: Item, columns: Mapping[str, StockColumns]) -> IntArray:
        """ATP of an item; a kit's is the minimum over components of ATP // quantity."""
        if not item.is_kit:
            return self.atp(columns[item.sku])
        parts = [self.atp(columns[c.sku]) // c.quantity for c in item.components]
        result: IntArray = np.minimum.reduce(parts)
        return result

    def distances(self, near: GeoPoint | None) -> FloatArray | None:
        """Kilometres from ``near`` to each location, or ``None`` without a point."""
        if near is None:
            return None
        return haversine_km_many(self.lat, self.lon, near)

    def nearest_first(
        self, chosen: IntArray, distances: FloatArray | None, limit: int | None = None
    ) -> IntArray:
        """Order location indices ``chosen`` (ascending) nearest first, then by priority.

        With ``limit``, only the first ``limit`` are returned, found without sorting all.
        """
        if distances is None:
            return chosen if limit is None else chosen[:limit]
        d = distances[chosen]
        if limit is not None and limit < len(chosen):
            kth = np.partition(d, limit - 1)[limit - 1]
            keep = d <= kth  # ties at the boundary stay, so the order is deterministic
            chosen, d = chosen[keep], d[keep]
        order = np.argsort(d, kind="stable")  # stable: equal distances keep priority order
        result: IntArray = chosen[order]
        return result if limit is None else result[:limit]


def component_skus(items: Sequence[Item]) -> list[str]:
    """Every SKU whose stock the items need (components for kits), without repeats."""
    skus: dict[str, None] = {}
    for item in items:
        for sku in [c.sku for c in item.components] or [item.sku]:
            skus[sku] = None
    return list(skus)
