"""The timing storage contract: repositories and exactly-once engine behaviour."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from omnicrm.errors import ConcurrencyError, DuplicateError
from omnicrm.testing.contracts._base import StoreFactory
from omnicrm.testing.contracts._timing_fixtures import T0, fresh_directory, make_engine, make_event
from omnicrm.testing.contracts.timing_machine import TimingStoreComparison
from omnicrm.testing.contracts.timing_merge import TimingMergeContract
from omnicrm.timing import (
    ActionStatus,
    CustomerContext,
    DueAction,
    Enrollment,
    EntryRecord,
    Outcome,
    TimingUnitOfWork,
)
from omnicrm.unit_of_work import Capability, Store

__all__ = ["TimingRepositoryContract"]


def _uow(store: Store) -> TimingUnitOfWork:
    return store.unit_of_work()  # type: ignore[return-value]


def _position(customer: str, journey: str, minutes: int | None, **kw: Any) -> Enrollment:
    due = None if minutes is None else T0 + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "customer_id": customer,
        "journey_id": journey,
        "run": 1,
        "step_id": "s1",
        "active": True,
        "entered_at": T0,
        "due_at": due,
        "facts": {"departure_date": "2026-05-01", "note": "O'Brien; DROP TABLE"},
    }
    fields.update(kw)
    return Enrollment(**fields)


def _action(action_id: str, customer: str, minutes: int, **kw: Any) -> DueAction:
    fields: dict[str, Any] = {
        "action_id": action_id,
        "customer_id": customer,
        "journey_id": "j",
        "step_id": "s",
        "channel": "push",
        "fallbacks": ("email",),
        "due_at": T0 + timedelta(minutes=minutes),
        "reasons": ("because", "理由"),
    }
    fields.update(kw)
    return DueAction(**fields)


def _put(store: Store, *positions: Enrollment) -> list[Enrollment]:
    with _uow(store) as uow:
        stored = [uow.timing_enrollments.put(p) for p in positions]
        uow.commit()
    return stored


def _handle_in_process(store: Store, event_id: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    engine = make_engine(store)
    actions = engine.handle(make_event(event_id, "signed_up", "c1", T0))
    out.put([a.action_id for a in actions])


def _tick_in_process(store: Store, barrier: Any, out: Any) -> None:
    barrier.wait()
    actions = make_engine(store).tick(T0 + timedelta(days=4))
    out.put([a.action_id for a in actions])


def _refuse_c3(customer_id: str) -> CustomerContext:
    if customer_id == "c3":
        raise LookupError(customer_id)
    return fresh_directory().context(customer_id)


class TimingRepositoryContract(TimingMergeContract):
    """Every behaviour the timing engine relies on from its repositories (merges too)."""

    def test_event_ids_are_remembered_once(self, store: Store) -> None:
        with _uow(store) as uow:
            assert uow.timing_events.add("e1", T0) is True
            assert uow.timing_events.add("e1", T0) is False
            uow.commit()
        with _uow(store) as uow:
            assert uow.timing_events.add("e1", T0) is False

    def test_rolled_back_event_id_is_forgotten(self, store: Store) -> None:
        with _uow(store) as uow:
            uow.timing_events.add("e1", T0)
        with _uow(store) as uow:
            assert uow.timing_events.add("e1", T0) is True

    def test_position_round_trip_and_versions(self, store: Store) -> None:
        (stored,) = _put(store, _position("c1", "j1", 5))
        assert stored.version == 1
        with _uow(store) as uow:
            assert uow.timing_enrollments.get("c1", "j1") == stored
            assert uow.timing_enrollments.get("c1", "nope") is None
            again = uow.timing_enrollments.put(stored)
            assert again.version == 2
            with pytest.raises(ConcurrencyError):
                uow.timing_enrollments.put(stored)
            uow.commit()

    def test_new_position_over_an_existing_one_conflicts(self, store: Store) -> None:
        _put(store, _position("c1", "j1", 5))
        with _uow(store) as uow, pytest.raises(ConcurrencyError):
            uow.timing_enrollments.put(_position("c1", "j1", 9))

    def test_for_customer_lists_positions_by_journey(self, store: Store) -> None:
        _put(store, _position("c1", "jb", 5), _position("c1", "ja", None), _position("c2", "j", 1))
        with _uow(store) as uow:
            found = uow.timing_enrollments.for_customer("c1")
            assert [p.journey_id for p in found] == ["ja", "jb"]
            assert uow.timing_enrollments.for_customer("c9") == ()

    def test_due_is_ordered_limited_and_skips_inactive(self, store: Store) -> None:
        _put(
            store,
            _position("c2", "j", 3),
            _position("c1", "j", 3),
            _position("c1", "k", 1),
            _position("c3", "j", 2, active=False),
            _position("c4", "j", 50),
            _position("c5", "j", None),
        )
        with _uow(store) as uow:
            repo = uow.timing_enrollments
            due = repo.due(T0 + timedelta(minutes=10), 10)
            assert [(p.customer_id, p.journey_id) for p in due] == [
                ("c1", "k"),
                ("c1", "j"),
                ("c2", "j"),
            ]
            assert len(repo.due(T0 + timedelta(minutes=10), 2)) == 2
            assert list(repo.due(T0, 10)) == []
            assert repo.count_active() == 5

    def test_due_follows_moves_and_rollbacks(self, store: Store) -> None:
        (stored,) = _put(store, _position("c1", "j", 5))
        later = T0 + timedelta(minutes=30)
        with _uow(store) as uow:
            moved = uow.timing_enrollments.put(Enrollment(**{**_fields(stored), "due_at": later}))
            assert list(uow.timing_enrollments.due(T0 + timedelta(minutes=10), 10)) == []
            assert moved.version == 2
        with _uow(store) as uow:  # rolled back: due again at +5
            due = uow.timing_enrollments.due(T0 + timedelta(minutes=10), 10)
            assert [p.version for p in due] == [1]
            again = uow.timing_enrollments.due(T0 + timedelta(minutes=10), 10)
            assert [p.version for p in again] == [1]

    def test_close_many_ends_positions_and_checks_versions(self, store: Store) -> None:
        one, two, other = _put(
            store, _position("c1", "j", 5), _position("c1", "k", 6), _position("c2", "j", 7)
        )
        with _uow(store) as uow:
            repo = uow.timing_enrollments
            repo.close_many([(one, "end"), (two, "end2")])
            assert repo.count_active() == 1
            closed = repo.get("c1", "j")
            assert closed == Enrollment(**{**_fields(one), "step_id": "end", "active": False,
                                           "due_at": None, "version": 2})  # fmt: skip
            assert [p.customer_id for p in repo.due(T0 + timedelta(hours=1), 10)] == ["c2"]
            with pytest.raises(ConcurrencyError):
                repo.close_many([(other, "end"), (one, "end")])  # ``one`` is stale now
        with _uow(store) as uow:  # all rolled back
            assert [p.version for p in uow.timing_enrollments.due(T0 + timedelta(hours=1), 10)] == [
                1, 1, 1,
            ]  # fmt: skip
            assert uow.timing_enrollments.count_active() == 3

    def test_enter_stores_positions_as_given_and_logs_their_entries(self, store: Store) -> None:
        later = T0 + timedelta(hours=1)
        rows = [  # a customer's journeys in any order, one already elsewhere
            _position("c1", "jb", 5, version=1, holdout=True),
            _position("c1", "ja", None, version=1, active=False, entered_at=later),
            _position("c2", "j", 7, version=3, run=2),
        ]
        with _uow(store) as uow:
            uow.timing_enrollments.enter(rows[:2])
            uow.timing_enrollments.enter(rows[2:])
            uow.commit()
        with _uow(store) as uow:
            repo = uow.timing_enrollments
            assert list(repo.for_customer("c1")) == [rows[1], rows[0]]  # by journey, as given
            assert repo.get("c2", "j") == rows[2]
            assert repo.count_active() == 2
            assert [(p.customer_id, p.journey_id) for p in repo.due(later, 10)] == [
                ("c1", "jb"), ("c2", "j"),
            ]  # fmt: skip
            assert list(uow.timing_entries.all()) == [
                EntryRecord(customer_id="c1", journey_id="jb", run=1, at=T0, holdout=True),
                EntryRecord(customer_id="c2", journey_id="j", run=2, at=T0),
                EntryRecord(customer_id="c1", journey_id="ja", run=1, at=later),
            ]
            repo.enter([])  # nothing to do

    def test_enter_over_an_existing_position_raises_and_rolls_back(self, store: Store) -> None:
        _put(store, _position("c1", "j", 5))
        for batch in (
            [_position("c1", "k", 6, version=1), _position("c1", "j", 9, version=1)],
            [_position("c2", "j", 6, version=1), _position("c2", "j", 9, version=1)],
        ):
            with _uow(store) as uow, pytest.raises(DuplicateError):
                uow.timing_enrollments.enter(batch)
        with _uow(store) as uow:
            uow.timing_enrollments.enter([_position("c3", "j", 6, version=1)])  # rolled back
        with _uow(store) as uow:
            repo = uow.timing_enrollments
            assert [p.journey_id for p in repo.for_customer("c1")] == ["j"]
            assert repo.for_customer("c2") == ()
            assert repo.for_customer("c3") == ()
            assert repo.count_active() == 1
            assert [p.customer_id for p in repo.due(T0 + timedelta(hours=1), 10)] == ["c1"]
            assert list(uow.timing_entries.all()) == []

    def test_entries_are_listed_in_time_order(self, store: Store) -> None:
        late = EntryRecord(customer_id="c1", journey_id="j", run=2, at=T0 + timedelta(hours=1))
        entry = EntryRecord(customer_id="c1", journey_id="j", run=1, at=T0, holdout=True)
        with _uow(store) as uow:
            uow.timing_entries.add(late)
            uow.timing_entries.add(entry)
            uow.commit()
        with _uow(store) as uow:
            uow.timing_entries.add(
                EntryRecord(customer_id="c9", journey_id="j", run=1, at=T0)
            )  # rolled back
        with _uow(store) as uow:
            assert list(uow.timing_entries.all()) == [entry, late]

    def test_actions_are_stored_once_and_sends_are_indexed(self, store: Store) -> None:
        with _uow(store) as uow:
            repo = uow.timing_actions
            assert repo.add(_action("a1", "c1", 1)) is True
            assert repo.add(_action("a1", "c1", 99, channel="email")) is False
            repo.add(_action("a2", "c1", 2, status=ActionStatus.SKIPPED))
            repo.add(_action("a3", "c1", 3, channel="email"))
            repo.add(_action("a4", "c2", 4))
            uow.commit()
        with _uow(store) as uow:
            repo = uow.timing_actions
            assert repo.get("a1") == _action("a1", "c1", 1)
            assert repo.get("zz") is None
            sends = repo.sends("c1", T0)
            assert [c for _, c in sends] == ["push", "email"]
            assert [c for _, c in repo.sends("c1", T0 + timedelta(minutes=1))] == ["email"]
            assert [a.action_id for a in repo.all()] == ["a1", "a2", "a3", "a4"]

    def test_outcomes_are_stored_once_per_kind(self, store: Store) -> None:
        with _uow(store) as uow:
            repo = uow.timing_outcomes
            assert repo.add(Outcome(action_id="a1", kind="sent", at=T0)) is True
            assert repo.add(Outcome(action_id="a1", kind="sent", at=T0)) is False
            assert repo.add(Outcome(action_id="a1", kind="clicked", at=T0)) is True
            uow.commit()
        with _uow(store) as uow:
            assert [o.kind for o in uow.timing_outcomes.all()] == ["clicked", "sent"]

    def test_duplicate_event_produces_nothing_twice(self, store: Store) -> None:
        engine = make_engine(store)
        first = engine.handle(make_event("e1", "signed_up", "c1", T0))
        assert len(first) == 1
        assert engine.handle(make_event("e1", "signed_up", "c1", T0)) == ()

    def test_handle_many_is_handle_in_turn_exactly_once_and_atomic(
        self, store: Store, store_factory: StoreFactory
    ) -> None:
        hour = timedelta(hours=1)
        batch = [
            make_event("e1", "viewed", "c1", T0),
            make_event("e2", "signed_up", "c2", T0 + hour),
            make_event("e1", "viewed", "c1", T0),  # met earlier in the batch: a no-op
            make_event("e3", "viewed", "c2", T0 + 2 * hour),
            make_event("e4", "bought", "c1", T0 + 3 * hour),
        ]
        engine = make_engine(store)
        engine.handle(batch[1])  # handled before: a no-op in the batch
        actions = engine.handle_many([*batch, make_event("e5", "viewed", "c3", T0 + 4 * hour)])
        other = make_engine(store_factory())
        one_by_one = [a for e in [batch[1], *batch] for a in other.handle(e)]
        one_by_one += other.handle(make_event("e5", "viewed", "c3", T0 + 4 * hour))
        assert actions == tuple(one_by_one[1:])  # ``e2``'s welcome came before the batch
        assert engine.history() == other.history()
        assert engine.handle_many(batch) == ()
        # a failure in the batch (here a customer the directory cannot give) undoes it all
        failing = fresh_directory()
        failing.context = _refuse_c3  # type: ignore[method-assign]
        broken = make_engine(store, failing)
        with pytest.raises(LookupError):
            broken.handle_many(
                [make_event("e6", "viewed", "c1", T0 + 5 * hour),
                 make_event("e7", "viewed", "c3", T0 + 6 * hour)]
            )  # fmt: skip
        assert engine.history() == other.history()
        assert len(engine.handle(make_event("e6", "signed_up", "c2", T0 + 7 * hour))) == 1

    def test_restart_neither_duplicates_nor_loses(self, store: Store) -> None:
        self.require(store, Capability.DURABLE)
        reopen: Callable[[], Store] | None = getattr(store, "reopen", None)
        if reopen is None:
            pytest.skip("the store offers no reopen() to test durability with")
        engine = make_engine(store)
        engine.handle(make_event("e1", "viewed", "c1", T0))
        again = reopen()
        try:
            restarted = make_engine(again)
            assert restarted.handle(make_event("e1", "viewed", "c1", T0)) == ()
            due = restarted.tick(T0 + timedelta(days=1))
            assert [a.step_id for a in due] == ["nudge"]
            assert make_engine(again).tick(T0 + timedelta(days=1)) == ()
        finally:
            again.close()

    def test_threads_racing_on_one_event_send_once(self, store: Store) -> None:
        self.require(store, Capability.THREADS)
        barrier = threading.Barrier(2)
        results: list[list[str]] = []

        def run() -> None:
            engine = make_engine(store)
            barrier.wait()
            results.append(
                [a.action_id for a in engine.handle(make_event("e1", "signed_up", "c1", T0))]
            )

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(len(r) for r in results) == [0, 1]

    def test_processes_racing_on_one_event_send_once(self, store: Store) -> None:
        self.require(store, Capability.PROCESSES)
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_handle_in_process, args=(store, "e1", barrier, out))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert sorted(len(r) for r in results) == [0, 1]

    def test_processes_racing_on_tick_send_each_due_action_once(self, store: Store) -> None:
        self.require(store, Capability.PROCESSES)
        engine = make_engine(store)
        for i, customer in enumerate(("c1", "c2", "c1")):
            engine.handle(make_event(f"e{i}", "viewed", customer, T0 + timedelta(hours=i)))
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_tick_in_process, args=(store, barrier, out)) for _ in "ab"]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        merged = [a for r in results for a in r]
        assert len(merged) == len(set(merged)) > 0
        expected = make_engine(store).history().actions
        assert sorted(merged) == sorted(a.action_id for a in expected if a.status == "due")

    def test_agrees_with_the_reference_under_any_sequence(
        self, store_factory: StoreFactory
    ) -> None:
        run_state_machine_as_test(
            lambda: TimingStoreComparison(store_factory()),  # type: ignore[arg-type]
            settings=settings(
                max_examples=15,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


def _fields(position: Enrollment) -> dict[str, Any]:
    return {
        "customer_id": position.customer_id,
        "journey_id": position.journey_id,
        "run": position.run,
        "step_id": position.step_id,
        "active": position.active,
        "entered_at": position.entered_at,
        "due_at": position.due_at,
        "wait_event": position.wait_event,
        "facts": position.facts,
        "deferrals": position.deferrals,
        "holdout": position.holdout,
        "version": position.version,
    }
