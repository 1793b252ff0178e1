"""SQLite read-only units of work take no write lock: readers go on beside a writer."""

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnicrm.customers import Customer
from omnicrm.errors import StateError, StorageError
from omnicrm.persistence.sqlite import SQLiteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_reader_is_not_blocked_by_an_open_writer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db", busy_timeout=0.05, retries=0)
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(id="c1", created_at=T0, updated_at=T0))
        uow.commit()
    writing, done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.unit_of_work() as uow:  # holds the write lock until told to stop
            uow.customers.add(Customer(id="c2", created_at=T0, updated_at=T0))
            writing.set()
            done.wait(timeout=30)
            uow.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(timeout=30)
        with store.unit_of_work(read_only=True) as uow:  # would be busy if it took the lock
            assert sorted(uow.customers.get_many(["c1", "c2"])) == ["c1"]
    finally:
        done.set()
        thread.join(timeout=30)
    with store.unit_of_work(read_only=True) as uow:
        assert sorted(uow.customers.get_many(["c1", "c2"])) == ["c1", "c2"]
    store.close()


def test_writes_are_refused_and_the_connection_is_writable_afterwards(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db")
    with store.unit_of_work(read_only=True) as uow:
        with pytest.raises(StorageError):
            uow.customers.add(Customer(id="c1", created_at=T0, updated_at=T0))
        with pytest.raises(StateError):
            uow.commit()
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(id="c1", created_at=T0, updated_at=T0))
        uow.commit()
    store.close()
