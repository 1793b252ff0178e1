"""The timing storage contract for customer merge, unmerge and erasure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts._timing_fixtures import T0, make_engine, make_event
from omnicrm.timing import Engine, Enrollment, TimingUnitOfWork
from omnicrm.unit_of_work import Store

__all__ = ["TimingMergeContract", "timing_snapshot"]

_CUSTOMERS = ("c1", "c2", "c3")


def timing_snapshot(store: Store, customers: tuple[str, ...] = _CUSTOMERS) -> dict[str, Any]:
    """Return every stored timing fact about ``customers`` (read in a rolled-back unit)."""
    uow: TimingUnitOfWork
    with store.unit_of_work() as uow:  # type: ignore[assignment]
        far, since = T0 + timedelta(days=3650), T0 - timedelta(days=1)
        return {
            "positions": {c: tuple(uow.timing_enrollments.for_customer(c)) for c in customers},
            "entries": {c: tuple(uow.timing_entries.for_customer(c)) for c in customers},
            "actions": {c: tuple(uow.timing_actions.for_customer(c)) for c in customers},
            "sends": {c: sorted(uow.timing_actions.sends(c, since)) for c in customers},
            "all_entries": tuple(uow.timing_entries.all()),
            "all_actions": tuple(uow.timing_actions.all()),
            "outcomes": tuple(uow.timing_outcomes.all()),
            "active": uow.timing_enrollments.count_active(),
            "due": tuple(uow.timing_enrollments.due(far, 10_000)),
        }


_STEP = st.tuples(
    st.sampled_from(("viewed", "signed_up", "bought", "tick", "outcome")),
    st.sampled_from(_CUSTOMERS[:2]),
    st.integers(min_value=0, max_value=80),  # hours after the previous step
)


def _play(engine: Engine, steps: list[tuple[str, str, int]], prefix: str = "e") -> None:
    at = T0
    for i, (kind, customer, hours) in enumerate(steps):
        at += timedelta(hours=hours)
        if kind == "tick":
            engine.tick(at)
        elif kind == "outcome":
            for action in engine.unacknowledged()[:1]:
                engine.record_outcome(action.action_id, "failed", at)
        else:
            engine.handle(make_event(f"{prefix}{i}", kind, customer, at))


def _position(store: Store, customer: str, journey: str) -> Enrollment | None:
    uow: TimingUnitOfWork
    with store.unit_of_work() as uow:  # type: ignore[assignment]
        return uow.timing_enrollments.get(customer, journey)


class TimingMergeContract(StoreContract):
    """Merge, unmerge and erasure of a customer's journey state."""

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(_STEP, max_size=10))
    def test_merge_then_unmerge_restores_everything(
        self, store_factory: StoreFactory, steps: list[tuple[str, str, int]]
    ) -> None:
        store = store_factory()
        try:
            engine = make_engine(store)
            _play(engine, steps)
            before = timing_snapshot(store)
            assert engine.merge_customers("c1", "c2", key="m1") is True
            merged = timing_snapshot(store)
            assert merged["positions"]["c2"] == merged["entries"]["c2"] == ()
            assert merged["actions"]["c2"] == ()
            assert {a.action_id for a in merged["all_actions"]} == {
                a.action_id for a in before["all_actions"]
            }
            assert len(merged["all_entries"]) == len(before["all_entries"])
            assert merged["outcomes"] == before["outcomes"]
            assert engine.merge_customers("c1", "c2", key="m1") is False  # a repeat: no-op
            assert engine.merge_customers("c1", "c2") is False
            assert timing_snapshot(store) == merged
            assert engine.unmerge_customers("c1", "c2") is True
            assert timing_snapshot(store) == before
            assert engine.unmerge_customers("c1", "c2") is False
            assert engine.merge_customers("c1", "c2", key="m1") is False  # key remembered
        finally:
            store.close()

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(_STEP, max_size=8), later=st.lists(_STEP, max_size=6))
    def test_after_a_merge_no_action_is_lost_or_sent_twice(
        self,
        store_factory: StoreFactory,
        steps: list[tuple[str, str, int]],
        later: list[tuple[str, str, int]],
    ) -> None:
        store = store_factory()
        try:
            engine = make_engine(store)
            _play(engine, steps)
            engine.merge_customers("c1", "c2")
            _play(engine, [(k, "c1", h) for k, _, h in later], prefix="b")
            engine.tick(T0 + timedelta(days=60))
            history = engine.history()
            ids = [a.action_id for a in history.actions]
            assert len(ids) == len(set(ids))
            assert engine.active_positions() == 0  # every wait was resumed
            keys = [(e.customer_id, e.journey_id, e.run) for e in history.entries]
            assert len(keys) == len(set(keys))
        finally:
            store.close()

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        steps=st.lists(_STEP, max_size=8),
        between=st.lists(_STEP, max_size=6),
        after=st.lists(_STEP, max_size=6),
    )
    def test_unmerge_after_more_activity_keeps_runs_and_ids_apart(
        self,
        store_factory: StoreFactory,
        steps: list[tuple[str, str, int]],
        between: list[tuple[str, str, int]],
        after: list[tuple[str, str, int]],
    ) -> None:
        store = store_factory()
        try:
            engine = make_engine(store)
            _play(engine, steps)
            engine.merge_customers("c1", "c2")
            _play(engine, [(k, "c1", h) for k, _, h in between], prefix="b")
            engine.unmerge_customers("c1", "c2")
            _play(engine, after, prefix="a")
            engine.tick(T0 + timedelta(days=90))
            history = engine.history()
            ids = [a.action_id for a in history.actions]
            assert len(ids) == len(set(ids))
            keys = [(e.customer_id, e.journey_id, e.run) for e in history.entries]
            assert len(keys) == len(set(keys))
            assert engine.active_positions() == 0
        finally:
            store.close()

    def test_conflict_keeps_the_earlier_active_position(self, store: Store) -> None:
        engine = make_engine(store)
        engine.handle(make_event("e1", "viewed", "c2", T0))
        engine.handle(make_event("e2", "viewed", "c1", T0 + timedelta(hours=1)))
        engine.merge_customers("c1", "c2")
        kept = _position(store, "c1", "cart")
        assert kept is not None
        assert (kept.active, kept.entered_at, kept.run) == (True, T0, 2)
        assert _position(store, "c2", "cart") is None
        assert engine.active_positions() == 1
        due = engine.tick(T0 + timedelta(hours=21))
        assert [(a.customer_id, a.step_id, a.run) for a in due] == [("c1", "nudge", 2)]

    def test_ended_positions_keep_the_later_entry(self, store: Store) -> None:
        engine = make_engine(store)
        engine.handle(make_event("e1", "signed_up", "c1", T0))
        engine.handle(make_event("e2", "signed_up", "c2", T0 + timedelta(hours=1)))
        engine.merge_customers("c1", "c2")
        kept = _position(store, "c1", "welcome")
        assert kept is not None
        assert kept.entered_at == T0 + timedelta(hours=1)
        assert [e.run for e in engine.history().entries] == [1, 2]

    def test_erasure_leaves_nothing_and_a_later_event_starts_fresh(self, store: Store) -> None:
        engine = make_engine(store)
        engine.handle(make_event("e1", "viewed", "c1", T0))
        engine.handle(make_event("e2", "viewed", "c2", T0))
        engine.tick(T0 + timedelta(hours=21))
        (action,) = [a for a in engine.unacknowledged() if a.customer_id == "c1"]
        engine.record_outcome(action.action_id, "sent", T0 + timedelta(hours=21))
        engine.merge_customers("c3", "c1")
        other = timing_snapshot(store, ("c2",))
        assert engine.forget_customer("c3") > 0
        gone = timing_snapshot(store, ("c1", "c3"))
        assert all(not v for k in ("positions", "entries", "actions", "sends")
                   for v in gone[k].values())  # fmt: skip
        assert gone["outcomes"] == ()
        assert all(x.customer_id == "c2" for x in (*gone["all_entries"], *gone["all_actions"]))
        mine = ("positions", "entries", "actions", "sends")
        assert {k: timing_snapshot(store, ("c2",))[k] for k in mine} == {k: other[k] for k in mine}
        assert engine.unmerge_customers("c3", "c1") is False  # the merge record went too
        assert engine.forget_customer("c3") == 0
        engine.handle(make_event("e3", "viewed", "c3", T0 + timedelta(days=1)))
        fresh = _position(store, "c3", "cart")
        assert fresh is not None
        assert fresh.run == 1

    def test_a_failed_merge_writes_nothing(self, store: Store) -> None:
        engine = make_engine(store)
        engine.handle(make_event("e1", "viewed", "c2", T0))
        before = timing_snapshot(store)
        uow: TimingUnitOfWork
        with store.unit_of_work() as uow:  # type: ignore[assignment]
            from omnicrm.timing import _merging

            _merging.merge(uow, "c1", "c2", None)
            # no commit: rolled back
        assert timing_snapshot(store) == before
