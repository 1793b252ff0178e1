"""Batch deduplication and linkage: ``resolve(records) -> Resolution``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property

import attrs

from omnicrm.errors import DuplicateError, InvalidTypeError, NotFoundError, OmniCRMError
from omnicrm.identity._em import fit_weights, threshold_shift
from omnicrm.identity._households import (
    ASSUMED,
    HOUSEHOLD_SHARE,
    RELAXED_WEIGHT,
    HouseholdEstimate,
    estimate_households,
)
from omnicrm.identity._prefilter import RecordColumns, reachable
from omnicrm.identity.blocking import IndexPairs, candidate_indexes
from omnicrm.identity.clusters import GuardedClusters
from omnicrm.identity.config import DEFAULT_WEIGHTS, MatchConfig
from omnicrm.identity.explain import Decision, Explanation
from omnicrm.identity.frequencies import NameFrequencies, count_names
from omnicrm.identity.golden import GoldenRecord, build_golden
from omnicrm.identity.prepared import PreparedRecord, prepare
from omnicrm.identity.readings import learn_readings
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import decide, quick_decision, relaxed_fields

__all__ = [
    "RejectedRow",
    "Resolution",
    "fill_readings",
    "prepare_all",
    "prepare_rows",
    "resolve",
    "with_households",
]

_LAST = datetime.max.replace(tzinfo=UTC)

# (decision, rule, guard) of a pair that was linked, refused or sent to review
_PairOutcome = tuple[str, str | None, str | None]


@attrs.frozen
class RejectedRow:
    """An input row that could not be a record; the rest of the batch went on.

    Attributes:
        index: the row's position in the input.
        error: the precise error it raised.

    """

    index: int
    error: OmniCRMError


def prepare_all(
    rows: Iterable[object], config: MatchConfig
) -> tuple[list[PreparedRecord], list[RejectedRow]]:
    """Validate and normalise every row; bad rows are reported, never raised."""
    prepared, rejected, _ = prepare_rows(rows, config, set())
    if config.learn_readings:
        prepared = fill_readings(prepared)
    return prepared, rejected


def fill_readings(prepared: list[PreparedRecord]) -> list[PreparedRecord]:
    """Learn kanji names' readings from ``prepared`` and fill in the missing ones."""
    readings = learn_readings(prepared)
    return [readings.fill(p) for p in prepared]


def prepare_rows(
    rows: Iterable[object], config: MatchConfig, seen: set[SourceRef], start: int = 0
) -> tuple[list[PreparedRecord], list[RejectedRow], int]:
    """Validate and normalise ``rows`` (numbered from ``start``), without readings.

    A source already in ``seen`` is rejected as a duplicate; accepted sources are added
    to it. Returns the records, the rejected rows and the number of rows read.
    """
    prepared: list[PreparedRecord] = []
    rejected: list[RejectedRow] = []
    index = start - 1
    for index, row in enumerate(rows, start):
        try:
            record = CustomerRecord.from_mapping(row)
            if record.source in seen:
                raise DuplicateError("record source", str(record.source))
            seen.add(record.source)
            prepared.append(
                prepare(
                    record,
                    phone_region=config.phone_region,
                    email_provider_rules=config.email_provider_rules,
                    day_first=config.day_first,
                )
            )
        except OmniCRMError as exc:
            rejected.append(RejectedRow(index, exc))
    return prepared, rejected, index + 1 - start


_RELAXED = {
    "given_name": "the twin penalty on a different given name",
    "birth_date": "the guard on a different birth date",
}


MIN_FITTED_RECORDS = 500
"""A batch without households of at least this many records has its weights fitted by EM."""


FITTED_PAIRS = 50_000
"""At most this many candidate pairs (and as many spread pairs) are compared to fit a
batch's weights: enough for every level's share, and a constant cost at any batch size."""


