"""Domain events of the identity capability, for other capabilities to follow."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent
from omnicrm.validation import id_validator

__all__ = ["CustomerErased", "CustomersMerged", "CustomersUnmerged"]


@attrs.frozen(kw_only=True)
class CustomersMerged(DomainEvent):
    """Two people were found to be one: move ``absorbed``'s points, journeys, ... over.

    Attributes:
        survivor: the id that remains.
        absorbed: the id merged into it.
        reason: the rule or score that decided, or a person's note.
        audit_id: the audit entry; pass it to ``unmerge`` to reverse the merge.

    """

    survivor: str = attrs.field(validator=id_validator)
    absorbed: str = attrs.field(validator=id_validator)
    reason: str
    audit_id: str = attrs.field(validator=id_validator)


@attrs.frozen(kw_only=True)
class CustomersUnmerged(DomainEvent):
    """A merge was reversed: ``restored`` is a person of its own again.

    Attributes:
        survivor: the id that had absorbed the other.
        restored: the id restored.
        audit_id: the merge's audit entry.

    """

    survivor: str = attrs.field(validator=id_validator)
    restored: str = attrs.field(validator=id_validator)
    audit_id: str = attrs.field(validator=id_validator)


@attrs.frozen(kw_only=True)
class CustomerErased(DomainEvent):
    """A person's personal data was erased (APPI request); erase yours too.

    Attributes:
        customer_id: the erased person.

    """

    customer_id: str = attrs.field(validator=id_validator)
