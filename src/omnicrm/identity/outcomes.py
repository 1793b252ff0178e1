"""What the online identity commands return."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent
from omnicrm.identity.explain import Explanation

__all__ = ["CommandOutcome", "Placement"]


@attrs.frozen
class Placement:
    """Where ``resolve`` put a record.

    Attributes:
        customer_id: the person the record belongs to.
        created: ``True`` when the record started a new person.
        merged: people merged into ``customer_id`` because the record linked them.
        links: why the record joined (its merge explanations with stored records).
        review: pairs queued for a person to decide.
        events: the committed events (``CustomersMerged``); empty on a replay.
        replayed: ``True`` when an earlier call with the same idempotency key answered.

    """

    customer_id: str
    created: bool
    merged: tuple[str, ...] = ()
    links: tuple[Explanation, ...] = ()
    review: tuple[Explanation, ...] = ()
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False


@attrs.frozen
class CommandOutcome:
    """The result of merge, unmerge, decide or erase.

    Attributes:
        customer_id: the person acted on (the survivor of a merge).
        audit_id: the audit entry written.
        events: the committed events; empty on a replay.
        replayed: ``True`` when an earlier call with the same key answered.

    """

    customer_id: str
    audit_id: str
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False
