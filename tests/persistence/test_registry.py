import sys
from pathlib import Path

import pytest

from omnicrm.errors import ConfigurationError, InvalidTypeError, StorageError
from omnicrm.persistence import BackendRegistry, open_store, register_backend
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.persistence.sqlite.schema import MIGRATIONS


def test_open_memory_and_sqlite(tmp_path: Path) -> None:
    assert isinstance(open_store("memory:"), MemoryStore)
    store = open_store(f"sqlite:///{tmp_path}/crm.db")
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "crm.db"
    store.close()


@pytest.mark.parametrize(
    "url", ["", "nosuch:thing", "memory:/x", "sqlite://", "sqlite:///", "sqlite://host/x.db"]
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)
    assert caught.value.field == "url"


def test_url_must_be_text() -> None:
    with pytest.raises(InvalidTypeError):
        open_store(None)  # type: ignore[arg-type]


def test_a_host_registers_its_own_backend() -> None:
    registry = BackendRegistry()
    registry.register("mydb", lambda url: MemoryStore())
    assert isinstance(registry.open("mydb://anything"), MemoryStore)
    with pytest.raises(ConfigurationError):
        registry.register("not a name", lambda url: MemoryStore())
    register_backend("omnicrm_test_backend", lambda url: MemoryStore())
    assert isinstance(open_store("omnicrm_test_backend:"), MemoryStore)


def test_sqlite_schema_versions_are_recorded_and_reapplied_idempotently(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "crm.db")
    assert first.schema_versions == {name: len(steps) for name, steps in MIGRATIONS.items()}
    first.close()
    again = SQLiteStore(tmp_path / "crm.db")
    assert again.schema_versions == first.schema_versions
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    SQLiteStore(tmp_path / "crm.db").close()
    conn = sqlite3.connect(tmp_path / "crm.db")
    conn.execute("UPDATE omnicrm_schema SET version = 99 WHERE component = 'customers'")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        SQLiteStore(tmp_path / "crm.db")


def test_sqlite_refuses_in_memory_paths() -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(":memory:")


def test_a_locked_file_becomes_storage_busy_error(tmp_path: Path) -> None:
    import sqlite3

    from omnicrm.errors import StorageBusyError

    store = SQLiteStore(tmp_path / "crm.db", busy_timeout=0.01, retries=1)
    blocker = sqlite3.connect(tmp_path / "crm.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageBusyError), store.unit_of_work():
            pass
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()


def test_postgresql_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "omnicrm.persistence.postgres", None)  # as if missing
    with pytest.raises(ConfigurationError, match=r"omnicrm\[postgres\]"):
        open_store("postgresql://crm@localhost/shop")
