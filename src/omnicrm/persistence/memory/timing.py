"""The in-memory timing repositories (the reference implementation).

Positions are stored by column (:mod:`._timing_columns`), about a hundred bytes a
waiting position, and found for a wake-up through time buckets (:mod:`._timing_due`),
so ``tick`` reads a bucket at a time instead of a heap entry per position. The
repositories of actions, outcomes and merge records are in :mod:`._timing_actions`.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from itertools import pairwise
from typing import Any

from omnicrm.errors import ConcurrencyError, DuplicateError, ValidationError
from omnicrm.frozenmap import FrozenMap
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.persistence.memory._timing_actions import (
    MemoryActionRepository,
    MemoryMergeRepository,
    MemoryOutcomeRepository,
)
from omnicrm.persistence.memory._timing_columns import (
    ACTIVE,
    EPOCH,
    HOLDOUT,
    NO_DUE,
    US,
    Names,
    PositionTable,
    Row,
    due_us,
    from_us,
    to_us,
)
from omnicrm.persistence.memory._timing_due import DueIndex
from omnicrm.timing.ports import Opened, Shape
from omnicrm.timing.records import (
    DueAction,
    Enrollment,
    EntryRecord,
    Outcome,
    trusted_enrollment,
    trusted_entry,
)
from omnicrm.validation import check_aware, check_int

__all__ = [
    "MemoryActionRepository",
    "MemoryEnrollmentRepository",
    "MemoryEntryRepository",
    "MemoryMergeRepository",
    "MemoryOutcomeRepository",
    "MemoryProcessedEventRepository",
    "TimingRepositories",
    "TimingTables",
]

_SHAPES = 4096  # shapes whose shared columns are kept


class TimingTables:
    """The committed timing state, laid out compactly (a million waits fit in memory)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()  # a set: a third smaller than a dict of flags
        self.names = Names()  # journey, step and event-type ids as small integers
        self.positions = PositionTable(self.names)
        self.due = DueIndex(self.positions)
        # the entry log, one column each (a record per entry costs several times the
        # memory): customer ids, journeys as name indexes, runs, instants as epoch
        # microseconds, holdout flags as bytes
        self.entries: tuple[list[str], array[int], array[int], array[int], bytearray] = (
            [], array("i"), array("q"), array("q"), bytearray()
        )  # fmt: skip
        self.actions: Table[str, DueAction] = Table()
        self.sends: Table[str, tuple[tuple[datetime, str], ...]] = Table()
        self.outcomes: Table[tuple[str, str], Outcome] = Table()
        self.merges: Table[tuple[str, str], str] = Table()


