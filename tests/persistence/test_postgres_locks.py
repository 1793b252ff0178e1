"""Fine-grained write locks on PostgreSQL: disjoint locks overlap, shared ones serialise.

A unit of work with ``locks`` takes the schema's lock shared and one lock per name; one
without takes the schema's lock exclusively. The tests hold one unit of work open on a
thread (no sleeps: events) and try another with a short lock timeout and no retries, so
"waits" shows up as ``StorageBusyError`` at once and "runs beside it" as a commit.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from omnicrm.channel import Channel
from omnicrm.errors import IdempotencyConflictError, StateError, StorageBusyError
from omnicrm.idempotency import run_once
from omnicrm.ids import UuidIds
from omnicrm.inventory import HoldKind, HoldLine, InsufficientStockError, InventoryService
from omnicrm.loyalty import InsufficientPointsError
from omnicrm.omni._shared import SharedStore
from omnicrm.persistence.postgres import PostgresStore
from omnicrm.testing import FixedClock
from omnicrm.testing.contracts._loyalty_kit import T0, funded, purchase, service, spend_worker
from omnicrm.testing.contracts.inventory import seed
from omnicrm.unit_of_work import Store

FUND = 100


@pytest.fixture
def store(pg_factory: Callable[[], Store]) -> PostgresStore:
    made = pg_factory()
    assert isinstance(made, PostgresStore)
    return made


@pytest.fixture
def impatient(store: PostgresStore) -> Iterator[PostgresStore]:
    """The same schema, giving up on a lock after 0.3 s, without retrying."""
    other = PostgresStore(store._source_arg, schema=store.schema, lock_timeout=0.3, retries=0)  # type: ignore[arg-type]
    yield other
    other.close()


@contextmanager
def held_open(store: PostgresStore, locks: tuple[str, ...]) -> Iterator[threading.Event]:
    """A write unit of work holding ``locks`` open on a thread until the block ends.

    Yields an event set once the thread has committed (it must not be set inside).
    """
    began, finish, done = threading.Event(), threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            with store.unit_of_work(locks=locks) as uow:
                uow.idempotency.get("probe", "x")  # a statement inside the transaction
                began.set()
                assert finish.wait(timeout=60)
                uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
            began.set()
        finally:
            done.set()

    thread = threading.Thread(target=hold)
    thread.start()
    assert began.wait(timeout=60)
    try:
        yield done
    finally:
        finish.set()
        thread.join(timeout=60)
    assert not failed, failed


def write_probe(store: PostgresStore, locks: tuple[str, ...], key: str) -> None:
    """Commit one idempotency record in a unit of work holding ``locks``."""
    from omnicrm.idempotency import IdempotencyRecord

    with store.unit_of_work(locks=locks) as uow:
        uow.idempotency.add(
            IdempotencyRecord(scope="probe", key=key, fingerprint="f", result="r", created_at=T0)
        )
        uow.commit()


def test_units_of_work_on_different_locks_overlap(
    store: PostgresStore, impatient: PostgresStore
) -> None:
    with held_open(store, ("loyalty:group:m-a",)) as done:
        write_probe(impatient, ("loyalty:group:m-b",), "b")  # commits while the other is open
        write_probe(impatient, ("inventory:shirt@s1", "timing:c1"), "c")
        assert not done.is_set()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.idempotency.get("probe", "b") is not None
        assert uow.idempotency.get("probe", "c") is not None


def test_units_of_work_on_the_same_lock_wait(
    store: PostgresStore, impatient: PostgresStore
) -> None:
    with held_open(store, ("loyalty:group:m-a", "loyalty:group:m-z")):
        with pytest.raises(StorageBusyError):
            write_probe(impatient, ("loyalty:group:m-a",), "same")
        with pytest.raises(StorageBusyError):  # one of its names is enough to wait
            write_probe(impatient, ("loyalty:group:m-b", "loyalty:group:m-z"), "overlap")
        with pytest.raises(StorageBusyError):  # no locks: it must run alone
            write_probe(impatient, (), "alone")
        with impatient.unit_of_work(read_only=True) as uow:  # readers never wait
            assert uow.idempotency.get("probe", "same") is None
    write_probe(impatient, ("loyalty:group:m-a",), "after")


def test_a_unit_of_work_without_locks_runs_alone(
    store: PostgresStore, impatient: PostgresStore
) -> None:
    with held_open(store, ()):
        with pytest.raises(StorageBusyError):
            write_probe(impatient, ("loyalty:group:m-a",), "locked")
        with pytest.raises(StorageBusyError):
            write_probe(impatient, (), "alone")


def test_lock_names_are_checked(store: PostgresStore) -> None:
    from omnicrm.errors import InvalidTypeError

    with pytest.raises(InvalidTypeError):
        store.unit_of_work(locks="loyalty:group:m")
    with pytest.raises(InvalidTypeError):
        store.unit_of_work(locks=["", "x"])
    assert store.unit_of_work(locks=["b", "a", "b"]).locks == ("a", "b")


def _run_once(uow: Any, key: str, payload: dict[str, Any], command: Callable[[], str]) -> Any:
    return run_once(
        uow, scope="s", key=key, payload=payload, now=T0, command=command, encode=str, decode=str
    )


@pytest.mark.parametrize(
    ("payload", "error"), [({"n": 2}, IdempotencyConflictError), ({"n": 1}, StorageBusyError)]
)
def test_same_key_other_locks_cannot_apply_twice(
    store: PostgresStore, payload: dict[str, Any], error: type[Exception]
) -> None:
    """Two commands with one idempotency key but other locks: the second never commits.

    Another payload is a conflict; the same one (a retry racing its first attempt) is
    busy: run again, it replays.
    """
    checked, go = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def command() -> str:
        checked.set()  # it found no record...
        assert go.wait(timeout=60)  # ...and the other commits before it writes its own
        return "late"

    def late() -> None:
        try:
            with store.unit_of_work(locks=("k:late",)) as uow:
                _run_once(uow, "k1", payload, command)
                uow.commit()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=late)
    thread.start()
    assert checked.wait(timeout=60)
    with store.unit_of_work(locks=("k:early",)) as uow:
        assert _run_once(uow, "k1", {"n": 1}, lambda: "early") == ("early", False)
        uow.commit()
    go.set()
    thread.join(timeout=60)
    assert [type(e) for e in outcome] == [error]
    with store.unit_of_work(read_only=True) as uow:
        record = uow.idempotency.get("s", "k1")
    assert record is not None
    assert record.result == "early"
    if error is StorageBusyError:
        with store.unit_of_work(locks=("k:late",)) as uow:
            assert _run_once(uow, "k1", payload, command) == ("early", True)


def test_shared_store_joined_units_stay_inside_the_outer_locks(store: PostgresStore) -> None:
    shared = SharedStore(store, lambda _event: None)
    with shared.unit_of_work(locks=["a", "b"]) as outer:
        with shared.unit_of_work(locks=["b"]):
            pass
        with shared.unit_of_work(read_only=True):
            pass
        with pytest.raises(StateError):
            shared.unit_of_work(locks=["c"])
        with pytest.raises(StateError):
            shared.unit_of_work()
        assert outer.locks == ("a", "b")
    with shared.unit_of_work(), shared.unit_of_work(locks=["c"]):  # none: anything joins
        pass


# -- the services, raced ---------------------------------------------------------------


def _spend_in_process(store: Store, name: str, members: int, seed: int, out: Any) -> None:
    out.put(spend_worker(store, name, members, 30, seed))  # type: ignore[arg-type]


def _race_spenders(store: PostgresStore, members: int, processes: int, threads: int) -> list[Any]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_spend_in_process, args=(store, f"p{n}", members, n, out))
        for n in range(processes)
    ]
    for p in procs:
        p.start()
    results: list[Any] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        done = spend_worker(store, f"t{n}", members, 30, 1000 + n)
        with lock:
            results.extend(done)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for _ in procs:
        results.extend(out.get(timeout=120))
    for t in pool:
        t.join(timeout=120)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


@pytest.mark.parametrize("members", [1, 8])
def test_spenders_in_threads_and_processes_never_overdraw(
    store: PostgresStore, members: int
) -> None:
    svc = funded(store, members, FUND)
    results = _race_spenders(store, members, processes=3, threads=3)
    assert len({key for key, *_ in results}) == len(results)  # no key applied twice
    spent: dict[str, int] = {}
    for _key, member, points, replayed in results:
        assert replayed == points  # the retry replayed the first result
        spent[member] = spent.get(member, 0) + points
    for i in range(members):
        member = f"m{i:02d}"
        assert spent.get(member, 0) <= FUND
        assert svc.balance(member, "group").available == FUND - spent.get(member, 0)
    assert sum(spent.values()) > 0


def test_one_member_hold_capture_and_spend_race(store: PostgresStore) -> None:
    """Holds, captures and spends on one member from many threads: never below zero."""
    svc = funded(store, 1, FUND)
    taken: list[int] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        worker = service(store, ids=UuidIds())
        for i in range(6):
            key = f"r{n}-{i}"
            try:
                if i % 2:
                    worker.spend("m00", "group", 7, company="acme", channel=Channel.EC,
                                 idempotency_key=key)  # fmt: skip
                    got = 7
                else:
                    hold = worker.hold("m00", "group", 9, company="acme", channel=Channel.EC,
                                       idempotency_key=key)  # fmt: skip
                    worker.capture("group", str(hold.hold_id), 5, idempotency_key=f"{key}c")
                    got = 5
            except InsufficientPointsError:
                continue
            with lock:
                taken.append(got)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert svc.balance("m00", "group").available == FUND - sum(taken) >= 0


def test_return_after_merge_takes_the_survivors_lock(store: PostgresStore) -> None:
    """A return on an order whose grants a merge moved writes the survivor's books."""
    svc = service(store)
    for member in ("m1", "m2"):
        svc.enroll(member, "group", idempotency_key=f"e-{member}")
    svc.earn("m1", "group", purchase("o1", 10_000), idempotency_key="earn")
    svc.merge_members("m2", "m1", merge_id="mg1", idempotency_key="merge")

    def total() -> int:
        balance = svc.balance("m2", "group")
        return balance.available + balance.pending

    before = total()
    assert before > 0
    receipt = svc.return_purchase("m1", "group", "o1", 10_000, idempotency_key="ret")
    assert receipt.points == before
    assert total() == 0