def with_households(
    config: MatchConfig, prepared: Sequence[PreparedRecord], pairs: IndexPairs | None = None
) -> tuple[MatchConfig, HouseholdEstimate]:
    """``config`` as a batch measures it, when ``config.households`` is ``None``.

    ``households`` is set from :func:`estimate_households`. A batch that shows no
    households, of at least :data:`MIN_FITTED_RECORDS` records, scored with the default
    weights, has them fitted by EM on its own candidate pairs (the default weights are
    set for customer bases with families; without families, EM's two classes are one
    person's records and strangers' records), and both its thresholds moved by
    :func:`~omnicrm.identity._em.threshold_shift` of its size: fitted weights are
    likelihood ratios against a random pair of the batch, whose prior odds of being one
    person fall as the batch grows (with the default thresholds, ``match_threshold``
    becomes ``log2`` of the number of records).

    For a bound on a pair's score: the weights are the returned ``config.weights``
    (fitted, then relaxed and frequency-adjusted in scoring as any weights are) and the
    thresholds the returned config's; nothing else moves. ``pairs``: the batch's candidate
    pairs of the blocking keys, when already found (EM fits on them).
    """
    if config.households is not None:
        return config, ASSUMED
    households = estimate_households(prepared)
    config = attrs.evolve(config, households=households.shows_households)
    if (
        not households.shows_households
        and len(prepared) >= MIN_FITTED_RECORDS
        and config.weights == DEFAULT_WEIGHTS
    ):
        listed = None if pairs is None else zip(*(side.tolist() for side in pairs), strict=True)
        config = fit_weights(prepared, config, max_pairs=FITTED_PAIRS, pairs=listed)
        shift = threshold_shift(len(prepared))
        config = attrs.evolve(
            config,
            match_threshold=config.match_threshold + shift,
            review_threshold=config.review_threshold + shift,
        )
        households = attrs.evolve(households, fitted=True)
    return config, households


def _age(p: PreparedRecord) -> datetime:
    return p.record.observed_at or _LAST


class Resolution:
    """The result of a batch run: clusters of records, each one person.

    Attributes:
        clusters: every person as a frozenset of record sources.
        rejected: input rows that were not records, with their errors.
        households: the household structure measured in the batch (when
            ``MatchConfig.households`` is ``None``), which decides whether the twin
            penalty and the birth-date guard hold.

    """

    def __init__(
        self,
        records: Sequence[PreparedRecord],
        components: list[list[int]],
        outcomes: Mapping[tuple[int, int], _PairOutcome],
        rejected: Sequence[RejectedRow],
        config: MatchConfig,
        frequencies: NameFrequencies | None = None,
        households: HouseholdEstimate = ASSUMED,
    ) -> None:
        self.households = households
        self._frequencies = frequencies
        self._records = records
        self._config = config
        self._outcomes = outcomes
        self.rejected: tuple[RejectedRow, ...] = tuple(rejected)
        self._component = [0] * len(records)  # each record's cluster, by position
        self._customer_id: dict[frozenset[SourceRef], str] = {}
        clusters = []
        for number, group in enumerate(components):
            earliest = min(group, key=lambda i: (_age(records[i]), i))
            cluster = frozenset(records[i].record.source for i in group)
            clusters.append(cluster)
            self._customer_id[cluster] = str(records[earliest].record.source)
            for i in group:
                self._component[i] = number
        self.clusters: tuple[frozenset[SourceRef], ...] = tuple(clusters)

    @cached_property
    def _index(self) -> dict[SourceRef, int]:
        return {p.record.source: i for i, p in enumerate(self._records)}

    @cached_property
    def review(self) -> tuple[Explanation, ...]:
        """Pairs scored between the thresholds and left in two clusters, best first."""
        found = [
            self._explain_pair(i, j)
            for (i, j), (decision, _, _) in self._outcomes.items()
            if decision == Decision.REVIEW and self._component[i] != self._component[j]
        ]
        return tuple(sorted(found, key=lambda e: (-e.score, str(e.a), str(e.b))))

    def _ref(self, ref: SourceRef) -> int:
        if not isinstance(ref, SourceRef):
            raise InvalidTypeError("source_ref", ref, "must be a SourceRef")
        if ref not in self._index:
            raise NotFoundError("record", str(ref))
        return self._index[ref]

    def cluster_of(self, source_ref: SourceRef) -> frozenset[SourceRef]:
        """The cluster (person) the record belongs to."""
        return self.clusters[self._component[self._ref(source_ref)]]

    def customer_id(self, cluster_or_ref: frozenset[SourceRef] | SourceRef) -> str:
        """The person's stable id: their earliest record's source, ``"channel:id"``."""
        cluster = (
            self.cluster_of(cluster_or_ref)
            if isinstance(cluster_or_ref, SourceRef)
            else cluster_or_ref
        )
        if cluster not in self._customer_id:
            raise NotFoundError("cluster", sorted(map(str, cluster)))
        return self._customer_id[cluster]

    def golden(self, cluster: frozenset[SourceRef] | SourceRef) -> GoldenRecord:
        """The golden record of a cluster (or of the cluster holding a record)."""
        customer_id = self.customer_id(cluster)
        members = self.cluster_of(SourceRef.parse(customer_id))
        return build_golden(
            customer_id,
            [self._records[self._index[r]] for r in sorted(members)],
            source_priority=self._config.source_priority,
        )

    def _explain_pair(self, i: int, j: int) -> Explanation:
        explanation = decide(
            self._records[i], self._records[j], self._config, self._frequencies, corroborate=True
        )
        relaxed = relaxed_fields(explanation)
        if relaxed or self.households.fitted:
            head = self._relaxation_note(relaxed) if relaxed else self._fitted_note()
            notes = (head, explanation.note)
            explanation = attrs.evolve(explanation, note="; ".join(n for n in notes if n))
        outcome = self._outcomes.get((min(i, j), max(i, j)))
        if outcome is None:
            return explanation
        decision, rule, guard = outcome
        return attrs.evolve(
            explanation,
            decision=decision,
            rule=rule or explanation.rule,
            guard=guard or explanation.guard,
        )

    def _relaxation_note(self, fields: Sequence[str]) -> str:
        what = " and ".join(_RELAXED[f] for f in fields)
        head = f"{what} relaxed to {RELAXED_WEIGHT:+.0f} bits"
        if self.households is ASSUMED:
            return f"{head}: MatchConfig(households=False)"
        fitted = f"; {self._fitted_note()}" if self.households.fitted else ""
        return (
            f"{head}: the batch shows no households — {self.households.describe()},"
            f" households from {HOUSEHOLD_SHARE:.0%}{fitted}"
        )

    def _fitted_note(self) -> str:
        """The fitted weights and the thresholds set for the batch's size."""
        config = self._config
        return (
            f"its weights were fitted by EM and its thresholds set for its"
            f" {len(self._records):,} records: merge from {config.match_threshold:.1f} bits,"
            f" review from {config.review_threshold:.1f}"
        )

    def explain(self, a: SourceRef, b: SourceRef) -> Explanation:
        """Why records ``a`` and ``b`` were (or were not) linked, field by field.

        Pairs never compared because no blocking key joined them are scored now.
        """
        return self._explain_pair(self._ref(a), self._ref(b))

    def __len__(self) -> int:
        return len(self.clusters)


