"""psycopg connections in the shape the SQL repositories use, and where they come from.

:class:`PgConnection` runs the repositories' SQL (``?`` and ``:name`` placeholders,
rewritten once per statement text to psycopg's ``%s`` / ``%(name)s``) and reports
driver failures as :class:`~omnicrm.persistence._sql.SQLDriverError`. A duplicate
``INSERT`` is reported without aborting the transaction (``ON CONFLICT DO NOTHING`` and
the row count), so a ``DuplicateError`` leaves the unit of work usable, as on SQLite.

Connections come from a :class:`ConnectionSource`: one per thread and process opened
from a URL or a host's factory, or borrowed per unit of work from a host's pool.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.adapt import Dumper
from psycopg.pq import TransactionStatus

from omnicrm.errors import StateError
from omnicrm.persistence._sql import (
    SQLCursor,
    SQLDriverError,
    SQLIntegrityError,
    translate_errors,
)

__all__ = [
    "BUSY_STATES",
    "ConnectionSource",
    "OwnedConnections",
    "PgConnection",
    "PooledConnections",
    "RawConnection",
    "driver_error",
]

RawConnection = psycopg.Connection[Any]
"""A psycopg connection (tuples as rows)."""

BUSY_STATES = frozenset({"40001", "40P01", "55P03"})
"""SQLSTATEs worth retrying: serialisation failure, deadlock, lock wait timed out."""

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|:([A-Za-z_]\w*)|%")


@lru_cache(maxsize=1024)
def to_psycopg(statement: str) -> str:
    """Rewrite ``?`` and ``:name`` placeholders (outside quotes) for psycopg."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1) is not None:
            return f"%({match.group(1)})s"
        return token

    return _TOKENS.sub(swap, statement)


_PLAIN, _DO_NOTHING, _GUARDED = "plain", "do nothing", "guarded"


@lru_cache(maxsize=1024)
def _insert_form(statement: str) -> tuple[str, str]:
    """The psycopg text of a statement, and how a duplicate INSERT is kept harmless."""
    query = to_psycopg(statement)
    if statement.lstrip()[:6].upper() != "INSERT":
        return query, _PLAIN
    upper = statement.upper()
    if " ON CONFLICT " in upper:
        return query, _PLAIN
    if " RETURNING " in upper or " SELECT " in upper:
        return query, _GUARDED
    return f"{query} ON CONFLICT DO NOTHING", _DO_NOTHING


def driver_error(exc: psycopg.Error) -> SQLDriverError:
    """Describe a psycopg error for :func:`~omnicrm.persistence._sql.translate_errors`."""
    state = exc.sqlstate or ""
    message = f"{str(exc).strip()} (SQLSTATE {state or 'none'})"
    if isinstance(exc, psycopg.errors.IntegrityError):
        return SQLIntegrityError("postgresql", message)
    return SQLDriverError("postgresql", message, busy=state in BUSY_STATES)


class _BoolAsInt(Dumper):
    """Python ``bool`` as a PostgreSQL ``bigint`` 0/1 (flags are integers, as on SQLite)."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> Buffer:
        return b"1" if obj else b"0"


class PgConnection:
    """A psycopg connection seen as a :class:`~omnicrm.persistence._sql.SQLConnection`."""

    def __init__(self, raw: RawConnection | None = None) -> None:
        self._raw = raw

    @property
    def raw(self) -> RawConnection:
        """The psycopg connection (a unit of work has one only while it is open)."""
        if self._raw is None:
            raise StateError("this unit of work has no connection: use it inside 'with'")
        return self._raw

    @property
    def bound(self) -> bool:
        """Whether a psycopg connection is attached."""
        return self._raw is not None

    def bind(self, raw: RawConnection | None) -> None:
        """Attach a psycopg connection (or detach with ``None``)."""
        self._raw = raw

    def execute(self, statement: str, parameters: Any = (), /) -> SQLCursor:
        """Run one statement; a refused INSERT inside a transaction leaves it usable.

        A plain ``INSERT`` runs as ``INSERT ... ON CONFLICT DO NOTHING`` and a row it did
        not write is reported as an integrity error (a duplicate), so the transaction
        goes on, as on SQLite. Other INSERTs inside a transaction run in a savepoint.
        """
        cursor = self.raw.cursor()
        query, kind = _insert_form(statement)
        try:
            if kind == _GUARDED and self.in_transaction:
                with self.raw.transaction(savepoint_name="omnicrm_insert", force_rollback=False):
                    cursor.execute(query, parameters or None)
            else:
                cursor.execute(query, parameters or None)
        except psycopg.Error as exc:
            raise driver_error(exc) from exc
        if kind == _DO_NOTHING and cursor.rowcount == 0:
            raise SQLIntegrityError("postgresql", "duplicate key: the row exists (SQLSTATE 23505)")
        return cursor

    def executemany(self, statement: str, parameters: Iterable[Any], /) -> SQLCursor:
        """Run one statement once per parameter row."""
        cursor = self.raw.cursor()
        try:
            cursor.executemany(to_psycopg(statement), list(parameters))
        except psycopg.Error as exc:
            raise driver_error(exc) from exc
        return cursor

    def script(self, text: str) -> None:
        """Run constant statements (no parameters) in one round trip."""
        try:
            self.raw.execute(text.encode())
        except psycopg.Error as exc:
            raise driver_error(exc) from exc

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (or failed and not yet rolled back)."""
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def usable(self) -> bool:
        """Whether the connection is open and not broken."""
        return usable(self.raw)


