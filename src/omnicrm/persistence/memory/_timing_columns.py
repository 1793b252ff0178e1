"""Positions stored by column: one slot per ``(customer, journey)`` row, values built on read.

A million waits must fit in a few hundred megabytes, so a position is not kept as a
record object: each field is one entry of a machine-integer column (instants as epoch
microseconds; journey, step and event-type ids as indexes into a table of the names
seen), and :class:`~omnicrm.timing.records.Enrollment` values are built when read. A
customer's slots are chained through ``next`` in journey-id order (each slot says how
far on the next one is, so rows written together link alike wherever they land), the
first one found through ``slot_of``. Removed rows leave a blank slot (customer and facts
cleared).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from omnicrm.frozenmap import FrozenMap
from omnicrm.persistence.memory._tables import Journal
from omnicrm.timing.ports import Shape
from omnicrm.timing.records import Enrollment, trusted_enrollment

__all__ = [
    "ACTIVE",
    "EMPTY",
    "EPOCH",
    "HOLDOUT",
    "NO_DUE",
    "US",
    "Fixed",
    "Names",
    "PositionTable",
    "Row",
    "due_us",
    "from_us",
    "to_us",
]

NO_DUE = -(2**63)
"""The ``due`` column's value for a position with no due time."""
ACTIVE, HOLDOUT = 1, 2
"""Bits of the ``flags`` column."""
EMPTY = FrozenMap()
"""The facts of a blank slot."""

Row = tuple[int, int, int, int, int, int, int, FrozenMap, int, int]
"""A slot's values: journey, run, step, flags, entered, due, waiting, facts, deferrals, version."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
"""``(instant - EPOCH) // US``: an aware instant as epoch microseconds."""


def _remembering() -> Callable[[datetime], int]:
    """Return a converter of aware instants to epoch microseconds that remembers the last.

    The last instant converted is kept as one pair (threads may share it): an entry and
    the position it starts carry the same instant, and the journeys one event enters
    often wait as long, so most conversions repeat the one before.
    """
    last: list[tuple[datetime, int]] = [(datetime.min.replace(tzinfo=UTC), 0)]

    def convert(instant: datetime) -> int:
        seen = last[0]
        if instant is seen[0] or instant == seen[0]:
            return seen[1]
        micros = (instant - EPOCH) // US
        last[0] = (instant, micros)
        return micros

    return convert


to_us = _remembering()
"""Return an aware instant as epoch microseconds (entry instants and bounds)."""
due_us = _remembering()
""":func:`to_us` with a memory of its own, for due times."""


def from_us(micros: int) -> datetime:
    """Return the UTC instant ``micros`` after the epoch."""
    return EPOCH + timedelta(0, 0, micros)


class Fixed(NamedTuple):
    """The columns of a :data:`~omnicrm.timing.ports.Shape`'s rows that every entry shares."""

    shape: Shape
    journeys: array[int]
    steps: array[int]
    waits: array[int]
    ones: array[int]  # runs and versions
    zeros: array[int]  # deferrals
    active: bytes  # flags: active, not held out
    kept: bytes  # the entry log's holdout flags: none


_LINKS: dict[int, array[int]] = {}


def _links(count: int) -> array[int]:
    """Return the ``next`` column of ``count`` slots chained in a row (each one on, then 0)."""
    found = _LINKS.get(count)
    if found is None:
        found = _LINKS[count] = array("i", [1] * (count - 1) + [0])
    return found


class Names:
    """Ids (journeys, steps, event types) interned to small integers; additions journaled.

    ``shapes`` keeps the :class:`Fixed` columns of the shapes entered so far, by the
    shape's ``id`` (it holds the shape, so the id is not reused while kept); it is
    emptied whenever a name is taken back (an undo), so no kept index is stale.
    """

    __slots__ = ("ids", "names", "shapes")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self.shapes: dict[int, Fixed] = {}

    def id(self, name: str, journal: Journal) -> int:
        """Return the index of ``name``, adding it if new."""
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
            journal.record(self._forget_last)
        return found

    def _forget_last(self) -> None:
        del self.ids[self.names.pop()]
        self.shapes.clear()

    def fixed(self, shape: Shape, journal: Journal) -> Fixed:
        """Return the shared columns of ``shape``'s rows (names added as needed)."""
        name = self.id
        rows = [  # named row by row, as the rows' own writes would
            (name(j, journal), name(s, journal), -1 if w is None else name(w, journal))
            for j, s, w in zip(*shape, strict=True)
        ]
        journeys, steps, waits = zip(*rows, strict=True) if rows else ((), (), ())
        count = len(rows)
        return Fixed(
            shape, array("i", journeys), array("i", steps), array("i", waits),
            array("q", [1]) * count, array("i", [0]) * count, bytes([ACTIVE]) * count,
            bytes(count),
        )  # fmt: skip


