"""Order sourcing: which locations fulfil an order, chosen by a pipeline of strategies.

The service builds a :class:`SourcingContext` (candidate locations with their available
quantities, distances and regions); a :class:`SourcingPolicy` runs its strategies in order
and the first that proposes a plan wins. :class:`RankedSearch` compares candidate plans by
its rules, lexicographically, with deterministic tie-breaks (channel priority, then id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from itertools import combinations
from typing import Any, Protocol

import attrs
import numpy as np

from omnicrm.channel import Channel
from omnicrm.errors import CurrencyMismatchError, InvalidTypeError, ValidationError
from omnicrm.inventory.columns import IntArray
from omnicrm.inventory.geo import FloatArray
from omnicrm.inventory.holds import HoldLine
from omnicrm.inventory.model import GeoPoint, LocationKind
from omnicrm.inventory.network import ChannelNetwork
from omnicrm.money import Money
from omnicrm.validation import check_int, id_validator

__all__ = [
    "DeliveryMethod",
    "FewestShipments",
    "FulfilmentPlan",
    "Nearest",
    "OrderLine",
    "PickupStoreIfComplete",
    "PlanRule",
    "RankedSearch",
    "SameRegion",
    "Shipment",
    "SourcingContext",
    "SourcingPolicy",
    "SourcingRequest",
    "SourcingStrategy",
    "WarehouseFirst",
]


class DeliveryMethod(StrEnum):
    """How the customer receives the order."""

    HOME_DELIVERY = "home_delivery"
    PICK_UP = "pick_up"


def _quantity(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=1, maximum=10**9)


def _money(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Money):
        raise InvalidTypeError(attribute.name, value, "must be Money")


@attrs.frozen
class OrderLine:
    """``quantity`` units of ``sku`` at ``unit_price`` each."""

    sku: str = attrs.field(validator=id_validator)
    quantity: int = attrs.field(validator=_quantity)
    unit_price: Money = attrs.field(validator=_money)


def _to_lines(value: Any) -> tuple[OrderLine, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("lines", value, "must be an iterable of OrderLine")
    lines = tuple(value)
    if not lines:
        raise ValidationError("lines", value, "an order needs at least one line")
    for line in lines:
        if not isinstance(line, OrderLine):
            raise InvalidTypeError("lines", line, "must be an OrderLine")
        if line.unit_price.currency != lines[0].unit_price.currency:
            raise CurrencyMismatchError(
                "unit_price", line.unit_price, "every line must use one currency"
            )
    return lines


def _optional(kind: type) -> Any:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value is not None and not isinstance(value, kind):
            raise InvalidTypeError(attribute.name, value, f"must be a {kind.__name__} or None")

    return check


def _optional_id(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        id_validator(_instance, attribute, value)


@attrs.frozen(kw_only=True)
class SourcingRequest:
    """An order to source.

    Attributes:
        lines: the order lines (one currency).
        channel: the channel it was placed through (its route gives the candidates).
        method: home delivery or pick-up.
        destination: where it goes (required for home delivery; for a pick-up the store's
            own position is used).
        region: the destination's region code, for the same-region preference.
        pickup_location_id: the pick-up store (required for pick-up).

    """

    lines: tuple[OrderLine, ...] = attrs.field(converter=_to_lines)
    channel: Channel = attrs.field(validator=attrs.validators.instance_of(Channel))
    method: DeliveryMethod = attrs.field(
        default=DeliveryMethod.HOME_DELIVERY, validator=attrs.validators.instance_of(DeliveryMethod)
    )
    destination: GeoPoint | None = attrs.field(default=None, validator=_optional(GeoPoint))
    region: str | None = attrs.field(default=None, validator=_optional_id)
    pickup_location_id: str | None = attrs.field(default=None, validator=_optional_id)

    def __attrs_post_init__(self) -> None:
        if self.method is DeliveryMethod.PICK_UP and self.pickup_location_id is None:
            raise ValidationError("pickup_location_id", None, "a pick-up order needs a store")
        if self.method is DeliveryMethod.HOME_DELIVERY and self.destination is None:
            raise ValidationError("destination", None, "home delivery needs a destination")

    @property
    def order_value(self) -> Money:
        """The order's total value."""
        currency = self.lines[0].unit_price.currency
        return Money(sum(ln.unit_price.amount * ln.quantity for ln in self.lines), currency)


