"""Quantities as named states per SKU x location, and the movements they are replayed from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import attrs

from omnicrm.errors import InvalidTypeError
from omnicrm.validation import (
    aware_validator,
    check_date,
    check_int,
    id_validator,
    optional_id_validator,
)

__all__ = ["Movement", "MovementReason", "StockLevel", "replay"]

_LIMIT = 10**12


class MovementReason(StrEnum):
    """Why a quantity changed."""

    RECEIVE = "receive"
    SELL = "sell"
    ADJUST = "adjust"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RETURN = "return"
    EXPECT = "expect"
    SAFETY_STOCK = "safety_stock"
    HOLD = "hold"
    RELEASE = "release"
    EXPIRE = "expire"
    CONFIRM = "confirm"
    FULFIL = "fulfil"


def _delta(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=-_LIMIT, maximum=_LIMIT)


def _count(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0, maximum=_LIMIT)


def _optional_date(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_date(attribute.name, value)


def _reason(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, MovementReason):
        raise InvalidTypeError(attribute.name, value, "must be a MovementReason")


@attrs.frozen(kw_only=True)
class Movement:
    """One recorded change of the quantities of one SKU at one location.

    The deltas say how each named state moved; quantities are the sum of movements.

    Attributes:
        id: the movement id.
        sku: the SKU.
        location_id: the location.
        reason: why (receive, sell, adjust, transfer out / in, return, hold, ...).
        on_hand: change of units physically there.
        held: change of units under active holds.
        committed: change of units allocated to orders.
        incoming: change of units expected to arrive.
        safety_stock: change of units never promised.
        expected_on: for an ``expect`` movement, when the incoming units are due.
        reference: the business reference (purchase order, order, hold, count sheet).
        idempotency_key: the key of the command that recorded it.
        occurred_at: when it was recorded.
        sequence: its position in the store's movement log (set by the repository).

    """

    id: str = attrs.field(validator=id_validator)
    sku: str = attrs.field(validator=id_validator)
    location_id: str = attrs.field(validator=id_validator)
    reason: MovementReason = attrs.field(validator=_reason)
    on_hand: int = attrs.field(default=0, validator=_delta)
    held: int = attrs.field(default=0, validator=_delta)
    committed: int = attrs.field(default=0, validator=_delta)
    incoming: int = attrs.field(default=0, validator=_delta)
    safety_stock: int = attrs.field(default=0, validator=_delta)
    expected_on: date | None = attrs.field(default=None, validator=_optional_date)
    reference: str | None = attrs.field(default=None, validator=optional_id_validator)
    idempotency_key: str = attrs.field(validator=id_validator)
    occurred_at: datetime = attrs.field(validator=aware_validator)
    sequence: int = attrs.field(default=0, validator=_count)


@attrs.frozen(kw_only=True)
class StockLevel:
    """The named quantity states of one SKU at one location.

    Attributes:
        sku: the SKU.
        location_id: the location.
        on_hand: units physically there.
        held: units under active holds (cart, try-on, pick-up, order).
        committed: units allocated to confirmed orders, not yet shipped.
        incoming: units expected to arrive.
        safety_stock: units never promised to any channel.
        expected_on: when the incoming units are due (the latest ``expect``), if any.

    """

    sku: str = attrs.field(validator=id_validator)
    location_id: str = attrs.field(validator=id_validator)
    on_hand: int = attrs.field(default=0, validator=_count)
    held: int = attrs.field(default=0, validator=_count)
    committed: int = attrs.field(default=0, validator=_count)
    incoming: int = attrs.field(default=0, validator=_count)
    safety_stock: int = attrs.field(default=0, validator=_count)
    expected_on: date | None = attrs.field(default=None, validator=_optional_date)

    def available(self, buffer: int = 0) -> int:
        """Available to promise: on hand - committed - held - safety stock - ``buffer``, >= 0."""
        return max(0, self.on_hand - self.committed - self.held - self.safety_stock - buffer)

    def can_apply(self, movement: Movement) -> bool:
        """Whether applying ``movement`` keeps every state non-negative."""
        return (
            self.on_hand + movement.on_hand >= 0
            and self.held + movement.held >= 0
            and self.committed + movement.committed >= 0
            and self.incoming + movement.incoming >= 0
            and self.safety_stock + movement.safety_stock >= 0
        )

    def apply(self, movement: Movement) -> StockLevel:
        """Return the level after ``movement`` (the caller checks :meth:`can_apply`)."""
        incoming = self.incoming + movement.incoming
        expected = None if incoming == 0 else (movement.expected_on or self.expected_on)
        return StockLevel(
            sku=self.sku,
            location_id=self.location_id,
            on_hand=self.on_hand + movement.on_hand,
            held=self.held + movement.held,
            committed=self.committed + movement.committed,
            incoming=incoming,
            safety_stock=self.safety_stock + movement.safety_stock,
            expected_on=expected,
        )


def replay(movements: Iterable[Movement]) -> dict[tuple[str, str], StockLevel]:
    """Rebuild every level from movements, in the order given; keyed by ``(sku, location)``."""
    levels: dict[tuple[str, str], StockLevel] = {}
    for movement in movements:
        key = (movement.sku, movement.location_id)
        level = levels.get(key) or StockLevel(sku=key[0], location_id=key[1])
        levels[key] = level.apply(movement)
    return levels
