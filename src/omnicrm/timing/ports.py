"""The timing engine's storage ports: processed events, positions, entries, actions, outcomes.

Each maps onto one ordinary table. Every method runs inside the unit of work that owns
the repository. Prove an implementation with
:class:`omnicrm.testing.contracts.TimingRepositoryContract`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from omnicrm.frozenmap import FrozenMap
from omnicrm.timing.records import DueAction, Enrollment, EntryRecord, Outcome
from omnicrm.unit_of_work import UnitOfWork

__all__ = [
    "ActionRepository",
    "DueClosingRepository",
    "EnrollmentRepository",
    "EntryRepository",
    "FreshEntryRepository",
    "MergeRepository",
    "OutcomeRepository",
    "ProcessedEventRepository",
    "Shape",
    "TimingUnitOfWork",
]


class ProcessedEventRepository(Protocol):
    """The ids of events already handled (so a second delivery is a no-op)."""

    def add(self, event_id: str, at: datetime) -> bool:
        """Remember ``event_id``; return ``False`` (writing nothing) if it was already known."""
        ...


class EnrollmentRepository(Protocol):
    """Customers' positions in journeys, one row per ``(customer_id, journey_id)``."""

    def get(self, customer_id: str, journey_id: str) -> Enrollment | None:
        """Return the position, or ``None``."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[Enrollment]:
        """Return every position of ``customer_id``, by journey id."""
        ...

    def put(self, enrollment: Enrollment) -> Enrollment:
        """Insert or replace a position if the stored version equals ``enrollment.version``.

        A new position has version 0 and nothing stored. Returns it with the version
        incremented; raises ``ConcurrencyError`` on a mismatch.
        """
        ...

    def close_many(self, closes: Sequence[tuple[Enrollment, str]]) -> None:
        """End positions in one call: each ``(position, step_id)`` becomes inactive at ``step_id``.

        The stored row gets ``active=False``, no due time, no awaited event, no
        deferrals, the step given and the version incremented; every other field is
        kept. Raises ``ConcurrencyError`` if a stored version differs from the
        position's (the unit of work then rolls back). ``tick`` closes every due wait
        that ends its journey this way, one call per batch.
        """
        ...

    def due(self, until: datetime, limit: int) -> Sequence[Enrollment]:
        """Return up to ``limit`` active positions with ``due_at <= until``.

        Ordered by ``(due_at, customer_id, journey_id)``.
        """
        ...

    def count_active(self) -> int:
        """Return how many positions are active (waiting)."""
        ...

    def insert(self, enrollment: Enrollment) -> None:
        """Store ``enrollment`` exactly as given (its version kept) where no row is.

        Used to move a position to another customer id (merge, unmerge). Raises
        ``DuplicateError`` if ``(customer_id, journey_id)`` has a row already.
        """
        ...

    def enter(self, positions: Sequence[Enrollment]) -> None:
        """Store new positions and log each one's entry, in one call.

        Each position is stored exactly as given (its version kept), where no row is,
        like :meth:`insert`; and ``EntryRecord(customer_id, journey_id, run,
        at=entered_at, holdout)`` is added to the entry log, like
        :meth:`EntryRepository.add`. Raises ``DuplicateError`` if a position (or, on a
        backend that refuses them, an entry) exists already; the unit of work then rolls
        back. The engine enters a customer in no journey yet this way, one call per event.
        """
        ...

    def remove(self, customer_id: str, journey_id: str) -> bool:
        """Delete the position; return ``False`` if there was none."""
        ...


class DueClosingRepository(Protocol):
    """An optional extension of :class:`EnrollmentRepository`: ``due`` and ``close_many`` at once.

    ``Engine.tick`` uses it when a backend's ``timing_enrollments`` has it (the memory
    one does): a due wait that ends its journey is closed where it is found, its record
    never built. Backends without it are ticked through ``due`` and ``close_many``.
    """

    def close_due(
        self, until: datetime, limit: int, ends: Mapping[tuple[str, str], str]
    ) -> tuple[int, Sequence[Enrollment]]:
        """Take the positions ``due(until, limit)`` would return and close some of them.

        Each one whose ``(journey_id, step_id)`` is a key of ``ends`` is closed as
        :meth:`EnrollmentRepository.close_many` would close it, at the step ``ends``
        gives. Returns how many were closed and the others, in ``due`` order.
        """
        ...


Opened = tuple[str, str, datetime | None, str | None, bool]
"""A journey entered at its opening wait: journey, step, due time, awaited event, holdout."""


Shape = tuple[tuple[str, ...], tuple[str, ...], tuple[str | None, ...]]
"""Journeys entered at their opening wait: their ids in id order (each once), the steps
they rest at and the events they await (:data:`Opened` by column, without the values
that vary by customer)."""


class FreshEntryRepository(Protocol):
    """An optional extension of :class:`EnrollmentRepository`: ``enter`` from plain values.

    ``Engine.handle`` uses it when a backend's ``timing_enrollments`` has it (the memory
    one does) to enter a customer in no journey yet into the journeys that start with
    a wait: the backend writes the rows without a record being built for each.
    Backends without it are given the records through :meth:`EnrollmentRepository.enter`.
    """

    def enter_fresh(
        self, customer_id: str, at: datetime, facts: FrozenMap, rows: Sequence[Opened]
    ) -> None:
        """Do what ``enter`` does with the positions ``rows`` describe.

        Each ``(journey_id, step_id, due_at, wait_event, holdout)`` is the position
        ``Enrollment(customer_id, journey_id, run=1, step_id, active=True,
        entered_at=at, due_at, wait_event, facts, deferrals=0, holdout, version=1)``.
        The values are the engine's own, not checked again.
        """
        ...

    def enter_shape(
        self, customer_id: str, at: datetime, facts: FrozenMap, shape: Shape,
        dues: Sequence[datetime | None], holdouts: Sequence[bool] | None,
    ) -> None:  # fmt: skip
        """Do what :meth:`enter_fresh` does with the rows ``zip(*shape, dues, holdouts)``.

        ``holdouts`` is ``None`` when no row is held out. The engine hands the same
        ``shape`` object in for the same journeys (a few shapes per event type), so a
        backend may keep what it works out of one, found by identity.
        """
        ...


class EntryRepository(Protocol):
    """The log of entries into journeys."""

    def add(self, entry: EntryRecord) -> None:
        """Append an entry.

        The engine never adds the same ``(customer, journey, run)`` twice; a backend may
        refuse a duplicate with ``DuplicateError`` (the SQLite one does).
        """
        ...

    def all(self) -> Sequence[EntryRecord]:
        """Return every entry, ordered by ``(at, customer_id, journey_id, run)``."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[EntryRecord]:
        """Return the customer's entries, ordered by ``(journey_id, run)``."""
        ...

    def remove(self, customer_id: str, journey_id: str, run: int) -> bool:
        """Delete one entry; return ``False`` if there was none."""
        ...


