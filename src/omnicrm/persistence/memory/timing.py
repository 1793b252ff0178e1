"""The in-memory timing repositories (the reference implementation).

Positions due for a wake-up are found through a heap of ``(due, customer, journey)``
entries checked against the row on read (stale entries are dropped, and put back if
the unit of work rolls back), so ``tick`` costs ``O(log n)`` per due position.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from itertools import pairwise
from typing import Any

from omnicrm.errors import ConcurrencyError, DuplicateError
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.timing.records import (
    ActionStatus,
    DueAction,
    Enrollment,
    EntryRecord,
    Outcome,
    OutcomeKind,
    trusted_enrollment,
)
from omnicrm.validation import check_aware, check_id, check_int

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


class TimingTables:
    """The committed timing state, laid out compactly (a million waits fit in memory)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()  # a set: a third smaller than a dict of flags
        # by customer: the one position, or a tuple of them ordered by journey id; a plain
        # dict journaled by the repository (one undo restores the row and the counter)
        self.positions: dict[str, Enrollment | tuple[Enrollment, ...]] = {}
        self.due: list[tuple[datetime, str, str]] = []
        # entries ``due()`` took off the heap and handed out, largest first: they are all
        # smaller than anything in the heap, so keeping them here (not pushing them back)
        # saves a sift up now and a sift down when they are read again
        self.front: list[tuple[datetime, str, str]] = []
        self.active: list[int] = [0]
        # the entry log, one column each (a record per entry costs twice the memory); runs
        # as machine integers and holdout flags as bytes: 11 B less per entry than lists
        self.entries: tuple[list[str], list[str], array[int], list[datetime], bytearray] = (
            [], [], array("q"), [], bytearray()
        )  # fmt: skip
        self.actions: Table[str, DueAction] = Table()
        self.sends: Table[str, tuple[tuple[datetime, str], ...]] = Table()
        self.outcomes: Table[tuple[str, str], Outcome] = Table()
        self.merges: Table[tuple[str, str], str] = Table()


class MemoryProcessedEventRepository:
    """:class:`~omnicrm.timing.ports.ProcessedEventRepository` over a journaled dict."""

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
        self._journal.record(lambda: seen.discard(event_id))
        return True


