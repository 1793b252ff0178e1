"""Fellegi–Sunter scoring and deterministic rules: one decision per pair, with its reasons."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from omnicrm.identity._households import RELAXED_WEIGHT
from omnicrm.identity._similarity import jaro_winkler, swap_distance
from omnicrm.identity.compare import (
    _MOBILE_PREFIXES,
    COMPARATORS,
    DIFFERENT,
    EXACT,
    MISSING,
    NEAR,
    address_levels,
    compare_birth_date,
    compare_name_part,
)
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision, Explanation, FieldComparison
from omnicrm.identity.frequencies import NameFrequencies
from omnicrm.identity.prepared import PreparedRecord

__all__ = [
    "CORROBORATION",
    "FORGIVEN_WEIGHT",
    "UNCORROBORATED",
    "birth_dates_guard",
    "born_apart",
    "cannot_link",
    "corroborated",
    "decide",
    "deterministic_rule",
    "quick_decision",
    "relaxed_fields",
    "score_fields",
]


_AGREEING = frozenset({EXACT, NEAR, "reading"})


def _crossed(a: PreparedRecord, b: PreparedRecord) -> tuple[str, str]:
    """The levels of family and given names compared the other way round on one side."""
    family = compare_name_part(a.family, a.family_kana, b.given, b.given_kana)
    given = compare_name_part(a.given, a.given_kana, b.family, b.family_kana)
    return family, given


def _swapped(a: PreparedRecord, b: PreparedRecord) -> tuple[str, str] | None:
    """The levels of family and given names written the other way round on one side."""
    family, given = _crossed(a, b)
    if family in _AGREEING and given in _AGREEING:
        return family, given
    return None


def _unswapped(a: PreparedRecord, b: PreparedRecord) -> tuple[str, str] | None:
    """Family and given levels of two names, neither agreeing, written the other way round.

    Both agreeing crossed: the two levels. One agreeing crossed (the names were swapped and
    one was replaced or badly mistyped too): that one, counted as the family name (the
    lighter weight), and ``different`` for the given name. Neither: ``None``.
    """
    family, given = _crossed(a, b)
    if family in _AGREEING and given in _AGREEING:
        return family, given
    if family in _AGREEING or given in _AGREEING:
        return (family if family in _AGREEING else given), DIFFERENT
    return None


def _given_level(a: PreparedRecord, b: PreparedRecord) -> str:
    """The given names' level, names written the other way round on one side allowed."""
    given = COMPARATORS["given_name"](a, b)
    if given == DIFFERENT and COMPARATORS["family_name"](a, b) == DIFFERENT:
        swapped = _swapped(a, b)
        if swapped is not None:
            return swapped[1]
    return given


_LAST = "address"
"""The costliest comparison (Latin addresses word by word), made after the others."""


def _ceiling(a: PreparedRecord, b: PreparedRecord, config: MatchConfig) -> float:
    """The most the address and the attribute comparators can add to the pair's score."""
    weights = config.weights.get(_LAST, {})
    levels = address_levels(a.address, b.address)
    if levels is None:
        most = max((0.0, *weights.values()))
    else:
        most = max(weights.get(level, 0.0) for level in levels)
    for c in config.attribute_comparators.values():
        most += max(0.0, c.exact, c.near, c.different)
    return most


def _levels(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
    floor: float | None = None,
) -> list[tuple[str, str, float]] | None:
    """Each compared field's ``(field, level, weight)``, in the order of the weights.

    With ``floor``: ``None`` as soon as the score cannot reach it whatever the address
    (compared last) and the attributes give.
    """
    weights = config.weights
    levels = {
        field: COMPARATORS[field](a, b)
        for field in weights
        if field in COMPARATORS and field != _LAST
    }
    if levels.get("family_name") == DIFFERENT and levels.get("given_name") == DIFFERENT:
        swapped = _unswapped(a, b)
        if swapped is not None:
            levels["family_name"], levels["given_name"] = swapped
    if levels.get("given_name") == DIFFERENT and _one_typo_apart(a, b) and _same_contact(a, b):
        levels["given_name"] = NEAR
    relax = config.households is False
    parts = []
    for f, lvl in levels.items():
        part = (f, lvl, weights[f].get(lvl, 0.0))
        if relax and lvl == DIFFERENT:
            part = _relaxed(part)
        elif frequencies is not None and lvl == EXACT:  # the two touch other levels
            part = _adjusted(part, a, frequencies)
        parts.append(part)
    if config.forgive_one_difference:  # only different levels, and not relaxed ones
        parts = [_forgiven(part, levels) for part in parts]
    if _LAST in weights:
        if floor is not None and sum(p[2] for p in parts) + _ceiling(a, b, config) < floor:
            return None
        level = COMPARATORS[_LAST](a, b)
        at = [f for f in weights if f in COMPARATORS].index(_LAST)
        parts.insert(at, (_LAST, level, weights[_LAST].get(level, 0.0)))
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