class PositionTable:
    """The positions, one slot per row, each field a column (see the module docs)."""

    __slots__ = (
        "_appends", "active", "customer", "deferrals", "due", "entered", "facts", "flags",
        "journey", "names", "next", "run", "slot_of", "step", "version", "waiting",
    )  # fmt: skip

    def __init__(self, names: Names) -> None:
        self.names = names
        self.slot_of: dict[str, int] = {}  # customer -> first slot of the chain
        self.customer: list[str] = []  # "": a removed row's blank slot
        self.journey = array("i")
        self.run = array("q")
        self.step = array("i")
        self.flags = bytearray()
        self.entered = array("q")
        self.due = array("q")
        self.waiting = array("i")  # -1: no awaited event
        self.facts: list[FrozenMap] = []
        self.deferrals = array("i")
        self.version = array("q")
        self.next = array("i")  # how far on the chain's next slot is (0: the last slot)
        self.active = 0
        # the columns' append methods, in :data:`Row` order (the columns are never replaced)
        self._appends = (
            self.journey.append, self.run.append, self.step.append, self.flags.append,
            self.entered.append, self.due.append, self.waiting.append, self.facts.append,
            self.deferrals.append, self.version.append,
        )  # fmt: skip

    # -- encoding -----------------------------------------------------------------
    def encode(self, row: Enrollment, version: int, journal: Journal) -> Row:
        """Return ``row``'s column values (with ``version``) in the order of :meth:`values`."""
        name = self.names.id
        due, waiting, facts = row.due_at, row.wait_event, row.facts
        return (
            name(row.journey_id, journal), row.run, name(row.step_id, journal),
            ACTIVE * row.active + HOLDOUT * row.holdout, to_us(row.entered_at),
            NO_DUE if due is None else due_us(due),
            -1 if waiting is None else name(waiting, journal), facts,
            row.deferrals, version,
        )  # fmt: skip

    def read(self, slot: int) -> Enrollment:
        """Build the position stored in ``slot``."""
        return self.read_many([slot])[0]

    def read_many(self, slots: list[int]) -> tuple[Enrollment, ...]:
        """Build the positions stored in ``slots`` (instants shared between rows)."""
        names, customers, journeys, runs = self.names.names, self.customer, self.journey, self.run
        steps, flags, entered, dues, waiting = (
            self.step,
            self.flags,
            self.entered,
            self.due,
            self.waiting,
        )
        facts, deferrals, versions = self.facts, self.deferrals, self.version
        instants: dict[int, datetime] = {}
        out = []
        for slot in slots:
            flag, due, wait, at = flags[slot], dues[slot], waiting[slot], entered[slot]
            entered_at = instants.get(at)
            if entered_at is None:
                entered_at = instants[at] = from_us(at)
            due_at = instants.get(due)
            if due_at is None and due != NO_DUE:
                due_at = instants[due] = from_us(due)
            out.append(trusted_enrollment(
                customers[slot], names[journeys[slot]], runs[slot], names[steps[slot]],
                bool(flag & ACTIVE), entered_at, due_at, None if wait < 0 else names[wait],
                facts[slot], deferrals[slot], bool(flag & HOLDOUT), versions[slot],
            ))  # fmt: skip
        return tuple(out)

    def values(self, slot: int) -> Row:
        """Return everything stored in ``slot`` but the customer and the chain link."""
        return (
            self.journey[slot], self.run[slot], self.step[slot], self.flags[slot],
            self.entered[slot], self.due[slot], self.waiting[slot], self.facts[slot],
            self.deferrals[slot], self.version[slot],
        )  # fmt: skip

    def store(self, slot: int, values: Row) -> None:
        """Overwrite ``slot`` with ``values`` (as :meth:`values` returns them)."""
        (self.journey[slot], self.run[slot], self.step[slot], self.flags[slot],
         self.entered[slot], self.due[slot], self.waiting[slot], self.facts[slot],
         self.deferrals[slot], self.version[slot]) = values  # fmt: skip

    # -- slots --------------------------------------------------------------------
    def find(self, customer_id: str, journey_id: str) -> tuple[int, int]:
        """Return ``(before, slot)`` of a row: its slot (-1: none), the slot it follows.

        ``before`` is the chain slot the row follows or would follow (-1: the head).
        """
        names, journeys, nexts = self.names.names, self.journey, self.next
        before, slot = -1, self.slot_of.get(customer_id, -1)
        while slot >= 0:
            name = names[journeys[slot]]
            if name == journey_id:
                return before, slot
            if name > journey_id:
                break
            step = nexts[slot]
            before, slot = slot, slot + step if step else -1
        return before, -1

    def add(self, row: Enrollment, version: int, before: int, journal: Journal) -> int:
        """Add a slot for ``row`` at ``version``, linked into the chain after ``before``."""
        ids, name = self.names.ids, self.names.id
        journey, step, waiting = row.journey_id, row.step_id, row.wait_event
        j, s = ids.get(journey), ids.get(step)
        w = -1 if waiting is None else ids.get(waiting)
        if j is None or s is None or w is None:
            j, s = name(journey, journal), name(step, journal)
            w = -1 if waiting is None else name(waiting, journal)
        due, facts, customer_id = row.due_at, row.facts, row.customer_id
        slot = len(self.customer)
        self.customer.append(customer_id)
        journeys, runs, steps, flags, entered, dues, waits, facts_, deferrals, versions = (
            self._appends
        )
        journeys(j)
        runs(row.run)
        steps(s)
        flags(ACTIVE * row.active + HOLDOUT * row.holdout)
        entered(to_us(row.entered_at))
        dues(NO_DUE if due is None else due_us(due))
        waits(w)
        facts_(facts)
        deferrals(row.deferrals)
        versions(version)
        self.next.append(0)
        if before < 0:
            self._point(slot, self.slot_of.get(customer_id, -1))
            self.slot_of[customer_id] = slot
        else:
            self._point(slot, self.after(before))
            self._point(before, slot)
        return slot

    def add_chain(self, customers: list[str], columns: Sequence[Sequence[Any]]) -> int:
        """Add the first slots of a customer with none: ``columns`` in :data:`Row` order.

        ``customers`` repeats the customer id once a row; each column holds the rows'
        values in journey-id order, one ``extend`` each. Returns the first slot (the
        chain runs on from it).
        """
        start = len(self.customer)
        journey, run, step, flags, entered, due, waiting, facts, deferrals, version = columns
        self.customer.extend(customers)
        self.journey.extend(journey)
        self.run.extend(run)
        self.step.extend(step)
        self.flags.extend(flags)
        self.entered.extend(entered)
        self.due.extend(due)
        self.waiting.extend(waiting)
        self.facts.extend(facts)
        self.deferrals.extend(deferrals)
        self.version.extend(version)
        self.next.extend(_LINKS.get(len(customers)) or _links(len(customers)))
        self.slot_of[customers[0]] = start
        return start

    def drop_chain(self, customer_id: str, count: int) -> None:
        """Undo :meth:`add_chain` of ``count`` rows (the last slots)."""
        del self.slot_of[customer_id]
        del self.customer[-count:], self.next[-count:]
        for column in self._columns():
            del column[-count:]

    def _columns(self) -> tuple[Any, ...]:
        """The columns of :data:`Row`, in order."""
        return (self.journey, self.run, self.step, self.flags, self.entered, self.due,
                self.waiting, self.facts, self.deferrals, self.version)  # fmt: skip

    def pop(self, before: int) -> None:
        """Undo :meth:`add` of the last slot (linked after ``before``)."""
        after = self.after(len(self.next) - 1)
        self.next.pop()
        self._bypass(self.customer.pop(), before, after)
        for column in self._columns():
            column.pop()

    def unlink(self, before: int, slot: int) -> None:
        """Take ``slot`` out of its customer's chain and blank it (customer, facts, flags)."""
        self._bypass(self.customer[slot], before, self.after(slot))
        self.customer[slot] = ""
        self.facts[slot] = EMPTY
        self.flags[slot] = 0
        self.due[slot] = NO_DUE

    def _bypass(self, customer_id: str, before: int, after: int) -> None:
        """Link ``before`` (-1: the chain's head) to ``after``, leaving a slot out."""
        if before >= 0:
            self._point(before, after)
        elif after >= 0:
            self.slot_of[customer_id] = after
        else:
            del self.slot_of[customer_id]

    def relink(self, before: int, slot: int, customer_id: str, values: Row) -> None:
        """Undo :meth:`unlink`: restore the slot's values and its place in the chain."""
        self.store(slot, values)
        self.customer[slot] = customer_id
        if before >= 0:
            self._point(slot, self.after(before))
            self._point(before, slot)
        else:
            self._point(slot, self.slot_of.get(customer_id, -1))
            self.slot_of[customer_id] = slot

    def chain(self, customer_id: str) -> list[int]:
        """Return the customer's slots, by journey id."""
        slots = []
        slot, nexts = self.slot_of.get(customer_id, -1), self.next
        while slot >= 0:
            slots.append(slot)
            step = nexts[slot]
            slot = slot + step if step else -1
        return slots

    def after(self, slot: int) -> int:
        """Return the slot after ``slot`` in its customer's chain (-1: none)."""
        step = self.next[slot]
        return slot + step if step else -1

    def _point(self, slot: int, target: int) -> None:
        """Make ``target`` (-1: none) the slot after ``slot``."""
        self.next[slot] = target - slot if target >= 0 else 0
