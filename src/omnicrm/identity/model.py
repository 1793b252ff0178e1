"""Stored identity values: people (profiles), their source records, decisions and audit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.validation import aware_validator, check_int, id_validator

__all__ = ["AuditEntry", "IdentityProfile", "PairDecision", "StoredRecord", "Verdict"]


def _to_refs(value: Any) -> frozenset[SourceRef]:
    refs = frozenset(value)
    for ref in refs:
        if not isinstance(ref, SourceRef):
            raise InvalidTypeError("members", ref, "must be a SourceRef")
    return refs


def _check_version(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0)


@attrs.frozen(kw_only=True)
class IdentityProfile:
    """One person as identity knows them: the records that are theirs.

    Attributes:
        customer_id: the person's id (the founding record's ``"channel:id"``).
        members: the sources of the person's records.
        created_at: when the person was first seen (aware).
        updated_at: when the membership last changed (aware).
        version: optimistic-concurrency version (0 before the first write).
        erased: ``True`` once erased: a tombstone with no personal data.
        merged_into: the survivor's id when this person was merged away, else ``None``.

    """

    customer_id: str = attrs.field(validator=id_validator)
    members: frozenset[SourceRef] = attrs.field(converter=_to_refs)
    created_at: datetime = attrs.field(validator=aware_validator)
    updated_at: datetime = attrs.field(validator=aware_validator)
    version: int = attrs.field(default=0, validator=_check_version)
    erased: bool = False
    merged_into: str | None = None

    @property
    def active(self) -> bool:
        """Neither erased nor merged into another person."""
        return not self.erased and self.merged_into is None


@attrs.frozen(kw_only=True)
class StoredRecord:
    """A source record and the person it belongs to; ``record`` is ``None`` once erased.

    Attributes:
        source: the record's source (the key).
        customer_id: the person it belongs to.
        record: the record, or ``None`` for a tombstone.

    """

    source: SourceRef
    customer_id: str = attrs.field(validator=id_validator)
    record: CustomerRecord | None = None

    @property
    def erased(self) -> bool:
        """Whether this is a tombstone."""
        return self.record is None


class Verdict:
    """What a person decided about a pair of records."""

    PENDING = "pending"
    """Scored between the thresholds; waiting in the review queue."""
    SAME = "same"
    """The same person: link them."""
    DIFFERENT = "different"
    """Different people: never link them, whatever later runs score."""

    ALL = frozenset({PENDING, SAME, DIFFERENT})


def _check_verdict(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in Verdict.ALL:
        raise ValidationError(attribute.name, value, f"must be one of {sorted(Verdict.ALL)}")


def _ordered_pair(instance: PairDecision, attribute: Any, value: Any) -> None:
    if not isinstance(value, SourceRef):
        raise InvalidTypeError(attribute.name, value, "must be a SourceRef")
    if attribute.name == "b" and not instance.a < value:
        raise ValidationError("b", str(value), "a pair is stored with a < b; use PairDecision.of")


@attrs.frozen(kw_only=True)
class PairDecision:
    """A pair in the review queue or decided by a person.

    Attributes:
        a, b: the two sources, ``a < b``.
        verdict: a :class:`Verdict` name.
        score: the score when it was queued.
        levels: each field's comparison level and weight (no personal data).
        decided_at: when it was queued or decided (aware).

    """

    a: SourceRef = attrs.field(validator=_ordered_pair)
    b: SourceRef = attrs.field(validator=_ordered_pair)
    verdict: str = attrs.field(validator=_check_verdict)
    score: float = 0.0
    levels: tuple[tuple[str, str, float], ...] = ()
    decided_at: datetime = attrs.field(validator=aware_validator)

    @classmethod
    def of(cls, x: SourceRef, y: SourceRef, **kwargs: Any) -> PairDecision:
        """Build a decision for ``x`` and ``y`` in either order."""
        a, b = sorted((x, y))
        return cls(a=a, b=b, **kwargs)


@attrs.frozen(kw_only=True)
class AuditEntry:
    """One change to who is who: a merge, an unmerge, an erasure or a decision.

    ``before`` holds the profiles as they were (membership only, no personal data), so
    an unmerge can restore them exactly.

    Attributes:
        entry_id: the entry's id.
        at: when (aware).
        action: ``"merge"``, ``"unmerge"``, ``"erase"`` or ``"decide"``.
        customer_id: the person acted on (the survivor of a merge).
        other_id: the other person (the absorbed one), if any.
        reason: why (the rule, score or a person's note).
        before: the profiles before the change, by customer id.
        undone: ``True`` once an unmerge reversed this merge.

    """

    entry_id: str = attrs.field(validator=id_validator)
    at: datetime = attrs.field(validator=aware_validator)
    action: str
    customer_id: str = attrs.field(validator=id_validator)
    other_id: str | None = None
    reason: str = ""
    before: Mapping[str, IdentityProfile] = attrs.field(factory=dict)
    undone: bool = False