class MemoryProcessedEventRepository:
    """:class:`~omnicrm.timing.ports.ProcessedEventRepository` over a journaled set."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, event_id: str, at: datetime) -> bool:
        """Remember ``event_id``; ``False`` if known."""
        if type(at) is not datetime or at.tzinfo is None:
            check_aware("at", at)
        seen = self._t.seen
        if event_id in seen:
            return False
        seen.add(event_id)
        self._journal.record(partial(seen.discard, event_id))
        return True


class MemoryEnrollmentRepository:
    """:class:`~omnicrm.timing.ports.EnrollmentRepository` over the position columns.

    Rows live in a :class:`PositionTable` (one slot per row, a column per field) and
    are built as :class:`Enrollment` values when read; wake-ups are found through a
    :class:`DueIndex`. Every write records its undo: the values it replaced.
    """

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._p = tables.positions
        self._due = tables.due
        self._journal = journal

    def get(self, customer_id: str, journey_id: str) -> Enrollment | None:
        """Return the position, or ``None``."""
        table = self._p
        if customer_id not in table.slot_of:
            return None
        slot = table.find(customer_id, journey_id)[1]
        return None if slot < 0 else table.read(slot)

    def for_customer(self, customer_id: str) -> Sequence[Enrollment]:
        """Return the customer's positions, by journey id."""
        table = self._p
        if customer_id not in table.slot_of:
            return ()
        return table.read_many(table.chain(customer_id))

    def put(self, enrollment: Enrollment) -> Enrollment:
        """Insert or replace if the version matches; return it with the next version."""
        if not isinstance(enrollment, Enrollment):
            raise TypeError("enrollment must be an Enrollment")
        table = self._p
        customer_id = enrollment.customer_id
        before, slot = table.find(customer_id, enrollment.journey_id)
        version = 0 if slot < 0 else table.version[slot]
        if version != enrollment.version:
            raise ConcurrencyError(
                "enrollment", (customer_id, enrollment.journey_id), enrollment.version, version
            )
        if slot < 0:
            slot = table.add(enrollment, 1, before, self._journal)
            active, due = table.flags[slot] & ACTIVE, table.due[slot]
            table.active += active
            self._journal.record(partial(self._unappend, before, active))
            moved = True
        else:
            values = table.encode(enrollment, version + 1, self._journal)
            active, due = values[3] & ACTIVE, values[5]
            old = table.values(slot)
            table.store(slot, values)
            change = active - (old[3] & ACTIVE)
            table.active += change
            self._journal.record(partial(self._restore, slot, old, change))
            moved = change > 0 or old[5] != due
        if active and due != NO_DUE and moved:
            self._due.add(due, slot)
        return enrollment.with_version(version + 1)

    def insert(self, enrollment: Enrollment) -> None:
        """Store the position as given where none is; ``DuplicateError`` otherwise."""
        if not isinstance(enrollment, Enrollment):
            raise TypeError("enrollment must be an Enrollment")
        table = self._p
        customer_id = enrollment.customer_id
        before = -1
        if customer_id in table.slot_of:  # not the customer's first position
            before, slot = table.find(customer_id, enrollment.journey_id)
            if slot >= 0:
                raise DuplicateError("enrollment", (customer_id, enrollment.journey_id))
        slot = table.add(enrollment, enrollment.version, before, self._journal)
        active = table.flags[slot] & ACTIVE
        table.active += active
        self._journal.record(partial(self._unappend, before, active))
        if active and table.due[slot] != NO_DUE:
            self._due.add(table.due[slot], slot)

    def enter(self, positions: Sequence[Enrollment]) -> None:
        """Store new positions as given and log their entries; one undo for them all."""
        table, journal = self._p, self._journal
        first = positions[0] if positions else None
        customer_id = first.customer_id if type(first) is Enrollment else ""
        if (  # the common case: a customer in no journey yet enters them
            customer_id
            and customer_id not in table.slot_of
            and all(type(p) is Enrollment and p.customer_id == customer_id for p in positions)
        ):
            ordered = sorted(positions, key=_journey_of) if len(positions) > 1 else positions
            for a, b in pairwise(ordered):
                if a.journey_id == b.journey_id:  # nothing written yet
                    raise DuplicateError("enrollment", (customer_id, a.journey_id))
            encode = table.encode
            columns = tuple(zip(*[encode(p, p.version, journal) for p in ordered], strict=True))
            flags = columns[3]
            self._enter_rows(customer_id, columns, sum([f & ACTIVE for f in flags]),
                             [bool(f & HOLDOUT) for f in flags])  # fmt: skip
            return
        for position in positions:  # anything else: one insert and one entry each
            self.insert(position)
            _log(self._t, position.customer_id, position.journey_id, position.run,
                 position.entered_at, position.holdout, journal)  # fmt: skip
            journal.record(partial(_drop_entries, self._t.entries, 1))

    def enter_fresh(
        self, customer_id: str, at: datetime, facts: FrozenMap, rows: Sequence[Opened]
    ) -> None:
        """Enter a customer at ``at`` into journeys that start with a wait; see the port.

        See :class:`~omnicrm.timing.ports.FreshEntryRepository`: :meth:`enter_shape`
        of the rows by column (in journey-id order).
        """
        ordered = sorted(rows, key=_first) if len(rows) > 1 else rows
        journeys, steps, dues, waits, holdouts = zip(*ordered, strict=True) if rows else ((),) * 5
        self.enter_shape(
            customer_id, at, facts, (journeys, steps, waits), dues, holdouts, keep=False
        )

    def enter_shape(
        self, customer_id: str, at: datetime, facts: FrozenMap, shape: Shape,
        dues: Sequence[datetime | None], holdouts: Sequence[bool] | None, *, keep: bool = True,
    ) -> None:  # fmt: skip
        """Enter a customer at ``at`` into the journeys of ``shape``; see the port.

        See :class:`~omnicrm.timing.ports.FreshEntryRepository`. A customer in no
        journey yet gets its rows written as column values, no record built; the
        columns every entry of ``shape`` shares are worked out once (:class:`Fixed`)
        and kept, unless ``keep`` is false (a shape that will not come again).
        """
        table = self._p
        count = len(shape[0])
        if customer_id in table.slot_of or not count:  # rows of its own: the general path
            held = (False,) * count if holdouts is None else holdouts
            self.enter([
                trusted_enrollment(customer_id, journey_id, 1, step_id, True, at, due_at,
                                   wait_event, facts, 0, holdout, 1)
                for journey_id, step_id, wait_event, due_at, holdout
                in zip(*shape, dues, held, strict=True)
            ])  # fmt: skip
            return
        shapes = table.names.shapes
        fixed = shapes.get(id(shape))
        if fixed is None or fixed.shape is not shape:
            _check_order(customer_id, shape[0])  # nothing written yet
            fixed = table.names.fixed(shape, self._journal)
            if keep:
                if len(shapes) >= _SHAPES:
                    shapes.clear()
                shapes[id(shape)] = fixed
        first = dues[0]
        if dues.count(first) == count:  # the journeys an event enters often wait as long
            due = [NO_DUE if first is None else (first - EPOCH) // US] * count
        else:
            due = [NO_DUE if d is None else due_us(d) for d in dues]
        flags: Sequence[int] = fixed.active
        logged: Sequence[int] = fixed.kept
        if holdouts is not None and any(holdouts):
            flags, logged = bytes([ACTIVE | HOLDOUT * h for h in holdouts]), bytes(holdouts)
        entered = array("q", ((at - EPOCH) // US,)) * count  # written twice: rows, entries
        columns = (fixed.journeys, fixed.ones, fixed.steps, flags, entered, due, fixed.waits,
                   [facts] * count, fixed.zeros, fixed.ones)  # fmt: skip
        self._enter_rows(customer_id, columns, count, logged)

    def _enter_rows(
        self, customer_id: str, columns: Sequence[Sequence[Any]], change: int,
        holdouts: Sequence[int],
    ) -> None:  # fmt: skip
        """Write a customer's first rows (:data:`Row` columns, journey-id order), log them.

        ``change`` is how many are active; ``holdouts``, their holdout flags.
        """
        table = self._p
        count = len(holdouts)
        customers = [customer_id] * count
        start = table.add_chain(customers, columns)
        dues = columns[5]
        if change < count:  # an inactive row does not wake up
            dues = [d if f & ACTIVE else NO_DUE for f, d in zip(columns[3], dues, strict=True)]
        self._due.add_run(start, dues)
        table.active += change
        # the entries, from the columns just written
        log_customers, log_journeys, log_runs, log_ats, log_holdouts = self._t.entries
        log_customers.extend(customers)
        log_journeys.extend(columns[0])
        log_runs.extend(columns[1])
        log_ats.extend(columns[4])
        log_holdouts.extend(holdouts)
        self._journal.record(partial(self._unenter, customer_id, count, change))

    def close_many(self, closes: Sequence[tuple[Enrollment, str]]) -> None:
        """End each position at its step if its version matches; one undo for them all."""
        table, journal = self._p, self._journal
        closed: list[tuple[int, int, int, int, int, int]] = []  # (slot, its values before)
        ended = 0
        try:
            for position, step_id in closes:
                slot = table.find(position.customer_id, position.journey_id)[1]
                stored = None if slot < 0 else table.version[slot]
                if stored != position.version:
                    raise ConcurrencyError(
                        "enrollment", (position.customer_id, position.journey_id),
                        position.version, stored,
                    )  # fmt: skip
                ended += table.flags[slot] & ACTIVE
                closed.append(self._close(slot, table.names.id(step_id, journal)))
        finally:
            table.active -= ended
            journal.record(partial(self._reopen, closed, ended))

    def remove(self, customer_id: str, journey_id: str) -> bool:
        """Delete the position; ``False`` if there was none."""
        table = self._p
        before, slot = table.find(customer_id, journey_id)
        if slot < 0:
            return False
        old = table.values(slot)
        table.unlink(before, slot)
        active = old[3] & ACTIVE
        table.active -= active
        self._journal.record(partial(self._relink, before, slot, customer_id, old, active))
        return True

    def due(self, until: datetime, limit: int) -> Sequence[Enrollment]:
        """Return up to ``limit`` active positions due at or before ``until``, oldest first.

        Stale entries (the row moved on or ended) are dropped as they are met; the
        entries of the positions returned stay first in the index.
        """
        bound = to_us(check_aware("until", until))
        check_int("limit", limit, minimum=1)
        return self._p.read_many(self._take(bound, limit, {})[0])

    def close_due(
        self, until: datetime, limit: int, ends: Mapping[tuple[str, str], str]
    ) -> tuple[int, Sequence[Enrollment]]:
        """``due()`` closing on the way each position whose ``(journey, step)`` ``ends`` names.

        See :class:`~omnicrm.timing.ports.DueClosingRepository`. The closed rows are
        never built as records; one undo restores them all.
        """
        bound = to_us(check_aware("until", until))
        check_int("limit", limit, minimum=1)
        ids, name = self._p.names.ids, self._p.names.id
        closing = {
            ids[journey] << 32 | ids[step]: name(end, self._journal)
            for (journey, step), end in ends.items()
            if journey in ids and step in ids
        }
        rest, closed = self._take(bound, limit, closing)
        return closed, self._p.read_many(rest)

    def _take(self, bound: int, limit: int, closing: dict[int, int]) -> tuple[list[int], int]:
        """Read up to ``limit`` due slots from the index; close those ``closing`` names.

        ``closing`` maps ``journey << 32 | step`` (name indexes) to the step to close
        at. Returns the slots not closed, in order, and how many were closed.
        """
        index, table = self._due, self._p
        front, i = index.front, index.head
        customers, journeys, steps, flags, dues = (
            table.customer, table.journey, table.step, table.flags, table.due
        )  # fmt: skip
        size, names = len(customers), table.names.names
        taken: list[int] = []
        seen: set[int] = set()  # a slot can have two live entries (an undo adds one)
        kept: list[tuple[int, str, str, int]] = []  # the entries of the slots returned
        closed: list[tuple[int, int, int, int, int, int]] = []  # (slot, its values before)
        count = 0
        while count < limit:
            if i == len(front):
                if index.open(bound):
                    continue
                break
            entry = front[i]
            due, customer, journey, slot = entry
            if due > bound:
                break
            i += 1
            if (
                slot >= size or not flags[slot] & ACTIVE or dues[slot] != due
                or customers[slot] != customer or names[journeys[slot]] != journey
                or slot in seen
            ):  # fmt: skip
                continue  # stale: dropped
            seen.add(slot)
            count += 1
            end = closing.get(journeys[slot] << 32 | steps[slot]) if closing else None
            if end is None:
                taken.append(slot)
                kept.append(entry)
            else:
                closed.append(self._close(slot, end))
        if closed:
            table.active -= len(closed)
            self._journal.record(partial(self._reopen, closed, len(closed)))
        # the entries handed out stay, in order, just before the ones not read yet
        index.head = i - len(kept)
        front[index.head : i] = kept
        index.compact()
        return taken, len(closed)

    def _close(self, slot: int, step: int) -> tuple[int, int, int, int, int, int]:
        """End the row in ``slot`` at ``step``; return what it held (for the undo)."""
        table = self._p
        flag = table.flags[slot]
        old = (slot, table.step[slot], flag, table.due[slot], table.waiting[slot],
               table.deferrals[slot])  # fmt: skip
        table.step[slot], table.flags[slot], table.due[slot] = step, flag & HOLDOUT, NO_DUE
        table.waiting[slot], table.deferrals[slot] = -1, 0
        table.version[slot] += 1
        return old

    def count_active(self) -> int:
        """Return the number of active positions."""
        return self._p.active

    # -- undo -----------------------------------------------------------------------
    def _unappend(self, before: int, active: int) -> None:
        self._p.pop(before)
        self._p.active -= active

    def _unenter(self, customer_id: str, count: int, change: int) -> None:
        _drop_entries(self._t.entries, count)
        self._p.drop_chain(customer_id, count)
        self._p.active -= change

    def _restore(self, slot: int, old: Row, change: int) -> None:
        table = self._p
        table.store(slot, old)
        table.active -= change
        self._wake(slot)

    def _relink(self, before: int, slot: int, customer_id: str, old: Row, active: int) -> None:
        self._p.relink(before, slot, customer_id, old)
        self._p.active += active
        self._wake(slot)

    def _reopen(self, before: list[tuple[int, int, int, int, int, int]], ended: int) -> None:
        table = self._p
        steps, flags, dues, waiting = table.step, table.flags, table.due, table.waiting
        for slot, step, flag, due, wait, deferrals in reversed(before):
            steps[slot], flags[slot], dues[slot], waiting[slot] = step, flag, due, wait
            table.deferrals[slot] = deferrals
            table.version[slot] -= 1
            self._wake(slot)
        table.active += ended

    def _wake(self, slot: int) -> None:
        """Index the restored row in ``slot`` again if it waits (its entry may be gone)."""
        table = self._p
        if table.flags[slot] & ACTIVE and table.due[slot] != NO_DUE:
            self._due.add(table.due[slot], slot)


class MemoryEntryRepository:
    """:class:`~omnicrm.timing.ports.EntryRepository` over journaled columns."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, entry: EntryRecord) -> None:
        """Append an entry."""
        _log(self._t, entry.customer_id, entry.journey_id, entry.run, entry.at, entry.holdout,
             self._journal)  # fmt: skip
        self._journal.record(partial(_drop_entries, self._t.entries, 1))

    def _rows(self, customer_id: str | None = None) -> list[EntryRecord]:
        names = self._t.names.names
        return [
            trusted_entry(c, names[j], r, from_us(a), bool(h))
            for c, j, r, a, h in zip(*self._t.entries, strict=True)
            if customer_id is None or c == customer_id
        ]

    def all(self) -> Sequence[EntryRecord]:
        """Return every entry in order."""
        rows = self._rows()
        return tuple(sorted(rows, key=lambda e: (e.at, e.customer_id, e.journey_id, e.run)))

    def for_customer(self, customer_id: str) -> Sequence[EntryRecord]:
        """Return the customer's entries by ``(journey_id, run)`` (a scan of the log)."""
        return tuple(sorted(self._rows(customer_id), key=lambda e: (e.journey_id, e.run)))

    def remove(self, customer_id: str, journey_id: str, run: int) -> bool:
        """Delete one entry; ``False`` if there was none."""
        columns = self._t.entries
        customers, journeys, runs = columns[0], columns[1], columns[2]
        journey = self._t.names.ids.get(journey_id)
        for i, c in enumerate(customers):
            if c == customer_id and journeys[i] == journey and runs[i] == run:
                self._journal.record(_reinsert(columns, i, [col.pop(i) for col in columns]))
                return True
        return False


def _journey_of(position: Enrollment) -> str:
    return position.journey_id


def _first(row: Opened) -> str:
    return row[0]


def _check_order(customer_id: str, journeys: Sequence[str]) -> None:
    """Raise unless ``journeys`` are in id order, each once (``DuplicateError`` if not once)."""
    for a, b in pairwise(journeys):
        if a == b:
            raise DuplicateError("enrollment", (customer_id, a))
        if a > b:
            raise ValidationError("shape", journeys, "journeys must be in id order")


def _log(
    t: TimingTables, customer_id: str, journey_id: str, run: int, at: datetime, holdout: bool,
    journal: Journal,
) -> None:  # fmt: skip
    """Append an entry to the columnar log (the caller records the undo)."""
    customers, journeys, runs, ats, holdouts = t.entries
    journey = t.names.ids.get(journey_id)
    if journey is None:
        journey = t.names.id(journey_id, journal)
    customers.append(customer_id)
    journeys.append(journey)
    runs.append(run)
    ats.append(to_us(at))
    holdouts.append(holdout)


def _drop_entries(columns: tuple[Any, ...], count: int) -> None:
    """Take the last ``count`` entries off the log (an undo)."""
    for column in columns:
        del column[-count:]


def _reinsert(columns: tuple[Any, ...], index: int, row: list[Any]) -> Callable[[], None]:
    def undo() -> None:
        for column, value in zip(columns, row, strict=True):
            column.insert(index, value)

    return undo


class TimingRepositories:
    """The timing repositories of one unit of work, built together."""

    __slots__ = ("actions", "enrollments", "entries", "events", "merges", "outcomes")

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self.events = MemoryProcessedEventRepository(tables, journal)
        self.enrollments = MemoryEnrollmentRepository(tables, journal)
        self.entries = MemoryEntryRepository(tables, journal)
        self.actions = MemoryActionRepository(tables, journal)
        self.outcomes = MemoryOutcomeRepository(tables, journal)
        self.merges = MemoryMergeRepository(tables, journal)
