"""The shipped sourcing strategies and ranking rules, and the policy that runs them.

:class:`RankedSearch` compares candidate plans by its rules, lexicographically, with
deterministic tie-breaks (channel priority, then id). The default pipeline is
:class:`PickupStoreIfComplete`, then :class:`RankedSearch` with :class:`FewestShipments`,
:class:`WarehouseFirst`, :class:`SameRegion` and :class:`Nearest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import attrs
import numpy as np

from omnicrm.errors import InvalidTypeError
from omnicrm.inventory.sourcing import (
    FulfilmentPlan,
    OrderLine,
    PlanRule,
    Shipment,
    SourcingContext,
    SourcingStrategy,
)
from omnicrm.money import Money
from omnicrm.validation import check_tuple

__all__ = [
    "FewestShipments",
    "Nearest",
    "PickupStoreIfComplete",
    "RankedSearch",
    "SameRegion",
    "SourcingPolicy",
    "WarehouseFirst",
]


def _optional_money(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, Money):
        raise InvalidTypeError(attribute.name, value, "must be Money or None")


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
    items = check_tuple("strategies", value, object, "a sourcing strategy")
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
    min_split_value: Money | None = attrs.field(default=None, validator=_optional_money)
    ship_from_store: bool = True

    def run(self, ctx: SourcingContext) -> FulfilmentPlan:
        """Run the pipeline; with no proposal, everything is unfulfilled."""
        for strategy in self.strategies:
            plan = strategy.propose(ctx)
            if plan is not None:
                return plan
        short = {ln.sku: ln.quantity for ln in ctx.request.lines}
        return _plan(ctx, {}, short, "none", ["no strategy proposed a plan"])