FORGIVEN_WEIGHT = -4.0
"""The least weight of a different given name (or birth date) forgiven in linkage."""

_BIRTH_AGREES = frozenset({EXACT, NEAR, "transposed"})


_CONTRADICTIONS = (("gender", DIFFERENT), ("phone", "other_mobile"), ("email", DIFFERENT))
"""Levels that say "another person" by themselves: no replaced value is forgiven then."""


def _contradicted(levels: Mapping[str, str]) -> bool:
    return any(levels.get(f) == contradiction for f, contradiction in _CONTRADICTIONS)


def _forgiven(part: tuple[str, str, float], levels: dict[str, str]) -> tuple[str, str, float]:
    """One replaced value among agreeing ones: a different given name next to agreeing
    birth dates, or a different birth date next to agreeing given names — unless the
    genders, two mobiles or two e-mails say another person."""  # noqa: D205, D209
    field, level, weight = part
    if level != DIFFERENT or weight >= FORGIVEN_WEIGHT:
        return part
    if _contradicted(levels):
        return part
    if (field == "given_name" and levels.get("birth_date") in _BIRTH_AGREES) or (
        field == "birth_date" and levels.get("given_name") in _AGREEING
    ):
        return field, level, FORGIVEN_WEIGHT
    return part


_HOUSEHOLD_FIELDS = frozenset({"given_name", "birth_date"})


def _relaxed(part: tuple[str, str, float]) -> tuple[str, str, float]:
    """In a batch without households a different given name or birth date is a data
    error: it weighs no less than ``RELAXED_WEIGHT``."""  # noqa: D205, D209
    field, level, weight = part
    if level == DIFFERENT and field in _HOUSEHOLD_FIELDS and weight < RELAXED_WEIGHT:
        return field, level, RELAXED_WEIGHT
    return part


def relaxed_fields(explanation: Explanation) -> tuple[str, ...]:
    """The fields whose household penalty was relaxed in ``explanation``."""
    return tuple(
        c.field
        for c in explanation.fields
        if c.field in _HOUSEHOLD_FIELDS and c.level == DIFFERENT and c.weight == RELAXED_WEIGHT
    )


def _adjusted(
    part: tuple[str, str, float], a: PreparedRecord, frequencies: NameFrequencies
) -> tuple[str, str, float]:
    field, level, weight = part
    if level == EXACT and field in _NAME_PARTS:
        return field, level, weight + frequencies.adjustment(_NAME_PARTS[field], a)
    return part


_NAME_PARTS = {"family_name": "family", "given_name": "given"}


def _given_reading(p: PreparedRecord) -> str:
    return p.given_kana or p.given


def _one_typo_apart(a: PreparedRecord, b: PreparedRecord) -> bool:
    """The given names' readings differ by one edit (a typo in a short name)."""
    left, right = _given_reading(a), _given_reading(b)
    return min(len(left), len(right)) >= 2 and swap_distance(left, right, cutoff=1) <= 1


def _same_contact(a: PreparedRecord, b: PreparedRecord) -> bool:
    """The records share a personal contact: one mobile number or one e-mail address.

    Twins and siblings share a birth date, an address and a landline, never a mobile
    or a mailbox, so with one of these a one-letter difference in a short given name
    is a typo rather than a sibling.
    """
    if a.email and a.email == b.email:
        return True
    return bool(a.phone) and a.phone == b.phone and a.phone.startswith(_MOBILE_PREFIXES)


CORROBORATION = 2.0
"""The least weight of a field besides the name and gender that corroborates a link (a
postal code, an address, a birth date, a phone or an e-mail agreeing; not a near date)."""
_NAMES = frozenset({"family_name", "given_name", "gender"})


def corroborated(parts: Iterable[FieldComparison]) -> bool:
    """A field besides the name and gender weighs :data:`CORROBORATION` (strangers share names)."""
    return _corroborated((part.field, part.level, part.weight) for part in parts)


def _corroborated(parts: Iterable[tuple[str, str, float]]) -> bool:
    return any(weight >= CORROBORATION and field not in _NAMES for field, _, weight in parts)


UNCORROBORATED = "merge score on the names alone (no other field weighs 2 bits): review"
"""The note of a batch pair that reached the match threshold on its names alone."""


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
    assert parts is not None  # no floor: every field compared
    return sum(p[2] for p in parts), tuple(FieldComparison(*p) for p in parts)