class ActionRepository(Protocol):
    """Every action decision (sent, held out, skipped, deferred, ...), keyed by action id."""

    def add(self, action: DueAction) -> bool:
        """Store ``action``; return ``False`` (writing nothing) if its id exists."""
        ...

    def get(self, action_id: str) -> DueAction | None:
        """Return the action, or ``None``."""
        ...

    def sends(self, customer_id: str, since: datetime) -> Sequence[tuple[datetime, str]]:
        """Return ``(due_at, channel)`` of the customer's *due* actions after ``since``."""
        ...

    def all(self) -> Sequence[DueAction]:
        """Return every action, ordered by ``(due_at, action_id)``."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[DueAction]:
        """Return the customer's actions, ordered by ``(due_at, action_id)``."""
        ...

    def remove(self, action_id: str) -> bool:
        """Delete an action (and its place in the send index); ``False`` if unknown."""
        ...


class OutcomeRepository(Protocol):
    """Outcomes the host reported, one per ``(action_id, kind)``."""

    def add(self, outcome: Outcome) -> bool:
        """Store ``outcome``; return ``False`` (writing nothing) if that kind was reported."""
        ...

    def all(self) -> Sequence[Outcome]:
        """Return every outcome, ordered by ``(at, action_id, kind)``."""
        ...

    def remove(self, action_id: str) -> int:
        """Delete every outcome of ``action_id``; return how many there were."""
        ...


class MergeRepository(Protocol):
    """What each customer merge moved, one row per ``(survivor, absorbed)`` pair.

    ``data`` is the engine's own record (JSON text); the repository stores it as is.
    """

    def add(self, survivor: str, absorbed: str, data: str) -> bool:
        """Store the record; return ``False`` (writing nothing) if the pair has one."""
        ...

    def get(self, survivor: str, absorbed: str) -> str | None:
        """Return the record of the pair, or ``None``."""
        ...

    def remove(self, survivor: str, absorbed: str) -> bool:
        """Delete the record of the pair; ``False`` if there was none."""
        ...

    def remove_customer(self, customer_id: str) -> int:
        """Delete every record naming ``customer_id`` (either side); return how many."""
        ...


class TimingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with the timing engine's repositories."""

    @property
    def timing_events(self) -> ProcessedEventRepository:
        """Processed event ids."""
        ...

    @property
    def timing_enrollments(self) -> EnrollmentRepository:
        """Positions in journeys."""
        ...

    @property
    def timing_entries(self) -> EntryRepository:
        """Entries into journeys."""
        ...

    @property
    def timing_actions(self) -> ActionRepository:
        """Action decisions."""
        ...

    @property
    def timing_outcomes(self) -> OutcomeRepository:
        """Reported outcomes."""
        ...

    @property
    def timing_merges(self) -> MergeRepository:
        """Records of customer merges (for unmerge)."""
        ...
