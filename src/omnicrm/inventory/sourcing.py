"""Order sourcing values: the request, the plan it yields, and what strategies look at.

The service builds a :class:`SourcingContext` (candidate locations with their available
quantities, distances and regions); a :class:`~omnicrm.inventory.strategies.SourcingPolicy`
runs its :class:`SourcingStrategy` steps in order and the first that proposes a plan wins.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import CurrencyMismatchError, InvalidTypeError, ValidationError
from omnicrm.inventory.columns import IntArray
from omnicrm.inventory.geo import FloatArray
from omnicrm.inventory.holds import HoldLine
from omnicrm.inventory.model import GeoPoint, LocationKind
from omnicrm.inventory.network import ChannelNetwork
from omnicrm.money import Money
from omnicrm.validation import check_int, check_tuple, id_validator, optional_id_validator

__all__ = [
    "DeliveryMethod",
    "FulfilmentPlan",
    "OrderLine",
    "PlanRule",
    "Shipment",
    "SourcingContext",
    "SourcingRequest",
    "SourcingStrategy",
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
    lines: tuple[OrderLine, ...] = check_tuple("lines", value, OrderLine, "an OrderLine")
    if not lines:
        raise ValidationError("lines", value, "an order needs at least one line")
    for line in lines:
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
    region: str | None = attrs.field(default=None, validator=optional_id_validator)
    pickup_location_id: str | None = attrs.field(default=None, validator=optional_id_validator)

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
