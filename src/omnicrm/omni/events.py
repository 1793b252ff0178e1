"""Domain events of the composition root."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent
from omnicrm.validation import id_validator

__all__ = ["PurchaseRecorded"]


@attrs.frozen(kw_only=True)
class PurchaseRecorded(DomainEvent):
    """A purchase in any channel was recorded: earn points, tell the journeys.

    Attributes:
        customer_id: the person who bought.
        order_id: the host's order id.
        program_id: the loyalty program to earn in (``None``: no points).
        channel: the channel's name.
        amount: the amount paid in minor units (after points used).

    """

    customer_id: str = attrs.field(validator=id_validator)
    order_id: str = attrs.field(validator=id_validator)
    program_id: str | None
    channel: str
    amount: int
