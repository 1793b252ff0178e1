"""Identity storage details: the SQLite key-index migrations, WAL checkpoints, hot keys."""

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from omnicrm.errors import OmniCRMError
from omnicrm.identity.records import SourceRef
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore, _checkpoint
from omnicrm.persistence.sqlite.schema import MIGRATIONS, migrate

A, B = SourceRef("ec", "1"), SourceRef("store", "2")


def _identity_at(path: Path, version: int) -> sqlite3.Connection:
    """A new store file with the ``identity`` schema at ``version`` (the rest current)."""
    conn = sqlite3.connect(path, isolation_level=None)
    old = {
        name: steps[:version] if name == "identity" else steps for name, steps in MIGRATIONS.items()
    }
    migrate(conn, retries=0, busy_timeout=1.0, migrations=old)
    return conn


def test_identity_v1_keys_survive_the_v2_and_v3_migrations(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    conn = _identity_at(path, 1)
    conn.executemany(
        "INSERT INTO identity_keys (key, source) VALUES (?, ?)",
        [("k1", str(A)), ("k2", str(A)), ("k1", str(B))],
    )
    conn.close()
    store = SQLiteStore(path)
    assert store.schema_versions["identity"] == 5  # v4 adds a column, v5 drops an index
    with store.unit_of_work() as uow:
        assert uow.identity_keys.keys_of(A) == {"k1", "k2"}
        assert uow.identity_keys.find(["k1"], limit=1) == {B}  # the latest indexed first
        uow.identity_keys.add(A, ["k1", "k3"])  # already there: ignored
        uow.identity_keys.add(B, ["k9"])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.identity_keys.find(["k1"], limit=5) == {A, B}
        assert uow.identity_keys.find(["k1", "k9"], limit=1) == {B}
        assert uow.identity_keys.keys_of(A) == {"k1", "k2", "k3"}
        assert uow.identity_keys.postings(["k1", "k9"], limit=5) == {"k1": (B, A), "k9": (B,)}
    store.close()
    plan = sqlite3.connect(path).execute(
        "EXPLAIN QUERY PLAN SELECT key, seq, source FROM identity_keys WHERE key = ? "
        "ORDER BY seq DESC LIMIT 5",
        ("k1",),
    )
    assert "COVERING INDEX identity_keys_postings" in str(plan.fetchall())


def test_identity_v5_drops_the_index_of_records_by_person(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    conn = _identity_at(path, 4)
    conn.execute(
        "INSERT INTO identity_records (source, customer_id, data) VALUES (?, ?, ?)",
        (str(A), "p1", '{"source": "ec:1", "family_name": "高橋"}'),
    )
    index = "SELECT count(*) FROM sqlite_master WHERE name = 'identity_records_customer'"
    assert conn.execute(index).fetchone() == (1,)
    conn.close()
    store = SQLiteStore(path)
    assert store.schema_versions["identity"] == 5
    with store.unit_of_work(read_only=True) as uow:
        row = uow.identity_records.get(A)
        assert row is not None
        assert (row.customer_id, row.record.family_name if row.record else None) == ("p1", "高橋")
    store.close()
    assert sqlite3.connect(path).execute(index).fetchone() == (0,)


def test_the_wal_is_checkpointed_off_the_committing_thread(tmp_path: Path) -> None:
    assert SQLiteStore(tmp_path / "off.db")._checkpointer is None  # opt-in
    store = SQLiteStore(tmp_path / "crm.db", background_checkpoint=True)
    for n in range(40):  # more than one round of the background checkpointer
        with store.unit_of_work() as uow:
            uow.identity_keys.add(SourceRef("ec", str(n)), [f"k{n}"])
            uow.commit()
    assert store._checkpointer is not None
    thread = store._checkpointer._thread
    assert thread is not None
    store.close()  # stops the thread, after any checkpoint under way
    assert not thread.is_alive()
    store = SQLiteStore(tmp_path / "crm.db")
    log, copied = store.checkpoint()  # on demand, on the caller's thread
    assert 0 <= copied == log
    store.close()
    with SQLiteStore(tmp_path / "crm.db").unit_of_work(read_only=True) as uow:
        assert uow.identity_keys.keys_of(SourceRef("ec", "39")) == {"k39"}


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_very_common_key_gives_its_latest_sources(tmp_path: Path, backend: str) -> None:
    store = MemoryStore() if backend == "memory" else SQLiteStore(tmp_path / "crm.db")
    refs = [SourceRef("ec", str(n)) for n in range(300)]
    with store.unit_of_work() as uow:
        for ref in refs:
            uow.identity_keys.add(ref, ["common", f"own{ref.id}"])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.identity_keys.find(["common"], limit=50) == set(refs[-50:])
        for ref in refs[-10:]:
            uow.identity_keys.remove(ref)
        uow.identity_keys.add(refs[0], ["common"])  # already indexed: no change
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.identity_keys.find(["common"], limit=50) == set(refs[-60:-10])
        assert uow.identity_keys.find(["common", "own5"], limit=1) == {refs[-11], refs[5]}
        uow.identity_keys.add(refs[-1], ["common"])  # re-indexed: the latest again
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.identity_keys.find(["common"], limit=2) == {refs[-1], refs[-11]}
        uow.rollback()
    store.close()


def _log_pages(path: Path) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        conn.close()


def _write(store: SQLiteStore, n: int) -> None:
    with store.unit_of_work() as uow:
        uow.identity_keys.add(SourceRef("ec", str(n)), [f"k{n}", f"j{n}"])
        uow.commit()


def _grown_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, SQLiteStore, sqlite3.Connection]:
    """A store whose log is past a lowered restart size, and a checkpoint connection."""
    monkeypatch.setattr(_checkpoint, "RESTART_PAGES", 4)
    path = tmp_path / "crm.db"
    store = SQLiteStore(path)
    for n in range(12):
        _write(store, n)
    return path, store, sqlite3.connect(path, timeout=0, isolation_level=None)


def test_a_large_log_is_caught_up_then_restarted_between_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store, conn = _grown_log(tmp_path, monkeypatch)
    grown = _log_pages(path)
    assert grown >= 12
    log, copied, restarted_at = _checkpoint.background_round(
        conn, str(path), _checkpoint.WriterGate()
    )
    conn.close()
    assert restarted_at == log
    assert log == copied >= grown  # everything logged was copied
    _write(store, 99)
    assert _log_pages(path) < grown  # and the next writer started the log over
    with store.unit_of_work(read_only=True) as uow:
        assert uow.identity_keys.keys_of(SourceRef("ec", "11")) == {"k11", "j11"}
        assert uow.identity_keys.keys_of(SourceRef("ec", "99")) == {"k99", "j99"}
    store.close()


class _CountingGate(_checkpoint.WriterGate):
    def __init__(self) -> None:
        super().__init__()
        self.closings = 0

    @contextmanager
    def closed(self, timeout: float) -> Iterator[bool]:
        self.closings += 1
        with super().closed(timeout) as idle:
            yield idle


def test_a_restarted_log_is_not_restarted_again_before_anyone_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store, conn = _grown_log(tmp_path, monkeypatch)
    gate = _CountingGate()
    first = _checkpoint.background_round(conn, str(path), gate)
    assert gate.closings == 1
    assert first.restarted_at == first.log >= 12
    again = _checkpoint.background_round(conn, str(path), gate, restarted_at=first.restarted_at)
    assert gate.closings == 1  # nothing written since: writers are not held back again
    assert again == first
    _write(store, 99)  # the writer starts the log over
    after = _checkpoint.background_round(conn, str(path), gate, restarted_at=again.restarted_at)
    assert after.log < first.log
    conn.close()
    store.close()


def test_a_restart_a_reader_prevented_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store, conn = _grown_log(tmp_path, monkeypatch)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM identity_keys").fetchone()  # reads from the log
    gate = _CountingGate()
    blocked = _checkpoint.background_round(conn, str(path), gate)
    assert gate.closings == 1
    assert blocked.restarted_at == -1
    reader.execute("COMMIT")
    reader.close()
    done = _checkpoint.background_round(conn, str(path), gate, restarted_at=-1)
    assert gate.closings == 2
    assert done.restarted_at == done.log
    conn.close()
    store.close()


def test_the_writer_gate_holds_new_writers_back_only_while_closed() -> None:
    gate = _checkpoint.WriterGate()
    gate.enter()
    with gate.closed(0.0) as idle:
        assert not idle  # a writer is inside: the restart is skipped
    gate.leave()
    entered = threading.Event()

    def writer() -> None:
        gate.enter()
        entered.set()
        gate.leave()

    with gate.closed(0.0) as idle:
        assert idle
        thread = threading.Thread(target=writer)
        thread.start()
        assert not entered.wait(0.05)  # held back while the gate is closed
    thread.join()
    assert entered.is_set()  # and let in as it opened


def test_checkpointing_store_writers_pass_the_gate_and_survive_reopening(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db", background_checkpoint=True, mmap_size=1 << 20)
    for n in range(40):  # the thread starts on the 16th commit
        _write(store, n)
    assert store._checkpointer is not None
    gate = store._checkpointer._gate
    with gate.closed(1.0) as idle:
        assert idle  # no unit of work left open: every writer left the gate
    conn = store._connection()
    assert conn.execute("PRAGMA mmap_size").fetchone()[0] == 1 << 20
    store.close()
    again = SQLiteStore(tmp_path / "crm.db")
    with again.unit_of_work(read_only=True) as uow:
        assert uow.identity_keys.keys_of(SourceRef("ec", "39")) == {"k39", "j39"}
    assert again._connection().execute("PRAGMA mmap_size").fetchone()[0] == 0
    again.close()
    with pytest.raises(OmniCRMError):
        SQLiteStore(tmp_path / "bad.db", mmap_size=-1)


def _in_thread(work: Callable[[], object]) -> object:
    """``work()`` on a thread of its own (whose priority a test may change freely)."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values")
def test_the_checkpoint_thread_yields_the_cpu_to_commands(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db", background_checkpoint=True)
    for n in range(20):  # the thread starts on the 16th commit
        _write(store, n)
    assert store._checkpointer is not None
    thread = store._checkpointer._thread
    assert thread is not None
    assert thread.native_id is not None
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    permitted = _checkpoint._may_raise_to(mine)
    lowered = max(mine, _checkpoint.BACKGROUND_NICE) if permitted else mine
    deadline = time.monotonic() + 5.0  # the thread lowers itself as it starts
    while os.getpriority(os.PRIO_PROCESS, thread.native_id) != lowered:
        assert time.monotonic() < deadline, "the checkpoint thread kept its priority"
        time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # only it
    store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values")
def test_a_restart_asks_for_normal_priority_and_goes_back_to_low(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lowered_then_restarted() -> tuple[int, int, int]:
        normal = _checkpoint._nice()
        assert _checkpoint._set_nice(normal + 5)
        with _checkpoint._normal_priority(normal):
            inside = _checkpoint._nice()  # normal where permitted (root), else still low
        return normal, inside, _checkpoint._nice()

    normal, inside, after = _in_thread(lowered_then_restarted)  # type: ignore[misc]
    assert inside in (normal, normal + 5)
    assert after == normal + 5

    def refused(*_args: object) -> None:
        raise PermissionError("raising a priority needs a privilege")

    def restart_when_refused() -> tuple[int, int]:
        normal = _checkpoint._nice()
        assert _checkpoint._set_nice(normal + 5)
        monkeypatch.setattr(_checkpoint.os, "setpriority", refused)
        with _checkpoint._normal_priority(normal):
            inside = _checkpoint._nice()
        return inside - normal, _checkpoint._nice() - normal

    assert _in_thread(restart_when_refused) == (5, 5)  # runs on at the lower priority


def test_the_priority_is_only_lowered_where_it_can_be_raised_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_checkpoint, "_may_raise_to", lambda nice: False)

    def lowered() -> tuple[int, int]:
        return _checkpoint._lower_priority(), _checkpoint._nice()

    normal, now = _in_thread(lowered)  # type: ignore[misc]
    assert now == normal  # kept: a restart must never run starved while writers wait
