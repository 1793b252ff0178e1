"""Journaled in-memory tables: every write records its undo, so a rollback is exact."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Journal", "Table"]

K = TypeVar("K")
V = TypeVar("V")


class Journal:
    """The undo log of one unit of work.

    ``record(undo)`` remembers how to reverse one write; ``forget()`` drops the log (the
    writes are committed). Both are the log list's own methods, called on every write
    and every unit of work without a Python frame of their own.
    """

    __slots__ = ("_undo", "forget", "record")

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.record: Callable[[Callable[[], None]], None] = self._undo.append
        self.forget: Callable[[], None] = self._undo.clear

    @property
    def clean(self) -> bool:
        """``True`` while the unit of work has written nothing (reads see committed state)."""
        return not self._undo

    def undo_all(self) -> None:
        """Reverse every recorded write, newest first."""
        while self._undo:
            self._undo.pop()()


class Table(Generic[K, V]):
    """A dict whose writes go through a :class:`Journal`. Store immutable values only."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """Return the row or ``None``."""
        return self._rows.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def values(self) -> Iterator[V]:
        """Iterate over the rows."""
        return iter(self._rows.values())

    def items(self) -> Iterator[tuple[K, V]]:
        """Iterate over ``(key, row)`` pairs."""
        return iter(self._rows.items())

    def put(self, journal: Journal, key: K, value: V) -> None:
        """Insert or replace a row."""
        rows = self._rows
        if key in rows:
            old = rows[key]

            def restore() -> None:
                rows[key] = old

            journal.record(restore)
        else:
            journal.record(lambda: rows.pop(key, None))  # type: ignore[arg-type]
        rows[key] = value

    def delete(self, journal: Journal, key: K) -> None:
        """Remove a row if present."""
        rows = self._rows
        if key in rows:
            old = rows.pop(key)

            def restore() -> None:
                rows[key] = old

            journal.record(restore)
