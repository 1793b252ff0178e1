"""The storage ports every backend implements: :class:`Store` and :class:`UnitOfWork`.

A store hands out units of work. A unit of work is a context manager grouping the
repositories one command needs; it commits only when :meth:`UnitOfWork.commit` is
called and rolls back otherwise (on an exception, or on leaving the block without a
commit). A unit of work is used once.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self

from omnicrm.customers.ports import CustomerRepository
from omnicrm.errors import InvalidTypeError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import IdempotencyRepository

__all__ = ["Capability", "Store", "UnitOfWork", "lock_keys"]


class Capability:
    """Names of optional backend capabilities, declared in ``Store.capabilities``.

    Contract tests that need a capability are skipped for a backend that lacks it.
    """

    THREADS = "threads"
    """Safe to use from several threads at once."""
    PROCESSES = "processes"
    """Safe to share between several processes (a file or a server)."""
    DURABLE = "durable"
    """Committed data survives closing and reopening the store."""
    LOCKS = "locks"
    """Runs write units of work with disjoint ``locks`` side by side (PostgreSQL); a
    service may skip work it does only to name its locks on a store without it."""


class UnitOfWork(Protocol):
    """One atomic command's view of the store."""

    @property
    def customers(self) -> CustomerRepository:
        """The customers repository."""
        ...

    @property
    def idempotency(self) -> IdempotencyRepository:
        """The idempotency-record repository."""
        ...

    def __enter__(self) -> Self:
        """Begin the unit of work."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End it, rolling back anything not committed."""
        ...

    def commit(self) -> None:
        """Make every write of this unit of work durable and visible, atomically."""
        ...

    def rollback(self) -> None:
        """Discard every write of this unit of work."""
        ...

    def record(self, event: DomainEvent) -> None:
        """Collect a domain event; it is released only if the unit of work commits."""
        ...

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """The events of a committed unit of work (empty before commit or after rollback)."""
        ...


class Store(Protocol):
    """A storage backend: opens units of work. See :func:`omnicrm.open_store`."""

    @property
    def capabilities(self) -> frozenset[str]:
        """The :class:`Capability` names this backend supports."""
        ...

    def unit_of_work(self, *, read_only: bool = False, locks: Iterable[str] = ()) -> UnitOfWork:
        """Return a new, not yet begun unit of work.

        A ``read_only`` unit of work sees committed data and cannot commit (its
        ``commit`` raises ``StateError``; nothing it did is kept). A backend may use it to
        let readers run beside writers (SQLite does: no write lock is taken).

        ``locks`` names the aggregates a write unit of work will change (strings such
        as ``"loyalty:<program>:<member>"``), a promise that it writes nothing else that
        another command could be deciding on at the same time. A backend may use it to
        run writers on different aggregates in parallel (PostgreSQL does); one that
        serialises every writer anyway (memory, SQLite) accepts and ignores it. No
        ``locks`` means "anything": the unit of work runs alone.
        """
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


def lock_keys(locks: Iterable[str]) -> tuple[str, ...]:
    """Check a unit of work's ``locks``; return them sorted, without repeats.

    The sorted order is the order a backend takes them in, so two units of work never
    wait for each other's locks in a cycle.
    """
    if type(locks) is tuple and not locks:  # none named (the common case): nothing to check
        return ()
    if isinstance(locks, str | bytes) or not isinstance(locks, Iterable):
        raise InvalidTypeError("locks", locks, "must be an iterable of lock names")
    keys = set()
    for key in locks:
        if not isinstance(key, str) or not key:
            raise InvalidTypeError("locks", key, "each lock name must be a non-empty str")
        keys.add(key)
    return tuple(sorted(keys))
