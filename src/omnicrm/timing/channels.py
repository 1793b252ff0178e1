"""Channel choice (O2O): which channel reaches this customer for this action, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.money import Money
from omnicrm.timing.conditions import Condition, Facts
from omnicrm.validation import check_id, check_ids, check_tuple

__all__ = ["ChannelChoice", "ChannelPolicy", "ChannelRule", "choose_channel"]


def _conditions(value: Any) -> tuple[Condition, ...]:
    return check_tuple("conditions", value, Condition, "a Condition")


def _names(value: Any) -> tuple[str, ...]:
    return check_ids("channels", value)


@attrs.frozen(kw_only=True)
class ChannelRule:
    """For customers matching ``conditions`` (an age band, a segment), prefer ``channels``."""

    name: str = attrs.field(validator=lambda _i, a, v: check_id(a.name, v))
    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)
    channels: tuple[str, ...] = attrs.field(converter=_names)


def _rules(value: Any) -> tuple[ChannelRule, ...]:
    return check_tuple("rules", value, ChannelRule, "a ChannelRule")


def _costs(value: Any) -> dict[str, Money]:
    items = dict(value or {})
    for name, cost in items.items():
        check_id("costs", name)
        if not isinstance(cost, Money):
            raise InvalidTypeError(f"costs[{name!r}]", cost, "must be a Money")
    return items


def _rates(value: Any) -> dict[str, float]:
    items = dict(value or {})
    for name, rate in items.items():
        check_id("response_rates", name)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValidationError(f"response_rates[{name!r}]", rate, "must be within [0, 1]")
    return {k: float(v) for k, v in items.items()}


@attrs.frozen(kw_only=True, eq=False)
class ChannelPolicy:
    """How channels are chosen: defaults, rules by attribute, cost and response rate.

    Attributes:
        default_channels: candidates when neither the action nor its stage names any.
        rules: the first rule whose conditions match reorders the candidates.
        costs: the cost of one action on each channel.
        response_rates: measured response per channel (see :func:`evaluate`).
        consent_free: channels needing no marketing consent (a store visit).

    """

    default_channels: tuple[str, ...] = attrs.field(default=(), converter=_names)
    rules: tuple[ChannelRule, ...] = attrs.field(default=(), converter=_rules)
    costs: dict[str, Money] = attrs.field(factory=dict, converter=_costs)
    response_rates: dict[str, float] = attrs.field(factory=dict, converter=_rates)
    consent_free: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)

    def with_response_rates(self, rates: Mapping[str, float]) -> ChannelPolicy:
        """Return a copy using measured ``rates`` (from an evaluation) for its choices."""
        return attrs.evolve(self, response_rates={**self.response_rates, **rates})


@attrs.frozen
class ChannelChoice:
    """The chosen channel (``None`` if none is usable), the fallbacks, and why."""

    channel: str | None
    fallbacks: tuple[str, ...]
    reasons: tuple[str, ...]


def choose_channel(
    policy: ChannelPolicy,
    candidates: Sequence[str],
    source: str,
    facts: Facts,
    consents: frozenset[str],
    reachable: frozenset[str] | None,
    preferred: Sequence[str],
) -> ChannelChoice:
    """Order ``candidates`` for one customer and return the first usable one, explained.

    Order: the matching rule's channels, then the customer's stated preference, then
    expected response per unit of cost, then the designer's order.
    """
    reasons = [f"candidates from {source}: {', '.join(candidates) or 'none'}"]
    rule_rank: dict[str, int] = {}
    for rule in policy.rules:
        if all(c.compile()(facts) for c in rule.conditions):
            rule_rank = {name: i for i, name in enumerate(rule.channels)}
            reasons.append(f"rule {rule.name} prefers {', '.join(rule.channels)}")
            break
    usable = []
    for name in candidates:
        if name not in consents and name not in policy.consent_free:
            reasons.append(f"{name}: no consent")
        elif reachable is not None and name not in reachable:
            reasons.append(f"{name}: not reachable")
        else:
            usable.append(name)
    pref = {name: i for i, name in enumerate(preferred)}
    order = {name: i for i, name in enumerate(candidates)}

    def score(name: str) -> float:
        cost = policy.costs.get(name)
        rate = policy.response_rates.get(name, 0.0)
        return rate / max(cost.amount, 1) if cost is not None else rate

    usable.sort(
        key=lambda n: (
            rule_rank.get(n, len(rule_rank)),
            pref.get(n, len(pref)),
            -score(n),
            order[n],
        )
    )
    if not usable:
        reasons.append("no usable channel")
        return ChannelChoice(None, (), tuple(reasons))
    chosen = usable[0]
    why = []
    if chosen in rule_rank:
        why.append("the rule")
    if chosen in pref:
        why.append("the customer's preference")
    if chosen in policy.response_rates:
        why.append(f"response {policy.response_rates[chosen]:.0%}")
    if chosen in policy.costs:
        cost = policy.costs[chosen]
        why.append(f"cost {cost.amount} {cost.currency}")
    reasons.append(f"chose {chosen}" + (f" ({'; '.join(why)})" if why else ""))
    if len(usable) > 1:
        reasons.append(f"fallbacks: {', '.join(usable[1:])}")
    return ChannelChoice(chosen, tuple(usable[1:]), tuple(reasons))
