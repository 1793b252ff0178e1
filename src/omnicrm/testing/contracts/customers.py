"""The customers repository contract: what every backend must do with profiles."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.errors import (
    ConcurrencyError,
    DuplicateError,
    NotFoundError,
    OmniCRMError,
    StateError,
)
from omnicrm.idempotency import REDACTED, IdempotencyRecord
from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts.customers_machine import CustomerStoreComparison
from omnicrm.unit_of_work import Capability, Store

__all__ = ["CustomerRepositoryContract"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _customer(customer_id: str, at: datetime = T0, **profile: Any) -> Customer:
    return Customer(id=customer_id, created_at=at, updated_at=at, profile=Profile(**profile))


def _add(store: Store, *customers: Customer) -> list[Customer]:
    with store.unit_of_work() as uow:
        stored = [uow.customers.add(c) for c in customers]
        uow.commit()
    return stored


def _race(store: Store, customer_id: str, name: str, barrier: Any) -> str:
    """Read the customer, wait for the rival, then try to rename it. Returns the outcome."""
    with store.unit_of_work() as uow:
        current = uow.customers.get(customer_id)
    barrier.wait(timeout=30)
    changed = attrs.evolve(current, profile=attrs.evolve(current.profile, family_name=name))
    try:
        with store.unit_of_work() as uow:
            uow.customers.update(changed)
            uow.commit()
    except ConcurrencyError:
        return "conflict"
    return "ok"


def _race_in_process(store: Store, customer_id: str, name: str, barrier: Any, out: Any) -> None:
    out.put((name, _race(store, customer_id, name, barrier)))


def _assert_one_winner(store: Store, outcomes: dict[str, str]) -> None:
    """Exactly one racer saved; the stored profile is the winner's, at version 2."""
    assert sorted(outcomes.values()) == ["conflict", "ok"]
    winner = next(n for n, o in outcomes.items() if o == "ok")
    with store.unit_of_work() as uow:
        final = uow.customers.get("c1")
    assert (final.profile.family_name, final.version) == (winner, 2)


