"""Fellegi–Sunter scoring and deterministic rules: one decision per pair, with its reasons."""

from __future__ import annotations

from omnicrm.identity._similarity import jaro_winkler
from omnicrm.identity.compare import (
    COMPARATORS,
    DIFFERENT,
    EXACT,
    MISSING,
    NEAR,
    compare_name_part,
)
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision, Explanation, FieldComparison
from omnicrm.identity.frequencies import NameFrequencies
from omnicrm.identity.prepared import PreparedRecord

__all__ = ["cannot_link", "decide", "deterministic_rule", "quick_decision", "score_fields"]


_AGREEING = frozenset({EXACT, NEAR, "reading"})


def _swapped(a: PreparedRecord, b: PreparedRecord) -> tuple[str, str] | None:
    """The levels of family and given names written the other way round on one side."""
    family = compare_name_part(a.family, a.family_kana, b.given, b.given_kana)
    given = compare_name_part(a.given, a.given_kana, b.family, b.family_kana)
    if family in _AGREEING and given in _AGREEING:
        return family, given
    return None


def _levels(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
) -> list[tuple[str, str, float]]:
    weights = config.weights
    levels = {field: COMPARATORS[field](a, b) for field in weights if field in COMPARATORS}
    if levels.get("family_name") == DIFFERENT and levels.get("given_name") == DIFFERENT:
        swapped = _swapped(a, b)
        if swapped is not None:
            levels["family_name"], levels["given_name"] = swapped
    parts = [(f, lvl, weights[f].get(lvl, 0.0)) for f, lvl in levels.items()]
    if frequencies is not None:
        parts = [_adjusted(part, a, frequencies) for part in parts]
    for name, comparator in config.attribute_comparators.items():
        field = f"attributes.{name}"
        left, right = a.record.attributes.get(name), b.record.attributes.get(name)
        if not left or not right:
            parts.append((field, MISSING, 0.0))
        elif left == right:
            parts.append((field, EXACT, comparator.exact))
        elif jaro_winkler(left, right) >= comparator.near_similarity:
            parts.append((field, NEAR, comparator.near))
        else:
            parts.append((field, DIFFERENT, comparator.different))
    return parts


def _adjusted(
    part: tuple[str, str, float], a: PreparedRecord, frequencies: NameFrequencies
) -> tuple[str, str, float]:
    field, level, weight = part
    if level == EXACT and field in _NAME_PARTS:
        return field, level, weight + frequencies.adjustment(_NAME_PARTS[field], a)
    return part


_NAME_PARTS = {"family_name": "family", "given_name": "given"}


def score_fields(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
) -> tuple[float, tuple[FieldComparison, ...]]:
    """Compare every configured field; return the total weight and each field's part.

    With ``frequencies`` an exact name match is weighted by how common the name is.
    """
    parts = _levels(a, b, config, frequencies)
    return sum(p[2] for p in parts), tuple(FieldComparison(*p) for p in parts)


def quick_decision(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
) -> tuple[str, float, str | None]:
    """:func:`decide` without building the explanation: ``(decision, score, rule)``."""
    if cannot_link(a, b) is not None:
        return Decision.CANNOT_LINK, 0.0, None
    score = sum(p[2] for p in _levels(a, b, config, frequencies))
    rule = deterministic_rule(a, b)
    if rule is not None:
        return Decision.MERGE, score, rule
    return _by_score(score, config), score, None


def _by_score(score: float, config: MatchConfig) -> str:
    if score >= config.match_threshold:
        return Decision.MERGE
    if score >= config.review_threshold:
        return Decision.REVIEW
    return Decision.NO_MATCH


def _names_agree(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Full name read the same (kana if both have it, else spelling)."""
    if a.family_kana and b.family_kana and a.given_kana and b.given_kana:
        return (a.family_kana, a.given_kana) == (b.family_kana, b.given_kana)
    return bool(a.family and a.given) and (a.family, a.given) == (b.family, b.given)


def deterministic_rule(a: PreparedRecord, b: PreparedRecord) -> str | None:
    """The deterministic rule linking two records, if one applies.

    ``same_member_card``; ``same_verified_email`` (verified on both sides);
    ``same_phone_and_name`` (same phone and the same full name reading);
    ``same_email_and_name`` (same e-mail, even unverified, and the same full name
    reading: a household may share one address, but not one name as well).
    """
    if a.member_card and a.member_card == b.member_card:
        return "same_member_card"
    if a.email_verified and b.email_verified and a.email == b.email:
        return "same_verified_email"
    if a.phone and a.phone == b.phone and _names_agree(a, b):
        return "same_phone_and_name"
    if a.email and a.email == b.email and _names_agree(a, b):
        return "same_email_and_name"
    return None


def cannot_link(a: PreparedRecord, b: PreparedRecord) -> str | None:
    """The guard forbidding two records from being one person, if one applies."""
    if a.birth_date and b.birth_date and COMPARATORS["birth_date"](a, b) == DIFFERENT:
        return "different_birth_dates"
    if a.email_verified and b.email_verified and a.email != b.email:
        return "different_verified_emails"
    return None


def decide(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
) -> Explanation:
    """Decide one pair: guard, then rule, then score against the thresholds."""
    score, parts = score_fields(a, b, config, frequencies)
    ref_a, ref_b = a.record.source, b.record.source
    guard = cannot_link(a, b)
    if guard is not None:
        return Explanation(ref_a, ref_b, Decision.CANNOT_LINK, score, parts, guard=guard)
    rule = deterministic_rule(a, b)
    if rule is not None:
        return Explanation(ref_a, ref_b, Decision.MERGE, score, parts, rule=rule)
    return Explanation(ref_a, ref_b, _by_score(score, config), score, parts)
