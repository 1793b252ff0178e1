"""Domain events of the customers capability."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent
from omnicrm.validation import id_validator

__all__ = ["CustomerProfileErased", "CustomerRegistered", "CustomerUpdated"]


@attrs.frozen(kw_only=True)
class CustomerRegistered(DomainEvent):
    """A new customer was stored.

    Attributes:
        customer_id: the new customer's id.
        channel: where they signed up (a channel name).

    """

    customer_id: str = attrs.field(validator=id_validator)
    channel: str = attrs.field(validator=id_validator)


@attrs.frozen(kw_only=True)
class CustomerUpdated(DomainEvent):
    """A customer's profile changed.

    Attributes:
        customer_id: the customer's id.
        version: the version the change produced.

    """

    customer_id: str = attrs.field(validator=id_validator)
    version: int


@attrs.frozen(kw_only=True)
class CustomerProfileErased(DomainEvent):
    """A customer's personal data was erased; only the id and an empty profile remain.

    Attributes:
        customer_id: the customer's id.

    """

    customer_id: str = attrs.field(validator=id_validator)
