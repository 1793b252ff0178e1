"""Batch deduplication and linkage: ``resolve(records) -> Resolution``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from omnicrm.errors import DuplicateError, InvalidTypeError, NotFoundError, OmniCRMError
from omnicrm.identity.blocking import candidate_pairs
from omnicrm.identity.clusters import GuardedClusters
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.explain import Decision, Explanation
from omnicrm.identity.golden import GoldenRecord, build_golden
from omnicrm.identity.prepared import PreparedRecord, prepare
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import decide

__all__ = ["RejectedRow", "Resolution", "prepare_all", "resolve"]

_LAST = datetime.max.replace(tzinfo=UTC)


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
    prepared: list[PreparedRecord] = []
    rejected: list[RejectedRow] = []
    seen: set[SourceRef] = set()
    for index, row in enumerate(rows):
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
    return prepared, rejected


def _age(p: PreparedRecord) -> datetime:
    return p.record.observed_at or _LAST


class Resolution:
    """The result of a batch run: clusters of records, each one person.

    Attributes:
        clusters: every person as a frozenset of record sources, earliest first.
        review: pairs scored between the thresholds and left unmerged, best first.
        rejected: input rows that were not records, with their errors.

    """

    def __init__(
        self,
        records: Sequence[PreparedRecord],
        components: list[list[int]],
        decisions: Mapping[frozenset[SourceRef], Explanation],
        rejected: Sequence[RejectedRow],
        config: MatchConfig,
    ) -> None:
        self._records = {p.record.source: p for p in records}
        self._config = config
        self._decisions = decisions
        self.rejected: tuple[RejectedRow, ...] = tuple(rejected)
        self._cluster_of: dict[SourceRef, frozenset[SourceRef]] = {}
        self._customer_id: dict[frozenset[SourceRef], str] = {}
        clusters = []
        for group in components:
            earliest = min(group, key=lambda i: (_age(records[i]), i))
            cluster = frozenset(records[i].record.source for i in group)
            clusters.append(cluster)
            self._customer_id[cluster] = str(records[earliest].record.source)
            for ref in cluster:
                self._cluster_of[ref] = cluster
        self.clusters: tuple[frozenset[SourceRef], ...] = tuple(clusters)
        self.review: tuple[Explanation, ...] = tuple(
            sorted(
                (
                    e
                    for e in decisions.values()
                    if e.decision == Decision.REVIEW
                    and self._cluster_of[e.a] != self._cluster_of[e.b]
                ),
                key=lambda e: (-e.score, str(e.a), str(e.b)),
            )
        )

    def _ref(self, ref: SourceRef) -> SourceRef:
        if not isinstance(ref, SourceRef):
            raise InvalidTypeError("source_ref", ref, "must be a SourceRef")
        if ref not in self._records:
            raise NotFoundError("record", str(ref))
        return ref

    def cluster_of(self, source_ref: SourceRef) -> frozenset[SourceRef]:
        """The cluster (person) the record belongs to."""
        return self._cluster_of[self._ref(source_ref)]

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
            [self._records[r] for r in sorted(members)],
            source_priority=self._config.source_priority,
        )

    def explain(self, a: SourceRef, b: SourceRef) -> Explanation:
        """Why records ``a`` and ``b`` were (or were not) linked, field by field.

        Pairs never compared because no blocking key joined them are scored now.
        """
        found = self._decisions.get(frozenset((self._ref(a), self._ref(b))))
        if found is not None:
            return found if found.a == a else attrs.evolve(found, a=a, b=b)
        return decide(self._records[a], self._records[b], self._config)

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
    index = {p.record.source: i for i, p in enumerate(prepared)}
    known_different = [
        (index[a], index[b]) for a, b in different if a in index and b in index
    ]
    decisions: dict[frozenset[SourceRef], Explanation] = {}
    links: list[tuple[int, float, int, int]] = []
    for i, j in candidate_pairs(
        prepared, max_block_size=config.max_block_size, window=config.window
    ):
        explanation = decide(prepared[i], prepared[j], config)
        if explanation.decision == Decision.NO_MATCH:
            continue
        decisions[frozenset((explanation.a, explanation.b))] = explanation
        if explanation.decision == Decision.MERGE:
            links.append((0 if explanation.rule else 1, -explanation.score, i, j))
    for a, b in same:
        if a in index and b in index:
            decided = decide(prepared[index[a]], prepared[index[b]], config)
            decided = attrs.evolve(decided, decision=Decision.MERGE, rule="decision:same")
            decisions[frozenset((a, b))] = decided
            links.append((-1, 0.0, index[a], index[b]))
    clusters = GuardedClusters(prepared, known_different)
    for _, _, i, j in sorted(links):
        guard = clusters.union(i, j)
        if guard is not None:
            key = frozenset((prepared[i].record.source, prepared[j].record.source))
            decisions[key] = attrs.evolve(decisions[key], decision=Decision.CANNOT_LINK, guard=guard)
    return Resolution(prepared, clusters.components(), decisions, rejected, config)
