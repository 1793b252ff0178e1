"""The in-memory timing repositories (the reference implementation).

Positions due for a wake-up are found through a heap of ``(due, customer, journey)``
entries checked against the row on read (stale entries are dropped, and put back if
the unit of work rolls back), so ``tick`` costs ``O(log n)`` per due position.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime

from omnicrm.errors import ConcurrencyError
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.timing.records import ActionStatus, DueAction, Enrollment, EntryRecord, Outcome
from omnicrm.validation import check_aware, check_id, check_int

__all__ = [
    "MemoryActionRepository",
    "MemoryEnrollmentRepository",
    "MemoryEntryRepository",
    "MemoryOutcomeRepository",
    "MemoryProcessedEventRepository",
    "TimingRepositories",
    "TimingTables",
]


class TimingTables:
    """The committed timing state, laid out compactly (a million waits fit in memory)."""

    def __init__(self) -> None:
        self.seen: Table[str, bool] = Table()
        # by customer: the one position, or a tuple of them ordered by journey id; a plain
        # dict journaled by the repository (one undo restores the row and the counter)
        self.positions: dict[str, Enrollment | tuple[Enrollment, ...]] = {}
        self.due: list[tuple[datetime, str, str]] = []
        # entries ``due()`` took off the heap and handed out, largest first: they are all
        # smaller than anything in the heap, so keeping them here (not pushing them back)
        # saves a sift up now and a sift down when they are read again
        self.front: list[tuple[datetime, str, str]] = []
        self.active: list[int] = [0]
        # the entry log, one list per column (a record per entry costs twice the memory)
        self.entries: tuple[list[str], list[str], list[int], list[datetime], list[bool]] = (
            [], [], [], [], []
        )  # fmt: skip
        self.actions: Table[str, DueAction] = Table()
        self.sends: Table[str, tuple[tuple[datetime, str], ...]] = Table()
        self.outcomes: Table[tuple[str, str], Outcome] = Table()


class MemoryProcessedEventRepository:
    """:class:`~omnicrm.timing.ports.ProcessedEventRepository` over a journaled dict."""

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal

    def add(self, event_id: str, at: datetime) -> bool:
        """Remember ``event_id``; ``False`` if known."""
        check_aware("at", at)
        if event_id in self._t.seen:
            return False
        self._t.seen.put(self._journal, event_id, True)
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

    def put(self, enrollment: Enrollment) -> Enrollment:
        """Insert or replace if the version matches; return it with the next version."""
        if not isinstance(enrollment, Enrollment):
            raise TypeError("enrollment must be an Enrollment")
        t = self._t
        customer_id, journey_id = enrollment.customer_id, enrollment.journey_id
        found = t.positions.get(customer_id)
        current: Enrollment | None = None
        if found is None or (isinstance(found, Enrollment) and found.journey_id == journey_id):
            current = found  # the common case: one journey per customer
            rows: tuple[Enrollment, ...] = ()
        else:
            rows = (found,) if isinstance(found, Enrollment) else found
            place = 0  # where a new row goes, keeping the tuple ordered by journey id
            for row in rows:
                if row.journey_id == journey_id:
                    current = row
                    break
                if row.journey_id < journey_id:
                    place += 1
        version = 0 if current is None else current.version
        if version != enrollment.version:
            raise ConcurrencyError(
                "enrollment", (customer_id, journey_id), enrollment.version, version
            )
        stored = enrollment.with_version(version + 1)
        updated: Enrollment | tuple[Enrollment, ...]
        if not rows:
            updated = stored
        elif current is None:
            updated = (*rows[:place], stored, *rows[place:])
        else:
            updated = tuple(stored if r is current else r for r in rows)
        positions, counter = t.positions, t.active
        was_active = current is not None and current.active
        change = int(stored.active) - int(was_active)
        positions[customer_id] = updated
        counter[0] += change

        def undo() -> None:
            if found is None:
                del positions[customer_id]
            else:
                positions[customer_id] = found
            counter[0] -= change

        self._journal.record(undo)
        due = stored.due_at
        if (
            due is not None and stored.active and (not was_active or current.due_at != due)  # type: ignore[union-attr]
        ):
            heapq.heappush(t.due, (due, customer_id, journey_id))
        return stored

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
        seen: set[tuple[str, str]] = set()
        pop = heapq.heappop
        while len(found) < limit:
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
            if row is not None and not isinstance(row, Enrollment):
                row = next((r for r in row if r.journey_id == journey_id), None)
            if (
                row is not None
                and row.journey_id == journey_id
                and row.active
                and row.due_at == due
                and (customer_id, journey_id) not in seen
            ):
                seen.add((customer_id, journey_id))
                found.append(row)
                keep.append(entry)
            else:
                dropped.append(entry)
        # every entry taken was the smallest left, so the kept ones, largest first, go on
        # the end of ``front`` and it stays ordered
        front.extend(reversed(keep))
        if dropped:
            self._journal.record(lambda: _push_all(heap, dropped))
        return found

    def count_active(self) -> int:
        """Return the number of active positions."""
        return self._t.active[0]


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
            EntryRecord(customer_id=c, journey_id=j, run=r, at=a, holdout=h)
            for c, j, r, a, h in zip(*self._t.entries, strict=True)
        ]
        return tuple(sorted(rows, key=lambda e: (e.at, e.customer_id, e.journey_id, e.run)))


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


class TimingRepositories:
    """The timing repositories of one unit of work, built together."""

    __slots__ = ("actions", "enrollments", "entries", "events", "outcomes")

    def __init__(self, tables: TimingTables, journal: Journal) -> None:
        self.events = MemoryProcessedEventRepository(tables, journal)
        self.enrollments = MemoryEnrollmentRepository(tables, journal)
        self.entries = MemoryEntryRepository(tables, journal)
        self.actions = MemoryActionRepository(tables, journal)
        self.outcomes = MemoryOutcomeRepository(tables, journal)
