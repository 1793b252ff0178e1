"""The SQLite backend (stdlib ``sqlite3``): the embedded default for a real process.

One file, WAL journaling, a connection per thread and process, write transactions
begun with ``BEGIN IMMEDIATE`` (a command waits its turn instead of failing half-way)
and retried with back-off while another writer holds the lock. Parameterised SQL only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from omnicrm.errors import ConfigurationError, StateError
from omnicrm.persistence.sqlite._checkpoint import (
    SAFETY_NET_PAGES,
    Checkpointer,
    WriterGate,
    checkpoint,
)
from omnicrm.persistence.sqlite._connection import (
    ConnectionPool,
    begin_immediate,
    translate_errors,
)
from omnicrm.persistence.sqlite._unit_of_work import SQLUnitOfWork
from omnicrm.persistence.sqlite.schema import migrate
from omnicrm.unit_of_work import Capability, lock_keys
from omnicrm.validation import check_int

__all__ = ["SQLiteStore", "SQLiteUnitOfWork"]


class SQLiteStore:
    """A store on one SQLite file; ``open_store("sqlite:///path/to.db")`` returns one.

    Args:
        path: the database file (created if missing, with its schema).
        busy_timeout: seconds one attempt waits for another writer's lock.
        retries: further attempts, with jittered back-off, before ``StorageBusyError``.
        background_checkpoint: copy the write-ahead log into the file on a background
            thread of each process instead of inside the commit that fills it, which
            takes the checkpoint stall (tens of milliseconds) off the p99 of writes.
            Off by default: it starts a daemon thread, and a fork waits for a
            checkpoint under way to end.
        mmap_size: bytes of the file each connection reads through a memory map (SQLite's
            ``PRAGMA mmap_size``; SQLite caps it, at 2 GiB in common builds); 0, the
            default, reads every page with a system call into SQLite's own page cache.
            For a large store read at random (identity placement at a million
            customers), mapping saves a copy per page read.

    """

    capabilities: frozenset[str] = frozenset(
        {Capability.THREADS, Capability.PROCESSES, Capability.DURABLE}
    )

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        retries: int = 20,
        background_checkpoint: bool = False,
        mmap_size: int = 0,
    ) -> None:
        text = str(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise ConfigurationError(
                "path", path, "must be a file path (an in-memory SQLite store cannot be shared)"
            )
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise ConfigurationError("busy_timeout", busy_timeout, "must be a number of seconds")
        self.path = Path(text)
        self._retries = check_int("retries", retries, minimum=0)
        self._busy_timeout = float(busy_timeout)
        if not isinstance(background_checkpoint, bool):
            raise ConfigurationError(
                "background_checkpoint", background_checkpoint, "must be True or False"
            )
        self._mmap_size = check_int("mmap_size", mmap_size, minimum=0)
        self._pool = ConnectionPool(
            text,
            busy_timeout=self._busy_timeout,
            autocheckpoint=SAFETY_NET_PAGES if background_checkpoint else None,
            mmap_size=self._mmap_size,
        )
        self._checkpointer = Checkpointer(text) if background_checkpoint else None
        self.schema_versions = migrate(
            self._pool.get(), retries=self._retries, busy_timeout=self._busy_timeout
        )

    def unit_of_work(
        self, *, read_only: bool = False, locks: Iterable[str] = ()
    ) -> SQLiteUnitOfWork:
        """Return a new unit of work on this thread's connection.

        A ``read_only`` one is a deferred transaction with ``PRAGMA query_only``: it takes
        no write lock, so it reads a consistent snapshot while writers go on. ``locks``
        is checked and otherwise ignored: every write transaction runs alone.
        """
        lock_keys(locks)
        return SQLiteUnitOfWork(self, read_only=read_only)

    def _connection(self) -> sqlite3.Connection:
        return self._pool.get()

    def _begin(self, conn: sqlite3.Connection) -> None:
        begin_immediate(conn, retries=self._retries, busy_timeout=self._busy_timeout)

    def reopen(self) -> SQLiteStore:
        """Open the same file again as a new store (for durability checks)."""
        return SQLiteStore(
            self.path,
            busy_timeout=self._busy_timeout,
            retries=self._retries,
            background_checkpoint=self._checkpointer is not None,
            mmap_size=self._mmap_size,
        )

    def checkpoint(self) -> tuple[int, int]:
        """Copy the write-ahead log into the database file now.

        Returns ``(pages in the log, pages copied)``; ``(-1, -1)`` if the file was busy.
        """
        return checkpoint(self._connection())

    def close(self) -> None:
        """Close this process's connections and stop its checkpoint thread (if any)."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._pool.close()


class SQLiteUnitOfWork(SQLUnitOfWork):
    """One SQLite write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""

    def __init__(self, store: SQLiteStore, *, read_only: bool = False) -> None:
        self._store = store
        self._sqlite = store._connection()
        self._gate: WriterGate | None = None
        super().__init__(self._sqlite, read_only=read_only)

    def _begin(self) -> None:
        if self._sqlite.in_transaction:
            raise StateError("a unit of work is already open on this thread; finish it first")
        if self.read_only:
            with translate_errors("begin a read-only transaction"):
                self._sqlite.execute("PRAGMA query_only=1")
                self._sqlite.execute("BEGIN DEFERRED")
            return
        checkpointer = self._store._checkpointer
        self._gate = None if checkpointer is None else checkpointer.enter()
        try:
            self._store._begin(self._sqlite)
        except BaseException:
            self._leave_gate()
            raise

    def _commit(self) -> None:
        with translate_errors("commit"):
            self._sqlite.execute("COMMIT")
        checkpointer = self._store._checkpointer
        if checkpointer is not None and not self.read_only:
            checkpointer.committed()

    def _rollback(self) -> None:
        with translate_errors("roll back"):
            if self._sqlite.in_transaction:
                self._sqlite.execute("ROLLBACK")
            if self.read_only:
                self._sqlite.execute("PRAGMA query_only=0")

    def _end(self) -> None:
        """Let the checkpoint thread restart the log; the connection stays with its thread."""
        self._leave_gate()

    def _leave_gate(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.leave()
