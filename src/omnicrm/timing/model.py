"""Journeys as data: triggers, steps (waits, branches, actions, exits), stages, re-entry.

A :class:`Journey` is a frozen value. Its steps refer to each other by id; the journey
checks its own graph when built (every reference known, every step reachable from the
start, every cycle passing through a real wait), so a bad journey never reaches the engine.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from omnicrm.errors import InvalidTypeError
from omnicrm.timing.conditions import Condition
from omnicrm.timing.errors import JourneyDefinitionError
from omnicrm.validation import (
    check_aware,
    check_id,
    check_int,
    check_text,
    check_tuple,
    id_validator,
    optional_id_validator,
)

__all__ = [
    "Action",
    "ActionKind",
    "Branch",
    "Case",
    "Exit",
    "Journey",
    "Reentry",
    "Stage",
    "Step",
    "Trigger",
    "Wait",
    "WaitForEvent",
    "WaitRelative",
    "WaitUntil",
]

_ZERO = relativedelta()


def _conditions(value: Any) -> tuple[Condition, ...]:
    return check_tuple("conditions", value, Condition, "a Condition")


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _check_channels(_instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    for name in value:
        check_id(attribute.name, name)


def _check_delta(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, relativedelta):
        raise InvalidTypeError(attribute.name, value, "must be a dateutil relativedelta")


def is_negative(delta: relativedelta) -> bool:
    """Return ``True`` if any component of ``delta`` goes backwards."""
    parts = (
        delta.years,
        delta.months,
        delta.days,
        delta.hours,
        delta.minutes,
        delta.seconds,
        delta.microseconds,
        delta.weeks,
    )
    return any(p < 0 for p in parts)


def _non_negative(_instance: Any, attribute: Any, value: Any) -> None:
    _check_delta(_instance, attribute, value)
    if is_negative(value):
        raise JourneyDefinitionError(attribute.name, value, "a wait must not be negative")


def _positive(_instance: Any, attribute: Any, value: Any) -> None:
    _non_negative(_instance, attribute, value)
    if value == _ZERO:
        raise JourneyDefinitionError(attribute.name, value, "must be longer than zero")


def _optional_aware(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_aware(attribute.name, value)


def _optional_time(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, time):
        raise InvalidTypeError(attribute.name, value, "must be a datetime.time")
    if value is not None and value.tzinfo is not None:
        raise InvalidTypeError(
            attribute.name, value, "is read in the customer's zone: give it no tzinfo"
        )


@attrs.frozen(kw_only=True)
class Trigger:
    """An event type, with conditions on the event, the profile and the segment."""

    event_type: str = attrs.field(validator=id_validator)
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)


@attrs.frozen(kw_only=True)
class Stage:
    """A named stage of a journey (planning, booking, trip, ...) and its preferred channels."""

    name: str = attrs.field(validator=id_validator)
    channels: tuple[str, ...] = attrs.field(default=(), converter=_texts, validator=_check_channels)


@attrs.frozen(kw_only=True)
class Wait:
    """Wait a calendar duration (``relativedelta(days=2)``), then go to ``next``."""

    id: str = attrs.field(validator=id_validator)
    duration: relativedelta = attrs.field(validator=_non_negative)
    next: str = attrs.field(validator=id_validator)
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)


@attrs.frozen(kw_only=True)
class WaitUntil:
    """Wait until the next weekday (0 = Monday) and/or time of day in the customer's zone."""

    id: str = attrs.field(validator=id_validator)
    next: str = attrs.field(validator=id_validator)
    weekday: int | None = attrs.field(default=None)
    at: time | None = attrs.field(default=None, validator=_optional_time)
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)

    def __attrs_post_init__(self) -> None:
        if self.weekday is not None:
            check_int("weekday", self.weekday, minimum=0, maximum=6)
        if self.weekday is None and self.at is None:
            raise JourneyDefinitionError("at", None, "give a weekday, a time of day or both")


