"""The in-memory identity repositories (the reference implementation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError, StateError
from omnicrm.identity.model import AuditEntry, IdentityProfile, PairDecision, StoredRecord, Verdict
from omnicrm.identity.records import SourceRef
from omnicrm.persistence.memory._tables import Journal, Table
from omnicrm.validation import check_id

__all__ = [
    "IdentityTables",
    "MemoryAuditRepository",
    "MemoryDecisionRepository",
    "MemoryIdentityRepositories",
    "MemoryMatchKeyRepository",
    "MemoryProfileRepository",
    "MemorySourceRecordRepository",
]


_CHUNK = 64


class IdentityTables:
    """The committed identity state."""

    def __init__(self) -> None:
        self.profiles: Table[str, IdentityProfile] = Table()
        self.records: Table[SourceRef, StoredRecord] = Table()
        # each key's sources, oldest first, in chunks of _CHUNK so that indexing one
        # more record under a very common key copies a short tuple, not the whole list
        self.key_chunks: Table[tuple[str, int], tuple[SourceRef, ...]] = Table()
        self.key_chunk_count: Table[str, int] = Table()
        self.keys_of: Table[SourceRef, frozenset[str]] = Table()
        self.decisions: Table[tuple[SourceRef, SourceRef], PairDecision] = Table()
        self.decisions_of: Table[SourceRef, frozenset[tuple[SourceRef, SourceRef]]] = Table()
        self.audit: Table[str, AuditEntry] = Table()
        self.audit_of: Table[str, tuple[str, ...]] = Table()


class _Repo:
    def __init__(self, tables: IdentityTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal


class MemoryProfileRepository(_Repo):
    """:class:`~omnicrm.identity.ports.ProfileRepository` over journaled dicts."""

    def add(self, profile: IdentityProfile) -> IdentityProfile:
        """Store a new profile with version 1."""
        if profile.customer_id in self._t.profiles:
            raise DuplicateError("identity profile", profile.customer_id)
        stored = attrs.evolve(profile, version=1)
        self._t.profiles.put(self._journal, profile.customer_id, stored)
        return stored

    def get(self, customer_id: str) -> IdentityProfile:
        """Return the profile or raise ``NotFoundError``."""
        found = self._t.profiles.get(check_id("customer_id", customer_id))
        if found is None:
            raise NotFoundError("identity profile", customer_id)
        return found

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, IdentityProfile]:
        """Return the existing profiles among ``customer_ids``."""
        rows = ((i, self._t.profiles.get(i)) for i in customer_ids)
        return {i: row for i, row in rows if row is not None}

    def update(self, profile: IdentityProfile) -> IdentityProfile:
        """Replace the profile if the version matches; return it with the next version."""
        current = self._t.profiles.get(profile.customer_id)
        if current is None:
            raise NotFoundError("identity profile", profile.customer_id)
        if current.version != profile.version:
            raise ConcurrencyError(
                "identity profile", profile.customer_id, profile.version, current.version
            )
        stored = attrs.evolve(profile, version=current.version + 1)
        self._t.profiles.put(self._journal, profile.customer_id, stored)
        return stored


class MemorySourceRecordRepository(_Repo):
    """:class:`~omnicrm.identity.ports.SourceRecordRepository` over journaled dicts."""

    def put(self, stored: StoredRecord) -> None:
        """Insert or replace the row."""
        self._t.records.put(self._journal, stored.source, stored)

    def get(self, source: SourceRef) -> StoredRecord | None:
        """Return the row or ``None``."""
        return self._t.records.get(source)

    def get_many(self, sources: Iterable[SourceRef]) -> Mapping[SourceRef, StoredRecord]:
        """Return the existing rows among ``sources``."""
        rows = ((s, self._t.records.get(s)) for s in sources)
        return {s: row for s, row in rows if row is not None}


class MemoryMatchKeyRepository(_Repo):
    """:class:`~omnicrm.identity.ports.MatchKeyRepository` over journaled dicts."""

    def add(self, source: SourceRef, keys: Iterable[str]) -> None:
        """Index ``source`` under ``keys``."""
        current = self._t.keys_of.get(source) or frozenset()
        new = frozenset(keys) - current
        if not new:
            return
        chunks, counts = self._t.key_chunks, self._t.key_chunk_count
        for key in sorted(new):
            count = counts.get(key) or 0
            last = chunks.get((key, count - 1)) if count else None
            if last is not None and len(last) < _CHUNK:
                chunks.put(self._journal, (key, count - 1), (*last, source))
            else:
                chunks.put(self._journal, (key, count), (source,))
                counts.put(self._journal, key, count + 1)
        self._t.keys_of.put(self._journal, source, current | new)

    def remove(self, source: SourceRef) -> None:
        """Drop every key of ``source``."""
        chunks = self._t.key_chunks
        for key in self._t.keys_of.get(source) or ():
            for n in range(self._t.key_chunk_count.get(key) or 0):
                chunk = chunks.get((key, n)) or ()
                if source in chunk:
                    chunks.put(self._journal, (key, n), tuple(s for s in chunk if s != source))
        self._t.keys_of.delete(self._journal, source)

    def find(self, keys: Iterable[str], *, limit: int) -> frozenset[SourceRef]:
        """Return the sources carrying any of ``keys``: per key the ``limit`` latest indexed."""
        return frozenset(s for refs in self.postings(keys, limit=limit).values() for s in refs)

    def postings(self, keys: Iterable[str], *, limit: int) -> Mapping[str, tuple[SourceRef, ...]]:
        """Return each key's sources (those that have any), the ``limit`` latest first."""
        found: dict[str, tuple[SourceRef, ...]] = {}
        for key in keys:
            latest: list[SourceRef] = []
            n = self._t.key_chunk_count.get(key) or 0
            while n and len(latest) < limit:
                n -= 1
                latest.extend(reversed(self._t.key_chunks.get((key, n)) or ()))
            if latest:
                found[key] = tuple(latest[:limit])
        return found

    def keys_of(self, source: SourceRef) -> frozenset[str]:
        """Return the keys ``source`` is indexed under."""
        return self._t.keys_of.get(source) or frozenset()