def resolve(
    records: Iterable[CustomerRecord | Mapping[str, object]],
    config: MatchConfig | None = None,
    *,
    different: Iterable[tuple[SourceRef, SourceRef]] = (),
    same: Iterable[tuple[SourceRef, SourceRef]] = (),
) -> Resolution:
    """Deduplicate and link ``records`` into people.

    Args:
        records: :class:`CustomerRecord` values or mappings (bad rows are reported in
            ``Resolution.rejected``, the rest resolved).
        config: the matching configuration (the default needs no training).
        different: pairs a person decided are different people; never linked.
        same: pairs a person decided are the same person; linked unless guarded.

    """
    config = config or MatchConfig()
    prepared, rejected = prepare_all(records, config)
    size, window = config.max_block_size, config.window
    # the pairs of the blocking keys, found once for the weights' fit and the scoring
    primary = candidate_indexes(prepared, max_block_size=size, window=window)
    config, households = with_households(config, prepared, primary)
    left, right = candidate_indexes(
        prepared,
        max_block_size=size,
        window=window,
        secondary=config.households is False,
        primary=primary,
    )
    same, different = list(same), list(different)
    index = {p.record.source: i for i, p in enumerate(prepared)} if same or different else {}
    frequencies = count_names(prepared) if config.name_frequencies else None
    known_different = [(index[a], index[b]) for a, b in different if a in index and b in index]

    outcomes: dict[tuple[int, int], _PairOutcome] = {}
    links: list[tuple[int, float, int, int]] = []
    kept = reachable(RecordColumns(prepared, frequencies), left, right, config)
    for i, j in zip(left[kept].tolist(), right[kept].tolist(), strict=True):
        decision, score, rule = quick_decision(
            prepared[i], prepared[j], config, frequencies, corroborate=True, prune=True
        )
        if decision == Decision.MERGE:
            links.append((0 if rule else 1, -score, i, j))
            outcomes[i, j] = (decision, rule, None)
        elif decision == Decision.REVIEW:
            outcomes[i, j] = (decision, None, None)
    for a, b in same:
        if a in index and b in index:
            i, j = sorted((index[a], index[b]))
            outcomes[i, j] = (Decision.MERGE, "decision:same", None)
            links.append((-1, 0.0, i, j))
    for i, j in known_different:
        outcomes[min(i, j), max(i, j)] = (Decision.CANNOT_LINK, None, "different_people_decision")
    clusters = GuardedClusters(
        prepared, known_different, birth_dates=config.households is not False
    )
    for _, _, i, j in sorted(links):
        guard = clusters.union(i, j)
        if guard is not None:
            outcomes[i, j] = (Decision.CANNOT_LINK, None, guard)
    return Resolution(
        prepared, clusters.components(), outcomes, rejected, config, frequencies, households
    )