@attrs.frozen(kw_only=True)
class WaitRelative:
    """Wait until a date carried by the event or profile, shifted by ``offset``.

    ``field`` is ``"event.departure_date"`` or ``"profile.birthday"`` (ISO date text).
    ``offset=relativedelta(days=-7)`` is a week before; ``at`` is the local time of day
    (09:00 if omitted); ``anniversary`` moves the date to its next yearly recurrence
    (a birthday). A moment already past continues at once.
    """

    id: str = attrs.field(validator=id_validator)
    field: str = attrs.field()
    next: str = attrs.field(validator=id_validator)
    offset: relativedelta = attrs.field(factory=relativedelta, validator=_check_delta)
    at: time | None = attrs.field(default=None, validator=_optional_time)
    anniversary: bool = False
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)

    def __attrs_post_init__(self) -> None:
        source, _, name = self.field.partition(".")
        if source not in ("event", "profile") or not name:
            raise JourneyDefinitionError(
                "field", self.field, "must be 'event.<name>' or 'profile.<name>'"
            )


@attrs.frozen(kw_only=True)
class WaitForEvent:
    """Wait for an event (with conditions) up to ``timeout``; branch on which came first."""

    id: str = attrs.field(validator=id_validator)
    event_type: str = attrs.field(validator=id_validator)
    timeout: relativedelta = attrs.field(validator=_positive)
    on_event: str = attrs.field(validator=id_validator)
    on_timeout: str = attrs.field(validator=id_validator)
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)


