"""Online placement helpers: hashed match keys and per-person guards."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from omnicrm.identity.blocking import blocking_keys
from omnicrm.identity.clusters import GuardedClusters
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.model import PairDecision, Verdict
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import CustomerRecord, SourceRef

__all__ = ["PreparedCache", "different_between", "hashed_keys", "person_guard", "score_ceiling"]


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


_PRESENT: dict[str, Callable[[PreparedRecord], object]] = {
    "family_name": lambda p: p.family or p.family_kana,
    "given_name": lambda p: p.given or p.given_kana,
    "birth_date": lambda p: p.birth_date,
    "email": lambda p: p.email,
    "phone": lambda p: p.phone,
    "postal_code": lambda p: p.postal_code,
    "address": lambda p: p.address,
    "gender": lambda p: p.gender,
    "member_card_no": lambda p: p.member_card,
}


def score_ceiling(p: PreparedRecord, config: MatchConfig) -> float | None:
    """The highest score ``p`` can reach against any record; ``None`` if a rule may apply.

    A field ``p`` lacks compares as ``missing`` (0 bits); one it has weighs at most its
    best level. Every deterministic rule needs a member card, an e-mail or a phone, so a
    record with none of them links only by score: below the review threshold, never.
    """
    if p.member_card or p.email or p.phone:
        return None
    ceiling = 0.0
    for field, levels in config.weights.items():
        present = _PRESENT.get(field)
        if present is None or present(p):  # an unknown field: assume it may agree
            ceiling += max(0.0, *levels.values())
    for name, comparator in config.attribute_comparators.items():
        if p.record.attributes.get(name):
            ceiling += max(0.0, comparator.exact, comparator.near, comparator.different)
    return ceiling


_SCOPED = 1 << 12  # a scope holds one command's reads: a few dozen records


class PreparedCache:
    """Prepared records by the identity of the record object, at most ``size`` of them.

    Stores hand back the same immutable record object for the same row (the memory
    store always, SQLite through its decoded-row cache), so a candidate met again is
    found without hashing or normalising it; the entry keeps its record alive, so an
    ``id`` is never reused while it is cached. Full, the cache starts over.

    A record decoded from a stored form (:meth:`from_form`) the first time is kept for
    the current *scope* only (one placement, until :meth:`new_scope`); from its second
    reading on it is kept, found by its form's text: objects kept for long are walked
    by every garbage collection until they reach the oldest generation, and at a large
    store most candidates are met once.
    """

    def __init__(self, prepare: Callable[[CustomerRecord], PreparedRecord], size: int) -> None:
        self._prepare = prepare
        self._size = size
        self._items: dict[int, PreparedRecord] = {}
        self._scoped: dict[int, PreparedRecord] = {}
        self._forms: dict[str, PreparedRecord] = {}
        self._seen: set[int] = set()

    def _find(self, record: object) -> PreparedRecord | None:
        key = id(record)
        found = self._scoped.get(key) or self._items.get(key)
        return found if found is not None and found.record is record else None

    def __contains__(self, record: object) -> bool:
        """Whether ``record`` (this very object) is cached."""
        return self._find(record) is not None

    def _seen_before(self, text: str) -> bool:
        """Whether ``text`` (a stored form) was met before; remember it if not."""
        marker = hash(text)
        if marker in self._seen:
            return True
        if len(self._seen) >= self._size:
            self._seen = set()
        self._seen.add(marker)
        return False

    def from_form(
        self,
        text: str,
        source: SourceRef,
        decode: Callable[[str, SourceRef], PreparedRecord | None],
    ) -> PreparedRecord | None:
        """The record of ``source`` stored as ``text`` (a form), prepared.

        Decoded by ``decode`` (``None`` if it cannot be read) and cached for the current
        scope the first time; kept from the second time on, so a row met again gives
        the same record object. (Two sources may store the same text: a form holds no
        source, so a kept record is only reused for its own source.)
        """
        found = self._forms.get(text)
        if found is None or found.record.source != source:
            found = decode(text, source)
            if found is None:
                return None
            if not self._seen_before(text):
                self.add(found, scoped=True)
                return found
            if len(self._forms) >= self._size:
                self._forms = {}
            self._forms[text] = found
        if self._find(found.record) is None:
            self.add(found)
        return found

    def add(self, prepared: PreparedRecord, *, scoped: bool = False) -> None:
        """Cache ``prepared`` for its record; ``scoped``: only until :meth:`new_scope`."""
        if scoped:
            if len(self._scoped) >= _SCOPED:
                self._scoped = {}
            self._scoped[id(prepared.record)] = prepared
            return
        if len(self._items) >= self._size:
            self._items = {}
        self._items[id(prepared.record)] = prepared

    def new_scope(self) -> None:
        """Forget the records kept for the current scope only."""
        self._scoped = {}

    def clear(self) -> None:
        """Forget every cached record (after an erasure: keep no personal data)."""
        self._items = {}
        self._scoped = {}
        self._forms = {}
        self._seen = set()

    def __call__(self, record: CustomerRecord) -> PreparedRecord:
        """The prepared form of ``record``, normalised once while it stays cached."""
        found = self._find(record)
        if found is not None:
            return found
        prepared = self._prepare(record)
        self.add(prepared)
        return prepared
