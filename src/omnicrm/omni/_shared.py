"""One unit of work shared by every service, and events dispatched before its commit.

:class:`SharedStore` wraps the host's store. The first unit of work opened on a thread
is a real one (:class:`_Outer`); a service that opens another while it is active gets a
:class:`_Joined` view of the same one, whose ``commit`` does nothing, so any number of
service commands run in one transaction. When the outer unit of work commits, the events
recorded so far are handed to the dispatcher first, still inside the transaction, so a
handler's writes commit or roll back with the command that raised the event.

Locks (``unit_of_work(locks=...)``): the outer unit of work is opened with the locks
its command declares (when ``pass_locks`` is on), and a joined one inherits them. A
joined write unit of work must stay inside them: one naming other locks, or none (which
means "anything"), inside an outer one holding locks raises ``StateError`` rather than
write outside what the outer one locked. Open the outer one without locks (or with
every name) to run such commands together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from omnicrm.errors import StateError
from omnicrm.events import DomainEvent
from omnicrm.unit_of_work import Capability, Store, UnitOfWork, lock_keys

__all__ = ["SharedStore"]

Dispatch = Callable[[DomainEvent], None]


class _Outer:
    """The real unit of work, with the dispatch step added in front of ``commit``."""

    def __init__(self, owner: SharedStore, inner: UnitOfWork, locks: tuple[str, ...]) -> None:
        self._owner = owner
        self._inner = inner
        self.locks = locks
        self._queue: list[DomainEvent] = []
        self.poisoned = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        self._owner._local.current = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._owner._local.current = None
        self._inner.__exit__(exc_type, exc, tb)

    def record(self, event: DomainEvent) -> None:
        self._inner.record(event)
        self._queue.append(event)

    def commit(self) -> None:
        while self._queue:
            self._owner._dispatch(self._queue.pop(0))
        if self.poisoned:
            self._inner.rollback()
            raise StateError("a command inside this unit of work failed; it was rolled back")
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return self._inner.events


class _Joined:
    """A service's view of the outer unit of work: commit is the outer's business."""

    def __init__(self, outer: _Outer) -> None:
        self._outer = outer
        self._events: list[DomainEvent] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer, name)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._outer.poisoned = True

    def record(self, event: DomainEvent) -> None:
        self._outer.record(event)
        self._events.append(event)

    def commit(self) -> None:
        """Nothing: the outer unit of work commits everything at once."""

    def rollback(self) -> None:
        self._outer.poisoned = True

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._events)


class SharedStore:
    """A store whose units of work nest: see the module docstring.

    Args:
        store: the host's store.
        dispatch: called with each recorded event before the outer commit.
        pass_locks: open the outer unit of work with the locks its command declares;
            off, every outer write unit of work runs alone (for dispatchers whose
            handlers write aggregates the command did not declare).

    """

    def __init__(self, store: Store, dispatch: Dispatch, *, pass_locks: bool = True) -> None:
        self.inner = store
        self._dispatch = dispatch
        self._pass_locks = pass_locks
        self._local = threading.local()

    @property
    def capabilities(self) -> frozenset[str]:
        """The wrapped store's capabilities (without ``locks`` if it does not pass them)."""
        found = self.inner.capabilities
        return found if self._pass_locks else found - {Capability.LOCKS}

    def unit_of_work(self, *, read_only: bool = False, locks: Iterable[str] = ()) -> Any:
        """A new unit of work, or a view of the one already open on this thread."""
        keys = lock_keys(locks)
        current: _Outer | None = getattr(self._local, "current", None)
        if current is not None:
            held = current.locks
            if held and not read_only and (not keys or not set(keys) <= set(held)):
                raise StateError(
                    f"a command needing locks {list(keys) or 'on everything'} ran inside "
                    f"a unit of work holding only {list(held)}; open the outer unit of "
                    "work without locks to run them together"
                )
            return _Joined(current)
        if not self._pass_locks or read_only:
            keys = ()
        inner = self.inner.unit_of_work(read_only=read_only, locks=keys)
        return _Outer(self, inner, keys)

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()
