"""Checkpointing the write-ahead log on a background thread instead of inside a commit.

By default SQLite copies the WAL back into the database file (a *checkpoint*, with an
fsync) inside whichever ``COMMIT`` pushes the log past 1,000 pages, so that one command
stalls for tens of milliseconds. Here each connection's automatic checkpoint is raised
to a safety net (:data:`SAFETY_NET_PAGES`) and one daemon thread per store and process
runs ``PASSIVE`` checkpoints (which never block readers or writers) every few commits.

The log only starts over from its beginning when a checkpoint has copied all of it, and
a writer that never pauses keeps appending while the copy runs. So once the log has
grown past :data:`RESTART_PAGES`, the thread repeats ``PASSIVE`` rounds until a round
finds little left to copy (each round copies what was written during the previous one,
faster than one writer writes), writes the copied pages to disk, and only then runs a
``RESTART``: it holds writers back while it copies and syncs what was logged since (a
few milliseconds, mostly the two syncs). A log it restarted is not restarted again
before someone writes (the next writer starts it over). Writers of this process wait for
it at a gate (a lock, so they resume the moment it ends instead of polling SQLite's
busy handler), and the ``RESTART`` itself never waits: if a write transaction is under
way it gives up and is tried again after later commits. Durability is SQLite's: a
checkpoint only copies committed pages and syncs the file.

On Linux the thread runs at the lowest CPU priority (nice :data:`BACKGROUND_NICE`): a
round copies and syncs a few hundred pages, and on a machine with few cores it otherwise
competes with the commands it serves (on two cores, most of an online placement's
slowest 1 % overlapped a round). The ``RESTART``, which holds writers back, runs at the
thread's normal priority again; so the thread lowers its priority only where it may
raise it back (``CAP_SYS_NICE`` or a high enough ``RLIMIT_NICE``), never risking a
restart starved while writers wait.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

__all__ = [
    "BACKGROUND_NICE",
    "CAUGHT_UP_PAGES",
    "RESTART_PAGES",
    "SAFETY_NET_PAGES",
    "Checkpointer",
    "Round",
    "WriterGate",
    "background_round",
    "checkpoint",
]

RESTART_PAGES = 16_384
"""WAL size (pages) from which the background thread restarts the log (64 MiB)."""

SAFETY_NET_PAGES = 4 * RESTART_PAGES
"""Each connection's own ``wal_autocheckpoint``: reached only if the thread falls behind."""

CAUGHT_UP_PAGES = 256
"""A ``PASSIVE`` round copying fewer pages than this leaves a remainder quick to restart."""

BACKGROUND_NICE = 19
"""The nice value the checkpoint thread runs at between restarts (Linux, where permitted)."""

_THREAD_NICE = sys.platform.startswith("linux")
"""Whether threads have nice values of their own (elsewhere one would set the process's)."""
_CAP_SYS_NICE = 23  # the capability's bit in /proc/<pid>/status CapEff
_CATCH_UP_ROUNDS = 8
_WRITER_WAIT = 0.05  # seconds the restart waits for this process's writers to finish

# SQLite is not fork-safe while another thread is inside it (a child would inherit its
# mutexes held): a fork waits until no checkpoint is under way.
_IN_SQLITE = threading.Lock()
os.register_at_fork(
    before=_IN_SQLITE.acquire,
    after_in_parent=_IN_SQLITE.release,
    after_in_child=_IN_SQLITE.release,
)


def _set_nice(value: int) -> bool:
    """Set this thread's own nice value (Linux threads have one each); whether it took."""
    if not _THREAD_NICE:
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), value)
    except OSError:  # not permitted (raising a priority back needs a privilege or rlimit)
        return False
    return True


def _nice() -> int:
    """This thread's nice value on Linux; 0 elsewhere (where nothing here changes it)."""
    if not _THREAD_NICE:  # and nothing here changes a priority there
        return 0
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _may_raise_to(nice: int) -> bool:
    """Whether this process may set a thread's nice value back down to ``nice`` (Linux)."""
    import resource  # Unix only: imported on Linux alone

    soft, _ = resource.getrlimit(resource.RLIMIT_NICE)
    if soft == resource.RLIM_INFINITY or 20 - soft <= nice:
        return True
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_NICE & 1)
    except (OSError, ValueError):
        pass
    return False


def _lower_priority() -> int:
    """Lower this thread's priority where it can be raised back; its normal nice value."""
    normal = _nice()
    if _THREAD_NICE and normal < BACKGROUND_NICE and _may_raise_to(normal):
        _set_nice(BACKGROUND_NICE)
    return normal


@contextmanager
def _normal_priority(normal: int) -> Iterator[None]:
    """Run the block at nice value ``normal`` if the thread may; back to its own after."""
    own = _nice()
    raised = own > normal and _set_nice(normal)
    try:
        yield
    finally:
        if raised:
            _set_nice(own)


