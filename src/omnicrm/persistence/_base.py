"""The unit-of-work life cycle shared by every shipped backend."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from omnicrm.errors import StateError
from omnicrm.events import DomainEvent

__all__ = ["BaseUnitOfWork"]

# the phases, as plain strings compared by identity (cheaper than an enum's look-ups)
NEW = "new"
ACTIVE = "active"
COMMITTED = "committed"
ROLLED_BACK = "rolled back"


def inactive(phase: str) -> StateError:
    """The error for using a unit of work that is ``phase`` (not active)."""
    return StateError(f"this unit of work is {phase}; use it inside 'with', before commit")


class BaseUnitOfWork:
    """Begin on ``__enter__``, roll back on ``__exit__`` unless committed; use once.

    Subclasses implement ``_begin``, ``_commit``, ``_rollback`` and ``_end`` (always run
    last, to release locks or connections).
    """

    # ``_events`` is a list of the events recorded so far while active (none recorded:
    # the empty tuple, no list allocated), then the tuple released by the commit
    __slots__ = ("_events", "_phase", "read_only")

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._phase = NEW
        self._events: list[DomainEvent] | tuple[DomainEvent, ...] = ()

    def __enter__(self) -> Self:
        if self._phase is not NEW:
            raise StateError(f"this unit of work is {self._phase}; open a new one")
        self._begin()
        self._phase = ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._phase is ACTIVE:
                self.rollback()
        finally:
            self._end()

    def _require_active(self) -> None:
        if self._phase is not ACTIVE:
            raise inactive(self._phase)

    def commit(self) -> None:
        """Commit every write atomically, then release the collected events."""
        if self._phase is not ACTIVE:
            raise inactive(self._phase)
        if self.read_only:
            raise StateError("a read-only unit of work cannot commit; open one without read_only")
        try:
            self._commit()
        except BaseException:
            self.rollback()
            raise
        self._phase = COMMITTED
        events = self._events
        if events:
            self._events = tuple(events)

    def rollback(self) -> None:
        """Discard every write and every collected event."""
        if self._phase is ACTIVE:
            self._phase = ROLLED_BACK
            self._events = ()
            self._rollback()

    def record(self, event: DomainEvent) -> None:
        """Collect ``event`` for release on commit."""
        if self._phase is not ACTIVE:
            raise inactive(self._phase)
        events = self._events
        if events:
            events.append(event)  # type: ignore[union-attr]  # a list once one is recorded
        else:
            self._events = [event]

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """The events released by the commit (empty before it)."""
        events = self._events
        return events if self._phase is COMMITTED else ()  # type: ignore[return-value]

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        raise NotImplementedError