def _hold_units(store: Store, sku: str, tag: str, out: Any) -> None:
    service = InventoryService(store, FixedClock(T0))  # type: ignore[arg-type]
    won = []
    for n in range(4):
        try:
            result = service.hold([HoldLine(sku, "st-shibuya", 1)], kind=HoldKind.CART,
                                  channel=Channel.APP, idempotency_key=f"{tag}-{n}")  # fmt: skip
        except InsufficientStockError:
            continue
        won.append(result.value.id)
    out.put((sku, won))


def test_holds_on_two_skus_in_processes_never_oversell(store: PostgresStore) -> None:
    service = seed(store, 5)
    service.receive("pants", "st-shibuya", 3, idempotency_key="pants")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_hold_units, args=(store, sku, f"{sku}{n}", out))
        for n in range(3)
        for sku in ("shirt", "pants")
    ]
    for p in procs:
        p.start()
    won: dict[str, list[str]] = {"shirt": [], "pants": []}
    for _ in procs:
        sku, ids = out.get(timeout=120)
        won[sku].extend(ids)
    for p in procs:
        p.join(timeout=60)
    assert (len(won["shirt"]), len(won["pants"])) == (5, 3)
    for sku, units in (("shirt", 5), ("pants", 3)):
        level = service.level(sku, "st-shibuya")
        assert (level.on_hand, level.held, level.available()) == (units, units, 0)
    assert service.rebuild() == service.levels()


def test_a_kit_hold_locks_its_components_and_a_sweep_runs_alone(store: PostgresStore) -> None:
    seed(store, 2)
    InventoryService(store, FixedClock(T0)).receive("pants", "st-shibuya", 1, idempotency_key="p")
    clock = FixedClock(T0)
    cold = InventoryService(store, clock)  # its catalogue cache does not know the kit yet
    kit = cold.hold([HoldLine("setup", "st-shibuya", 1)], kind=HoldKind.CART,
                    channel=Channel.APP, expires_at=T0 + timedelta(minutes=5),
                    idempotency_key="kit")  # fmt: skip
    assert {(ln.sku, ln.quantity) for ln in kit.value.lines} == {("shirt", 1), ("pants", 1)}
    clock.advance(timedelta(minutes=10))  # the kit's hold lapses: its pants are due back
    again = cold.hold([HoldLine("pants", "st-shibuya", 1)], kind=HoldKind.CART,
                      channel=Channel.APP, idempotency_key="pants-again")  # fmt: skip
    assert again.value.lines[0].sku == "pants"
    level = cold.level("shirt", "st-shibuya")
    assert (level.on_hand, level.held) == (2, 0)  # the sweep released the kit's shirt too
    assert cold.rebuild() == cold.levels()