class MemoryEnrollmentRepository:
    """:class:`~omnicrm.timing.ports.EnrollmentRepository` with a heap of due positions."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def _rows(self, customer_id: str) -> tuple[Enrollment, ...]:
        found = self._t.positions.get(customer_id)
        if found is None:
            return ()
        return (found,) if isinstance(found, Enrollment) else found

    def get(self, customer_id: str, journey_id: str) -> Enrollment | None:
        """Return the position, or ``None``."""
        found = self._t.positions.get(customer_id)
        if isinstance(found, Enrollment):
            return found if found.journey_id == journey_id else None
        for row in found or ():
            if row.journey_id == journey_id:
                return row
        return None

    def for_customer(self, customer_id: str) -> Sequence[Enrollment]:
        """Return the customer's positions, by journey id."""
        return self._rows(customer_id)

    def _find(
        self, customer_id: str, journey_id: str
    ) -> tuple[Enrollment | tuple[Enrollment, ...] | None, Enrollment | None]:
        found = self._t.positions.get(customer_id)
        if found is None or isinstance(found, Enrollment):
            return found, found if found is not None and found.journey_id == journey_id else None
        return found, next((r for r in found if r.journey_id == journey_id), None)

    def _write(
        self,
        customer_id: str,
        journey_id: str,
        found: Enrollment | tuple[Enrollment, ...] | None,
        current: Enrollment | None,
        stored: Enrollment | None,
        updated: Enrollment | tuple[Enrollment, ...] | None = None,
    ) -> None:
        """Replace ``current`` (``None``: insert) by ``stored`` (``None``: delete), journaled.

        ``updated`` is the customer's new rows when the caller has built them already.
        """
        t = self._t
        if updated is not None:
            pass
        elif found is None or found is current:  # the common case: one journey per customer
            updated = stored
        else:
            rows = (found,) if isinstance(found, Enrollment) else found
            if current is None:
                place = sum(1 for r in rows if r.journey_id < journey_id)
                updated = (*rows[:place], stored, *rows[place:])  # type: ignore[arg-type]
            else:
                updated = tuple(r for r in (stored if r is current else r for r in rows) if r)
            if len(updated) == 1:
                updated = updated[0]
        positions, counter = t.positions, t.active
        was_active = current is not None and current.active
        change = int(stored is not None and stored.active) - int(was_active)
        if updated is None:
            del positions[customer_id]
        else:
            positions[customer_id] = updated
        counter[0] += change

        def undo() -> None:
            if found is None:
                positions.pop(customer_id, None)
            else:
                positions[customer_id] = found
            counter[0] -= change

        self._journal.record(undo)
        if stored is None:
            return
        due = stored.due_at
        if (
            due is not None and stored.active and (not was_active or current.due_at != due)  # type: ignore[union-attr]
        ):
            heapq.heappush(t.due, (due, customer_id, journey_id))

    def put(self, enrollment: Enrollment) -> Enrollment:
        """Insert or replace if the version matches; return it with the next version."""
        if not isinstance(enrollment, Enrollment):
            raise TypeError("enrollment must be an Enrollment")
        customer_id, journey_id = enrollment.customer_id, enrollment.journey_id
        t = self._t
        positions = t.positions
        found = positions.get(customer_id)
        if found is not None and (type(found) is not Enrollment or found.journey_id != journey_id):
            if type(found) is Enrollment and enrollment.version == 0:  # a second journey
                stored = enrollment.with_version(1)
                first = found.journey_id < journey_id
                self._write(customer_id, journey_id, found, None, stored,
                            (found, stored) if first else (stored, found))  # fmt: skip
                return stored
            found, current = self._find(customer_id, journey_id)
            version = 0 if current is None else current.version
            if version != enrollment.version:
                raise ConcurrencyError(
                    "enrollment", (customer_id, journey_id), enrollment.version, version
                )
            stored = enrollment.with_version(version + 1)
            self._write(customer_id, journey_id, found, current, stored)
            return stored
        # the common case, inlined: the customer's only position, or none yet
        version = 0 if found is None else found.version
        if version != enrollment.version:
            raise ConcurrencyError(
                "enrollment", (customer_id, journey_id), enrollment.version, version
            )
        stored = enrollment.with_version(version + 1)
        positions[customer_id] = stored
        counter = t.active
        was_active = found is not None and found.active
        change = stored.active - was_active
        counter[0] += change

        def undo() -> None:
            if found is None:
                del positions[customer_id]
            else:
                positions[customer_id] = found
            counter[0] -= change

        self._journal.record(undo)
        due = stored.due_at
        if due is not None and stored.active and (not was_active or found.due_at != due):  # type: ignore[union-attr]
            heapq.heappush(t.due, (due, customer_id, journey_id))
        return stored

    def close_many(self, closes: Sequence[tuple[Enrollment, str]]) -> None:
        """End each position at its step if its version matches; one undo for them all."""
        t = self._t
        positions, counter = t.positions, t.active
        before: list[tuple[str, Enrollment | tuple[Enrollment, ...]]] = []
        ended = 0
        try:
            for position, step_id in closes:
                customer_id = position.customer_id
                found = positions.get(customer_id)
                if found is position:  # the common case: the row due() handed out
                    current: Enrollment | None = position
                else:
                    found, current = self._find(customer_id, position.journey_id)
                if current is None or current.version != position.version:
                    raise ConcurrencyError(
                        "enrollment", (customer_id, position.journey_id), position.version,
                        None if current is None else current.version,
                    )  # fmt: skip
                stored = trusted_enrollment(
                    customer_id, current.journey_id, current.run, step_id, False,
                    current.entered_at, None, None, current.facts, 0, current.holdout,
                    current.version + 1,
                )  # fmt: skip
                before.append((customer_id, found))  # type: ignore[arg-type]
                if found is current:
                    positions[customer_id] = stored
                else:
                    rows: tuple[Enrollment, ...] = found if isinstance(found, tuple) else (found,)  # type: ignore[assignment]
                    positions[customer_id] = tuple(stored if r is current else r for r in rows)
                ended += current.active
        finally:
            counter[0] -= ended
            # the wake-up entries of the closed positions wait in ``front`` (due() handed
            # them out): drop them now rather than meeting them again as stale
            front, heap = t.front, t.due
            removed: list[tuple[datetime, str, str]] = []
            if front and before:
                closed = {customer_id for customer_id, _ in before}
                kept: list[tuple[datetime, str, str]] = []
                for e in front:
                    (removed if e[1] in closed and not _still_due(positions, e) else kept).append(e)
                front[:] = kept

            def undo() -> None:
                for customer_id, found in reversed(before):
                    positions[customer_id] = found
                counter[0] += ended
                _push_all(heap, removed)  # back where they are found again

            self._journal.record(undo)

    def insert(self, enrollment: Enrollment) -> None:
        """Store the position as given where none is; ``DuplicateError`` otherwise."""
        if not isinstance(enrollment, Enrollment):
            raise TypeError("enrollment must be an Enrollment")
        customer_id, journey_id = enrollment.customer_id, enrollment.journey_id
        found = self._t.positions.get(customer_id)
        if found is None:  # the common case, inlined: the customer's first position
            t = self._t
            positions, counter = t.positions, t.active
            positions[customer_id] = enrollment
            change = 1 if enrollment.active else 0
            counter[0] += change

            def undo() -> None:
                del positions[customer_id]
                counter[0] -= change

            self._journal.record(undo)
            if change and enrollment.due_at is not None:
                heapq.heappush(t.due, (enrollment.due_at, customer_id, journey_id))
            return
        if type(found) is Enrollment and found.journey_id != journey_id:
            first = found.journey_id < journey_id
            self._write(customer_id, journey_id, found, None, enrollment,
                        (found, enrollment) if first else (enrollment, found))  # fmt: skip
            return
        found, current = self._find(customer_id, journey_id)
        if current is not None:
            raise DuplicateError("enrollment", (customer_id, journey_id))
        self._write(customer_id, journey_id, found, None, enrollment)

    def enter(self, positions: Sequence[Enrollment]) -> None:
        """Store new positions as given and log their entries; one undo for them all."""
        t = self._t
        rows, entries = t.positions, t.entries
        count = len(positions)
        first = positions[0] if count else None
        customer_id = first.customer_id if type(first) is Enrollment else ""
        if (  # the common case: a customer in no journey yet enters them
            customer_id
            and customer_id not in rows
            and all(type(p) is Enrollment and p.customer_id == customer_id for p in positions)
        ):
            if count == 1:
                rows[customer_id] = positions[0]
            else:
                ordered = sorted(positions, key=_journey_of)
                for a, b in pairwise(ordered):
                    if a.journey_id == b.journey_id:  # nothing written yet
                        raise DuplicateError("enrollment", (customer_id, a.journey_id))
                rows[customer_id] = tuple(ordered)
            counter, heap, push = t.active, t.due, heapq.heappush
            change = 0
            for p in positions:
                if p.active:
                    change += 1
                    if p.due_at is not None:
                        push(heap, (p.due_at, customer_id, p.journey_id))
            counter[0] += change
            _log_entries(entries, positions)

            def undo() -> None:
                _drop_entries(entries, count)
                del rows[customer_id]
                counter[0] -= change

            self._journal.record(undo)
            return
        for position in positions:  # anything else: one insert and one entry each
            self.insert(position)
            _log_entries(entries, (position,))
            self._journal.record(partial(_drop_entries, entries, 1))

    def remove(self, customer_id: str, journey_id: str) -> bool:
        """Delete the position; ``False`` if there was none."""
        found, current = self._find(customer_id, journey_id)
        if current is None:
            return False
        self._write(customer_id, journey_id, found, current, None)
        return True

    def due(self, until: datetime, limit: int) -> Sequence[Enrollment]:
        """Return up to ``limit`` active positions due at or before ``until``, oldest first.

        Stale heap entries (the position moved on or ended) are dropped as they are met,
        their removal journaled; the entries of the positions returned stay in the heap.
        """
        bound = check_aware("until", until)
        check_int("limit", limit, minimum=1)
        heap, front, positions = self._t.due, self._t.front, self._t.positions
        found: list[Enrollment] = []
        dropped: list[tuple[datetime, str, str]] = []
        keep: list[tuple[datetime, str, str]] = []
        seen: set[tuple[str, str] | str] = set()  # one row per customer: the id is the key
        pop, take, drop, give = heapq.heappop, keep.append, dropped.append, found.append
        taken = 0
        while taken < limit:
            if front and (not heap or front[-1] <= heap[0]):
                if front[-1][0] > bound:
                    break
                entry = front.pop()
            elif heap and heap[0][0] <= bound:
                entry = pop(heap)
            else:
                break
            due, customer_id, journey_id = entry
            row = positions.get(customer_id)
            if type(row) is tuple:
                row = next((r for r in row if r.journey_id == journey_id), None)
                if row is not None and row.active and row.due_at == due:
                    if (customer_id, journey_id) in seen:
                        drop(entry)
                        continue
                    seen.add((customer_id, journey_id))
                    give(row)
                    take(entry)
                    taken += 1
                    continue
            elif (
                row is not None
                and row.journey_id == journey_id  # type: ignore[union-attr]
                and row.active  # type: ignore[union-attr]
                and row.due_at == due  # type: ignore[union-attr]
                and customer_id not in seen
            ):
                seen.add(customer_id)
                give(row)  # type: ignore[arg-type]
                take(entry)
                taken += 1
                continue
            drop(entry)
        # every entry taken was the smallest left, so the kept ones, largest first, go on
        # the end of ``front`` and it stays ordered
        front.extend(reversed(keep))
        if dropped:
            self._journal.record(lambda: _push_all(heap, dropped))
        return found

    def count_active(self) -> int:
        """Return the number of active positions."""
        return self._t.active[0]


