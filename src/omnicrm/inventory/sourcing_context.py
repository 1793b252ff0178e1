"""Building a :class:`~omnicrm.inventory.sourcing.SourcingContext` from stock and network."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from omnicrm.errors import CurrencyMismatchError, NotFoundError, RuleViolationError
from omnicrm.inventory.columns import StockColumns
from omnicrm.inventory.model import Item, LocationKind
from omnicrm.inventory.network import ChannelNetwork
from omnicrm.inventory.sourcing import DeliveryMethod, SourcingContext, SourcingRequest
from omnicrm.inventory.strategies import SourcingPolicy
from omnicrm.money import Money

__all__ = ["build_context"]


def build_context(
    request: SourcingRequest,
    network: ChannelNetwork,
    items: Mapping[str, Item],
    columns: Mapping[str, StockColumns],
    policy: SourcingPolicy,
    excluded: frozenset[str],
) -> SourcingContext:
    """Choose the candidates and lay out their stock for the strategies."""
    pickup_at: int | None = None
    destination = request.destination
    if request.method is DeliveryMethod.PICK_UP:
        assert request.pickup_location_id is not None
        pickup_at = network.index.get(request.pickup_location_id)
        if pickup_at is None:
            raise NotFoundError("pickup location for this channel", request.pickup_location_id)
        store = network.locations[pickup_at]
        if "pick_up" not in store.capabilities:
            raise RuleViolationError("pickup_location_id", store.id, "does not offer pick-up")
        destination = store.position
    eligible = []
    for i, loc in enumerate(network.locations):
        if loc.id in excluded:
            continue
        if i == pickup_at or (
            loc.ships and (policy.ship_from_store or loc.kind is LocationKind.WAREHOUSE)
        ):
            eligible.append(i)
    candidates = np.asarray(eligible, dtype=np.int64)
    needed: dict[str, int] = {}
    prices: dict[str, Money] = {}
    kits = []
    zero = Money.zero(request.lines[0].unit_price.currency)
    for line in request.lines:  # kits are sourced as their components (checked together)
        item = items[line.sku]
        parts = [(c.sku, c.quantity) for c in item.components] or [(line.sku, 1)]
        if item.is_kit:
            kits.append(line.sku)
        for n, (sku, per_unit) in enumerate(parts):
            needed[sku] = needed.get(sku, 0) + per_unit * line.quantity
            if not item.is_kit:
                prices[sku] = line.unit_price
            else:
                prices.setdefault(sku, line.unit_price if n == 0 else zero)
    skus = tuple(needed)
    atp = tuple(network.atp(columns[s])[candidates] for s in skus)
    distances = network.distances(destination)
    assert distances is not None
    regions = np.asarray([network.locations[i].region == request.region for i in eligible])
    pickup = None if pickup_at is None or pickup_at not in eligible else eligible.index(pickup_at)
    value = request.order_value
    threshold = policy.min_split_value
    if threshold is None:
        split, note = True, "splitting is allowed"
    elif threshold.currency != value.currency:
        raise CurrencyMismatchError(
            "min_split_value", threshold, f"the order is priced in {value.currency}"
        )
    elif value.amount >= threshold.amount:
        split, note = True, f"the order value {value} allows a split (threshold {threshold})"
    else:
        split, note = False, f"the order value {value} is below the split threshold {threshold}"
    return SourcingContext(
        request=request,
        network=network,
        candidates=candidates,
        skus=skus,
        needed=tuple(needed.values()),
        atp=atp,
        distances=distances[candidates],
        same_region=regions,
        pickup=pickup,
        split_allowed=split,
        split_note=note,
        excluded=excluded,
        prices=prices,
        kits=tuple(kits),
    )