@attrs.frozen(kw_only=True)
class Case:
    """One arm of a :class:`Branch`: when every condition holds, go to ``next``."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)
    next: str = attrs.field(validator=id_validator)


def _cases(value: Any) -> tuple[Case, ...]:
    return check_tuple("cases", value, Case, "a Case")


@attrs.frozen(kw_only=True)
class Branch:
    """Go to the first case whose conditions hold, else to ``otherwise``."""

    id: str = attrs.field(validator=id_validator)
    cases: tuple[Case, ...] = attrs.field(converter=_cases)
    otherwise: str = attrs.field(validator=id_validator)
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)


class ActionKind:
    """What an action asks the host to do."""

    SEND = "send"
    """Send content X through the chosen channel."""
    STORE_STAFF = "store_staff"
    """Hand the customer to store staff (a visit, a final check in a store)."""
    CALL = "call"
    """Have someone call the customer."""

    ALL = (SEND, STORE_STAFF, CALL)


def _check_kind(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in ActionKind.ALL:
        raise JourneyDefinitionError(attribute.name, value, f"must be one of {ActionKind.ALL}")


@attrs.frozen(kw_only=True)
class Action:
    """Do something for the customer (send ``content``), then go to ``next`` (or end).

    ``channels`` lists the channels this action may use, in the journey designer's order
    (empty: the stage's channels, then the policy's). ``guarded=False`` bypasses quiet
    hours and caps (a service message the customer asked for).
    """

    id: str = attrs.field(validator=id_validator)
    content: str = attrs.field(validator=id_validator)
    next: str | None = attrs.field(default=None, validator=optional_id_validator)
    kind: str = attrs.field(default=ActionKind.SEND, validator=_check_kind)
    channels: tuple[str, ...] = attrs.field(default=(), converter=_texts, validator=_check_channels)
    guarded: bool = True
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)


@attrs.frozen(kw_only=True)
class Exit:
    """Leave the journey."""

    id: str = attrs.field(validator=id_validator)
    stage: str | None = attrs.field(default=None, validator=optional_id_validator)


Step = Wait | WaitUntil | WaitRelative | WaitForEvent | Branch | Action | Exit
"""Any journey step."""

STEP_TYPES = (Wait, WaitUntil, WaitRelative, WaitForEvent, Branch, Action, Exit)


def successors(step: Step) -> tuple[str, ...]:
    """Return the ids ``step`` may go to next."""
    if isinstance(step, Wait | WaitUntil | WaitRelative):
        return (step.next,)
    if isinstance(step, WaitForEvent):
        return (step.on_event, step.on_timeout)
    if isinstance(step, Branch):
        return (*(c.next for c in step.cases), step.otherwise)
    if isinstance(step, Action):
        return () if step.next is None else (step.next,)
    return ()


def holds_time(step: Step) -> bool:
    """Return ``True`` if ``step`` always lets time pass (so a cycle through it ends)."""
    if isinstance(step, Wait):
        return step.duration != _ZERO
    return isinstance(step, WaitUntil | WaitForEvent)


class Reentry:
    """Re-entry policies: whether a customer may enter a journey again after leaving it."""

    ONCE = "once"
    """Once ever."""
    PER_PERIOD = "per_period"
    """Again once ``period`` has passed since the last entry."""
    ALWAYS = "always"
    """Every time the trigger fires while not already inside."""

    ALL = (ONCE, PER_PERIOD, ALWAYS)


def _check_reentry(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in Reentry.ALL:
        raise JourneyDefinitionError(attribute.name, value, f"must be one of {Reentry.ALL}")


def _triggers(value: Any) -> tuple[Trigger, ...]:
    return check_tuple("triggers", value, Trigger, "a Trigger")


def _steps(value: Any) -> tuple[Step, ...]:
    return check_tuple("steps", value, STEP_TYPES, "a journey step value")


def _stages(value: Any) -> tuple[Stage, ...]:
    return check_tuple("stages", value, Stage, "a Stage")


def _holdout(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0, maximum=10_000)


@attrs.frozen(kw_only=True)
class Journey:
    """A customer journey: entry triggers, steps from ``start``, exits, policies.

    Attributes:
        id: the journey's id (part of every action id: keep it stable).
        name: a readable name.
        triggers: any one of them enters a customer.
        steps: the steps; ``start`` names the first.
        stages: the stages steps belong to, with preferred channels.
        exit_on: events that take a customer out wherever they are.
        reentry: :class:`Reentry` policy; ``reentry_period`` for ``per_period``.
        priority: higher runs first when one event triggers several journeys.
        exclusive: if entered, lower-priority journeys the same event triggers are not.
        holdout_basis_points: the share of entrants kept as a control group (100 = 1%).
        starts_at, ends_at: customers enter only within this span (aware datetimes).

    """

    id: str = attrs.field(validator=id_validator)
    triggers: tuple[Trigger, ...] = attrs.field(converter=_triggers)
    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    start: str = attrs.field(validator=id_validator)
    name: str = ""
    stages: tuple[Stage, ...] = attrs.field(default=(), converter=_stages)
    exit_on: tuple[Trigger, ...] = attrs.field(default=(), converter=_triggers)
    reentry: str = attrs.field(default=Reentry.ONCE, validator=_check_reentry)
    reentry_period: relativedelta | None = None
    priority: int = 0
    exclusive: bool = False
    holdout_basis_points: int = attrs.field(default=0, validator=_holdout)
    starts_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    ends_at: datetime | None = attrs.field(default=None, validator=_optional_aware)

    def __attrs_post_init__(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise JourneyDefinitionError("ends_at", self.ends_at, "must be after starts_at")
        if self.name:
            check_text("name", self.name)
        check_int("priority", self.priority)
        if not self.triggers:
            raise JourneyDefinitionError("triggers", (), "a journey needs at least one trigger")
        if self.reentry == Reentry.PER_PERIOD:
            if self.reentry_period is None:
                raise JourneyDefinitionError(
                    "reentry_period", None, "per_period re-entry needs a period"
                )
            _positive(self, attrs.fields(Journey).reentry_period, self.reentry_period)
        from omnicrm.timing._graph import check_graph  # a helper of this module

        check_graph(self)

    def step(self, step_id: str) -> Step:
        """Return the step called ``step_id``."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise JourneyDefinitionError("step", step_id, f"is not a step of journey {self.id!r}")

    def event_types(self) -> frozenset[str]:
        """Return every event type this journey listens to."""
        types = {t.event_type for t in (*self.triggers, *self.exit_on)}
        types.update(s.event_type for s in self.steps if isinstance(s, WaitForEvent))
        return frozenset(types)