class CustomerRepositoryContract(StoreContract):
    """Every behaviour of :class:`~omnicrm.customers.ports.CustomerRepository`."""

    def test_add_then_get_returns_version_one(self, store: Store) -> None:
        key = IdentifierKey.email("hanako@example.jp")
        (stored,) = _add(store, _customer("c1", family_name="山田", identifiers={key}))
        assert stored.version == 1
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == stored

    def test_text_is_stored_verbatim(self, store: Store) -> None:
        name = "Robert'); DROP TABLE customers;-- 髙橋 ｶﾀｶﾅ"
        _add(store, _customer("c1", family_name=name, attributes={"note": '"; --'}))
        with store.unit_of_work() as uow:
            got = uow.customers.get("c1")
        assert got.profile.family_name == name
        assert got.profile.attributes == {"note": '"; --'}

    def test_add_existing_id_is_a_duplicate(self, store: Store) -> None:
        _add(store, _customer("c1"))
        with pytest.raises(DuplicateError), store.unit_of_work() as uow:
            uow.customers.add(_customer("c1"))

    def test_get_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError), store.unit_of_work() as uow:
            uow.customers.get("nobody")

    def test_get_many_returns_only_existing(self, store: Store) -> None:
        _add(store, _customer("a"), _customer("b"))
        with store.unit_of_work() as uow:
            found = uow.customers.get_many(["b", "zz", "a"])
        assert sorted(found) == ["a", "b"]
        assert found["a"].id == "a"

    def test_get_many_handles_large_batches(self, store: Store) -> None:
        _add(store, *(_customer(f"c{i:04d}") for i in range(1200)))
        with store.unit_of_work() as uow:
            found = uow.customers.get_many(f"c{i:04d}" for i in range(0, 2400, 2))
        assert len(found) == 600

    def test_find_by_identifier_returns_every_holder(self, store: Store) -> None:
        phone = IdentifierKey.phone("09012345678")
        card = IdentifierKey.member_card("M-1")
        _add(
            store,
            _customer("mother", identifiers={phone, card}),
            _customer("son", identifiers={phone}),
            _customer("other"),
        )
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find_by_identifier(phone)] == ["mother", "son"]
            assert [c.id for c in uow.customers.find_by_identifier(card)] == ["mother"]
            assert uow.customers.find_by_identifier(IdentifierKey.email("x@y.z")) == ()

    def test_external_ids_are_per_channel(self, store: Store) -> None:
        ec, app = IdentifierKey.external("ec", "42"), IdentifierKey.external("app", "42")
        _add(store, _customer("c1", identifiers={ec}))
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find_by_identifier(ec)] == ["c1"]
            assert uow.customers.find_by_identifier(app) == ()

    def test_update_bumps_version_and_reindexes(self, store: Store) -> None:
        old, new = IdentifierKey.email("old@example.jp"), IdentifierKey.email("new@example.jp")
        (stored,) = _add(store, _customer("c1", identifiers={old}))
        changed = attrs.evolve(
            stored,
            updated_at=T0 + timedelta(hours=1),
            profile=attrs.evolve(stored.profile, identifiers={new}),
        )
        with store.unit_of_work() as uow:
            updated = uow.customers.update(changed)
            uow.commit()
        assert updated.version == 2
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1") == updated
            assert uow.customers.find_by_identifier(old) == ()
            assert [c.id for c in uow.customers.find_by_identifier(new)] == ["c1"]

    def test_stale_version_is_a_conflict_and_changes_nothing(self, store: Store) -> None:
        (stored,) = _add(store, _customer("c1", family_name="A"))
        with store.unit_of_work() as uow:
            uow.customers.update(stored)
            uow.commit()
        stale = attrs.evolve(stored, profile=Profile(family_name="B"))
        with pytest.raises(ConcurrencyError) as caught, store.unit_of_work() as uow:
            uow.customers.update(stale)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        with store.unit_of_work() as uow:
            assert uow.customers.get("c1").profile.family_name == "A"

    def test_update_missing_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError), store.unit_of_work() as uow:
            uow.customers.update(attrs.evolve(_customer("ghost"), version=1))

    def test_rolled_back_unit_of_work_leaves_nothing(self, store: Store) -> None:
        key = IdentifierKey.email("gone@example.jp")
        (kept,) = _add(store, _customer("kept", family_name="A"))
        with store.unit_of_work() as uow:
            uow.customers.add(_customer("gone", identifiers={key}))
            uow.customers.update(attrs.evolve(kept, profile=Profile(family_name="B")))
            uow.rollback()
        with pytest.raises(RuntimeError), store.unit_of_work() as uow:
            uow.customers.add(_customer("also-gone", identifiers={key}))
            raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            assert uow.customers.get_many(["gone", "also-gone"]) == {}
            assert uow.customers.find_by_identifier(key) == ()
            assert uow.customers.get("kept") == kept

    def test_leaving_without_commit_rolls_back(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            uow.customers.add(_customer("c1"))
        with store.unit_of_work() as uow:
            assert uow.customers.get_many(["c1"]) == {}

    def test_unit_of_work_is_single_use(self, store: Store) -> None:
        uow = store.unit_of_work()
        with uow:
            uow.customers.add(_customer("c1"))
            uow.commit()
        with pytest.raises(StateError):
            uow.customers.get("c1")
        with pytest.raises(StateError), uow:
            pass

    def test_read_only_unit_of_work_reads_and_keeps_nothing(self, store: Store) -> None:
        (stored,) = _add(store, _customer("c1", family_name="A"))
        with store.unit_of_work(read_only=True) as uow:
            assert uow.customers.get("c1") == stored
            with contextlib.suppress(OmniCRMError):  # a backend may refuse it at once
                uow.customers.add(_customer("c2"))
            with pytest.raises(StateError):
                uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get_many(["c2"]) == {}
            uow.customers.add(_customer("c3"))  # the store still takes writes
            uow.commit()

    def test_idempotency_records_keep_their_subject_and_redact_by_it(self, store: Store) -> None:
        def record(key: str, subject: str | None) -> IdempotencyRecord:
            return IdempotencyRecord(scope="s", key=key, fingerprint="f", result=f"r-{key}",
                                     created_at=T0, subject=subject)  # fmt: skip

        with store.unit_of_work() as uow:
            for key, subject in (("k1", "c1"), ("k2", "c1"), ("k3", "c2"), ("k4", None)):
                uow.idempotency.add(record(key, subject))
            with pytest.raises(DuplicateError):
                uow.idempotency.add(record("k1", None))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get("s", "k1") == record("k1", "c1")
            assert uow.idempotency.redact("c1") == 2
            assert uow.idempotency.redact("nobody") == 0
            uow.commit()
        with store.unit_of_work(read_only=True) as uow:
            for key in ("k1", "k2"):
                gone = uow.idempotency.get("s", key)
                assert gone is not None
                assert gone.redacted
                assert (gone.result, gone.subject) == (REDACTED, "c1")
            assert uow.idempotency.get("s", "k3") == record("k3", "c2")
            assert uow.idempotency.get("s", "k4") == record("k4", None)

    def test_changed_since_pages_in_order(self, store: Store) -> None:
        _add(
            store,
            *(_customer(f"c{i}", at=T0 + timedelta(minutes=i // 2)) for i in range(6)),
        )
        with store.unit_of_work() as uow:
            repo = uow.customers
            assert [c.id for c in repo.changed_since(T0 + timedelta(minutes=1))] == [
                "c2",
                "c3",
                "c4",
                "c5",
            ]
            first = repo.changed_since(T0, limit=3)
            assert [c.id for c in first] == ["c0", "c1", "c2"]
            last = first[-1]
            rest = repo.changed_since(last.updated_at, after_id=last.id, limit=10)
            assert [c.id for c in rest] == ["c3", "c4", "c5"]
            assert len(repo.changed_since(T0.astimezone(ZoneInfo("Asia/Tokyo")))) == 6

    def test_committed_data_survives_reopening(self, store: Store) -> None:
        self.require(store, Capability.DURABLE)
        (stored,) = _add(store, _customer("c1", family_name="保存"))
        reopen: Callable[[], Store] | None = getattr(store, "reopen", None)
        if reopen is None:
            pytest.skip("the store offers no reopen() to test durability with")
        again = reopen()
        try:
            with again.unit_of_work() as uow:
                assert uow.customers.get("c1") == stored
        finally:
            again.close()

    def test_two_threads_racing_one_wins_one_conflicts(self, store: Store) -> None:
        self.require(store, Capability.THREADS)
        _add(store, _customer("c1", family_name="start"))
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def run(name: str) -> None:
            outcomes[name] = _race(store, "c1", name, barrier)

        threads = [threading.Thread(target=run, args=(n,)) for n in ("left", "right")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        _assert_one_winner(store, outcomes)

    def test_two_processes_racing_one_wins_one_conflicts(self, store: Store) -> None:
        self.require(store, Capability.PROCESSES)
        _add(store, _customer("c1", family_name="start"))
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_race_in_process, args=(store, "c1", n, barrier, out))
            for n in ("left", "right")
        ]
        for p in procs:
            p.start()
        outcomes = dict(out.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        _assert_one_winner(store, outcomes)

    def test_agrees_with_the_reference_under_any_sequence(
        self, store_factory: StoreFactory
    ) -> None:
        run_state_machine_as_test(
            lambda: CustomerStoreComparison(store_factory()),  # type: ignore[arg-type]
            settings=settings(
                max_examples=25,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
