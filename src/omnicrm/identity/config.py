"""Matching configuration: fields, weights per comparison level, thresholds, comparators."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from omnicrm.errors import ConfigurationError, InvalidTypeError

__all__ = [
    "DEFAULT_WEIGHTS",
    "AttributeComparator",
    "MatchConfig",
    "weight_from_probabilities",
]


def weight_from_probabilities(m: float, u: float) -> float:
    """Fellegi–Sunter weight ``log2(m / u)`` of a level seen with probability ``m`` among
    true matches and ``u`` among non-matches."""  # noqa: D205, D209
    if not (0 < m <= 1 and 0 < u <= 1):
        raise ConfigurationError("m/u", (m, u), "probabilities must be in (0, 1]")
    return math.log2(m / u)


# Weights in bits (log2 m/u), set from what each level means for people rather than
# fitted to any data set: an exact e-mail is rare between two people (u ~ 1e-4),
# a given name that differs in spelling *and* reading is rare within one person.
DEFAULT_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "family_name": {"exact": 4.5, "reading": 3.0, "near": 2.0, "different": -4.0},
    "given_name": {"exact": 6.0, "reading": 4.0, "near": 3.0, "different": -20.0},
    "birth_date": {"exact": 8.0, "transposed": 4.0, "near": 1.0, "different": -12.0},
    "email": {"exact": 9.0, "near": 1.0, "different": -1.0},
    "phone": {"mobile": 8.0, "exact": 4.0, "near": 2.0, "other_mobile": -3.0, "different": -1.0},
    "postal_code": {"exact": 2.5, "near": 1.0, "different": -1.0},
    "address": {"exact": 6.0, "near": 3.0, "locality": -2.0, "different": -1.5},
    "gender": {"exact": 0.5, "different": -4.0},
    "member_card_no": {"exact": 12.0, "different": -2.0},
}
"""The default weight of every field's comparison levels; ``missing`` weighs 0."""


def _check_weights(_instance: Any, attribute: Any, value: Any) -> None:
    for field, levels in value.items():
        for level, weight in levels.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise InvalidTypeError(f"weights[{field}][{level}]", weight, "must be a number")
            if not math.isfinite(weight):
                raise ConfigurationError(f"weights[{field}][{level}]", weight, "must be finite")


def _freeze_weights(value: Any) -> Mapping[str, Mapping[str, float]]:
    if not isinstance(value, Mapping):
        raise InvalidTypeError("weights", value, "must be a mapping of field to level weights")
    return {str(f): dict(levels) for f, levels in value.items()}


@attrs.frozen(kw_only=True)
class AttributeComparator:
    """How to compare one host attribute (``record.attributes[name]``).

    Attributes:
        exact: weight when the values are equal.
        near: weight when their Jaro-Winkler similarity reaches ``near_similarity``.
        different: weight when they differ.
        near_similarity: similarity from which the values count as near.

    """

    exact: float = 2.0
    near: float = 0.0
    different: float = -1.0
    near_similarity: float = 0.9


def _check_thresholds(instance: MatchConfig, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(attribute.name, value, "must be a finite number")
    if attribute.name == "match_threshold" and value < instance.review_threshold:
        raise ConfigurationError(attribute.name, value, "must be >= review_threshold")


def _check_optional_bool(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidTypeError(attribute.name, value, "must be True, False or None")


def _check_positive(_instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigurationError(attribute.name, value, "must be an int >= 2")


@attrs.frozen(kw_only=True)
class MatchConfig:
    """Everything matching can be told; the default needs no training data.

    Attributes:
        weights: weight (bits) of each comparison level of each field; a field absent
            here is not compared.
        match_threshold: total weight from which two records are merged.
        review_threshold: total weight from which an unmerged pair goes to review.
        attribute_comparators: comparators for host attributes, by attribute name.
        phone_region: country assumed for phone numbers written without a country code.
        email_provider_rules: apply provider rules (Gmail dots, ``+tags``) to e-mails.
        day_first: read ``01/04/1985`` as 1 April (``True``) or 4 January.
        max_block_size: blocks larger than this are scanned by a sorted window instead
            of all pairs, so work stays near-linear on very common names.
        window: the sorted window's width inside an oversized block.
        source_priority: channel names from most to least trusted (golden record).
        learn_readings: learn kanji names' kana readings from records carrying both, so
            a kanji-only record can be compared with a kana-only one.
        name_frequencies: in a batch, weight an exact name match by how common the name
            is (term-frequency adjustment): less for 佐藤, more for a rare name.
        forgive_one_difference: a wholly different given name weighs no less than
            ``FORGIVEN_WEIGHT`` (−4) when the dates of birth agree, and a different date of
            birth is no guard and weighs the same when the given names agree — one
            replaced value among agreeing ones, unless the genders, two mobile numbers
            or two e-mail addresses differ. Off for deduplication, where it would
            merge twins; :func:`~omnicrm.identity.link` turns it on, where each record
            has at most one partner and candidates compete.
        households: whether the records hold households (twins, parents and
            children), which make a different given name (−20 bits) and a different
            date of birth (a guard) mean two people. ``None`` (the default): measured
            from each batch by :func:`~omnicrm.identity.resolve` and
            :func:`~omnicrm.identity.link` (``Resolution.households``), assumed
            online; ``True``: always assumed; ``False``: never — both weigh
            ``RELAXED_WEIGHT`` (−4) and no birth-date guard holds.

    """

    weights: Mapping[str, Mapping[str, float]] = attrs.field(
        factory=lambda: DEFAULT_WEIGHTS, converter=_freeze_weights, validator=_check_weights
    )
    review_threshold: float = attrs.field(default=11.0, validator=_check_thresholds)
    match_threshold: float = attrs.field(default=14.5, validator=_check_thresholds)
    attribute_comparators: Mapping[str, AttributeComparator] = attrs.field(factory=dict)
    phone_region: str = "JP"
    email_provider_rules: bool = False
    day_first: bool = True
    max_block_size: int = attrs.field(default=20, validator=_check_positive)
    window: int = attrs.field(default=12, validator=_check_positive)
    source_priority: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    learn_readings: bool = True
    name_frequencies: bool = True
    forgive_one_difference: bool = False
    households: bool | None = attrs.field(default=None, validator=_check_optional_bool)

    def weight(self, field: str, level: str) -> float:
        """The weight of ``level`` for ``field`` (0 for ``missing`` or an unlisted level)."""
        return float(self.weights.get(field, {}).get(level, 0.0))