def quick_decision(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
    *,
    corroborate: bool = False,
    prune: bool = False,
) -> tuple[str, float, str | None]:
    """:func:`decide` without building the explanation: ``(decision, score, rule)``.

    With ``prune`` a pair whose score cannot reach the review threshold whatever its
    address gives is ``no_match`` without its address compared (its score then reads 0).
    """
    if (
        cannot_link(a, b, forgive=config.forgive_one_difference, households=config.households)
        is not None
    ):
        return Decision.CANNOT_LINK, 0.0, None
    rule = deterministic_rule(a, b)
    floor = config.review_threshold if prune and rule is None else None
    parts = _levels(a, b, config, frequencies, floor)
    if parts is None:
        return Decision.NO_MATCH, 0.0, None
    score = sum(p[2] for p in parts)
    if rule is not None:
        return Decision.MERGE, score, rule
    return _by_score(score, config, parts if corroborate else None), score, None


def _by_score(
    score: float, config: MatchConfig, parts: Iterable[tuple[str, str, float]] | None = None
) -> str:
    """The decision a score reaches; with ``parts``, a merge must be corroborated."""
    if score >= config.match_threshold:
        if parts is not None and not _corroborated(parts):
            return Decision.REVIEW
        return Decision.MERGE
    if score >= config.review_threshold:
        return Decision.REVIEW
    return Decision.NO_MATCH


def _names_agree(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Full name read the same (kana if both have it, else spelling)."""
    if a.family_kana and b.family_kana and a.given_kana and b.given_kana:
        return (a.family_kana, a.given_kana) == (b.family_kana, b.given_kana)
    return bool(a.family and a.given) and (a.family, a.given) == (b.family, b.given)


def _given_names_agree(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Given name read the same (kana if both have it, else spelling)."""
    if a.given_kana and b.given_kana:
        return a.given_kana == b.given_kana
    return bool(a.given) and a.given == b.given


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
    if _same_contact(a, b) and _given_names_agree(a, b):
        return "same_contact_and_given_name"
    return None


def cannot_link(
    a: PreparedRecord,
    b: PreparedRecord,
    *,
    forgive: bool = False,
    households: bool | None = True,
) -> str | None:
    """The guard forbidding two records from being one person, if one applies.

    With ``forgive`` (linkage) two different dates of birth are no guard when the given
    names agree; they are still scored. With ``households=False`` (a batch that shows
    no households, :class:`~omnicrm.identity.MatchConfig` ``households``) they are no
    guard at all.
    """
    if (
        households is not False
        and born_apart(a.birth_date, b.birth_date)
        and not (forgive and _forgivable(a, b))
    ):
        return "different_birth_dates"
    if a.email_verified and b.email_verified and a.email != b.email:
        return "different_verified_emails"
    return None


def _forgivable(a: PreparedRecord, b: PreparedRecord) -> bool:
    """The given names agree and nothing (gender, mobiles, e-mails) says another person."""
    if _given_level(a, b) not in _AGREEING:
        return False
    return not _contradicted({f: COMPARATORS[f](a, b) for f, _ in _CONTRADICTIONS})


def born_apart(a: date | None, b: date | None) -> bool:
    """Two known dates of birth no slip of the pen or swap explains: two people."""
    return a is not None and b is not None and compare_birth_date(a, b) == DIFFERENT


def birth_dates_guard(config: MatchConfig) -> bool:
    """Whether :func:`cannot_link` under ``config`` keeps apart every pair :func:`born_apart`.

    It does, whatever else the two records hold, when two different dates of birth are
    not forgiven (``forgive_one_difference`` off) and households are possible
    (``households`` not ``False``).
    """
    return config.households is not False and not config.forgive_one_difference


def decide(
    a: PreparedRecord,
    b: PreparedRecord,
    config: MatchConfig,
    frequencies: NameFrequencies | None = None,
    *,
    corroborate: bool = False,
) -> Explanation:
    """Decide one pair: guard, then rule, then score against the thresholds.

    With ``corroborate`` (batches) a score reaching the match threshold merges only
    when a field besides the names and gender weighs :data:`CORROBORATION`; else the
    pair goes to review, with the note :data:`UNCORROBORATED`.
    """
    score, parts = score_fields(a, b, config, frequencies)
    ref_a, ref_b = a.record.source, b.record.source
    guard = cannot_link(a, b, forgive=config.forgive_one_difference, households=config.households)
    if guard is not None:
        return Explanation(ref_a, ref_b, Decision.CANNOT_LINK, score, parts, guard=guard)
    rule = deterministic_rule(a, b)
    if rule is not None:
        return Explanation(ref_a, ref_b, Decision.MERGE, score, parts, rule=rule)
    decision = _by_score(score, config)
    if corroborate and decision == Decision.MERGE and not corroborated(parts):
        return Explanation(ref_a, ref_b, Decision.REVIEW, score, parts, note=UNCORROBORATED)
    return Explanation(ref_a, ref_b, decision, score, parts)
