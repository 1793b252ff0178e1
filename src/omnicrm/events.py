"""Domain events: facts a command produced, handed to the host and to other capabilities.

A unit of work collects the events of one command; they are returned only after it
commits, so a rolled-back command announces nothing. Events are frozen ``attrs``
classes; subclasses add their own keyword-only fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from omnicrm.validation import aware_validator, id_validator

__all__ = ["DomainEvent", "EventBus"]


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Base of every domain event.

    Attributes:
        event_id: a unique id; consumers use it to ignore a duplicate delivery.
        occurred_at: when it happened (aware).

    """

    event_id: str = attrs.field(validator=id_validator)
    occurred_at: datetime = attrs.field(validator=aware_validator)

    @property
    def event_type(self) -> str:
        """The event's type name, e.g. ``"CustomerRegistered"``."""
        return type(self).__name__


@runtime_checkable
class EventBus(Protocol):
    """Where committed events go; the host supplies one (a queue, an outbox, a list)."""

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Deliver ``events`` in order."""
        ...
