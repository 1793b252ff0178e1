"""The unit-of-work life cycle shared by every shipped backend."""

from __future__ import annotations

import enum
from types import TracebackType
from typing import Self

from omnicrm.errors import StateError
from omnicrm.events import DomainEvent

__all__ = ["BaseUnitOfWork"]


class _Phase(enum.Enum):
    NEW = "new"
    ACTIVE = "active"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled back"


class BaseUnitOfWork:
    """Begin on ``__enter__``, roll back on ``__exit__`` unless committed; use once.

    Subclasses implement ``_begin``, ``_commit``, ``_rollback`` and ``_end`` (always run
    last, to release locks or connections).
    """

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._phase = _Phase.NEW
        self._pending: list[DomainEvent] = []
        self._events: tuple[DomainEvent, ...] = ()

    def __enter__(self) -> Self:
        if self._phase is not _Phase.NEW:
            raise StateError(f"this unit of work is {self._phase.value}; open a new one")
        self._begin()
        self._phase = _Phase.ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._phase is _Phase.ACTIVE:
                self.rollback()
        finally:
            self._end()

    def _require_active(self) -> None:
        if self._phase is not _Phase.ACTIVE:
            raise StateError(
                f"this unit of work is {self._phase.value}; use it inside 'with', before commit"
            )

    def commit(self) -> None:
        """Commit every write atomically, then release the collected events."""
        self._require_active()
        if self.read_only:
            raise StateError("a read-only unit of work cannot commit; open one without read_only")
        try:
            self._commit()
        except BaseException:
            self.rollback()
            raise
        self._phase = _Phase.COMMITTED
        self._events = tuple(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        """Discard every write and every collected event."""
        if self._phase is _Phase.ACTIVE:
            self._phase = _Phase.ROLLED_BACK
            self._pending.clear()
            self._rollback()

    def record(self, event: DomainEvent) -> None:
        """Collect ``event`` for release on commit."""
        self._require_active()
        self._pending.append(event)

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """The events released by the commit (empty before it)."""
        return self._events

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _end(self) -> None:
        raise NotImplementedError
