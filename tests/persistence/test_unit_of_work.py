from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnicrm.customers import Customer
from omnicrm.errors import StateError
from omnicrm.events import DomainEvent
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.unit_of_work import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    built: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "a.db")
    yield built
    built.close()


def test_events_are_released_only_by_commit(store: Store) -> None:
    event = DomainEvent(event_id="e1", occurred_at=T0)
    with store.unit_of_work() as uow:
        uow.record(event)
        assert uow.events == ()
        uow.commit()
    assert uow.events == (event,)
    with store.unit_of_work() as rolled:
        rolled.record(event)
    assert rolled.events == ()


def test_a_second_unit_of_work_on_one_thread_is_refused(store: Store) -> None:
    with store.unit_of_work(), pytest.raises(StateError), store.unit_of_work():
        pass
    with store.unit_of_work() as uow:  # the store is still usable afterwards
        uow.customers.add(Customer(id="c1", created_at=T0, updated_at=T0))
        uow.commit()


def test_record_outside_the_block_is_refused(store: Store) -> None:
    uow = store.unit_of_work()
    with pytest.raises(StateError):
        uow.record(DomainEvent(event_id="e1", occurred_at=T0))


def test_locks_are_checked_and_otherwise_ignored(store: Store) -> None:
    from omnicrm.errors import InvalidTypeError

    with store.unit_of_work(locks=["loyalty:p:m1", "inventory:shirt@s1"]) as uow:
        uow.customers.add(Customer(id="c1", created_at=T0, updated_at=T0))
        uow.commit()
    with store.unit_of_work(read_only=True, locks=()) as uow:
        assert uow.customers.get("c1").id == "c1"
    with pytest.raises(InvalidTypeError):
        store.unit_of_work(locks="loyalty:p:m1")
    with pytest.raises(InvalidTypeError):
        store.unit_of_work(locks=[""])