@attrs.frozen
class Shipment:
    """What one location sends (or, for the pick-up store itself, hands over).

    Attributes:
        location_id: the fulfilling location.
        kind: warehouse or store.
        lines: the lines (or parts of lines) it fulfils.
        distance_km: its distance to the destination.

    """

    location_id: str
    kind: LocationKind
    lines: tuple[OrderLine, ...]
    distance_km: float


@attrs.frozen
class FulfilmentPlan:
    """The sourcing answer: shipments, what could not be sourced, and why.

    Attributes:
        shipments: one per fulfilling location.
        unfulfilled: lines (or parts) no candidate could serve.
        strategy: the name of the strategy that produced the plan.
        explanation: the reasoning, one sentence per step.
        excluded: locations left out (e.g. stores that rejected an earlier allocation).

    """

    shipments: tuple[Shipment, ...]
    unfulfilled: tuple[OrderLine, ...]
    strategy: str
    explanation: tuple[str, ...]
    excluded: frozenset[str] = frozenset()

    @property
    def complete(self) -> bool:
        """Whether every line is sourced."""
        return not self.unfulfilled

    @property
    def location_ids(self) -> tuple[str, ...]:
        """The fulfilling locations, in shipment order."""
        return tuple(s.location_id for s in self.shipments)

    def hold_lines(self) -> tuple[HoldLine, ...]:
        """The lines to hold (kind ``order``) to reserve this plan's stock."""
        return tuple(
            HoldLine(line.sku, s.location_id, line.quantity)
            for s in self.shipments
            for line in s.lines
        )


@attrs.frozen(eq=False)
class SourcingContext:
    """Everything a strategy may look at (built by the service; arrays are read-only).

    Attributes:
        request: the order.
        network: the channel's locations.
        candidates: indices (into ``network.locations``) of the locations allowed to fulfil.
        skus: the distinct SKUs of the order, in first-seen order.
        needed: units needed per SKU (lines of one SKU summed).
        atp: per SKU, units available to promise at each candidate.
        distances: kilometres from the destination, per candidate.
        same_region: whether each candidate is in the destination's region.
        pickup: the position of the pick-up store in ``candidates``, if any.
        split_allowed: whether the order may ship from more than one location.
        split_note: why splitting is or is not allowed.
        excluded: locations left out.
        prices: the unit price shown on plan lines, per SKU (a kit's price goes to its
            first component).
        kits: kit SKUs of the order, sourced as their components.

    """

    request: SourcingRequest
    network: ChannelNetwork
    candidates: IntArray
    skus: tuple[str, ...]
    needed: tuple[int, ...]
    atp: tuple[IntArray, ...]
    distances: FloatArray
    same_region: Any
    pickup: int | None
    split_allowed: bool
    split_note: str
    excluded: frozenset[str]
    prices: dict[str, Money]
    kits: tuple[str, ...] = ()

    def is_store(self, c: int) -> bool:
        """Whether candidate ``c`` is a store (not the pick-up store itself)."""
        return bool(self.network.is_store[self.candidates[c]]) and c != self.pickup

    def location_id(self, c: int) -> str:
        """The id of candidate ``c``."""
        return self.network.locations[int(self.candidates[c])].id


