"""What the SQL backends share: the connection shape the repositories use, and errors.

The SQL repositories (in :mod:`omnicrm.persistence.sqlite`) are written against
:class:`SQLConnection`, the DB-API subset ``sqlite3.Connection`` already offers:
``execute(sql, params)`` returning a cursor with ``fetchone``/``fetchall``/``rowcount``,
and ``executemany``. Their SQL uses ``?`` and ``:name`` placeholders and only syntax
SQLite and PostgreSQL both accept (``ON CONFLICT``, ``RETURNING``, ``CAST``). The
PostgreSQL backend wraps a psycopg connection in that shape, so one SQL text serves
both; only the schema (DDL) is written per backend.

A driver other than ``sqlite3`` reports failures as :class:`SQLDriverError` (or
:class:`SQLIntegrityError` for a broken constraint); repositories catch
:data:`INTEGRITY_ERRORS` / :data:`DRIVER_ERRORS`, which name both drivers' classes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from omnicrm.errors import StorageBusyError, StorageError

Migrations = dict[str, tuple[tuple[str, ...], ...]]
"""Each schema component's versions in order; each version a tuple of statements."""

__all__ = [
    "DRIVER_ERRORS",
    "INTEGRITY_ERRORS",
    "SQLConnection",
    "SQLCursor",
    "SQLDriverError",
    "SQLIntegrityError",
    "apply_migrations",
    "is_sqlite_busy",
    "translate_errors",
]


class SQLCursor(Protocol):
    """The part of a DB-API cursor the repositories read."""

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        ...

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        ...

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        ...

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one by one."""
        ...


class SQLConnection(Protocol):
    """The part of a DB-API connection the repositories call (``sqlite3.Connection`` fits)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> SQLCursor:
        """Run one statement with ``?`` or ``:name`` placeholders."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> SQLCursor:
        """Run one statement once per parameter row."""
        ...


class SQLDriverError(Exception):
    """A failure reported by a non-sqlite3 driver, already described for people.

    Attributes:
        backend: the backend's name ("postgresql").
        busy: ``True`` when retrying the command may succeed (a lock wait timed out,
            a serialisation failure, a deadlock).

    """

    def __init__(self, backend: str, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.backend = backend
        self.busy = busy


class SQLIntegrityError(SQLDriverError):
    """A unique, foreign-key or check constraint refused a write."""


INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, SQLIntegrityError)
"""Constraint failures of every driver: catch these to report a ``DuplicateError``."""

DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, SQLDriverError)
"""Every driver failure."""


def is_sqlite_busy(exc: sqlite3.Error) -> bool:
    """Whether sqlite3 failed because another connection holds a lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn a driver error raised inside the block into a ``StorageError``.

    A busy database (another writer's lock, a serialisation failure, a deadlock)
    becomes ``StorageBusyError``: the command rolled back and may be retried with the
    same idempotency key.
    """
    try:
        yield
    except sqlite3.Error as exc:
        if is_sqlite_busy(exc):
            raise StorageBusyError(f"sqlite was busy while trying to {action}: {exc}") from exc
        raise StorageError(f"sqlite failed to {action}: {exc}") from exc
    except SQLDriverError as exc:
        if exc.busy:
            raise StorageBusyError(
                f"{exc.backend} was busy while trying to {action}: {exc}"
            ) from exc
        raise StorageError(f"{exc.backend} failed to {action}: {exc}") from exc


def apply_migrations(
    conn: SQLConnection, migrations: Migrations, create_table: str
) -> dict[str, int]:
    """Apply, inside the caller's transaction, the versions the schema lacks.

    ``create_table`` creates ``omnicrm_schema (component, version)`` if missing. Returns
    each component's version; a component newer than ``migrations`` knows is refused
    with ``StorageError`` (this omnicrm is older than the data).
    """
    conn.execute(create_table)
    found = dict(conn.execute("SELECT component, version FROM omnicrm_schema").fetchall())
    versions: dict[str, int] = {}
    for component, steps in migrations.items():
        current = int(found.get(component, 0))
        if current > len(steps):
            raise StorageError(
                f"schema component {component!r} is at version {current}, newer than "
                f"this omnicrm knows ({len(steps)}); upgrade omnicrm"
            )
        for statements in steps[current:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(
            "INSERT INTO omnicrm_schema (component, version) VALUES (?, ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, len(steps)),
        )
        versions[component] = len(steps)
    return versions
