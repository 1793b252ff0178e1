"""Entering a customer in no journey yet, in one call, agrees with entering one by one."""

from datetime import timedelta

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.testing.strategies_timing import (
    customer_contexts,
    customer_events,
    durations,
    journeys,
)
from omnicrm.timing import (
    CustomerContext,
    CustomerEvent,
    Engine,
    Facts,
    Journey,
    Trigger,
    Wait,
)

from .test_handle_many import _engine

_TYPES = ("plan_searched", "booking_made")
_CUSTOMERS = ("c1", "c2", "c3", "c4", "c5", "c6")


@st.composite
def windowed(draw: st.DrawFn, journey_id: str) -> Journey:
    journey = draw(journeys(journey_id))
    event = draw(customer_events())
    start = event.occurred_at + timedelta(days=draw(st.integers(-200, 200)))
    window = draw(st.sampled_from(["none", "none", "none", "starts", "ends", "both"]))
    kind = draw(st.sampled_from(_TYPES))  # two event types: several journeys per event
    conditions = draw(st.sampled_from([(), (), (), journey.triggers[0].conditions]))
    trigger = Trigger(event_type=kind, conditions=conditions)
    if draw(st.integers(0, 3)):  # most start with a wait: the journeys entered in one call
        wait = Wait(id="w0", duration=draw(durations()), next=journey.start)
        journey = attrs.evolve(journey, steps=(wait, *journey.steps), start="w0")
    return attrs.evolve(
        journey,
        triggers=(trigger,),
        exclusive=draw(st.booleans()) and draw(st.booleans()),  # one in four
        starts_at=start if window in ("starts", "both") else None,
        ends_at=start + timedelta(days=100) if window in ("ends", "both") else None,
    )


def _state(engine: Engine) -> tuple[object, ...]:
    history = engine.history()
    with engine._uow() as uow:
        repo = uow.timing_enrollments
        positions = [tuple(repo.for_customer(c)) for c in _CUSTOMERS]
        due = tuple(repo.due(history.entries[-1].at + timedelta(days=9999), 1000))
    return history, positions, due


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(*(windowed(f"j{i}") for i in range(1, 5))),
    st.lists(customer_events(_CUSTOMERS), min_size=1, max_size=8, unique_by=lambda e: e.event_id),
    st.lists(customer_contexts(), min_size=6, max_size=6),
)
def test_handle_enters_as_the_one_by_one_step_machine_does(
    found: tuple[Journey, ...], events: list[CustomerEvent], drawn: list[CustomerContext]
) -> None:
    contexts = [attrs.evolve(c, customer_id=f"c{i + 1}") for i, c in enumerate(drawn)]
    fast, slow = _engine(list(found), contexts), _engine(list(found), contexts)
    runner = slow._runner
    events = sorted(
        (attrs.evolve(e, event_type=_TYPES[i % 2]) for i, e in enumerate(events)),
        key=lambda e: e.occurred_at,
    )
    for event in events:
        fast.handle(event)
        ctx = slow.directory.context(event.customer_id)
        with slow._uow() as uow:  # the general path: each journey through Runner._enter
            assert uow.timing_events.add(event.event_id, event.occurred_at)
            out: list[object] = []
            positions = uow.timing_enrollments.for_customer(event.customer_id)
            if positions:
                runner.handle(uow, event, ctx)
            else:
                facts = Facts(event.properties, ctx.profile, ctx.segment)
                for journey_id in slow.dispatch.matching(event.event_type, facts):
                    compiled = slow.dispatch.by_id[journey_id]
                    if (
                        runner._enter(uow, compiled, ctx, event.occurred_at, event.properties, out)  # type: ignore[arg-type]
                        and compiled.journey.exclusive
                    ):
                        break
            uow.commit()
    if fast.history().entries or slow.history().entries:
        assert _state(fast) == _state(slow)
