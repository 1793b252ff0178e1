"""Online placement helpers: hashed match keys and per-person guards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from omnicrm.identity.blocking import blocking_keys
from omnicrm.identity.clusters import GuardedClusters
from omnicrm.identity.model import PairDecision, Verdict
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import SourceRef

__all__ = ["different_between", "hashed_keys", "person_guard"]


def hashed_keys(p: PreparedRecord) -> frozenset[str]:
    """The record's match keys, hashed, so the index itself holds no personal data."""
    return frozenset(
        hashlib.blake2b(key.encode(), digest_size=16).hexdigest() for key in blocking_keys(p)
    )


def different_between(
    decisions: Iterable[PairDecision], left: frozenset[SourceRef], right: frozenset[SourceRef]
) -> bool:
    """Whether a "different people" decision joins a member of ``left`` to one of ``right``."""
    return any(
        d.verdict == Verdict.DIFFERENT
        and ((d.a in left and d.b in right) or (d.a in right and d.b in left))
        for d in decisions
    )


def person_guard(left: list[PreparedRecord], right: list[PreparedRecord]) -> str | None:
    """The guard forbidding two groups of records to be one person, if any."""
    clusters = GuardedClusters([*left, *right])
    for i in range(1, len(left)):
        clusters.union(0, i)
    for j in range(len(left) + 1, len(left) + len(right)):
        clusters.union(len(left), j)
    return clusters.guard(0, len(left)) if left and right else None
