"""Column-wise stock of one SKU across locations: what availability is computed from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from omnicrm.inventory.stock import StockLevel

__all__ = ["IntArray", "StockColumns"]

IntArray = npt.NDArray[np.int64]
"""A one-dimensional array of counts."""


def _frozen(values: list[int]) -> IntArray:
    array = np.asarray(values, dtype=np.int64)
    array.flags.writeable = False
    return array


@attrs.frozen(eq=False)
class StockColumns:
    """The levels of one SKU at every location that has a level, sorted by location id.

    Arrays are read-only; ``free`` is on hand - held - committed - safety stock (may be
    negative after a count found less than was promised).

    Attributes:
        sku: the SKU.
        location_ids: the locations, sorted (a numpy array of str).
        free: units free to promise before any channel buffer, per location.
        on_hand: units on hand, per location.
        memo: a scratch cache for readers (e.g. how these locations align with a
            channel's); it never changes the values above.

    """

    sku: str
    location_ids: npt.NDArray[np.str_]
    free: IntArray
    on_hand: IntArray
    memo: dict[object, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_levels(cls, sku: str, levels: Iterable[StockLevel]) -> StockColumns:
        """Build the columns from level rows of ``sku`` (any order)."""
        rows = sorted(levels, key=lambda lv: lv.location_id)
        ids = np.asarray([lv.location_id for lv in rows], dtype=np.str_)
        ids.flags.writeable = False
        return cls(
            sku=sku,
            location_ids=ids,
            free=_frozen([lv.on_hand - lv.held - lv.committed - lv.safety_stock for lv in rows]),
            on_hand=_frozen([lv.on_hand for lv in rows]),
        )

    @classmethod
    def from_rows(cls, sku: str, rows: list[tuple[str, int, int]]) -> StockColumns:
        """Build from ``(location_id, free, on_hand)`` rows sorted by location id."""
        ids = np.asarray([r[0] for r in rows], dtype=np.str_)
        ids.flags.writeable = False
        return cls(
            sku=sku,
            location_ids=ids,
            free=_frozen([r[1] for r in rows]),
            on_hand=_frozen([r[2] for r in rows]),
        )

    @classmethod
    def empty(cls, sku: str) -> StockColumns:
        """No level anywhere."""
        return cls.from_rows(sku, [])
