"""Deterministic stand-ins for time, ids and the event bus."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.events import DomainEvent
from omnicrm.validation import check_id

__all__ = ["FixedClock", "RecordingEventBus", "SequentialIds", "SteppingClock"]

E = TypeVar("E", bound=DomainEvent)


def _check_delta(field: str, value: object, *, allow_zero: bool = True) -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidTypeError(field, value, "must be a timedelta")
    if value < timedelta(0) or (not allow_zero and value == timedelta(0)):
        raise ValidationError(field, value, "must not go backwards")
    return value


class FixedClock:
    """A clock that stands still until told to move.

    Args:
        at: the instant to show (aware; kept in UTC).

    """

    def __init__(self, at: datetime) -> None:
        self._now = to_utc("at", at)

    def now(self) -> datetime:
        """Return the current fake instant."""
        return self._now

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (forwards or backwards)."""
        self._now = to_utc("at", at)

    def advance(self, delta: timedelta) -> datetime:
        """Move forwards by ``delta`` and return the new instant."""
        self._now += _check_delta("delta", delta)
        return self._now


class SteppingClock:
    """A clock that moves ``step`` forwards after every reading: distinct, ordered instants.

    Args:
        start: the first instant returned (aware).
        step: how far each reading moves the clock (positive).

    """

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=1)) -> None:
        self._next = to_utc("start", start)
        self._step = _check_delta("step", step, allow_zero=False)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the next instant."""
        with self._lock:
            current = self._next
            self._next += self._step
        return current


class SequentialIds:
    """Ids ``f"{prefix}_{n:06d}"`` from one counter: the same every run."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        """Return the next id with ``prefix``."""
        check_id("prefix", prefix)
        with self._lock:
            n = next(self._counter)
        return f"{prefix}_{n:06d}"


class RecordingEventBus:
    """An event bus that keeps every published event, in order, for assertions."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Record ``events``."""
        self.events.extend(events)

    def of_type(self, kind: type[E]) -> list[E]:
        """Return the recorded events of class ``kind``."""
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        """Forget everything recorded."""
        self.events.clear()
