"""Explanations: why two records were merged, sent to review, or kept apart."""

from __future__ import annotations

import attrs

from omnicrm.identity.records import SourceRef

__all__ = ["Decision", "Explanation", "FieldComparison"]


class Decision:
    """The outcomes a pair of records can have."""

    MERGE = "merge"
    """Same person: by a deterministic rule or a score at or above the match threshold."""
    REVIEW = "review"
    """Scored between the review and match thresholds: a person should decide."""
    NO_MATCH = "no_match"
    """Scored below the review threshold."""
    CANNOT_LINK = "cannot_link"
    """A guard forbids the link (different birth dates, a "different people" decision)."""


@attrs.frozen
class FieldComparison:
    """One field's contribution to a score.

    Attributes:
        field: the field compared (``"given_name"``, ``"attributes.tier"``).
        level: the comparison level (``"exact"``, ``"near"``, ``"missing"``, ...).
        weight: the level's weight in bits (positive: evidence of one person).

    """

    field: str
    level: str
    weight: float


@attrs.frozen
class Explanation:
    """Why a pair of records got its decision.

    Attributes:
        a, b: the two records' sources.
        decision: one of the :class:`Decision` names.
        score: the Fellegi–Sunter total (sum of the field weights).
        fields: each field's level and weight.
        rule: the deterministic rule or recorded decision that linked them, if any.
        guard: the cannot-link guard that kept them apart, if any.
        note: what the batch measured that changed this pair's weighing (the twin
            penalty or birth-date guard relaxed in a batch without households), if any.

    """

    a: SourceRef
    b: SourceRef
    decision: str
    score: float
    fields: tuple[FieldComparison, ...]
    rule: str | None = None
    guard: str | None = None
    note: str | None = None

    def __str__(self) -> str:
        head = f"{self.a} ~ {self.b}: {self.decision} (score {self.score:+.1f})"
        if self.rule:
            head += f" by rule {self.rule!r}"
        if self.guard:
            head += f", kept apart by {self.guard!r}"
        rows = [
            f"  {c.field:<16} {c.level:<11} {c.weight:+6.1f}"
            for c in self.fields
            if c.level != "missing"
        ]
        notes = [f"  note: {self.note}"] if self.note else []
        return "\n".join([head, *rows, *notes])
