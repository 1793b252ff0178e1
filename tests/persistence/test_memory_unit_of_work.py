"""The lean memory unit of work keeps every guarantee of the shared life cycle."""

import threading
from datetime import UTC, datetime

import pytest

from omnicrm.customers import Customer
from omnicrm.errors import StateError
from omnicrm.events import DomainEvent
from omnicrm.persistence.memory import MemoryStore, MemoryUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REPOSITORIES = sorted(n for n, v in vars(MemoryUnitOfWork).items() if isinstance(v, property))


def _customer(customer_id: str) -> Customer:
    return Customer(id=customer_id, created_at=T0, updated_at=T0)


def _stored(store: MemoryStore) -> set[str]:
    with store.unit_of_work(read_only=True) as reader:
        return set(reader.customers.get_many(["c1", "c2"]))


def test_every_repository_property_is_generated_with_a_docstring() -> None:
    assert len(REPOSITORIES) >= 26
    assert {"customers", "idempotency", "timing_events", "loyalty_ledger"} <= set(REPOSITORIES)
    for name in REPOSITORIES:
        assert vars(MemoryUnitOfWork)[name].__doc__


@pytest.mark.parametrize("name", REPOSITORIES)
def test_each_repository_refuses_outside_the_block(name: str) -> None:
    store = MemoryStore()
    uow = store.unit_of_work()
    with pytest.raises(StateError, match="is new"):
        getattr(uow, name)
    with uow:
        inside = getattr(uow, name)
        assert getattr(uow, name) is inside  # the store's own repository, every time
        uow.commit()
        with pytest.raises(StateError, match="is committed"):
            getattr(uow, name)
    with pytest.raises(StateError, match="is committed"):
        getattr(uow, name)
    with store.unit_of_work() as rolled:
        assert getattr(rolled, name) is inside
    with pytest.raises(StateError, match="is rolled back"):
        getattr(rolled, name)


def test_a_unit_of_work_is_used_once() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.commit()
    with pytest.raises(StateError, match="committed; open a new one"), uow:
        pass
    with pytest.raises(StateError):
        uow.commit()
    with store.unit_of_work() as uow:  # the lock was released every time
        uow.commit()


def test_events_are_kept_in_order_and_dropped_by_rollback() -> None:
    store = MemoryStore()
    first, second = (DomainEvent(event_id=f"e{i}", occurred_at=T0) for i in (1, 2))
    with store.unit_of_work() as none:
        none.commit()
    assert none.events == ()
    with store.unit_of_work() as uow:
        uow.record(first)
        uow.record(second)
        assert uow.events == ()
        uow.commit()
    assert uow.events == (first, second)
    with store.unit_of_work() as rolled:
        rolled.record(first)
        rolled.rollback()
        assert rolled.events == ()
        with pytest.raises(StateError, match="rolled back"):
            rolled.record(second)
    assert rolled.events == ()


def test_a_failing_commit_rolls_back_and_releases_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()

    def fail(self: MemoryUnitOfWork) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(MemoryUnitOfWork, "_commit", fail)
    event = DomainEvent(event_id="e1", occurred_at=T0)
    with store.unit_of_work() as uow:
        uow.customers.add(_customer("c1"))
        uow.record(event)
        with pytest.raises(OSError, match="on fire"):
            uow.commit()
        assert uow.events == ()
        with pytest.raises(StateError, match="rolled back"):
            uow.customers  # noqa: B018
    monkeypatch.undo()
    assert _stored(store) == set()


def test_an_exception_in_the_block_undoes_every_write() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.customers.add(_customer("c1"))
        uow.commit()

    def fail() -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(_customer("c2"))
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        fail()
    assert _stored(store) == {"c1"}


def test_a_read_only_unit_of_work_cannot_commit_and_keeps_nothing() -> None:
    store = MemoryStore()
    with store.unit_of_work(read_only=True) as uow:
        uow.customers.add(_customer("c1"))
        with pytest.raises(StateError, match="read-only"):
            uow.commit()
    assert _stored(store) == set()


def test_a_second_unit_of_work_on_the_thread_leaves_the_first_usable() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        with pytest.raises(StateError, match="already open"), store.unit_of_work():
            pass
        uow.customers.add(_customer("c1"))
        uow.commit()
    assert _stored(store) == {"c1"}


def test_the_memory_unit_of_work_has_no_instance_dict() -> None:
    assert not hasattr(MemoryStore().unit_of_work(), "__dict__")


def test_another_thread_waits_for_the_lock_instead_of_being_refused() -> None:
    store = MemoryStore()
    started, failures = threading.Event(), list[BaseException]()

    def other() -> None:
        started.set()
        try:
            assert not store._lock.acquire(blocking=False)  # held by the main thread
            with store.unit_of_work() as uow:  # waits its turn, not refused
                uow.customers.add(_customer("c2"))
                uow.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    with store.unit_of_work() as uow:
        thread = threading.Thread(target=other)
        thread.start()
        started.wait()
        uow.customers.add(_customer("c1"))
        uow.commit()
    thread.join()
    assert failures == []
    assert _stored(store) == {"c1", "c2"}
