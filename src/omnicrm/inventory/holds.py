"""Holds: units promised to a cart, a try-on, a pick-up or an order, until they lapse."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.validation import aware_validator, check_int, id_validator, optional_id_validator

__all__ = ["DEFAULT_HOLD_TTL", "Hold", "HoldKind", "HoldLine", "HoldStatus", "merge_lines"]


class HoldKind(StrEnum):
    """What a hold is for."""

    CART = "cart"
    TRY_ON = "try_on"
    PICK_UP = "pick_up"
    ORDER = "order"


class HoldStatus(StrEnum):
    """Where a hold is in its life: active, then confirmed, released or expired."""

    ACTIVE = "active"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"
    FULFILLED = "fulfilled"


DEFAULT_HOLD_TTL: dict[HoldKind, timedelta] = {
    HoldKind.CART: timedelta(minutes=30),
    HoldKind.TRY_ON: timedelta(hours=24),
    HoldKind.PICK_UP: timedelta(days=3),
    HoldKind.ORDER: timedelta(days=7),
}
"""How long a hold lasts when the command gives no ``expires_at``."""


def _quantity(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=1, maximum=10**9)


@attrs.frozen(order=True)
class HoldLine:
    """``quantity`` units of ``sku`` at ``location_id``."""

    sku: str = attrs.field(validator=id_validator)
    location_id: str = attrs.field(validator=id_validator)
    quantity: int = attrs.field(validator=_quantity)


def merge_lines(lines: Iterable[HoldLine]) -> tuple[HoldLine, ...]:
    """Sum lines of the same SKU and location (cumulative checks); sorted."""
    totals: dict[tuple[str, str], int] = {}
    for line in lines:
        if not isinstance(line, HoldLine):
            raise InvalidTypeError("lines", line, "must be a HoldLine")
        key = (line.sku, line.location_id)
        totals[key] = totals.get(key, 0) + line.quantity
    return tuple(HoldLine(s, loc, q) for (s, loc), q in sorted(totals.items()))


def _already_merged(value: Any) -> bool:
    if not isinstance(value, tuple) or not value:
        return False
    keys = [(ln.sku, ln.location_id) if type(ln) is HoldLine else None for ln in value]
    return None not in keys and all(a < b for a, b in itertools.pairwise(keys))  # type: ignore[operator]


def _to_lines(value: Any) -> tuple[HoldLine, ...]:
    if _already_merged(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("lines", value, "must be an iterable of HoldLine")
    lines = merge_lines(value)
    if not lines:
        raise ValidationError("lines", value, "must hold at least one line")
    return lines


def _check(kind: type[StrEnum]) -> Any:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise InvalidTypeError(attribute.name, value, f"must be a {kind.__name__}")

    return check


def _channel(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Channel):
        raise InvalidTypeError(attribute.name, value, "must be a Channel")


@attrs.frozen(kw_only=True)
class Hold:
    """Units set aside for one cart, try-on, pick-up or order; all lines move together.

    Attributes:
        id: the hold id.
        kind: cart, try-on, pick-up or order.
        channel: the channel the hold was placed through.
        lines: what is held where (kits already expanded into components; merged).
        status: active, confirmed, released, expired or fulfilled.
        created_at: when it was placed.
        expires_at: when an active hold lapses and gives its units back.
        updated_at: when the status last changed.
        reference: the host's reference (cart id, order number).

    """

    id: str = attrs.field(validator=id_validator)
    kind: HoldKind = attrs.field(validator=_check(HoldKind))
    channel: Channel = attrs.field(validator=_channel)
    lines: tuple[HoldLine, ...] = attrs.field(converter=_to_lines)
    status: HoldStatus = attrs.field(default=HoldStatus.ACTIVE, validator=_check(HoldStatus))
    created_at: datetime = attrs.field(validator=aware_validator)
    expires_at: datetime = attrs.field(validator=aware_validator)
    updated_at: datetime = attrs.field(validator=aware_validator)
    reference: str | None = attrs.field(default=None, validator=optional_id_validator)

    @property
    def quantity(self) -> int:
        """Total units across the lines."""
        return sum(line.quantity for line in self.lines)

    def is_due(self, now: datetime) -> bool:
        """Whether an active hold has lapsed at ``now``."""
        return self.status is HoldStatus.ACTIVE and self.expires_at <= now
