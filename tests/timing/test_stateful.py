"""Any interleaving of events, duplicates, clock moves and restarts matches a reference model.

The reference is written independently and naively: per customer, the state of the
cart journey (waiting for a purchase until a deadline, or waiting to send the second
nudge) and a list of the actions it expects, processed in time order.
"""

import contextlib
import itertools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.timing import (
    Action,
    ChannelPolicy,
    CustomerContext,
    CustomerEvent,
    DueAction,
    Engine,
    Exit,
    Journey,
    Reentry,
    StaticDirectory,
    Trigger,
    Wait,
    WaitForEvent,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BUY_WITHIN = timedelta(hours=20)
SECOND_AFTER = timedelta(days=2)
CUSTOMERS = ("c1", "c2", "c3")

JOURNEY = Journey(
    id="cart",
    triggers=(Trigger(event_type="viewed"),),
    exit_on=(Trigger(event_type="unsubscribed"),),
    start="wait",
    reentry=Reentry.ALWAYS,
    steps=(
        WaitForEvent(
            id="wait",
            event_type="bought",
            timeout=relativedelta(hours=20),
            on_event="end",
            on_timeout="nudge",
        ),
        Action(id="nudge", content="cart_nudge", next="later"),
        Wait(id="later", duration=relativedelta(days=2), next="second"),
        Action(id="second", content="second_nudge", next="end"),
        Exit(id="end"),
    ),
)
DIRECTORY = StaticDirectory(
    [CustomerContext(customer_id=c, time_zone="UTC", consents={"email"}) for c in CUSTOMERS]
)

Key = tuple[str, str, datetime]
KINDS = st.sampled_from(["viewed", "viewed", "bought", "unsubscribed"])


class Reference:
    """The cart journey, written out by hand."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[str, datetime] | None] = dict.fromkeys(CUSTOMERS)
        self.seen: set[str] = set()

    def _fire(self, customer: str, until: datetime) -> list[Key]:
        out: list[Key] = []
        while (state := self.state[customer]) is not None and state[1] <= until:
            phase, at = state
            if phase == "buy":
                out.append((customer, "nudge", at))
                self.state[customer] = ("second", at + SECOND_AFTER)
            else:
                out.append((customer, "second", at))
                self.state[customer] = None
        return out

    def handle(self, event_id: str, kind: str, customer: str, at: datetime) -> list[Key]:
        if event_id in self.seen:
            return []
        self.seen.add(event_id)
        out = self._fire(customer, at)
        state = self.state[customer]
        if kind == "unsubscribed" or (kind == "bought" and state and state[0] == "buy"):
            self.state[customer] = None
        elif kind == "viewed" and state is None:
            self.state[customer] = ("buy", at + BUY_WITHIN)
        return out

    def tick(self, now: datetime) -> list[Key]:
        out: list[Key] = []
        for customer in CUSTOMERS:
            out.extend(self._fire(customer, now))
        return out


def keys(actions: tuple[DueAction, ...]) -> list[Key]:
    return sorted((a.customer_id, a.step_id, a.due_at) for a in actions)


class EngineAgainstReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="omnicrm-timing-"))
        self.store = SQLiteStore(self.folder / "crm.db")
        self.engine = self._engine()
        self.reference = Reference()
        self.now = T0
        self.count = itertools.count()
        self.events: list[tuple[str, str, str]] = []
        self.produced: list[str] = []
        self.expected: list[Key] = []
        self.got: list[Key] = []

    def _engine(self) -> Engine:
        return Engine(
            self.store,
            (JOURNEY,),
            directory=DIRECTORY,
            channels=ChannelPolicy(default_channels=("email",)),
            batch=2,
        )

    def _record(self, actions: tuple[DueAction, ...], expected: list[Key]) -> None:
        assert keys(actions) == sorted(expected)
        self.produced.extend(a.action_id for a in actions)
        self.got.extend(keys(actions))
        self.expected.extend(expected)

    def _deliver(self, event_id: str, kind: str, customer: str) -> None:
        self.events.append((event_id, kind, customer))
        event = CustomerEvent(
            event_id=event_id, event_type=kind, customer_id=customer, occurred_at=self.now
        )
        expected = self.reference.handle(event_id, kind, customer, self.now)
        self._record(self.engine.handle(event), expected)

    @rule(kind=KINDS, customer=st.sampled_from(CUSTOMERS), minutes=st.integers(0, 30 * 60))
    def event(self, kind: str, customer: str, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self._deliver(f"e{next(self.count)}", kind, customer)

    @rule(kind=KINDS, customer=st.sampled_from(CUSTOMERS), minutes=st.integers(0, 30 * 60))
    def event_after_a_crash(self, kind: str, customer: str, minutes: int) -> None:
        """The first delivery dies before its commit; the process restarts; it comes again."""
        self.now += timedelta(minutes=minutes)
        event_id = f"e{next(self.count)}"
        with contextlib.suppress(RuntimeError), self.store.unit_of_work() as uow:
            uow.timing_events.add(event_id, self.now)  # type: ignore[attr-defined]
            raise RuntimeError("the process died here")
        self.restart()
        self._deliver(event_id, kind, customer)

    @precondition(lambda self: bool(self.events))
    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        event_id, kind, customer = data.draw(st.sampled_from(self.events))
        event = CustomerEvent(
            event_id=event_id, event_type=kind, customer_id=customer, occurred_at=self.now
        )
        assert self.reference.handle(event_id, kind, customer, self.now) == []
        assert self.engine.handle(event) == ()

    @rule(hours=st.integers(0, 72))
    def tick(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self._record(self.engine.tick(self.now), self.reference.tick(self.now))

    @rule()
    def restart(self) -> None:
        self.store.close()
        self.store = SQLiteStore(self.folder / "crm.db")
        self.engine = self._engine()

    @invariant()
    def nothing_twice_nothing_lost(self) -> None:
        assert len(self.produced) == len(set(self.produced))
        assert sorted(self.got) == sorted(self.expected)

    def teardown(self) -> None:
        self.store.close()


EngineAgainstReference.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineAgainstReference = EngineAgainstReference.TestCase