class WriterGate:
    """Lets this process's write transactions run, or holds new ones back for a restart.

    Write transactions pass it on the way in and out (any number at once); the
    checkpoint thread closes it, waits for those under way to end, restarts the log and
    opens it again. A transaction held back resumes the moment it opens (no polling).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._writers = 0
        self._closed = False

    def enter(self) -> None:
        """A write transaction starts (waiting while the gate is closed)."""
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._writers += 1

    def leave(self) -> None:
        """A write transaction ended (committed or rolled back)."""
        with self._cond:
            self._writers -= 1
            if self._writers == 0:
                self._cond.notify_all()

    @contextmanager
    def closed(self, timeout: float) -> Iterator[bool]:
        """Hold new write transactions back; yield whether those under way ended in time."""
        with self._cond:
            self._closed = True
            idle = self._cond.wait_for(lambda: self._writers == 0, timeout)
        try:
            yield idle
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class Checkpointer:
    """Runs WAL checkpoints for one database file on a daemon thread of this process.

    Args:
        path: the database file.
        every: wake the thread after this many commits.

    """

    def __init__(self, path: str, *, every: int = 16) -> None:
        self._path = path
        self._every = every
        self._commits = 0
        self._pid = -1
        self._wake = threading.Event()
        self._gate = WriterGate()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def enter(self) -> WriterGate | None:
        """Pass the gate before a write transaction; give the result to :meth:`leave`."""
        if self._pid != os.getpid():  # no thread in this process yet: nothing to wait for
            return None
        gate = self._gate
        gate.enter()
        return gate

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
            self._gate = WriterGate()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._wake, self._gate),
                name=f"omnicrm-wal-checkpoint:{self._path}",
                daemon=True,
            )
            self._thread.start()
            self._pid = os.getpid()

    def _run(self, wake: threading.Event, gate: WriterGate) -> None:
        normal = _lower_priority()
        with _IN_SQLITE:  # never waits for a lock: a busy step is retried on a later round
            conn = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        restarted = -1
        try:
            while True:
                wake.wait()
                wake.clear()
                if self._stopped:
                    return
                with _IN_SQLITE:
                    done = background_round(
                        conn, self._path, gate, normal_nice=normal, restarted_at=restarted
                    )
                restarted = done.restarted_at
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


def _passive(conn: sqlite3.Connection) -> tuple[int, int]:
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[1]), int(row[2])


def _flush(path: str) -> None:
    """Write the file's copied pages to disk now, holding no lock (so a restart's sync is short)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_both(path: str) -> None:
    """:func:`_flush` the log, then the database file."""
    _flush(path + "-wal")
    _flush(path)


class Round(NamedTuple):
    """What one :func:`background_round` found and did."""

    log: int
    """Pages in the log after the last ``PASSIVE`` step (``-1``: the database was busy)."""
    copied: int
    """Pages of the log copied into the database file by then (``-1``: busy)."""
    restarted_at: int
    """The log's size at the thread's last restart: this round's, else the one it was given."""


def background_round(
    conn: sqlite3.Connection,
    path: str,
    gate: WriterGate,
    *,
    normal_nice: int | None = None,
    restarted_at: int = -1,
) -> Round:
    """One round of the thread: copy the log; once it is large, catch up and restart it.

    Catching up repeats "write the copied pages to disk, copy what was logged meanwhile"
    until a pass finds little to copy: each pass is shorter than the one before (one
    writer logs more slowly than this copies). The pages are then written to disk once
    more, so the final ``RESTART``, which holds writers back, copies and syncs only what
    was logged since. ``restarted_at``: the log's size at the thread's last restart (from
    the previous round); a log still that size was restarted and nothing was written
    since (the next writer starts it over), so it is not restarted again.
    ``normal_nice``: the priority to restart at (the thread's own if ``None``).
    """
    try:
        log, copied = _passive(conn)
        large = log >= RESTART_PAGES and log != restarted_at
        for _ in range(_CATCH_UP_ROUNDS if large else 0):
            before = copied
            _flush_both(path)
            log, copied = _passive(conn)
            if copied - before < CAUGHT_UP_PAGES:  # little was logged meanwhile
                _flush_both(path)
                normal = _nice() if normal_nice is None else normal_nice
                with _normal_priority(normal), gate.closed(_WRITER_WAIT) as idle:
                    if idle:
                        busy, log, copied = conn.execute(
                            "PRAGMA wal_checkpoint(RESTART)"
                        ).fetchone()
                        if not busy:
                            restarted_at = log
                break
        return Round(log, copied, restarted_at)
    except (sqlite3.Error, OSError):
        return Round(-1, -1, restarted_at)


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int]:
    """Copy the WAL into the database now; restart the log once it has grown large.

    Returns ``(pages in the log, pages copied)`` after the ``PASSIVE`` step; a busy
    database is left for the next round.
    """
    try:
        log, copied = _passive(conn)
        if log >= RESTART_PAGES:
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return log, copied
    except sqlite3.Error:
        return -1, -1