class PlanRule(Protocol):
    """A ranking criterion over a set of candidate locations: smaller scores win."""

    @property
    def name(self) -> str:
        """A short name used in explanations."""
        ...

    def score(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> float:
        """Score the plan using candidates ``chosen``."""
        ...


class SourcingStrategy(Protocol):
    """One step of the pipeline: propose a plan, or ``None`` to let the next step try."""

    @property
    def name(self) -> str:
        """A short name used in explanations."""
        ...

    def propose(self, ctx: SourcingContext) -> FulfilmentPlan | None:
        """Return a plan, or ``None``."""
        ...


@attrs.frozen
class FewestShipments:
    """Prefer plans with fewer parcels."""

    name: str = "fewest shipments"

    def score(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> float:
        """The number of fulfilling locations."""
        return len(chosen)


@attrs.frozen
class WarehouseFirst:
    """Ship from stores only when warehouses lack the stock (ship-from-store as fallback)."""

    name: str = "warehouse before store"

    def score(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> float:
        """The number of stores shipping (the pick-up store itself does not count)."""
        return sum(ctx.is_store(c) for c in chosen)


@attrs.frozen
class SameRegion:
    """Prefer locations in the destination's region."""

    name: str = "same region"

    def score(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> float:
        """The number of locations outside the destination's region."""
        return sum(not ctx.same_region[c] for c in chosen)


@attrs.frozen
class Nearest:
    """Prefer the shortest total distance to the destination."""

    name: str = "nearest"

    def score(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> float:
        """Total kilometres, rounded to metres so float noise never decides."""
        return round(float(sum(ctx.distances[c] for c in chosen)), 3)


def _plan(
    ctx: SourcingContext,
    assignment: dict[int, dict[str, int]],
    short: dict[str, int],
    strategy: str,
    explanation: list[str],
) -> FulfilmentPlan:
    """Turn ``{candidate: {sku: units}}`` into a plan, keeping the order's line order."""
    price = ctx.prices
    shipments = []
    for c in sorted(assignment, key=lambda c: (ctx.distances[c], ctx.candidates[c])):
        lines = tuple(OrderLine(sku, q, price[sku]) for sku, q in assignment[c].items() if q)
        loc = ctx.network.locations[int(ctx.candidates[c])]
        distance = round(float(ctx.distances[c]), 3)
        shipments.append(Shipment(loc.id, loc.kind, lines, distance))
    unfulfilled = tuple(OrderLine(s, q, price[s]) for s, q in short.items() if q)
    return FulfilmentPlan(tuple(shipments), unfulfilled, strategy, tuple(explanation), ctx.excluded)


@attrs.frozen
class PickupStoreIfComplete:
    """For a pick-up order, the pick-up store alone if it has every line."""

    name: str = "pick-up store has everything"

    def propose(self, ctx: SourcingContext) -> FulfilmentPlan | None:
        """Return the single-location plan at the pick-up store, or ``None``."""
        p = ctx.pickup
        if p is None or any(a[p] < n for a, n in zip(ctx.atp, ctx.needed, strict=True)):
            return None
        store = ctx.location_id(p)
        note = f"pick-up store {store} has every line: the customer collects it there"
        return _plan(ctx, {p: dict(zip(ctx.skus, ctx.needed, strict=True))}, {}, self.name, [note])


def _popcount(mask: int) -> int:
    return bin(mask).count("1")


@attrs.frozen
class RankedSearch:
    """Compare candidate plans by ``rules`` in order; ties go to channel priority, then id.

    A SKU is sent whole from one location when any location has all of it; plans of one
    location are tried first, then pairs, then a greedy cover; a SKU no location has in
    full is split across locations when splitting is allowed.
    """

    rules: tuple[PlanRule, ...] = (FewestShipments(), WarehouseFirst(), SameRegion(), Nearest())
    name: str = "ranked search"

    def _key(self, ctx: SourcingContext, chosen: tuple[int, ...]) -> tuple[Any, ...]:
        scores = tuple(rule.score(ctx, chosen) for rule in self.rules)
        return (*scores, tuple(sorted(int(ctx.candidates[c]) for c in chosen)))

    def propose(self, ctx: SourcingContext) -> FulfilmentPlan | None:
        """Return the best plan (possibly with unfulfilled lines)."""
        n = len(ctx.skus)
        full = (1 << n) - 1
        ok = [a >= need for a, need in zip(ctx.atp, ctx.needed, strict=True)]
        masks = np.zeros(len(ctx.candidates), dtype=np.int64)
        for bit, column in enumerate(ok):
            masks |= column.astype(np.int64) << bit
        singles = np.flatnonzero(masks == full).tolist()
        notes = [f"{len(ctx.candidates)} candidate locations for channel {ctx.network.channel}"]
        if ctx.kits:
            notes.append(f"kits {list(ctx.kits)} are sourced as their components")
        if singles:
            best = min(singles, key=lambda c: self._key(ctx, (c,)))
            notes.append(
                f"{len(singles)} can ship everything; chose {ctx.location_id(best)} by "
                + ", then ".join(r.name for r in self.rules)
            )
            return self._finish(ctx, (best,), ok, notes)
        if not ctx.split_allowed:
            notes.append(f"no single location has every line and {ctx.split_note}")
            short = dict(zip(ctx.skus, ctx.needed, strict=True))
            return _plan(ctx, {}, short, self.name, notes)
        notes.append(f"no single location has every line; {ctx.split_note}")
        reps: dict[int, int] = {}
        for c in np.flatnonzero(masks).tolist():
            m = int(masks[c])
            if m not in reps or self._key(ctx, (c,)) < self._key(ctx, (reps[m],)):
                reps[m] = c
        pairs = [(reps[a], reps[b]) for a, b in combinations(sorted(reps), 2) if (a | b) == full]
        if pairs:
            chosen = min(pairs, key=lambda p: self._key(ctx, p))
            notes.append(f"{len(pairs)} two-location plans cover the order")
            return self._finish(ctx, chosen, ok, notes)
        picked: list[int] = []
        covered = 0
        while covered != full:
            gains = [(c, _popcount(m & ~covered)) for m, c in reps.items()]
            gains = [g for g in gains if g[1] > 0]
            if not gains:
                break
            top = max(g[1] for g in gains)
            c = min((g[0] for g in gains if g[1] == top), key=lambda c: self._key(ctx, (c,)))
            picked.append(c)
            covered |= int(masks[c])
        notes.append(f"greedy cover with {len(picked)} locations")
        return self._finish(ctx, tuple(picked), ok, notes)

    def _finish(
        self, ctx: SourcingContext, chosen: tuple[int, ...], ok: list[Any], notes: list[str]
    ) -> FulfilmentPlan:
        ranked = sorted(chosen, key=lambda c: self._key(ctx, (c,)))
        assignment: dict[int, dict[str, int]] = {c: {} for c in ranked}
        short: dict[str, int] = {}
        for s, sku in enumerate(ctx.skus):
            home = next((c for c in ranked if ok[s][c]), None)
            if home is not None:
                assignment[home][sku] = ctx.needed[s]
                continue
            left = self._split(ctx, s, ranked, assignment)
            if left:
                short[sku] = left
        for c in ranked:
            if ctx.is_store(c) and not any(
                ok[ctx.skus.index(sku)][w]
                for sku in assignment[c]
                for w in range(len(ctx.candidates))
                if not ctx.is_store(w)
            ):
                notes.append(
                    f"ship-from-store: no warehouse has enough of {sorted(assignment[c])}; "
                    f"store {ctx.location_id(c)} ships them"
                )
        for c in ranked:
            scores = ", ".join(f"{r.name}={r.score(ctx, (c,)):g}" for r in self.rules[1:])
            notes.append(f"{ctx.location_id(c)}: {sorted(assignment[c])} ({scores})")
        assignment = {c: lines for c, lines in assignment.items() if lines}
        return _plan(ctx, assignment, short, self.name, notes)

    def _split(
        self,
        ctx: SourcingContext,
        s: int,
        ranked: Sequence[int],
        assignment: dict[int, dict[str, int]],
    ) -> int:
        """Spread SKU ``s`` over the chosen locations first, then others; return the rest."""
        sku, left = ctx.skus[s], ctx.needed[s]
        others = sorted(
            (c for c in range(len(ctx.candidates)) if c not in assignment),
            key=lambda c: self._key(ctx, (c,)),
        )
        for c in [*ranked, *others]:
            take = min(left, int(ctx.atp[s][c]))
            if take > 0:
                assignment.setdefault(c, {})[sku] = take
                left -= take
            if not left:
                break
        return left


def _strategies(value: Any) -> tuple[SourcingStrategy, ...]:
    items = tuple(value)
    for item in items:
        if not callable(getattr(item, "propose", None)):
            raise InvalidTypeError("strategies", item, "must have a propose(ctx) method")
    return items


@attrs.frozen(kw_only=True)
class SourcingPolicy:
    """The host's sourcing configuration.

    Attributes:
        strategies: tried in order; the first plan proposed wins.
        min_split_value: orders worth less than this never ship from more than one place.
        ship_from_store: whether stores with ship-from-store may ship home orders.

    """

    strategies: tuple[SourcingStrategy, ...] = attrs.field(
        factory=lambda: (PickupStoreIfComplete(), RankedSearch()), converter=_strategies
    )
    min_split_value: Money | None = attrs.field(default=None, validator=_optional(Money))
    ship_from_store: bool = True

    def run(self, ctx: SourcingContext) -> FulfilmentPlan:
        """Run the pipeline; with no proposal, everything is unfulfilled."""
        for strategy in self.strategies:
            plan = strategy.propose(ctx)
            if plan is not None:
                return plan
        short = {ln.sku: ln.quantity for ln in ctx.request.lines}
        return _plan(ctx, {}, short, "none", ["no strategy proposed a plan"])