def _still_due(
    positions: dict[str, Enrollment | tuple[Enrollment, ...]], entry: tuple[datetime, str, str]
) -> bool:
    """Return ``True`` if ``entry`` still wakes an active position up."""
    due, customer_id, journey_id = entry
    found = positions.get(customer_id)
    rows = (found,) if type(found) is Enrollment else found or ()
    return any(
        r.journey_id == journey_id and r.active and r.due_at == due
        for r in rows  # type: ignore[union-attr]
    )


def _journey_of(position: Enrollment) -> str:
    return position.journey_id


def _log_entries(
    entries: tuple[list[str], list[str], array[int], list[datetime], bytearray],
    positions: Sequence[Enrollment],
) -> None:
    """Append the entry of each position (its run, entered at) to the columnar log."""
    customers, journeys, runs, ats, holdouts = entries
    customers.extend([p.customer_id for p in positions])
    journeys.extend([p.journey_id for p in positions])
    runs.extend([p.run for p in positions])
    ats.extend([p.entered_at for p in positions])
    holdouts.extend([p.holdout for p in positions])


def _drop_entries(entries: tuple[Any, ...], count: int) -> None:
    """Take the last ``count`` entries off the log (an undo)."""
    for column in entries:
        del column[-count:]


def _push_all(
    heap: list[tuple[datetime, str, str]], entries: list[tuple[datetime, str, str]]
) -> None:
    for entry in entries:
        heapq.heappush(heap, entry)


