"""Two-source linkage: ``link(left, right) -> Resolution``, at most one partner per record.

Deduplication (:func:`~omnicrm.identity.resolve`) must assume that any two records may
be one person and that both twins of a family may be present, so it reads a different
given name next to one surname, birth date and address as twins (−20 bits) and two
different birth dates as two people (a guard). Linking two sources that are each free
of duplicates is a different task: a record has *at most one* partner on the other
side, so candidates compete.

Pairs are scored with the same weights, except that one replaced value among agreeing
ones is forgiven (``MatchConfig.forgive_one_difference``: a different given name next
to agreeing birth dates, or a different birth date next to agreeing given names, weighs
−4 and is no guard, unless the genders, two mobiles or two e-mails say another person).
Then pairs are assigned one to one, best first: a pair links when both records are
still free and a rule links it, it reaches the match threshold, or it reaches
:data:`LINK_THRESHOLD` with a field besides the name and gender weighing at least
:data:`CORROBORATION`. When both twins are on both sides, each twin's own record
outscores the sibling's and is taken first, so twins are not crossed; a twin whose own
record is missing from the other source may be linked to the sibling's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

import attrs

from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.identity.batch import (
    Resolution,
    _PairOutcome,
    fill_readings,
    prepare_rows,
    with_households,
)
from omnicrm.identity.blocking import candidate_pairs, secondary_pairs
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision
from omnicrm.identity.frequencies import NameFrequencies, count_names
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import (
    CORROBORATION,
    cannot_link,
    corroborated,
    deterministic_rule,
    score_fields,
)

__all__ = [
    "CORROBORATION",
    "LINK_THRESHOLD",
    "ONE_TO_ONE_RULE",
    "link",
    "linkage_config",
    "one_to_one",
]

ONE_TO_ONE_RULE = "best_one_to_one"
"""The rule named in a link scored below the match threshold but won in the assignment."""

LINK_THRESHOLD = 4.0
"""The least score of a link won in the assignment below the match threshold; such a
link also needs a field besides the name and gender weighing :data:`CORROBORATION`."""
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
    config, households = with_households(config, prepared)
    frequencies = count_names(prepared) if config.name_frequencies else None
    outcomes = _assign(prepared, len(lefts), config, frequencies, float(threshold))
    partner = {i: j for (i, j), (decision, _, _) in outcomes.items() if decision == Decision.MERGE}
    linked = set(partner) | set(partner.values())
    components = [[i, partner[i]] for i in partner]
    components += [[i] for i in range(len(prepared)) if i not in linked]
    components.sort(key=lambda group: group[0])
    return Resolution(
        prepared,
        components,
        outcomes,
        rejected + rejected_right,
        config,
        frequencies,
        households,
    )


def _cross_pairs(
    prepared: list[PreparedRecord], split: int, config: MatchConfig
) -> Iterator[tuple[int, int]]:
    """Each pair of one left and one right record sharing a blocking key, once.

    Blocks of the secondary keys larger than ``max_block_size`` on either side
    (a large household, a common name at one postcode, a common birth date) are left
    out.
    """
    seen: set[tuple[int, int]] = set()
    for i, j in candidate_pairs(
        prepared, max_block_size=config.max_block_size, window=config.window
    ):
        if (i < split) != (j < split):
            seen.add((i, j))
            yield i, j
    for pair in secondary_pairs(prepared, max_block_size=config.max_block_size, split=split):
        if pair not in seen:
            seen.add(pair)
            yield pair


def _assign(
    prepared: list[PreparedRecord],
    split: int,
    config: MatchConfig,
    frequencies: NameFrequencies | None,
    threshold: float,
) -> dict[tuple[int, int], _PairOutcome]:
    """Score the cross-source candidate pairs and assign them one to one."""
    found: dict[tuple[int, int], tuple[float, str | None]] = {}
    outcomes: dict[tuple[int, int], _PairOutcome] = {}
    for i, j in _cross_pairs(prepared, split, config):
        a, b = prepared[i], prepared[j]
        guard = cannot_link(
            a, b, forgive=config.forgive_one_difference, households=config.households
        )
        if guard is not None:
            outcomes[i, j] = (Decision.CANNOT_LINK, None, guard)
            continue
        score, parts = score_fields(a, b, config, frequencies)
        rule = deterministic_rule(a, b)
        if rule is not None or score >= config.match_threshold:
            found[i, j] = (score, rule)
        elif score >= threshold and corroborated(parts):
            found[i, j] = (score, ONE_TO_ONE_RULE)
    values = {
        pair: score + (_RULE_BONUS if rule not in (None, ONE_TO_ONE_RULE) else 0.0)
        for pair, (score, rule) in found.items()
    }
    if not found:
        return outcomes
    partner = one_to_one(values)
    for i, j in found:
        if partner.get(i) == j:
            outcomes[i, j] = (Decision.MERGE, found[i, j][1], None)
    return outcomes


_RULE_BONUS = 1000.0
"""Added to a pair linked by a deterministic rule, so it outranks any score."""
_ROUNDS = 10


def one_to_one(values: Mapping[tuple[int, int], float]) -> dict[int, int]:
    """A one-to-one assignment of the pairs ``(i, j)`` (``i`` on one side, ``j`` on the other).

    Best first (greedy by value), then improved: a record left free whose candidate was
    taken gets it when the candidate's partner can move to a free record of its own and
    the two pairs together are worth more than the one (twins whose records were
    crossed by the greedy pass are uncrossed this way). Returns each linked index's
    partner, both ways.
    """
    partner: dict[int, int] = {}
    for (i, j), _ in sorted(values.items(), key=lambda item: (-item[1], item[0])):
        if i not in partner and j not in partner:
            partner[i], partner[j] = j, i
    neighbours: dict[int, list[int]] = defaultdict(list)
    for i, j in values:
        neighbours[i].append(j)
        neighbours[j].append(i)

    def value(x: int, y: int) -> float:
        return values[(x, y)] if (x, y) in values else values[(y, x)]

    for _ in range(_ROUNDS):
        improved = False
        for free in [x for x in neighbours if x not in partner]:
            for taken in neighbours[free]:
                other = partner.get(taken)
                if other is None or free in partner:
                    continue
                moves = [(value(other, y), y) for y in neighbours[other] if y not in partner]
                if moves:
                    best, target = max(moves)
                    if value(free, taken) + best > value(other, taken):
                        partner[free], partner[taken] = taken, free
                        partner[other], partner[target] = target, other
                        improved = True
        if not improved:
            break
    return partner
