"""The values the composition root stores itself: purchases for RFM and watched items."""

from __future__ import annotations

from datetime import datetime

import attrs

from omnicrm.validation import aware_validator, check_int, id_validator

__all__ = ["PurchaseRecord", "Watch"]


def _amount(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    check_int(attribute.name, value, minimum=0)


@attrs.frozen(kw_only=True)
class PurchaseRecord:
    """One purchase in any channel, kept as an RFM input.

    Attributes:
        order_id: the host's order id (one record per order).
        customer_id: the person who bought (moves with merges).
        channel: the channel's name (``"store"``, ``"ec"``, ...).
        amount: the amount paid in minor units.
        at: when it was bought (aware).
        merged_from: the id the record belonged to before a merge moved it, if any.

    """

    order_id: str = attrs.field(validator=id_validator)
    customer_id: str = attrs.field(validator=id_validator)
    channel: str = attrs.field(validator=id_validator)
    amount: int = attrs.field(validator=_amount)
    at: datetime = attrs.field(validator=aware_validator)
    merged_from: str | None = None


@attrs.frozen(kw_only=True)
class Watch:
    """A customer waiting for an item to be back in stock.

    Attributes:
        customer_id: who watches.
        sku: the item watched.
        since: when they asked (aware).

    """

    customer_id: str = attrs.field(validator=id_validator)
    sku: str = attrs.field(validator=id_validator)
    since: datetime = attrs.field(validator=aware_validator)
