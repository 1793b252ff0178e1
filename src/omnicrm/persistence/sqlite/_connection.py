"""SQLite connections: one per thread and process, WAL, busy handling, error translation."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from omnicrm.errors import StorageBusyError, StorageError
from omnicrm.persistence.sqlite._checkpoint import SAFETY_NET_PAGES

__all__ = ["ConnectionPool", "begin_immediate", "translate_errors"]


def _is_busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn a driver error raised inside the block into a ``StorageError``."""
    try:
        yield
    except sqlite3.Error as exc:
        if _is_busy(exc):
            raise StorageBusyError(f"sqlite was busy while trying to {action}: {exc}") from exc
        raise StorageError(f"sqlite failed to {action}: {exc}") from exc


def begin_immediate(conn: sqlite3.Connection, *, retries: int, busy_timeout: float) -> None:
    """Start a write transaction, retrying with jittered back-off while another writer holds it.

    Taking the write lock at the start (``BEGIN IMMEDIATE``) means a command never fails
    half-way because another process committed first: it waits its turn instead.
    """
    delay = 0.005
    for attempt in range(retries + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt == retries:
                with translate_errors("begin a transaction"):
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, busy_timeout)


class ConnectionPool:
    """Hands each thread of each process its own connection to one database file."""

    def __init__(self, path: str, *, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use (or after a fork)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._open()
            self._local.conn = conn
            self._local.pid = os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        with translate_errors(f"open {self._path}"):
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # checkpoints run on a background thread (_checkpoint.py); this is the net
            conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        with self._guard:
            self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