class MemoryEntryRepository:
    """:class:`~omnicrm.timing.ports.EntryRepository` over a journaled list."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, entry: EntryRecord) -> None:
        """Append an entry."""
        columns = self._t.entries
        customers, journeys, runs, ats, holdouts = columns
        customers.append(entry.customer_id)
        journeys.append(entry.journey_id)
        runs.append(entry.run)
        ats.append(entry.at)
        holdouts.append(entry.holdout)

        def undo() -> None:
            for column in columns:
                column.pop()

        self._journal.record(undo)

    def all(self) -> Sequence[EntryRecord]:
        """Return every entry in order."""
        rows = [
            EntryRecord(customer_id=c, journey_id=j, run=r, at=a, holdout=bool(h))
            for c, j, r, a, h in zip(*self._t.entries, strict=True)
        ]
        return tuple(sorted(rows, key=lambda e: (e.at, e.customer_id, e.journey_id, e.run)))

    def for_customer(self, customer_id: str) -> Sequence[EntryRecord]:
        """Return the customer's entries by ``(journey_id, run)`` (a scan of the log)."""
        rows = [
            EntryRecord(customer_id=c, journey_id=j, run=r, at=a, holdout=bool(h))
            for c, j, r, a, h in zip(*self._t.entries, strict=True)
            if c == customer_id
        ]
        return tuple(sorted(rows, key=lambda e: (e.journey_id, e.run)))

    def remove(self, customer_id: str, journey_id: str, run: int) -> bool:
        """Delete one entry; ``False`` if there was none."""
        columns = self._t.entries
        customers, journeys, runs = columns[0], columns[1], columns[2]
        for i, c in enumerate(customers):
            if c == customer_id and journeys[i] == journey_id and runs[i] == run:
                self._journal.record(_reinsert(columns, i, [col.pop(i) for col in columns]))
                return True
        return False


