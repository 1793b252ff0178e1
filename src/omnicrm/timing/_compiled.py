"""Journeys prepared for fast dispatch: predicates compiled, triggers indexed by event type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from omnicrm.timing._matcher import Matcher, compile_matcher
from omnicrm.timing.conditions import Condition, Facts, compile_all_of
from omnicrm.timing.errors import JourneyDefinitionError
from omnicrm.timing.model import Branch, Exit, Journey, Step, Trigger, Wait, WaitForEvent
from omnicrm.timing.waits import as_timedelta

__all__ = ["CompiledJourney", "Dispatch", "Opening", "Predicate", "compile_all"]

Predicate = Callable[[Facts], bool]


def compile_conditions(conditions: Iterable[Condition]) -> Predicate:
    """Compile conditions into one predicate (all must hold)."""
    return compile_all_of(tuple(conditions))


def matches(test: Predicate, facts: Facts) -> bool:
    """Return ``True`` if the predicate accepts ``facts``."""
    return test(facts)


class Opening(NamedTuple):
    """How a journey that starts with a duration wait (or an event wait) is entered.

    Worked out once per journey, so entering needs no step machine: the position rests
    at ``start`` until the entry instant plus ``span`` on the customer's clock.
    """

    journey_id: str
    start: str
    span: timedelta | relativedelta
    awaits: str | None
    holdout_basis_points: int
    starts_at: datetime | None
    ends_at: datetime | None
    exclusive: bool


class CompiledJourney:
    """A journey with its steps by id and its conditions compiled."""

    __slots__ = (
        "awaits", "exits", "exits_at", "journey", "opening", "spans", "stage_channels", "steps",
        "tests", "triggers",
    )  # fmt: skip

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        self.steps: dict[str, Step] = {s.id: s for s in journey.steps}
        self.triggers: dict[str, list[Predicate]] = _by_type(journey.triggers)
        self.exits: dict[str, list[Predicate]] = _by_type(journey.exit_on)
        self.stage_channels = {s.name: s.channels for s in journey.stages}
        self.tests: dict[tuple[str, int], Predicate] = {}
        # what a duration wait or an event timeout adds on the local clock, worked out once
        self.spans: dict[str, timedelta | relativedelta] = {}
        self.awaits: dict[str, str] = {}  # the event type an event wait listens for
        self.exits_at = frozenset(s.id for s in journey.steps if isinstance(s, Exit))
        for step in journey.steps:
            if isinstance(step, Wait | WaitForEvent):
                delta = step.duration if isinstance(step, Wait) else step.timeout
                fixed = as_timedelta(delta)
                self.spans[step.id] = delta if fixed is None else fixed
            if isinstance(step, WaitForEvent):
                self.awaits[step.id] = step.event_type
                self.tests[(step.id, 0)] = compile_conditions(step.conditions)
            elif isinstance(step, Branch):
                for i, case in enumerate(step.cases):
                    self.tests[(step.id, i)] = compile_conditions(case.conditions)
        self.opening: Opening | None = None
        span = self.spans.get(journey.start)
        if span is not None:  # the common start, a duration wait: no step machine needed
            self.opening = Opening(
                journey.id, journey.start, span, self.awaits.get(journey.start),
                journey.holdout_basis_points, journey.starts_at, journey.ends_at,
                journey.exclusive,
            )  # fmt: skip

    def triggered(self, event_type: str, facts: Facts) -> bool:
        """Return ``True`` if an event of ``event_type`` with ``facts`` enters the journey."""
        return any(t(facts) for t in self.triggers.get(event_type, ()))

    def exited(self, event_type: str, facts: Facts) -> bool:
        """Return ``True`` if the event takes a customer out of the journey."""
        return any(t(facts) for t in self.exits.get(event_type, ()))


def _by_type(triggers: Iterable[Trigger]) -> dict[str, list[Predicate]]:
    index: dict[str, list[Predicate]] = {}
    for trigger in triggers:
        index.setdefault(trigger.event_type, []).append(compile_conditions(trigger.conditions))
    return index


class Dispatch:
    """Every journey, compiled, with journeys indexed by the event types they listen to."""

    def __init__(self, journeys: Iterable[Journey], extra_types: Iterable[str] = ()) -> None:
        compiled = [CompiledJourney(j) for j in journeys]
        compiled.sort(key=lambda c: (-c.journey.priority, c.journey.id))
        self.by_id: dict[str, CompiledJourney] = {}
        for item in compiled:
            if item.journey.id in self.by_id:
                raise JourneyDefinitionError("journeys", item.journey.id, "two journeys share it")
            self.by_id[item.journey.id] = item
        self.entering: dict[str, tuple[CompiledJourney, ...]] = {}
        self.rules: dict[str, tuple[tuple[str, Predicate], ...]] = {}
        types: set[str] = set(extra_types)
        conditions: dict[str, list[tuple[str, tuple[Condition, ...]]]] = {}
        for item in compiled:
            types |= item.journey.event_types()
            for event_type, tests in item.triggers.items():
                self.entering[event_type] = (*self.entering.get(event_type, ()), item)
                pairs = tuple((item.journey.id, t) for t in tests)
                self.rules[event_type] = (*self.rules.get(event_type, ()), *pairs)
            for trigger in item.journey.triggers:
                conditions.setdefault(trigger.event_type, []).append(
                    (item.journey.id, trigger.conditions)
                )
        self.event_types = frozenset(types)
        self.matchers: dict[str, Matcher] = {
            event_type: compile_matcher(rules, self.rules[event_type])
            for event_type, rules in conditions.items()
        }

    def matching(self, event_type: str, facts: Facts) -> list[str]:
        """Return the ids of the journeys an event of ``event_type`` with ``facts`` enters.

        In priority order, each once.
        """
        matcher = self.matchers.get(event_type)
        return [] if matcher is None else matcher(facts)


def compile_all(journeys: Iterable[Journey], extra_types: Iterable[str] = ()) -> Dispatch:
    """Compile ``journeys`` into a :class:`Dispatch`."""
    return Dispatch(journeys, extra_types)
