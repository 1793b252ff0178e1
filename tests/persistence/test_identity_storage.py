"""Identity storage details: the SQLite key-index migrations, WAL checkpoints, hot keys."""

import sqlite3
from pathlib import Path

import pytest

from omnicrm.identity.records import SourceRef
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.persistence.sqlite.schema import MIGRATIONS, migrate

A, B = SourceRef("ec", "1"), SourceRef("store", "2")


def test_identity_v1_keys_survive_the_v2_and_v3_migrations(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path, isolation_level=None)
    v1 = {name: steps[:1] if name == "identity" else steps for name, steps in MIGRATIONS.items()}
    migrate(conn, retries=0, busy_timeout=1.0, migrations=v1)
    conn.executemany(
        "INSERT INTO identity_keys (key, source) VALUES (?, ?)",
        [("k1", str(A)), ("k2", str(A)), ("k1", str(B))],
    )
    conn.close()
    store = SQLiteStore(path)
    assert store.schema_versions["identity"] == 3
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
