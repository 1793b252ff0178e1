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

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "concat_ids",
    "factorize",
    "positions",
    "slots",
    "sorted_unique",
]

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


def _dense_span(values: NDArray[Any]) -> tuple[int, int] | None:
    """``(low, span)`` when int keys are dense enough to index a table directly."""
    if values.size == 0 or values.dtype.kind != "i":
        return None
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    return (low, span) if span <= 4 * values.size + 1024 else None


def slots(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Return ``(slot_keys, codes)`` like :func:`factorize`, but slots may be empty.

    Dense integer keys are used as codes directly (no sort, no copy when they start at 0);
    the caller drops the slots no row fell into. Other keys are factorised.
    """
    dense = _dense_span(values)
    if dense is None:
        return factorize(values)
    low, span = dense
    codes = values if low == 0 else values - low
    return np.arange(low, low + span, dtype=np.int64), codes


def factorize(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Return ``(uniques, codes)``: sorted distinct values and each value's index into them."""
    if values.size == 0:
        return values.copy(), np.zeros(0, dtype=np.intp)
    dense = _dense_span(values)
    if dense is not None:
        low, span = dense
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
