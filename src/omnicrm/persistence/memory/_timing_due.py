"""The due index of the memory positions: time buckets of packed entries, a sorted front.

An entry says "slot ``s`` wakes up at ``d``" (epoch microseconds). Entries wait in
buckets of :data:`SPAN` microseconds (about 18 minutes), each a machine-integer array of
``offset << 32 | slot`` (8 bytes an entry), found through a heap of bucket keys (one per
bucket, not per wait). ``due()`` opens the earliest bucket: the entries due by then are
checked against the table, sorted by ``(due, customer, journey)`` and kept in ``front``,
read from ``head`` on. Every entry not in ``front`` is due after ``bound``; an entry due
by ``bound`` goes straight into ``front`` in order.

Entries are never updated in place: a row that moves on leaves its old entry behind,
recognised as stale when met (the row's due time or active flag differs) and dropped.
Dropping needs no undo: every undo that brings a waiting row back adds its entry again
(a duplicate is harmless, the reader takes a slot once).
"""

from __future__ import annotations

import heapq
from array import array
from bisect import insort
from collections.abc import Sequence

from omnicrm.persistence.memory._timing_columns import ACTIVE, NO_DUE, PositionTable

__all__ = ["SPAN", "DueIndex"]

_BITS = 30
SPAN = 1 << _BITS
"""Microseconds a bucket spans."""
_SLOT = (1 << 32) - 1
_NONE: array[int] = array("q")  # never written: a placeholder for "no bucket yet"


class DueIndex:
    """Wake-up entries of the waiting positions, read in time order (see the module docs)."""

    __slots__ = ("bound", "buckets", "front", "head", "keys", "table")

    def __init__(self, table: PositionTable) -> None:
        self.table = table
        self.buckets: dict[int, array[int]] = {}
        self.keys: list[int] = []  # a heap of the bucket keys
        self.front: list[tuple[int, str, str, int]] = []  # (due, customer, journey, slot)
        self.head = 0  # ``front[:head]`` was read and dropped
        self.bound = NO_DUE

    def add(self, due: int, slot: int) -> None:
        """Add the entry "``slot`` wakes up at ``due``"."""
        if due <= self.bound:
            table = self.table
            entry = (due, table.customer[slot], table.names.names[table.journey[slot]], slot)
            insort(self.front, entry, lo=self.head)
            return
        key = due >> _BITS
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = array("q")
            heapq.heappush(self.keys, key)
        bucket.append((due - (key << _BITS)) << 32 | slot)

    def add_run(self, start: int, dues: Sequence[int]) -> None:
        """:meth:`add` ``(dues[i], start + i)`` for each due time but :data:`NO_DUE`."""
        key, bucket, buckets, bound = NO_DUE, _NONE, self.buckets, self.bound
        first = dues[0] if dues else NO_DUE
        if first > bound and dues.count(first) == len(dues):  # one wake-up time for them all
            key = first >> _BITS
            bucket = buckets.get(key, _NONE)
            if bucket is _NONE:
                bucket = buckets[key] = array("q")
                heapq.heappush(self.keys, key)
            base = (first - (key << _BITS)) << 32
            bucket.extend(range(base + start, base + start + len(dues)))
            return
        for slot, due in enumerate(dues, start):
            if due == NO_DUE:
                continue
            if due <= bound:
                self.add(due, slot)
                continue
            if due >> _BITS != key:  # the rows an event enters mostly wait as long
                key = due >> _BITS
                found = buckets.get(key)
                if found is None:
                    found = buckets[key] = array("q")
                    heapq.heappush(self.keys, key)
                bucket = found
            bucket.append((due - (key << _BITS)) << 32 | slot)

    def open(self, until: int) -> bool:
        """Move the earliest bucket's entries due by ``until`` into ``front``.

        Returns ``False`` if there is none (every entry due by ``until`` is in ``front``).
        Stale entries are dropped on the way.
        """
        keys = self.keys
        if not keys or self.bound >= until or keys[0] << _BITS > until:
            return False
        key = keys[0]
        base = key << _BITS
        upto = min(until, base + SPAN - 1)
        bucket = self.buckets[key]
        if upto == base + SPAN - 1:
            moved: array[int] | list[int] = bucket
            del self.buckets[key]
            heapq.heappop(keys)
        else:
            last = (upto - base) << 32 | _SLOT
            moved = [v for v in bucket if v <= last]
            if len(moved) < len(bucket):
                self.buckets[key] = array("q", [v for v in bucket if v > last])
            else:
                del self.buckets[key]
                heapq.heappop(keys)
        self.bound = upto
        table = self.table
        customers, journeys, flags, dues = table.customer, table.journey, table.flags, table.due
        names, size = table.names.names, len(customers)
        fresh = []
        for v in moved:
            slot, due = v & _SLOT, base + (v >> 32)
            if slot < size and flags[slot] & ACTIVE and dues[slot] == due:
                fresh.append((due, customers[slot], names[journeys[slot]], slot))
        fresh.sort()
        self.front.extend(fresh)
        return True

    def compact(self) -> None:
        """Forget the part of ``front`` already read once it is most of it."""
        if self.head > 1024 and 2 * self.head > len(self.front):
            del self.front[: self.head]
            self.head = 0

    def live(self) -> set[tuple[int, int]]:
        """Return every ``(due, slot)`` entry that still wakes its row up (for tests)."""
        table = self.table
        entries = {(due, slot) for due, _, _, slot in self.front[self.head :]}
        for key, bucket in self.buckets.items():
            entries.update(((key << _BITS) + (v >> 32), v & _SLOT) for v in bucket)
        return {
            (due, slot) for due, slot in entries
            if slot < len(table.customer) and table.flags[slot] & ACTIVE
            and table.due[slot] == due
        }  # fmt: skip
