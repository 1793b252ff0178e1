"""Two-source linkage: ``link(left, right) -> Resolution``, at most one partner per record.

Deduplication (:func:`~omnicrm.identity.resolve`) must assume that any two records may
be one person and that both twins of a family may be present, so it reads a different
given name next to one surname, birth date and address as twins (−20 bits) and two
different birth dates as two people (a guard). Linking two sources that are each free
of duplicates is a different task: a record has *at most one* partner on the other
side, so candidates compete. Pairs are scored with the same weights, except that one
replaced value among agreeing ones is forgiven (``MatchConfig.forgive_one_difference``:
a different given name next to agreeing birth dates, or a different birth date next to
agreeing given names, weighs −4 and is no guard), and then assigned one to one, best
first: a pair links when both records are still free and a rule links it, it reaches
the match threshold, or it reaches :data:`LINK_THRESHOLD` with some field besides the
name and gender agreeing. When both twins are on both sides, each twin's own record
outscores the sibling's and is taken first, so twins are not crossed; a twin whose own
record is missing from the other source may be linked to the sibling's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

import attrs

from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.identity.batch import Resolution, _PairOutcome, fill_readings, prepare_rows
from omnicrm.identity.blocking import candidate_pairs
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision
from omnicrm.identity.frequencies import NameFrequencies, count_names
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import quick_decision, score_fields

__all__ = ["LINK_THRESHOLD", "ONE_TO_ONE_RULE", "link", "linkage_config"]

ONE_TO_ONE_RULE = "best_one_to_one"
"""The rule named in a link scored below the match threshold but won in the assignment."""

LINK_THRESHOLD = 6.0
"""The least score of a link won in the assignment (below the match threshold, with
some field besides the name and gender agreeing)."""
Records = Iterable[CustomerRecord | Mapping[str, object]]


def linkage_config(config: MatchConfig) -> MatchConfig:
    """``config`` as :func:`link` scores with it: one replaced value forgiven."""
    return attrs.evolve(config, forgive_one_difference=True)


def _rows(name: str, rows: object) -> Iterable[object]:
    if isinstance(rows, str | bytes | Mapping | CustomerRecord) or not isinstance(rows, Iterable):
        raise InvalidTypeError(name, rows, "must be an iterable of records or mappings")
    return rows


def link(
    left: Records,
    right: Records,
    config: MatchConfig | None = None,
    *,
    threshold: float = LINK_THRESHOLD,
) -> Resolution:
    """Link two sources, each free of duplicates: every record gets at most one partner.

    Args:
        left: the first source's records (:class:`CustomerRecord` values or mappings).
        right: the second source's; a source already in ``left`` is rejected as a
            duplicate. Rejected rows of ``right`` are numbered after those of ``left``.
        config: the matching configuration (the default needs no training).
        threshold: the least score of a link below the match threshold (some field
            besides the name and gender must agree too); raise it for sources that
            share few people, lower it for sources expected to cover the same people.

    Returns:
        a :class:`Resolution` whose clusters are the linked pairs and the records left
        alone; ``explain(a, b)`` gives each link's reasons (the rule
        :data:`ONE_TO_ONE_RULE` when it scored below the match threshold).

    """
    if config is None:
        config = MatchConfig()
    elif not isinstance(config, MatchConfig):
        raise InvalidTypeError("config", config, "must be a MatchConfig")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise InvalidTypeError("threshold", threshold, "must be a number")
    if not math.isfinite(threshold):
        raise ConfigurationError("threshold", threshold, "must be finite")
    config = linkage_config(config)
    seen: set[SourceRef] = set()
    lefts, rejected, read = prepare_rows(_rows("left", left), config, seen)
    rights, rejected_right, _ = prepare_rows(_rows("right", right), config, seen, start=read)
    prepared = lefts + rights
    if config.learn_readings:
        prepared = fill_readings(prepared)
    frequencies = count_names(prepared) if config.name_frequencies else None
    outcomes = _assign(prepared, len(lefts), config, frequencies, float(threshold))
    partner = {i: j for (i, j), (decision, _, _) in outcomes.items() if decision == Decision.MERGE}
    linked = set(partner) | set(partner.values())
    components = [[i, partner[i]] for i in partner]
    components += [[i] for i in range(len(prepared)) if i not in linked]
    components.sort(key=lambda group: group[0])
    return Resolution(
        prepared, components, outcomes, rejected + rejected_right, config, frequencies
    )


def _extra_keys(p: PreparedRecord) -> Iterator[str]:
    """Keys linkage adds to the blocking keys: pairs of fields strangers seldom share,
    so that a record whose names were both replaced or mistyped is still compared."""  # noqa: D205, D209
    block = p.address.block if p.address else ""
    if p.postal_code and p.birth_date:
        yield f"birth_postal:{p.birth_date.isoformat()}|{p.postal_code}"
    if p.postal_code and block:
        yield f"postal_block:{p.postal_code}|{block}"
    family = p.family_kana or p.family
    if family and p.postal_code:
        yield f"family_prefix_postal:{family[:3]}|{p.postal_code}"


def _cross_pairs(
    prepared: list[PreparedRecord], split: int, config: MatchConfig
) -> Iterator[tuple[int, int]]:
    """Each pair of one left and one right record sharing a blocking key, once.

    Blocks of the linkage-only keys larger than ``max_block_size`` on either side
    (a large household, a common name at one postcode) are left out.
    """
    seen: set[tuple[int, int]] = set()
    for i, j in candidate_pairs(
        prepared, max_block_size=config.max_block_size, window=config.window
    ):
        if (i < split) != (j < split):
            seen.add((i, j))
            yield i, j
    blocks: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for index, record in enumerate(prepared):
        for key in _extra_keys(record):
            blocks[key][index >= split].append(index)
    limit = config.max_block_size
    for lefts, rights in blocks.values():
        if len(lefts) > limit or len(rights) > limit:
            continue
        for i in lefts:
            for j in rights:
                if (i, j) not in seen:
                    seen.add((i, j))
                    yield i, j


_NAMES = frozenset({"family_name", "given_name", "gender"})


def _corroborated(a: PreparedRecord, b: PreparedRecord, config: MatchConfig) -> bool:
    """Some field besides the name and gender agrees (strangers share names)."""
    _, parts = score_fields(a, b, config)
    return any(part.weight > 0 and part.field not in _NAMES for part in parts)


def _assign(
    prepared: list[PreparedRecord],
    split: int,
    config: MatchConfig,
    frequencies: NameFrequencies | None,
    threshold: float,
) -> dict[tuple[int, int], _PairOutcome]:
    """Score the cross-source candidate pairs and assign them one to one, best first."""
    ranked: list[tuple[int, float, int, int, str | None]] = []
    outcomes: dict[tuple[int, int], _PairOutcome] = {}
    for i, j in _cross_pairs(prepared, split, config):
        decision, score, rule = quick_decision(prepared[i], prepared[j], config, frequencies)
        if decision == Decision.CANNOT_LINK:
            outcomes[i, j] = (decision, None, None)
        elif rule is not None or score >= config.match_threshold:
            ranked.append((0 if rule else 1, -score, i, j, rule))
        elif score >= threshold and _corroborated(prepared[i], prepared[j], config):
            ranked.append((1, -score, i, j, rule))
    taken: set[int] = set()
    for _, score, i, j, rule in sorted(ranked):
        if i in taken or j in taken:
            continue
        taken.update((i, j))
        if rule is None and -score < config.match_threshold:
            rule = ONE_TO_ONE_RULE
        outcomes[i, j] = (Decision.MERGE, rule, None)
    return outcomes
