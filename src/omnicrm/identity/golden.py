"""The golden record: one value per field chosen from a person's records, with provenance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime

import attrs

from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import SourceRef

__all__ = ["GOLDEN_FIELDS", "FieldValue", "GoldenRecord", "Survivorship", "build_golden"]

GOLDEN_FIELDS: tuple[str, ...] = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "birth_date",
    "gender",
    "postal_code",
    "address",
    "member_card_no",
)
"""The record fields a golden record carries."""


class Survivorship:
    """The rules that pick a field's value; each falls back to the next on a tie."""

    VERIFIED = "verified"
    """A verified value (an e-mail the channel proved) beats an unverified one."""
    FREQUENT = "frequent"
    """The value most records agree on (after normalisation)."""
    PRIORITY = "priority"
    """The value from the most trusted channel (``MatchConfig.source_priority``)."""
    RECENT = "recent"
    """The value of the most recently observed record."""


DEFAULT_POLICY: Mapping[str, tuple[str, ...]] = {
    "email": ("verified", "recent", "frequent"),
    "phone": ("frequent", "recent"),
    "address": ("recent", "priority"),
    "postal_code": ("recent", "priority"),
    "birth_date": ("frequent", "priority"),
}
_DEFAULT_RULES = ("frequent", "priority", "recent")
_NEVER = datetime.min.replace(tzinfo=UTC)


@attrs.frozen
class FieldValue:
    """A golden field's value and where it came from.

    Attributes:
        value: the value as the source record wrote it.
        source: the record that gave it.
        rule: the survivorship rule that decided (``"agreed"`` when every record agrees).

    """

    value: str | date
    source: SourceRef
    rule: str


@attrs.frozen
class GoldenRecord:
    """A person's best-known values, each with its provenance.

    Attributes:
        customer_id: the person's id (their earliest record's source, ``"channel:id"``).
        sources: every record of the person.
        fields: the chosen value of each known field.

    """

    customer_id: str
    sources: frozenset[SourceRef]
    fields: Mapping[str, FieldValue]

    def value(self, field: str) -> str | date | None:
        """The chosen value of ``field``, or ``None`` if no record had one."""
        found = self.fields.get(field)
        return None if found is None else found.value


def _normal(p: PreparedRecord, field: str, raw: object) -> object:
    keyed = {
        "email": p.email,
        "phone": p.phone,
        "postal_code": p.postal_code,
        "birth_date": p.birth_date,
        "family_name": p.family,
        "given_name": p.given,
        "family_name_kana": p.family_kana,
        "given_name_kana": p.given_kana,
        "address": p.address.key if p.address else None,
    }
    return keyed.get(field) or raw


def build_golden(
    customer_id: str,
    records: Sequence[PreparedRecord],
    *,
    source_priority: Sequence[str] = (),
    policy: Mapping[str, tuple[str, ...]] = DEFAULT_POLICY,
) -> GoldenRecord:
    """Choose each field's value among ``records`` by the field's survivorship rules."""
    rank = {name: i for i, name in enumerate(source_priority)}
    chosen: dict[str, FieldValue] = {}
    for field in GOLDEN_FIELDS:
        candidates = [(p, getattr(p.record, field)) for p in records]
        candidates = [(p, v) for p, v in candidates if v is not None and v != ""]
        if not candidates:
            continue
        counts = Counter(_normal(p, field, v) for p, v in candidates)
        scorers = _scorers(field, counts, rank)
        rules = policy.get(field, _DEFAULT_RULES)
        best = max(
            candidates,
            key=lambda c: (*(scorers[r](c[0], c[1]) for r in rules), _neg(c[0].record.source)),
        )
        rule = "agreed" if len(counts) == 1 else _deciding_rule(candidates, best, rules, scorers)
        chosen[field] = FieldValue(best[1], best[0].record.source, rule)
    return GoldenRecord(customer_id, frozenset(p.record.source for p in records), chosen)


def _scorers(
    field: str, counts: Counter[object], rank: Mapping[str, int]
) -> dict[str, Callable[[PreparedRecord, object], object]]:
    return {
        "verified": lambda p, _v: p.email_verified,
        "frequent": lambda p, v: counts[_normal(p, field, v)],
        "priority": lambda p, _v: -rank.get(p.record.source.channel.name, len(rank)),
        "recent": lambda p, _v: p.record.observed_at or _NEVER,
    }


def _neg(ref: SourceRef) -> tuple[int, ...]:
    """Order sources descending so ``max`` prefers the smallest on a full tie."""
    return tuple(-ord(c) for c in str(ref))


def _deciding_rule(
    candidates: list[tuple[PreparedRecord, object]],
    best: tuple[PreparedRecord, object],
    rules: tuple[str, ...],
    scorers: Mapping[str, Callable[[PreparedRecord, object], object]],
) -> str:
    for rule in rules:
        top = scorers[rule](*best)
        if sum(1 for c in candidates if scorers[rule](*c) == top) < len(candidates):
            return rule
        candidates = [c for c in candidates if scorers[rule](*c) == top]
    return "first_source"
