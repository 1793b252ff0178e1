"""A stateful test running the same engine calls on a backend and on the in-memory reference.

Events (some delivered twice), clock ticks, outcomes, customer merges, unmerges and
erasures, and restarts (a durable backend is reopened and a new engine built on it) run
on both; every call must return the same answer and both histories must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omnicrm.errors import OmniCRMError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.contracts._timing_fixtures import (
    T0,
    fresh_directory,
    make_engine,
    make_event,
)
from omnicrm.timing import Engine
from omnicrm.unit_of_work import Store

__all__ = ["TimingStoreComparison"]

_KINDS = st.sampled_from(["viewed", "viewed", "bought", "signed_up", "unsubscribed"])
_CUSTOMERS = st.sampled_from(["c1", "c2", "c3"])


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except OmniCRMError as exc:
        return ("error", type(exc).__name__)


class TimingStoreComparison(RuleBasedStateMachine):
    """Runs each engine call on ``store`` and on a :class:`MemoryStore`; they must agree."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        # one directory per store: an erasure drops the customer's context from it, and a
        # restarted engine must see the same
        self.directory, self.reference_directory = fresh_directory(), fresh_directory()
        self.engine = make_engine(store, self.directory)
        self.reference = make_engine(MemoryStore(), self.reference_directory)
        self.now = T0
        self.events = 0
        self.sent: list[str] = []

    def _both(self, call: Callable[[Engine], Any]) -> Any:
        ours = _outcome(lambda: call(self.engine))
        theirs = _outcome(lambda: call(self.reference))
        assert ours == theirs, f"backend {ours!r} != reference {theirs!r}"
        return ours[1] if ours[0] == "ok" else None

    def _at(self) -> datetime:
        return self.now

    @rule(kind=_KINDS, customer=_CUSTOMERS, minutes=st.integers(0, 600))
    def event(self, kind: str, customer: str, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.events += 1
        event = make_event(f"e{self.events}", kind, customer, self.now)
        actions = self._both(lambda e: e.handle(event))
        self.sent.extend(a.action_id for a in actions or ())

    @precondition(lambda self: self.events > 0)
    @rule(back=st.integers(0, 5), customer=_CUSTOMERS, kind=_KINDS)
    def duplicate(self, back: int, customer: str, kind: str) -> None:
        number = max(self.events - back, 1)
        event = make_event(f"e{number}", kind, customer, self.now)
        assert self._both(lambda e: e.handle(event)) == ()

    @rule(hours=st.integers(0, 80))
    def tick(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        now = self.now
        actions = self._both(lambda e: e.tick(now))
        self.sent.extend(a.action_id for a in actions or ())

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data(), kind=st.sampled_from(["failed", "delivered", "converted"]))
    def outcome(self, data: st.DataObject, kind: str) -> None:
        action_id = data.draw(st.sampled_from(self.sent))
        now = self.now
        actions = self._both(lambda e: e.record_outcome(action_id, kind, now))
        self.sent.extend(a.action_id for a in actions or ())

    @rule(survivor=_CUSTOMERS, absorbed=_CUSTOMERS, key=st.sampled_from([None, "k1", "k2"]))
    def merge(self, survivor: str, absorbed: str, key: str | None) -> None:
        self._both(lambda e: e.merge_customers(survivor, absorbed, key=key))

    @rule(survivor=_CUSTOMERS, absorbed=_CUSTOMERS)
    def unmerge(self, survivor: str, absorbed: str) -> None:
        self._both(lambda e: e.unmerge_customers(survivor, absorbed))

    @rule(customer=_CUSTOMERS)
    def forget(self, customer: str) -> None:
        self._both(lambda e: e.forget_customer(customer))
        # an erased customer's later action at the very same instant may reuse an id
        kept = {a.action_id for a in self.reference.history().actions}
        self.sent = [a for a in self.sent if a in kept]

    @rule()
    def restart(self) -> None:
        reopen: Callable[[], Store] | None = getattr(self.store, "reopen", None)
        if reopen is None:
            self.engine = make_engine(self.store, self.directory)
            return
        old = self.store
        self.store = reopen()
        old.close()
        self.engine = make_engine(self.store, self.directory)

    @invariant()
    def no_action_twice(self) -> None:
        assert len(self.sent) == len(set(self.sent))

    @invariant()
    def same_history(self) -> None:
        ours, theirs = self.engine.history(), self.reference.history()
        assert ours == theirs

    def teardown(self) -> None:
        self.store.close()
