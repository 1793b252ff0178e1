"""PostgreSQL-specific behaviour: opening, migrations, locking, errors, retries, sources."""

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from omnicrm.channel import Channel
from omnicrm.customers import CustomerService, Profile
from omnicrm.customers.model import Customer
from omnicrm.errors import (
    ConfigurationError,
    DuplicateError,
    StateError,
    StorageBusyError,
    StorageError,
)
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (extra 'postgres')")

from omnicrm.persistence.postgres import PostgresStore, retrying  # noqa: E402
from omnicrm.persistence.postgres.schema import MIGRATIONS  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def schema(pg_schemas: Callable[[], str]) -> str:
    return pg_schemas()


@pytest.fixture
def store(pg_url: str, schema: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_url, schema=schema)
    yield opened
    opened.close()


def _customer(customer_id: str) -> Customer:
    return Customer(id=customer_id, created_at=T0, updated_at=T0, profile=Profile())


def _admin(url: str) -> Any:
    return psycopg.connect(url, autocommit=True)


def test_open_store_takes_a_postgresql_url(pg_url: str, schema: str) -> None:
    with _admin(pg_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    store = open_store(f"{pg_url}?options=-csearch_path%3D{schema}")
    try:
        assert isinstance(store, PostgresStore)
        with store.unit_of_work() as uow:
            uow.customers.add(_customer("c1"))
            uow.commit()
        with _admin(pg_url) as conn:
            (count,) = conn.execute(f'SELECT count(*) FROM "{schema}".customers').fetchone()
        assert count == 1
    finally:
        store.close()


def test_every_component_is_created_at_its_latest_version(store: PostgresStore) -> None:
    assert store.schema_versions == {name: len(steps) for name, steps in MIGRATIONS.items()}
    again = store.reopen()
    assert again.schema_versions == store.schema_versions
    again.close()


def test_a_missing_component_is_created_on_open(pg_url: str, store: PostgresStore) -> None:
    with _admin(pg_url) as conn:
        conn.execute(f'DROP TABLE "{store.schema}".omni_purchases, "{store.schema}".omni_watches')
        conn.execute(f"DELETE FROM \"{store.schema}\".omnicrm_schema WHERE component = 'omni'")
    again = store.reopen()
    with again.unit_of_work() as uow:
        assert uow.omni_purchases.all() == []
    again.close()


def test_a_newer_schema_is_refused(pg_url: str, store: PostgresStore) -> None:
    with _admin(pg_url) as conn:
        conn.execute(
            f"UPDATE \"{store.schema}\".omnicrm_schema SET version = 99 WHERE component = 'loyalty'"
        )
    with pytest.raises(StorageError, match="'loyalty' is at version 99, newer"):
        store.reopen()


def test_bad_configuration_is_refused(pg_url: str) -> None:
    with pytest.raises(ConfigurationError):
        PostgresStore("mysql://x")
    with pytest.raises(ConfigurationError):
        PostgresStore(pg_url, schema="no such; schema")
    with pytest.raises(ConfigurationError):
        PostgresStore(pg_url, lock_timeout=0)
    with pytest.raises(ConfigurationError):
        PostgresStore(42)  # type: ignore[arg-type]


def test_unreachable_server_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="postgresql failed"):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_a_duplicate_leaves_the_unit_of_work_usable(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(_customer("c1"))
        with pytest.raises(DuplicateError):
            uow.customers.add(_customer("c1"))
        uow.customers.add(_customer("c2"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert set(uow.customers.get_many(["c1", "c2"])) == {"c1", "c2"}


def test_a_read_only_unit_of_work_cannot_commit_or_write(store: PostgresStore) -> None:
    with store.unit_of_work(read_only=True) as uow, pytest.raises(StateError):
        uow.commit()
    with store.unit_of_work(read_only=True) as uow, pytest.raises(StorageError, match="read-only"):
        uow.customers.add(_customer("c1"))


def test_readers_run_while_a_writer_holds_the_lock(store: PostgresStore) -> None:
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(_customer("c1"))
            holding.set()
            release.wait(10)
            uow.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        with store.unit_of_work(read_only=True) as uow:  # not blocked, sees committed data
            assert uow.customers.get_many(["c1"]) == {}
    finally:
        release.set()
        thread.join()


def test_a_writer_waiting_too_long_gets_storage_busy(pg_url: str, store: PostgresStore) -> None:
    impatient = PostgresStore(pg_url, schema=store.schema, lock_timeout=0.05, retries=1)
    try:
        with store.unit_of_work():
            # this thread's other store waits for the lock the open unit of work holds
            def attempt() -> None:
                with impatient.unit_of_work():
                    pass

            errors: list[BaseException] = []
            thread = threading.Thread(target=lambda: _capture(attempt, errors))
            thread.start()
            thread.join()
        assert len(errors) == 1
        assert isinstance(errors[0], StorageBusyError)
        assert "writer lock" in str(errors[0])
    finally:
        impatient.close()


def _capture(call: Callable[[], None], errors: list[BaseException]) -> None:
    try:
        call()
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.parametrize(("sqlstate", "name"), [("40001", "serialisation"), ("40P01", "deadlock")])
def test_a_retried_command_applies_once(
    pg_url: str, store: PostgresStore, sqlstate: str, name: str
) -> None:
    """A serialisation failure or deadlock on the first attempt; retrying applies once."""
    with _admin(pg_url) as conn:
        conn.execute(f'SET search_path TO "{store.schema}"')
        conn.execute("CREATE SEQUENCE attempts")  # not rolled back with the transaction
        conn.execute(
            f"""CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('attempts') = 1 THEN
                    RAISE EXCEPTION 'injected {name}' USING ERRCODE = '{sqlstate}';
                END IF;
                RETURN NEW;
            END $$"""
        )
        conn.execute(
            "CREATE TRIGGER fail_once BEFORE INSERT ON customers "
            "FOR EACH ROW EXECUTE FUNCTION fail_once()"
        )
    service = CustomerService(store, FixedClock(T0), SequentialIds())

    def register() -> Any:
        return service.register(Profile(), channel=Channel.EC, idempotency_key="k1")

    with pytest.raises(StorageBusyError, match=f"injected {name}"):
        register()
    first = retrying(register)
    again = retrying(register)
    assert again.replayed
    assert again.customer == first.customer
    with _admin(pg_url) as conn:
        (count,) = conn.execute(f'SELECT count(*) FROM "{store.schema}".customers').fetchone()
    assert count == 1


def test_retrying_gives_up_after_its_attempts() -> None:
    calls: list[int] = []

    def busy() -> None:
        calls.append(1)
        raise StorageBusyError("still busy")

    with pytest.raises(StorageBusyError):
        retrying(busy, attempts=3, first_delay=0.001)
    assert len(calls) == 3


class _Pool:
    """What psycopg_pool.ConnectionPool offers omnicrm: getconn and putconn."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.idle: list[Any] = []
        self.lent = 0

    def getconn(self, timeout: float | None = None) -> Any:
        self.lent += 1
        return self.idle.pop() if self.idle else psycopg.connect(self.url)

    def putconn(self, conn: Any) -> None:
        self.lent -= 1
        self.idle.append(conn)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


def test_a_hosts_pool_lends_a_connection_per_unit_of_work(pg_url: str, schema: str) -> None:
    pool = _Pool(pg_url)
    try:
        store = PostgresStore(pool, schema=schema)
        assert pool.lent == 0
        store.unit_of_work()  # borrows only when it begins
        assert pool.lent == 0
        with store.unit_of_work() as uow:
            assert pool.lent == 1
            uow.customers.add(_customer("c1"))
            uow.commit()
        assert pool.lent == 0
        with store.unit_of_work(read_only=True) as uow:
            assert uow.customers.get("c1").id == "c1"
        store.close()
        assert pool.idle
        assert not pool.idle[0].closed
    finally:
        pool.close()


def test_a_connection_factory_is_called_per_thread(pg_url: str, schema: str) -> None:
    opened: list[Any] = []

    def connect() -> Any:
        opened.append(psycopg.connect(pg_url))
        return opened[-1]

    store = PostgresStore(connect, schema=schema)
    with store.unit_of_work() as uow:
        uow.customers.add(_customer("c1"))
        uow.commit()

    def read() -> None:
        with store.unit_of_work(read_only=True) as uow:
            assert uow.customers.get("c1").id == "c1"

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert len(opened) == 2
    store.close()
    assert all(conn.closed for conn in opened)


def test_stores_opening_a_new_schema_together_migrate_it_once(pg_url: str, schema: str) -> None:
    barrier = threading.Barrier(4)
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait(10)
        opened.append(PostgresStore(pg_url, schema=schema))

    threads = [threading.Thread(target=lambda: _capture(open_one, errors)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in opened:
        store.close()
    assert errors == []
    assert len(opened) == 4
    assert all(store.schema_versions == opened[0].schema_versions for store in opened)
