"""Checkpointing the write-ahead log on a background thread instead of inside a commit.

By default SQLite copies the WAL back into the database file (a *checkpoint*, with an
fsync) inside whichever ``COMMIT`` pushes the log past 1,000 pages, so that one command
stalls for tens of milliseconds. Here each connection's automatic checkpoint is raised
to a safety net (:data:`SAFETY_NET_PAGES`) and one daemon thread per store and process
runs a ``PASSIVE`` checkpoint (which never blocks readers or writers) every few commits,
and a ``RESTART`` (which lets the log start over from its beginning) once the log has
grown past :data:`RESTART_PAGES` — by then almost every page is already copied, so the
writer it briefly holds back waits far less than a full checkpoint.
"""

from __future__ import annotations

import os
import sqlite3
import threading

__all__ = ["RESTART_PAGES", "SAFETY_NET_PAGES", "Checkpointer"]

RESTART_PAGES = 4_096
"""WAL size (pages) from which the background thread restarts the log."""

SAFETY_NET_PAGES = 4 * RESTART_PAGES
"""Each connection's own ``wal_autocheckpoint``: reached only if the thread falls behind."""

# SQLite is not fork-safe while another thread is inside it (a child would inherit its
# mutexes held): a fork waits until no checkpoint is under way.
_IN_SQLITE = threading.Lock()
os.register_at_fork(
    before=_IN_SQLITE.acquire,
    after_in_parent=_IN_SQLITE.release,
    after_in_child=_IN_SQLITE.release,
)


class Checkpointer:
    """Runs WAL checkpoints for one database file on a daemon thread of this process.

    Args:
        path: the database file.
        every: wake the thread after this many commits.

    """

    def __init__(self, path: str, *, every: int = 32) -> None:
        self._path = path
        self._every = every
        self._commits = 0
        self._pid = -1
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def committed(self) -> None:
        """Count one commit; every ``every`` commits, wake the thread (starting it if needed)."""
        self._commits += 1
        if self._commits % self._every == 0 and not self._stopped:
            if self._pid != os.getpid():  # first use, or a forked child: a thread of its own
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._starting:
            if self._pid == os.getpid():  # another thread of this process was first
                return
            self._wake = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._wake,),
                name=f"omnicrm-wal-checkpoint:{self._path}",
                daemon=True,
            )
            self._thread.start()
            self._pid = os.getpid()

    def _run(self, wake: threading.Event) -> None:
        with _IN_SQLITE:
            conn = sqlite3.connect(self._path, timeout=0.05, isolation_level=None)
        try:
            while True:
                wake.wait()
                wake.clear()
                if self._stopped:
                    return
                with _IN_SQLITE:
                    checkpoint(conn)
        finally:
            with _IN_SQLITE:
                conn.close()

    def close(self) -> None:
        """Stop this process's thread (waiting for a checkpoint under way to end)."""
        self._stopped = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and self._pid == os.getpid():
            thread.join()


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int]:
    """Copy the WAL into the database now; restart the log once it has grown large.

    Returns ``(pages in the log, pages copied)`` after the ``PASSIVE`` step; a busy
    database is left for the next round.
    """
    try:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        log, copied = int(row[1]), int(row[2])
        if log >= RESTART_PAGES:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return log, copied
    except sqlite3.Error:
        return -1, -1
