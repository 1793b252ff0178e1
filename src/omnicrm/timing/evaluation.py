"""Touchpoint evaluation: per journey, stage, step and channel, effect against cost.

Counts come from the engine's history (entries, action decisions, outcomes). A
customer converts when a conversion event (a booking, say) occurs within the
attribution window after an action, or the host reported ``converted`` for it. Uplift
compares the conversion rate of customers who were sent something with that of the
holdout (control) group at the journey level.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.money import Money
from omnicrm.timing.records import ActionStatus, CustomerEvent, OutcomeKind, TimingHistory
from omnicrm.validation import check_id, check_int

__all__ = ["Evaluation", "Kpi", "KpiResult", "TouchpointStats", "evaluate"]


@attrs.frozen(kw_only=True)
class Kpi:
    """A process KPI over a period, with its target.

    By default it counts events of ``event_type`` (sign-ups, plan searches, phone
    inquiries, store visits). With ``mean_of`` it averages that numeric property of the
    events instead (satisfaction: the mean ``rating`` of ``review_submitted``).
    """

    name: str = attrs.field(validator=lambda _i, a, v: check_id(a.name, v))
    event_type: str = attrs.field(validator=lambda _i, a, v: check_id(a.name, v))
    target: int | float = attrs.field(validator=lambda _i, a, v: _check_target(a.name, v))
    mean_of: str | None = None


def _check_target(field: str, value: object) -> None:
    if isinstance(value, float) and value >= 0:
        return
    check_int(field, value, minimum=0)


@attrs.frozen
class KpiResult:
    """A KPI's target, actual count, attainment and the period's cost per unit."""

    name: str
    target: int | float
    actual: int | float | None
    attainment: float | None
    cost: Money | None
    cost_per_unit: float | None


@attrs.frozen
class TouchpointStats:
    """Counts and money for one group of actions (a journey, a stage, a step, a channel)."""

    entered: int
    sent: int
    delivered: int
    converted: int
    held_out: int
    holdout_converted: int
    cost: Money | None

    @property
    def conversion_rate(self) -> float | None:
        """Converted per sent (``None`` if nothing was sent)."""
        return self.converted / self.sent if self.sent else None

    @property
    def holdout_rate(self) -> float | None:
        """Converted per held-out customer (``None`` without a holdout)."""
        return self.holdout_converted / self.held_out if self.held_out else None

    @property
    def uplift(self) -> float | None:
        """Conversion rate of those sent minus that of the holdout."""
        sent, held = self.conversion_rate, self.holdout_rate
        return None if sent is None or held is None else sent - held

    @property
    def cost_per_conversion(self) -> float | None:
        """Cost (minor units) per conversion."""
        if self.cost is None or not self.converted:
            return None
        return self.cost.amount / self.converted


@attrs.frozen
class Evaluation:
    """The report: stats per journey, stage, step and channel; KPI results; response rates."""

    by_journey: Mapping[str, TouchpointStats]
    by_stage: Mapping[tuple[str, str], TouchpointStats]
    by_step: Mapping[tuple[str, str], TouchpointStats]
    by_channel: Mapping[str, TouchpointStats]
    kpis: tuple[KpiResult, ...]

    def response_rates(self) -> dict[str, float]:
        """Return the measured conversion rate per channel (for channel choice)."""
        return {
            name: stats.conversion_rate
            for name, stats in self.by_channel.items()
            if stats.conversion_rate is not None
        }


class _Acc:
    __slots__ = ("converted", "cost", "delivered", "entered", "held", "held_conv", "sent")

    def __init__(self) -> None:
        self.entered = self.sent = self.delivered = self.converted = 0
        self.held = self.held_conv = 0
        self.cost: Money | None = None

    def freeze(self) -> TouchpointStats:
        return TouchpointStats(
            self.entered,
            self.sent,
            self.delivered,
            self.converted,
            self.held,
            self.held_conv,
            self.cost,
        )


def evaluate(
    history: TimingHistory,
    *,
    conversions: Iterable[CustomerEvent] = (),
    conversion_type: str | None = None,
    attribution_window: timedelta = timedelta(days=7),
    costs: Mapping[str, Money] | None = None,
    kpis: Iterable[Kpi] = (),
    kpi_events: Iterable[CustomerEvent] = (),
    period: tuple[datetime, datetime] | None = None,
) -> Evaluation:
    """Judge every touchpoint by its effect against its cost.

    Args:
        history: what the engine recorded (:meth:`Engine.history`, or a replay's).
        conversions: events that count as conversions (filtered by ``conversion_type``).
        conversion_type: if given, only events of this type are conversions.
        attribution_window: how long after an action a conversion is credited to it.
        costs: cost of one sent action per channel.
        kpis: process KPIs to judge over ``period`` using ``kpi_events``.
        kpi_events: the event log the KPIs count.
        period: ``(start, end)``; actions and KPI events outside are ignored.

    """
    if not isinstance(attribution_window, timedelta) or attribution_window <= timedelta(0):
        raise ValidationError("attribution_window", attribution_window, "must be positive")
    if not isinstance(history, TimingHistory):
        raise InvalidTypeError("history", history, "must be a TimingHistory")
    costs = dict(costs or {})
    lo = hi = None
    if period is not None:
        lo, hi = to_utc("period[0]", period[0]), to_utc("period[1]", period[1])

    def inside(at: datetime) -> bool:
        return (lo is None or at >= lo) and (hi is None or at <= hi)

    times: dict[str, list[datetime]] = defaultdict(list)
    for event in conversions:
        if conversion_type is None or event.event_type == conversion_type:
            times[event.customer_id].append(event.occurred_at)
    for found in times.values():
        found.sort()
    outcome_kinds: dict[str, set[str]] = defaultdict(set)
    for outcome in history.outcomes:
        outcome_kinds[outcome.action_id].add(outcome.kind)

    def converted(customer_id: str, at: datetime) -> bool:
        found = times.get(customer_id, [])
        i = bisect.bisect_right(found, at)
        return i < len(found) and found[i] <= at + attribution_window

    groups: dict[str, dict[object, _Acc]] = {k: defaultdict(_Acc) for k in "jsxc"}
    for entry in history.entries:
        if inside(entry.at):
            groups["j"][entry.journey_id].entered += 1
    total_cost: Money | None = None
    for action in history.actions:
        if not inside(action.due_at):
            continue
        keys = {
            "j": action.journey_id,
            "s": (action.journey_id, action.stage),
            "x": (action.journey_id, action.step_id),
            "c": action.channel or "none",
        }
        if action.status == ActionStatus.HELD_OUT:
            hit = converted(action.customer_id, action.due_at)
            for key, group in keys.items():
                acc = groups[key][group]
                acc.held += 1
                acc.held_conv += hit
            continue
        if action.status != ActionStatus.DUE:
            continue
        kinds = outcome_kinds.get(action.action_id, set())
        if OutcomeKind.FAILED in kinds and not kinds & {OutcomeKind.DELIVERED}:
            delivered = False
        else:
            delivered = bool(
                kinds
                & {
                    OutcomeKind.DELIVERED,
                    OutcomeKind.OPENED,
                    OutcomeKind.CLICKED,
                    OutcomeKind.CONVERTED,
                }
            )
        hit = OutcomeKind.CONVERTED in kinds or converted(action.customer_id, action.due_at)
        price = costs.get(action.channel or "")
        if price is not None:
            total_cost = price if total_cost is None else total_cost + price
        for key, group in keys.items():
            acc = groups[key][group]
            acc.sent += 1
            acc.delivered += delivered
            acc.converted += hit
            if price is not None:
                acc.cost = price if acc.cost is None else acc.cost + price
    results = []
    kpis = tuple(kpis)
    counted: dict[str, int] = defaultdict(int)
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    measured = {(k.event_type, k.mean_of) for k in kpis if k.mean_of is not None}
    for event in kpi_events:
        if inside(event.occurred_at):
            counted[event.event_type] += 1
            for kind, prop in measured:
                if kind == event.event_type and prop in event.properties:
                    with contextlib.suppress(ValueError):
                        values[(kind, prop)].append(float(event.properties[prop]))
    for kpi in kpis:
        actual: float | int | None
        if kpi.mean_of is None:
            actual = counted.get(kpi.event_type, 0)
            per_unit = None if total_cost is None or not actual else total_cost.amount / actual
        else:
            ratings = values.get((kpi.event_type, kpi.mean_of), [])
            actual = sum(ratings) / len(ratings) if ratings else None
            per_unit = None
        results.append(
            KpiResult(
                kpi.name,
                kpi.target,
                actual,
                actual / kpi.target if kpi.target and actual is not None else None,
                total_cost,
                per_unit,
            )
        )
    return Evaluation(
        by_journey={k: v.freeze() for k, v in sorted(groups["j"].items())},  # type: ignore[misc]
        by_stage={k: v.freeze() for k, v in groups["s"].items()},  # type: ignore[misc]
        by_step={k: v.freeze() for k, v in groups["x"].items()},  # type: ignore[misc]
        by_channel={k: v.freeze() for k, v in sorted(groups["c"].items())},  # type: ignore[misc]
        kpis=tuple(results),
    )
