"""Property tests: round trips, guard arithmetic and engine determinism."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.strategies_timing import (
    TIME_ZONES,
    conditions,
    customer_contexts,
    customer_events,
    frequency_caps,
    guard_policies,
    journeys,
)
from omnicrm.timing import (
    ChannelPolicy,
    Condition,
    CustomerEvent,
    Engine,
    Facts,
    FrequencyCap,
    GuardPolicy,
    Journey,
    StaticDirectory,
    journey_from_dict,
    journey_to_dict,
    load_journeys_json,
    next_allowed,
)
from omnicrm.timing.conditions import compile_all_of
from omnicrm.timing.guards import cap_exceeded

FAST = settings(max_examples=40, deadline=None)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.integers(0, 365 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))


@FAST
@given(journeys())
def test_journeys_round_trip_through_plain_data_and_json(journey: Journey) -> None:
    data = journey_to_dict(journey)
    assert journey_from_dict(data) == journey
    assert load_journeys_json(json.dumps([data])) == (journey,)


@FAST
@given(guard_policies(), instants, st.sampled_from(TIME_ZONES), st.sampled_from(["push", "store"]))
def test_next_allowed_is_allowed_and_nothing_earlier_is(
    policy: GuardPolicy, instant: datetime, zone_name: str, channel: str
) -> None:
    zone = ZoneInfo(zone_name)
    try:
        found = next_allowed(policy, instant, zone, channel)
    except ValueError:  # the windows leave no moment at all
        return
    assert found >= instant
    assert policy.allowed(found, zone, channel)
    probe = instant
    while probe < found:  # minute by minute: nothing allowed in between
        assert not policy.allowed(probe, zone, channel)
        probe += timedelta(minutes=15)


@FAST
@given(
    st.lists(frequency_caps(), min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 20 * 24), st.sampled_from(["push", "email"])), max_size=8),
    st.integers(0, 20 * 24),
    st.sampled_from(["push", "email"]),
)
def test_a_deferred_send_fits_the_broken_cap(
    caps: list[FrequencyCap], history: list[tuple[int, str]], hour: int, channel: str
) -> None:
    at = T0 + timedelta(hours=hour)
    sends = [(T0 + timedelta(hours=h), c) for h, c in history if h <= hour]  # the past
    hit = cap_exceeded(caps, sends, at, channel)
    if hit is None:
        return
    cap, free = hit
    assert free > at
    assert cap_exceeded([cap], sends, free, channel) is None


@settings(max_examples=15, deadline=None)
@given(
    st.lists(journeys(), min_size=1, max_size=3, unique_by=lambda j: j.id),
    st.lists(customer_events(), max_size=12, unique_by=lambda e: e.event_id),
    customer_contexts("c1"),
    guard_policies(),
)
def test_replay_is_deterministic_and_every_id_unique(
    found: list[Journey],
    events: list[CustomerEvent],
    customer: object,
    guards: GuardPolicy,
) -> None:
    contexts = [customer] + [
        type(customer)(customer_id=c, time_zone="Asia/Tokyo", consents={"push", "email"})  # type: ignore[call-arg]
        for c in ("c2", "c3")
    ]
    engine = Engine(
        MemoryStore(),
        found,
        directory=StaticDirectory(contexts),  # type: ignore[arg-type]
        guards=guards,
        channels=ChannelPolicy(default_channels=("push", "email", "store")),
        event_types=("plan_searched", "booking_made", "review_submitted", "store_visited"),
    )
    end = T0 + timedelta(days=500)
    first = engine.replay_history(events, T0, end).history
    second = engine.replay_history(list(reversed(events)), T0, end).history
    assert first == second
    ids = [a.action_id for a in first.actions]
    assert len(ids) == len(set(ids))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(conditions(), min_size=1, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "rating": st.sampled_from(["1", "4", "4.5", "abc", "", "nan"]),
            "destination": st.sampled_from(["Okinawa", "Kyoto", "5"]),
            "nights": st.integers(-1, 100).map(str),
        },
    ),
    st.fixed_dictionaries(
        {}, optional={"age": st.sampled_from(["27", "61", "x"]), "tier": st.just("gold")}
    ),
    st.none() | st.sampled_from(["gold", "silver"]),
)
def test_generated_predicates_agree_with_the_plain_ones(
    found: list[Condition],
    event: dict[str, str],
    profile: dict[str, str],
    segment: str | None,
) -> None:
    facts = Facts(event, profile, segment)
    plain = all(c.compile()(facts) for c in found)
    assert compile_all_of(tuple(found))(facts) is plain


@settings(max_examples=10, deadline=None)
@given(st.from_type(Journey), st.from_type(CustomerEvent), st.from_type(GuardPolicy))
def test_strategies_are_registered_for_from_type(
    journey: Journey, event: CustomerEvent, guards: GuardPolicy
) -> None:
    assert journey.event_types()
    assert event.occurred_at.utcoffset() is not None
    assert isinstance(guards, GuardPolicy)