def usable(raw: RawConnection) -> bool:
    """Whether a psycopg connection is open and not broken."""
    return not raw.closed and not raw.broken


def prepare(raw: RawConnection, schema: str | None) -> RawConnection:
    """Make a fresh connection ready: autocommit (we BEGIN ourselves), flags, schema."""
    if raw.info.transaction_status != TransactionStatus.IDLE:
        raw.rollback()
    raw.autocommit = True
    raw.adapters.register_dumper(bool, _BoolAsInt)
    if schema is not None:
        raw.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return raw


def _prepared(connect: Callable[[], RawConnection], schema: str | None) -> RawConnection:
    try:
        return prepare(connect(), schema)
    except psycopg.Error as exc:
        raise driver_error(exc) from exc


class ConnectionSource(Protocol):
    """Where a store's units of work get their connection."""

    def acquire(self) -> RawConnection:
        """A connection for one unit of work."""
        ...

    def release(self, conn: RawConnection) -> None:
        """Give it back after the unit of work."""
        ...

    def close(self) -> None:
        """Close what this source opened in this process."""
        ...


class OwnedConnections:
    """One connection per thread and process, opened by ``connect`` and kept open.

    After a fork the child opens its own connections and never touches (or closes)
    the parent's, whose sockets it shares.
    """

    def __init__(self, connect: Callable[[], RawConnection], schema: str | None) -> None:
        self._connect = connect
        self._schema = schema
        self._local = threading.local()
        self._mine: list[tuple[int, RawConnection]] = []
        self._guard = threading.Lock()

    def acquire(self) -> RawConnection:
        """This thread's connection, opened on first use, after a fork or if broken."""
        conn: RawConnection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid() or not usable(conn):
            with translate_errors("connect"):
                conn = _prepared(self._connect, self._schema)
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._guard:
                self._mine.append((os.getpid(), conn))
        return conn

    def release(self, conn: RawConnection) -> None:
        """Nothing to do: the connection stays with its thread."""

    def close(self) -> None:
        """Close the connections this process opened."""
        pid = os.getpid()
        with self._guard:
            mine = [c for p, c in self._mine if p == pid]
            self._mine = [(p, c) for p, c in self._mine if p != pid]
        for conn in mine:
            conn.close()
        self._local = threading.local()


class Pool(Protocol):
    """What omnicrm uses of a host's pool (``psycopg_pool.ConnectionPool`` fits)."""

    def getconn(self, timeout: float | None = None) -> RawConnection:
        """Borrow a connection."""
        ...

    def putconn(self, conn: RawConnection) -> None:
        """Return it."""
        ...


class PooledConnections:
    """Borrows a connection from the host's pool for each unit of work."""

    def __init__(self, pool: Pool, schema: str | None) -> None:
        self._pool = pool
        self._schema = schema

    def acquire(self) -> RawConnection:
        """Borrow one and make it ready (autocommit, schema)."""
        with translate_errors("get a connection from the pool"):
            return _prepared(self._pool.getconn, self._schema)

    def release(self, conn: RawConnection) -> None:
        """Return it to the pool."""
        self._pool.putconn(conn)

    def close(self) -> None:
        """The pool is the host's: leave it open."""
