"""Local calendar days of UTC instants in a stated zone, vectorised and DST-correct.

The zone's UTC offset is piecewise constant between transitions. We sample the offset
every six hours across the span of the data, find each change exactly (to the second)
by bisection, and look every instant's offset up with one ``searchsorted``. The machine's
own zone is never consulted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np
from numpy.typing import NDArray

__all__ = ["DAY_US", "local_days"]

DAY_US = 86_400_000_000
"""Microseconds in a calendar day."""

_US = 1_000_000
_STEP = 6 * 3600
_ONE_US = timedelta(microseconds=1)


def _offset_us(second: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(second, tz).utcoffset()
    return 0 if offset is None else offset // _ONE_US


def _offset_table(first: int, last: int, tz: tzinfo) -> tuple[list[int], list[int]]:
    """Transition instants (µs, the first is -inf) and the offsets (µs) that start there."""
    starts = [int(np.iinfo(np.int64).min)]
    offsets = [_offset_us(first, tz)]
    previous = first
    for second in [*range(first + _STEP, last, _STEP), last]:
        current = _offset_us(second, tz)
        if current != offsets[-1]:
            low, high = previous, second  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_us(middle, tz) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(high * _US)
            offsets.append(current)
        previous = second
    return starts, offsets


def local_days(instants: NDArray[np.int64], tz: tzinfo) -> NDArray[np.int64]:
    """Return the local calendar day (days since 1970-01-01) of each UTC instant (µs) in ``tz``."""
    if instants.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(instants.min()) // _US
    last = int(instants.max()) // _US + 1
    if tz is UTC:
        return instants // DAY_US
    starts, offsets = _offset_table(first, last, tz)
    if len(offsets) == 1:
        return (instants + offsets[0]) // DAY_US
    which = np.searchsorted(np.array(starts, dtype=np.int64), instants, side="right") - 1
    return (instants + np.array(offsets, dtype=np.int64)[which]) // DAY_US