class MemoryDecisionRepository(_Repo):
    """:class:`~omnicrm.identity.ports.DecisionRepository` over journaled dicts."""

    def _link(self, ref: SourceRef, pair: tuple[SourceRef, SourceRef], add: bool) -> None:
        current = self._t.decisions_of.get(ref) or frozenset()
        changed = current | {pair} if add else current - {pair}
        if changed:
            self._t.decisions_of.put(self._journal, ref, changed)
        else:
            self._t.decisions_of.delete(self._journal, ref)

    def put(self, decision: PairDecision) -> None:
        """Insert or replace the pair's decision."""
        pair = (decision.a, decision.b)
        self._t.decisions.put(self._journal, pair, decision)
        self._link(decision.a, pair, True)
        self._link(decision.b, pair, True)

    def get(self, a: SourceRef, b: SourceRef) -> PairDecision | None:
        """Return the pair's decision or ``None``."""
        x, y = sorted((a, b))
        return self._t.decisions.get((x, y))

    def involving(self, sources: Iterable[SourceRef]) -> Sequence[PairDecision]:
        """Return the decisions touching any of ``sources``."""
        pairs: set[tuple[SourceRef, SourceRef]] = set()
        for ref in sources:
            pairs.update(self._t.decisions_of.get(ref) or ())
        rows = (self._t.decisions.get(p) for p in sorted(pairs))
        return tuple(r for r in rows if r is not None)

    def pending(self, *, limit: int | None = None) -> Sequence[PairDecision]:
        """Return the review queue, highest score first."""
        rows = sorted(
            (d for d in self._t.decisions.values() if d.verdict == Verdict.PENDING),
            key=lambda d: (-d.score, d.a, d.b),
        )
        return tuple(rows if limit is None else rows[:limit])

    def delete(self, a: SourceRef, b: SourceRef) -> None:
        """Remove the pair's decision."""
        pair = tuple(sorted((a, b)))
        if pair in self._t.decisions:
            self._t.decisions.delete(self._journal, pair)  # type: ignore[arg-type]
            self._link(pair[0], pair, False)  # type: ignore[arg-type]
            self._link(pair[1], pair, False)  # type: ignore[arg-type]


class MemoryAuditRepository(_Repo):
    """:class:`~omnicrm.identity.ports.AuditRepository` over journaled dicts."""

    def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        if entry.entry_id in self._t.audit:
            raise DuplicateError("audit entry", entry.entry_id)
        self._t.audit.put(self._journal, entry.entry_id, entry)
        for customer_id in {entry.customer_id, entry.other_id} - {None}:
            assert customer_id is not None
            earlier = self._t.audit_of.get(customer_id) or ()
            self._t.audit_of.put(self._journal, customer_id, (*earlier, entry.entry_id))

    def get(self, entry_id: str) -> AuditEntry:
        """Return the entry or raise ``NotFoundError``."""
        found = self._t.audit.get(entry_id)
        if found is None:
            raise NotFoundError("audit entry", entry_id)
        return found

    def mark_undone(self, entry_id: str) -> AuditEntry:
        """Mark a merge as reversed, once."""
        entry = self.get(entry_id)
        if entry.undone:
            raise StateError(f"audit entry {entry_id!r} was already undone")
        changed = attrs.evolve(entry, undone=True)
        self._t.audit.put(self._journal, entry_id, changed)
        return changed

    def for_customer(self, customer_id: str) -> Sequence[AuditEntry]:
        """Return the entries naming ``customer_id``, oldest first."""
        ids = self._t.audit_of.get(customer_id) or ()
        return tuple(self.get(i) for i in ids)


class MemoryIdentityRepositories:
    """The five identity repositories of one memory unit of work."""

    def __init__(self, tables: IdentityTables, journal: Journal) -> None:
        self.profiles = MemoryProfileRepository(tables, journal)
        self.records = MemorySourceRecordRepository(tables, journal)
        self.keys = MemoryMatchKeyRepository(tables, journal)
        self.decisions = MemoryDecisionRepository(tables, journal)
        self.audit = MemoryAuditRepository(tables, journal)
