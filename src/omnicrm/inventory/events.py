"""Domain events of the inventory capability."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent

__all__ = ["HoldChanged", "HoldPlaced", "StockMoved"]


@attrs.frozen(kw_only=True)
class StockMoved(DomainEvent):
    """Quantities of one SKU at one location changed.

    Attributes:
        sku: the SKU.
        location_id: the location.
        reason: the movement reason ("receive", "sell", ...).
        available: units free to promise there afterwards (before channel buffers).

    """

    sku: str
    location_id: str
    reason: str
    available: int


@attrs.frozen(kw_only=True)
class HoldPlaced(DomainEvent):
    """Units were set aside.

    Attributes:
        hold_id: the hold.
        kind: cart, try_on, pick_up or order.
        reference: the host's reference, if any.

    """

    hold_id: str
    kind: str
    reference: str | None


@attrs.frozen(kw_only=True)
class HoldChanged(DomainEvent):
    """A hold was confirmed, released, expired or fulfilled.

    Attributes:
        hold_id: the hold.
        status: its new status.

    """

    hold_id: str
    status: str
