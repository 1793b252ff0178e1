"""Hypothesis strategies for the timing engine's values, registered for ``st.from_type``.

Importing this module registers strategies for :class:`~omnicrm.timing.Condition`,
:class:`~omnicrm.timing.Journey`, :class:`~omnicrm.timing.CustomerEvent`,
:class:`~omnicrm.timing.CustomerContext`, :class:`~omnicrm.timing.LocalWindow`,
:class:`~omnicrm.timing.FrequencyCap` and :class:`~omnicrm.timing.GuardPolicy`.
Generated journeys are always valid: every step reachable, every cycle through a wait.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from omnicrm.errors import ConfigurationError
from omnicrm.timing import (
    Action,
    Branch,
    CapPolicy,
    Case,
    Condition,
    CustomerContext,
    CustomerEvent,
    Exit,
    FrequencyCap,
    GuardPolicy,
    Journey,
    LocalWindow,
    Reentry,
    Step,
    Trigger,
    Wait,
    WaitForEvent,
    WaitUntil,
)

__all__ = [
    "EVENT_TYPES",
    "TIME_ZONES",
    "conditions",
    "customer_contexts",
    "customer_events",
    "durations",
    "frequency_caps",
    "guard_policies",
    "journeys",
    "local_windows",
]

EVENT_TYPES = ("plan_searched", "booking_made", "review_submitted", "store_visited")
"""The event types generated journeys and events use."""

TIME_ZONES = ("Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Sydney", "UTC")
"""Zones with and without daylight saving."""

_CHANNELS = ("push", "email", "line", "store", "phone")
_START = datetime(2026, 1, 1, tzinfo=UTC)


def durations(*, min_hours: int = 1) -> st.SearchStrategy[relativedelta]:
    """Non-negative calendar durations of at least ``min_hours`` hours."""
    return st.builds(
        lambda d, h: relativedelta(days=d, hours=h + (min_hours if d == 0 else 0)),
        st.integers(0, 30),
        st.integers(0, 23),
    )


def conditions() -> st.SearchStrategy[Condition]:
    """Conditions on an event property, a profile attribute or the segment."""
    numeric = st.builds(
        Condition,
        st.sampled_from(["profile.age", "event.rating", "event.nights"]),
        st.sampled_from(["lt", "le", "gt", "ge", "eq", "ne"]),
        st.integers(0, 99),
    )
    textual = st.builds(
        lambda field, op, value: Condition(field, op, [value] if op in ("in", "not_in") else value),
        st.sampled_from(["segment", "profile.tier", "event.destination"]),
        st.sampled_from(["eq", "ne", "in", "not_in", "exists", "missing"]),
        st.sampled_from(["gold", "silver", "Okinawa"]),
    )
    return numeric | textual


def local_windows() -> st.SearchStrategy[LocalWindow]:
    """Daily local windows, some wrapping midnight."""
    return (
        st.tuples(st.integers(0, 23), st.integers(0, 23))
        .filter(lambda p: p[0] != p[1])
        .map(lambda p: LocalWindow(time(p[0]), time(p[1])))
    )


def frequency_caps() -> st.SearchStrategy[FrequencyCap]:
    """Overall or per-channel caps with any policy."""
    return st.builds(
        FrequencyCap,
        limit=st.integers(1, 4),
        window=st.integers(1, 14 * 24).map(lambda h: timedelta(hours=h)),
        channel=st.none() | st.sampled_from(_CHANNELS),
        policy=st.sampled_from(CapPolicy.ALL),
    )


def guard_policies() -> st.SearchStrategy[GuardPolicy]:
    """Quiet hours, channel windows and caps."""
    return st.builds(
        _guards_or_none,
        quiet_hours=st.none() | local_windows(),
        windows=st.dictionaries(st.sampled_from(_CHANNELS), local_windows(), max_size=2),
        caps=st.lists(frequency_caps(), max_size=3).map(tuple),
    ).filter(lambda g: g is not None)  # type: ignore[return-value]


def _guards_or_none(
    quiet_hours: LocalWindow | None,
    windows: dict[str, LocalWindow],
    caps: tuple[FrequencyCap, ...],
) -> GuardPolicy | None:
    try:
        return GuardPolicy(quiet_hours=quiet_hours, windows=windows, caps=caps)
    except ConfigurationError:  # a window wholly inside the quiet hours
        return None


def customer_contexts(customer_id: str | None = None) -> st.SearchStrategy[CustomerContext]:
    """Customers in various zones with ages, segments, consents and preferences."""
    return st.builds(
        CustomerContext,
        customer_id=st.just(customer_id) if customer_id else st.sampled_from(["c1", "c2", "c3"]),
        time_zone=st.sampled_from(TIME_ZONES),
        profile=st.fixed_dictionaries(
            {"age": st.integers(15, 90).map(str), "tier": st.sampled_from(["gold", "silver"])}
        ),
        segment=st.none() | st.sampled_from(["champions", "at_risk", "gold"]),
        consents=st.frozensets(st.sampled_from(_CHANNELS)),
        preferred=st.lists(st.sampled_from(_CHANNELS), unique=True, max_size=2).map(tuple),
    )


def customer_events(
    customers: tuple[str, ...] = ("c1", "c2", "c3"),
) -> st.SearchStrategy[CustomerEvent]:
    """Events of the known types, in 2026, with a few properties."""
    return st.builds(
        CustomerEvent,
        event_id=st.uuids().map(lambda u: f"evt_{u.hex[:12]}"),
        event_type=st.sampled_from(EVENT_TYPES),
        customer_id=st.sampled_from(customers),
        occurred_at=st.integers(0, 365 * 24 * 60).map(lambda m: _START + timedelta(minutes=m)),
        properties=st.fixed_dictionaries(
            {},
            optional={
                "rating": st.integers(1, 5).map(str),
                "destination": st.sampled_from(["Okinawa", "Kyoto"]),
                "departure_date": st.dates().map(lambda d: d.isoformat()),
            },
        ),
    )


@st.composite
def journeys(draw: st.DrawFn, journey_id: str | None = None) -> Journey:
    """Valid journeys: a chain of steps, some branching or jumping forward."""
    count = draw(st.integers(1, 6))
    ids = [f"s{i}" for i in range(count)] + ["end"]
    steps: list[Step] = []
    for i in range(count):
        after = ids[i + 1]
        later = draw(st.sampled_from(ids[i + 1 :]))
        kind = draw(st.sampled_from(["action", "wait", "wait_for", "branch", "until"]))
        if kind == "action":
            steps.append(
                Action(
                    id=ids[i],
                    content=f"content_{i}",
                    next=after,
                    channels=tuple(draw(st.lists(st.sampled_from(_CHANNELS), max_size=2))),
                )
            )
        elif kind == "wait":
            steps.append(Wait(id=ids[i], duration=draw(durations()), next=after))
        elif kind == "wait_for":
            steps.append(
                WaitForEvent(
                    id=ids[i],
                    event_type=draw(st.sampled_from(EVENT_TYPES)),
                    timeout=draw(durations()),
                    on_event=later,
                    on_timeout=after,
                )
            )
        elif kind == "until":
            steps.append(
                WaitUntil(id=ids[i], weekday=draw(st.none() | st.integers(0, 6)),
                          at=time(draw(st.integers(0, 23))), next=after)
            )  # fmt: skip
        else:
            steps.append(
                Branch(
                    id=ids[i],
                    cases=(Case(conditions=(draw(conditions()),), next=later),),
                    otherwise=after,
                )
            )
    steps.append(Exit(id="end"))
    reentry = draw(st.sampled_from(Reentry.ALL))
    return Journey(
        id=journey_id or draw(st.sampled_from(["j1", "j2", "j3"])),
        triggers=(
            Trigger(
                event_type=draw(st.sampled_from(EVENT_TYPES)),
                conditions=tuple(draw(st.lists(conditions(), max_size=2))),
            ),
        ),
        steps=tuple(steps),
        start="s0",
        reentry=reentry,
        reentry_period=relativedelta(days=30) if reentry == Reentry.PER_PERIOD else None,
        priority=draw(st.integers(-5, 5)),
        holdout_basis_points=draw(st.sampled_from([0, 0, 1000, 5000])),
    )


st.register_type_strategy(Condition, conditions())
st.register_type_strategy(Journey, journeys())
st.register_type_strategy(CustomerEvent, customer_events())
st.register_type_strategy(CustomerContext, customer_contexts())
st.register_type_strategy(LocalWindow, local_windows())
st.register_type_strategy(FrequencyCap, frequency_caps())
st.register_type_strategy(GuardPolicy, guard_policies())
