"""Grouping primitives: factorise keys once, then reduce per group with exact integer ufuncs.

``np.unique(..., return_inverse=True)`` sorts with an argsort and is slow on tens of millions
of rows; dense integer keys are mapped through a presence table instead (linear time), and
other keys through one ``np.sort`` plus ``searchsorted``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from omnicrm.errors import InvalidTypeError

__all__ = ["INT64_MAX", "INT64_MIN", "concat_ids", "factorize", "positions", "sorted_unique"]

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)


def sorted_unique(values: NDArray[Any]) -> NDArray[Any]:
    """Return the sorted distinct values (a sort and a mask; faster than ``np.unique``)."""
    if values.size == 0:
        return values.copy()
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def factorize(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Return ``(uniques, codes)``: sorted distinct values and each value's index into them."""
    if values.size == 0:
        return values.copy(), np.zeros(0, dtype=np.intp)
    if values.dtype.kind == "i":
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if span <= 4 * values.size + 1024:
            shifted = values - low
            present = np.zeros(span, dtype=bool)
            present[shifted] = True
            mapping = np.cumsum(present, dtype=np.intp) - 1
            uniques = np.flatnonzero(present).astype(np.int64) + low
            return uniques, mapping[shifted]
    uniques = sorted_unique(values)
    return uniques, np.searchsorted(uniques, values).astype(np.intp, copy=False)


def positions(
    haystack: NDArray[Any], needles: NDArray[Any]
) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """For each needle, whether it is in sorted-unique ``haystack`` and its index there."""
    if haystack.size == 0 or needles.size == 0:
        return np.zeros(needles.size, dtype=bool), np.zeros(needles.size, dtype=np.intp)
    if haystack.dtype.kind != needles.dtype.kind:
        return np.zeros(needles.size, dtype=bool), np.zeros(needles.size, dtype=np.intp)
    where = np.searchsorted(haystack, needles)
    clipped = np.minimum(where, haystack.size - 1)
    found = haystack[clipped] == needles
    return found, clipped


def concat_ids(field: str, parts: list[NDArray[Any]]) -> NDArray[Any]:
    """Concatenate id arrays of one kind (all int or all str); mixing kinds is refused."""
    kinds = {part.dtype.kind for part in parts if part.size}
    if len(kinds) > 1:
        raise InvalidTypeError(field, sorted(kinds), "cannot merge int ids with str ids")
    nonempty = [part for part in parts if part.size] or parts[:1]
    return np.concatenate(nonempty)
