"""The PostgreSQL backend (psycopg 3; ``pip install 'omnicrm[postgres]'``).

Many application processes on many machines share one database. Every write unit of
work is a ``READ COMMITTED`` transaction that first takes transaction-scoped advisory
locks. One that names the aggregates it writes (``unit_of_work(locks=[...])``, as the
services' hot commands do: a member's points, a stock line, a customer's journeys)
takes its schema's lock shared and then one exclusive lock per name, in sorted order:
commands on different aggregates run in parallel and commands on the same one queue,
so a read-check-write (a spend, a hold, a journey step) never interleaves with another
on the same aggregate and two processes can never overdraw, oversell or send twice.
One that names nothing takes the schema's lock exclusively and runs alone, exactly as
SQLite's ``BEGIN IMMEDIATE`` makes every writer. The repositories' writes are also
conditional (``UPDATE ... WHERE version = ?``, ``... WHERE available >= ?``,
``ON CONFLICT DO NOTHING``) and checked by row count, so a host's own transactions on
the same tables cannot break the invariants either. Read-only units of work take no
lock: they are ``REPEATABLE READ READ ONLY`` snapshots running beside the writers.

A lock wait that outlasts ``lock_timeout`` is retried with back-off; a serialisation
failure or deadlock (possible only with a host's own transactions in the mix) rolls
the unit of work back and raises ``StorageBusyError``. :func:`retrying` re-runs a
whole command then: every mutating command carries an idempotency key, so a retried
command is applied once. See the PostgreSQL guide (``docs/postgres.md``).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from omnicrm.errors import ConfigurationError, StateError, StorageBusyError, StorageError
from omnicrm.persistence._sql import SQLIntegrityError, translate_errors
from omnicrm.persistence.postgres._connection import (
    ConnectionSource,
    OwnedConnections,
    PgConnection,
    Pool,
    PooledConnections,
    RawConnection,
)
from omnicrm.persistence.postgres.schema import migrate
from omnicrm.persistence.sqlite._unit_of_work import SQLUnitOfWork
from omnicrm.unit_of_work import Capability, lock_keys
from omnicrm.validation import check_int

__all__ = ["PostgresStore", "PostgresUnitOfWork", "retrying"]

T = TypeVar("T")

_LOCK_CLASS = 0x6F6D6E69  # "omni": the first key of every omnicrm advisory lock

Source = str | Callable[[], RawConnection] | Pool
"""A connection URL, a factory of new psycopg connections, or a host's pool."""


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(name, value, "must be a positive number of seconds")
    return float(value)


def _source(source: object, schema: str | None) -> ConnectionSource:
    if isinstance(source, str):
        if not source.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                "source", source, "expected a URL like postgresql://user@host:5432/db"
            )
        url = source
        return OwnedConnections(lambda: psycopg.connect(url, autocommit=True), schema)
    if callable(getattr(source, "getconn", None)) and callable(getattr(source, "putconn", None)):
        return PooledConnections(source, schema)  # type: ignore[arg-type]
    if callable(source):
        return OwnedConnections(source, schema)
    raise ConfigurationError(
        "source", source, "must be a postgresql:// URL, a connection factory or a pool"
    )


