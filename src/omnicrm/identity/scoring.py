"""Fellegi–Sunter scoring and deterministic rules: one decision per pair, with its reasons."""

from __future__ import annotations

from omnicrm.identity._similarity import jaro_winkler
from omnicrm.identity.compare import COMPARATORS, DIFFERENT, EXACT, MISSING, compare_name_part
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision, Explanation, FieldComparison
from omnicrm.identity.prepared import PreparedRecord

__all__ = ["cannot_link", "decide", "deterministic_rule", "score_fields"]


def _swapped(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Family and given names written the other way round on one side."""
    return (
        compare_name_part(a.family, a.family_kana, b.given, b.given_kana) == EXACT
        and compare_name_part(a.given, a.given_kana, b.family, b.family_kana) == EXACT
    )


def score_fields(
    a: PreparedRecord, b: PreparedRecord, config: MatchConfig
) -> tuple[float, tuple[FieldComparison, ...]]:
    """Compare every configured field; return the total weight and each field's part."""
    levels = {
        field: COMPARATORS[field](a, b) for field in config.weights if field in COMPARATORS
    }
    if levels.get("family_name") == DIFFERENT and levels.get("given_name") == DIFFERENT:
        if _swapped(a, b):
            levels["family_name"] = levels["given_name"] = EXACT
    parts = [FieldComparison(f, lvl, config.weight(f, lvl)) for f, lvl in levels.items()]
    for name, comparator in config.attribute_comparators.items():
        left, right = a.record.attributes.get(name), b.record.attributes.get(name)
        if not left or not right:
            parts.append(FieldComparison(f"attributes.{name}", MISSING, 0.0))
        elif left == right:
            parts.append(FieldComparison(f"attributes.{name}", EXACT, comparator.exact))
        elif jaro_winkler(left, right) >= comparator.near_similarity:
            parts.append(FieldComparison(f"attributes.{name}", "near", comparator.near))
        else:
            parts.append(FieldComparison(f"attributes.{name}", DIFFERENT, comparator.different))
    return sum(p.weight for p in parts), tuple(parts)


def _names_agree(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Full name read the same (kana if both have it, else spelling)."""
    if a.family_kana and b.family_kana and a.given_kana and b.given_kana:
        return (a.family_kana, a.given_kana) == (b.family_kana, b.given_kana)
    return bool(a.family and a.given) and (a.family, a.given) == (b.family, b.given)


def deterministic_rule(a: PreparedRecord, b: PreparedRecord) -> str | None:
    """The deterministic rule linking two records, if one applies.

    ``same_member_card``; ``same_verified_email`` (verified on both sides);
    ``same_phone_and_name`` (same phone and the same full name reading).
    """
    if a.member_card and a.member_card == b.member_card:
        return "same_member_card"
    if a.email_verified and b.email_verified and a.email == b.email:
        return "same_verified_email"
    if a.phone and a.phone == b.phone and _names_agree(a, b):
        return "same_phone_and_name"
    return None


def cannot_link(a: PreparedRecord, b: PreparedRecord) -> str | None:
    """The guard forbidding two records from being one person, if one applies."""
    if a.birth_date and b.birth_date and COMPARATORS["birth_date"](a, b) == DIFFERENT:
        return "different_birth_dates"
    if a.email_verified and b.email_verified and a.email != b.email:
        return "different_verified_emails"
    return None


def decide(a: PreparedRecord, b: PreparedRecord, config: MatchConfig) -> Explanation:
    """Decide one pair: guard, then rule, then score against the thresholds."""
    score, parts = score_fields(a, b, config)
    ref_a, ref_b = a.record.source, b.record.source
    guard = cannot_link(a, b)
    if guard is not None:
        return Explanation(ref_a, ref_b, Decision.CANNOT_LINK, score, parts, guard=guard)
    rule = deterministic_rule(a, b)
    if rule is not None:
        return Explanation(ref_a, ref_b, Decision.MERGE, score, parts, rule=rule)
    if score >= config.match_threshold:
        decision = Decision.MERGE
    elif score >= config.review_threshold:
        decision = Decision.REVIEW
    else:
        decision = Decision.NO_MATCH
    return Explanation(ref_a, ref_b, decision, score, parts)
