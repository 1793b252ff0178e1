"""``Engine.handle_many``: each event as ``handle`` would, in one atomic unit of work."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import InvalidTypeError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.strategies_timing import customer_contexts, customer_events, journeys
from omnicrm.timing import (
    ChannelPolicy,
    CustomerContext,
    CustomerEvent,
    Engine,
    Journey,
    StaticDirectory,
    UnknownEventTypeError,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _engine(found: list[Journey], contexts: list[CustomerContext]) -> Engine:
    return Engine(
        MemoryStore(),
        found,
        directory=StaticDirectory(contexts),
        channels=ChannelPolicy(default_channels=("push", "email", "store")),
        event_types=("plan_searched", "booking_made", "review_submitted", "store_visited"),
    )


def _positions(engine: Engine) -> list[object]:
    with engine._uow() as uow:
        return [tuple(uow.timing_enrollments.for_customer(c)) for c in ("c1", "c2", "c3")]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(journeys(), min_size=1, max_size=3, unique_by=lambda j: j.id),
    st.lists(customer_events(), min_size=1, max_size=10, unique_by=lambda e: e.event_id),
    st.lists(customer_contexts(), min_size=3, max_size=3),
    st.lists(st.integers(0, 9), max_size=3),
    st.integers(1, 4),
)
def test_batches_do_what_handling_one_by_one_does(
    found: list[Journey],
    events: list[CustomerEvent],
    drawn: list[CustomerContext],
    repeats: list[int],
    size: int,
) -> None:
    contexts = [
        CustomerContext(customer_id=f"c{i + 1}", time_zone=c.time_zone, consents=c.consents)
        for i, c in enumerate(drawn)
    ]
    events = sorted(events, key=lambda e: e.occurred_at)
    events += [events[i % len(events)] for i in repeats]  # redelivered: no-ops
    one, many = _engine(found, contexts), _engine(found, contexts)
    expected = [a for e in events for a in one.handle(e)]
    got = [a for i in range(0, len(events), size) for a in many.handle_many(events[i : i + size])]
    assert got == expected
    assert many.history() == one.history()
    assert _positions(many) == _positions(one)
    assert many.tick(T0 + timedelta(days=800)) == one.tick(T0 + timedelta(days=800))


def test_a_bad_event_in_the_batch_writes_nothing() -> None:
    from omnicrm.testing.contracts._timing_fixtures import make_engine, make_event

    engine = make_engine(MemoryStore())
    good = make_event("e1", "signed_up", "c2", T0 + timedelta(hours=15))
    with pytest.raises(InvalidTypeError):
        engine.handle_many([good, "not an event"])  # type: ignore[list-item]
    with pytest.raises(UnknownEventTypeError):
        engine.handle_many([good, make_event("e2", "no_such_type", "c1", T0)])
    assert engine.history().entries == ()
    assert engine.handle_many([]) == ()
    assert len(engine.handle_many(iter([good]))) == 1
