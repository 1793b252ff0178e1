"""SQLite connections: one per thread and process, WAL, busy handling, error translation."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

from omnicrm.persistence._sql import is_sqlite_busy as _is_busy
from omnicrm.persistence._sql import translate_errors

__all__ = ["ConnectionPool", "begin_immediate", "translate_errors"]


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

    def __init__(
        self,
        path: str,
        *,
        busy_timeout: float,
        autocheckpoint: int | None = None,
        mmap_size: int = 0,
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._autocheckpoint = autocheckpoint
        self._mmap_size = mmap_size
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
            if self._autocheckpoint is not None:  # a background thread checkpoints
                conn.execute(f"PRAGMA wal_autocheckpoint={int(self._autocheckpoint)}")
            if self._mmap_size:  # read pages in place instead of copying each into the cache
                conn.execute(f"PRAGMA mmap_size={int(self._mmap_size)}")
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