def _reinsert(columns: tuple[Any, ...], index: int, row: list[Any]) -> Callable[[], None]:
    def undo() -> None:
        for column, value in zip(columns, row, strict=True):
            column.insert(index, value)

    return undo


class MemoryActionRepository:
    """:class:`~omnicrm.timing.ports.ActionRepository` with a per-customer send index."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, action: DueAction) -> bool:
        """Store the action; ``False`` if its id exists."""
        t = self._t
        if action.action_id in t.actions:
            return False
        t.actions.put(self._journal, action.action_id, action)
        if action.status == ActionStatus.DUE and action.channel is not None:
            earlier = t.sends.get(action.customer_id) or ()
            t.sends.put(
                self._journal, action.customer_id, (*earlier, (action.due_at, action.channel))
            )
        return True

    def get(self, action_id: str) -> DueAction | None:
        """Return the action or ``None``."""
        return self._t.actions.get(check_id("action_id", action_id))

    def sends(self, customer_id: str, since: datetime) -> Sequence[tuple[datetime, str]]:
        """Return the customer's due sends after ``since``."""
        return tuple(s for s in self._t.sends.get(customer_id) or () if s[0] > since)

    def all(self) -> Sequence[DueAction]:
        """Return every action by ``(due_at, action_id)``."""
        return tuple(sorted(self._t.actions.values(), key=lambda a: (a.due_at, a.action_id)))

    def for_customer(self, customer_id: str) -> Sequence[DueAction]:
        """Return the customer's actions by ``(due_at, action_id)`` (a scan of the table)."""
        found = (a for a in self._t.actions.values() if a.customer_id == customer_id)
        return tuple(sorted(found, key=lambda a: (a.due_at, a.action_id)))

    def remove(self, action_id: str) -> bool:
        """Delete the action and its send; ``False`` if unknown."""
        t = self._t
        action = t.actions.get(action_id)
        if action is None:
            return False
        t.actions.delete(self._journal, action_id)
        if action.status == ActionStatus.DUE and action.channel is not None:
            sends = list(t.sends.get(action.customer_id) or ())
            sends.remove((action.due_at, action.channel))
            if sends:
                t.sends.put(self._journal, action.customer_id, tuple(sends))
            else:
                t.sends.delete(self._journal, action.customer_id)
        return True


class MemoryOutcomeRepository:
    """:class:`~omnicrm.timing.ports.OutcomeRepository` over a journaled dict."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, outcome: Outcome) -> bool:
        """Store the outcome; ``False`` if that kind was already reported."""
        key = (outcome.action_id, outcome.kind)
        if key in self._t.outcomes:
            return False
        self._t.outcomes.put(self._journal, key, outcome)
        return True

    def all(self) -> Sequence[Outcome]:
        """Return every outcome in order."""
        return tuple(sorted(self._t.outcomes.values(), key=lambda o: (o.at, o.action_id, o.kind)))

    def remove(self, action_id: str) -> int:
        """Delete every outcome of ``action_id``; return how many."""
        removed = 0
        for kind in OutcomeKind.ALL:
            if (action_id, kind) in self._t.outcomes:
                self._t.outcomes.delete(self._journal, (action_id, kind))
                removed += 1
        return removed


class MemoryMergeRepository:
    """:class:`~omnicrm.timing.ports.MergeRepository` over a journaled dict."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, survivor: str, absorbed: str, data: str) -> bool:
        """Store the record; ``False`` if the pair has one."""
        if (survivor, absorbed) in self._t.merges:
            return False
        self._t.merges.put(self._journal, (survivor, absorbed), data)
        return True

    def get(self, survivor: str, absorbed: str) -> str | None:
        """Return the record of the pair, or ``None``."""
        return self._t.merges.get((survivor, absorbed))

    def remove(self, survivor: str, absorbed: str) -> bool:
        """Delete the record of the pair; ``False`` if none."""
        if (survivor, absorbed) not in self._t.merges:
            return False
        self._t.merges.delete(self._journal, (survivor, absorbed))
        return True

    def remove_customer(self, customer_id: str) -> int:
        """Delete every record naming ``customer_id``; return how many."""
        keys = [k for k, _ in self._t.merges.items() if customer_id in k]
        for key in keys:
            self._t.merges.delete(self._journal, key)
        return len(keys)


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