class PostgresStore:
    """A store on one PostgreSQL database; ``open_store("postgresql://…")`` returns one.

    Args:
        source: a ``postgresql://`` URL (the store opens one connection per thread and
            process), a callable returning a new ``psycopg.Connection`` (same, with the
            host's settings), or a pool with ``getconn``/``putconn`` such as
            ``psycopg_pool.ConnectionPool`` (a connection is borrowed per unit of work).
        schema: the PostgreSQL schema holding omnicrm's tables (created if missing);
            ``None`` uses the connection's ``search_path``. Stores on different schemas
            are independent (their own tables, their own writer lock).
        lock_timeout: seconds one attempt waits for the writer lock.
        retries: further attempts, with jittered back-off, before ``StorageBusyError``.
        synchronous_commit: ``True`` (the default) waits for each commit to reach disk.
            ``False`` sets ``synchronous_commit = off`` for omnicrm's transactions: a
            crash may lose the last moments of commits (never half of one, and the
            database stays consistent), the durability SQLite's WAL mode with
            ``synchronous=NORMAL`` offers, for several times the write throughput.

    """

    capabilities: frozenset[str] = frozenset(
        {Capability.THREADS, Capability.PROCESSES, Capability.DURABLE, Capability.LOCKS}
    )

    def __init__(
        self,
        source: Source,
        *,
        schema: str | None = None,
        lock_timeout: float = 5.0,
        retries: int = 20,
        synchronous_commit: bool = True,
    ) -> None:
        if schema is not None and (not isinstance(schema, str) or not schema.isidentifier()):
            raise ConfigurationError("schema", schema, "must be a name like 'omnicrm'")
        self._source_arg = source
        self.schema = schema
        self._lock_timeout = _check_seconds("lock_timeout", lock_timeout)
        self._retries = check_int("retries", retries, minimum=0)
        self._connections = _source(source, schema)
        if not isinstance(synchronous_commit, bool):
            raise ConfigurationError("synchronous_commit", synchronous_commit, "must be a bool")
        self._synchronous_commit = synchronous_commit
        key = zlib.crc32((schema or "").encode()) - 2**31
        self._key_prefix = f"{schema or ''}\x00".encode()
        opening = (
            "BEGIN ISOLATION LEVEL READ COMMITTED; "
            f"SET LOCAL lock_timeout = '{int(self._lock_timeout * 1000)}ms'; "
            + ("" if synchronous_commit else "SET LOCAL synchronous_commit = off; ")
        )
        self._begin_write = opening + f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, {key})"
        self._begin_shared = opening + f"SELECT pg_advisory_xact_lock_shared({_LOCK_CLASS}, {key})"
        raw = self._connections.acquire()
        conn = PgConnection(raw)
        try:
            if schema is not None:
                self._create_schema(conn, schema)
            self.schema_versions = self._with_lock_retries(lambda: migrate(conn, self._begin_write))
        except BaseException:
            self._connections.release(raw)
            self._connections.close()
            raise
        self._connections.release(raw)

    @staticmethod
    def _create_schema(conn: PgConnection, schema: str) -> None:
        statement = f'CREATE SCHEMA IF NOT EXISTS "{schema}"'  # an identifier: checked above
        with translate_errors(f"create the schema {schema!r}"):
            try:
                conn.script(statement)
            except SQLIntegrityError:  # a concurrent opener created it after our check
                conn.script(statement)

    def _with_lock_retries(self, attempt: Callable[[], T]) -> T:
        delay = 0.005
        for n in range(self._retries + 1):
            try:
                return attempt()
            except StorageBusyError:
                if n == self._retries:
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, self._lock_timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    def unit_of_work(
        self, *, read_only: bool = False, locks: Iterable[str] = ()
    ) -> PostgresUnitOfWork:
        """Return a new unit of work.

        A write one without ``locks`` takes the schema's writer lock exclusively when it
        begins: it runs alone. One with ``locks`` takes the writer lock shared, then an
        exclusive advisory lock per name, in sorted order: it runs beside units of work
        on other names and waits for those on the same ones. A ``read_only`` one is a
        ``REPEATABLE READ READ ONLY`` snapshot that takes no lock.
        """
        return PostgresUnitOfWork(self, read_only=read_only, locks=lock_keys(locks))

    def _opening(self, locks: tuple[str, ...]) -> str:
        """The ``BEGIN`` script of a write unit of work holding ``locks`` (none: alone)."""
        if not locks:
            return self._begin_write
        hashes = sorted({self._lock_hash(name) for name in locks})
        return self._begin_shared + "".join(f"; SELECT pg_advisory_xact_lock({h})" for h in hashes)

    def _lock_hash(self, name: str) -> int:
        """The 64-bit advisory lock key of a lock name on this schema."""
        digest = hashlib.blake2b(self._key_prefix + name.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    def _begin(self, conn: PgConnection, read_only: bool, locks: tuple[str, ...] = ()) -> None:
        if read_only:
            with translate_errors("begin a read-only transaction"):
                conn.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return
        opening = self._opening(locks)

        def attempt() -> None:
            try:
                with translate_errors("take the writer lock"):
                    conn.script(opening)
            except StorageBusyError:
                with translate_errors("roll back"):
                    conn.script("ROLLBACK")
                raise

        self._with_lock_retries(attempt)

    def reopen(self) -> PostgresStore:
        """Open the same database (and schema) again as a new store."""
        return PostgresStore(
            self._source_arg,
            schema=self.schema,
            lock_timeout=self._lock_timeout,
            retries=self._retries,
            synchronous_commit=self._synchronous_commit,
        )

    def close(self) -> None:
        """Close the connections this store opened in this process (a host's pool stays)."""
        self._connections.close()


class PostgresUnitOfWork(SQLUnitOfWork):
    """One PostgreSQL transaction; a write one holds the schema's writer lock.

    Exclusively if it names no ``locks``; shared, with an exclusive lock per name in
    ``locks``, otherwise.
    """

    def __init__(
        self, store: PostgresStore, *, read_only: bool = False, locks: tuple[str, ...] = ()
    ) -> None:
        self._store = store
        self.locks = locks  # the names it locks; none: the schema's lock, exclusively
        self._pg = PgConnection()  # bound to a connection while the unit of work is open
        super().__init__(self._pg, read_only=read_only)

    def _begin(self) -> None:
        raw = self._store._connections.acquire()
        if raw.info.transaction_status != TransactionStatus.IDLE:
            raise StateError("a unit of work is already open on this thread; finish it first")
        self._pg.bind(raw)
        try:
            self._store._begin(self._pg, self.read_only, self.locks)
        except BaseException:
            try:
                with contextlib.suppress(StorageError):
                    self._rollback()
            finally:
                self._end()
            raise

    def _commit(self) -> None:
        with translate_errors("commit"):
            self._pg.script("COMMIT")

    def _rollback(self) -> None:
        if self._pg.bound and self._pg.usable and self._pg.in_transaction:
            with translate_errors("roll back"):
                self._pg.script("ROLLBACK")

    def _end(self) -> None:
        """Give the connection back (to the host's pool, or to this thread)."""
        if self._pg.bound:
            raw = self._pg.raw
            self._pg.bind(None)
            self._store._connections.release(raw)


def retrying(command: Callable[[], T], *, attempts: int = 5, first_delay: float = 0.01) -> T:
    """Run ``command``, re-running it while it raises ``StorageBusyError``.

    Use it around one service call that carries an idempotency key, e.g.
    ``retrying(lambda: loyalty.spend(..., idempotency_key=key))``: a busy database
    (serialisation failure, deadlock, lock wait timed out) rolled the whole unit of
    work back, and the key makes sure a command that did commit is not applied twice.
    """
    check_int("attempts", attempts, minimum=1)
    delay = _check_seconds("first_delay", first_delay)
    for n in range(attempts):
        try:
            return command()
        except StorageBusyError:
            if n == attempts - 1:
                raise
        time.sleep(delay * (1 + random.random()))
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
