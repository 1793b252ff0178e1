"""The identity repositories: narrow ports, each an ordinary table.

Implement them on your own tables and prove them with
:class:`omnicrm.testing.contracts.IdentityRepositoryContract`. Every method runs inside
the unit of work that owns the repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from omnicrm.identity.model import AuditEntry, IdentityProfile, PairDecision, StoredRecord
from omnicrm.identity.records import SourceRef
from omnicrm.unit_of_work import UnitOfWork

__all__ = [
    "AuditRepository",
    "DecisionRepository",
    "IdentityUnitOfWork",
    "MatchKeyRepository",
    "PostingTexts",
    "PreparedRows",
    "ProfileRepository",
    "SourceRecordRepository",
]


class ProfileRepository(Protocol):
    """People: one row per customer id, versioned."""

    def add(self, profile: IdentityProfile) -> IdentityProfile:
        """Store a new profile with ``version == 1``; ``DuplicateError`` if the id exists."""
        ...

    def get(self, customer_id: str) -> IdentityProfile:
        """Return the profile or raise ``NotFoundError``."""
        ...

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, IdentityProfile]:
        """Return the existing profiles among ``customer_ids``."""
        ...

    def update(self, profile: IdentityProfile) -> IdentityProfile:
        """Replace the profile if the stored version equals ``profile.version``.

        Returns it with the version incremented; ``ConcurrencyError`` on a stale version,
        ``NotFoundError`` if absent.
        """
        ...


class SourceRecordRepository(Protocol):
    """Source records by source, each with the person it belongs to."""

    def put(self, stored: StoredRecord) -> None:
        """Insert or replace the row of ``stored.source``."""
        ...

    def get(self, source: SourceRef) -> StoredRecord | None:
        """Return the row of ``source`` or ``None``."""
        ...

    def get_many(self, sources: Iterable[SourceRef]) -> Mapping[SourceRef, StoredRecord]:
        """Return the existing rows among ``sources``."""
        ...


class MatchKeyRepository(Protocol):
    """The match-key index: which sources carry a (hashed) blocking key."""

    def add(self, source: SourceRef, keys: Iterable[str]) -> None:
        """Index ``source`` under each of ``keys`` (adding to what it has)."""
        ...

    def remove(self, source: SourceRef) -> None:
        """Drop every key of ``source``."""
        ...

    def find(self, keys: Iterable[str], *, limit: int) -> frozenset[SourceRef]:
        """Return the sources carrying any of ``keys``.

        Per key at most ``limit`` sources: the ones indexed most recently (a very common
        key, such as a common name, then costs a bounded amount of work).
        """
        ...

    def postings(self, keys: Iterable[str], *, limit: int) -> Mapping[str, tuple[SourceRef, ...]]:
        """Return, per key of ``keys`` that has any, its sources, newest indexed first.

        At most ``limit`` per key, as for :meth:`find`; a key holding ``limit`` sources
        may hold more (a common key), which the resolver reads as weak evidence.
        """
        ...

    def keys_of(self, source: SourceRef) -> frozenset[str]:
        """Return the keys ``source`` is indexed under."""
        ...


class DecisionRepository(Protocol):
    """Pairs in the review queue and pairs a person decided."""

    def put(self, decision: PairDecision) -> None:
        """Insert or replace the decision of the pair ``(decision.a, decision.b)``."""
        ...

    def get(self, a: SourceRef, b: SourceRef) -> PairDecision | None:
        """Return the decision of the pair (either order) or ``None``."""
        ...

    def involving(self, sources: Iterable[SourceRef]) -> Sequence[PairDecision]:
        """Return every decision with ``a`` or ``b`` among ``sources``."""
        ...

    def pending(self, *, limit: int | None = None) -> Sequence[PairDecision]:
        """Return the review queue, highest score first."""
        ...

    def delete(self, a: SourceRef, b: SourceRef) -> None:
        """Remove the decision of the pair if present."""
        ...


class AuditRepository(Protocol):
    """The append-only audit trail of merges, unmerges, decisions and erasures."""

    def add(self, entry: AuditEntry) -> None:
        """Append an entry; ``DuplicateError`` if its id exists."""
        ...

    def get(self, entry_id: str) -> AuditEntry:
        """Return the entry or raise ``NotFoundError``."""
        ...

    def mark_undone(self, entry_id: str) -> AuditEntry:
        """Mark a merge as reversed, only if it was not; ``StateError`` if it was."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[AuditEntry]:
        """Return the entries naming ``customer_id`` (either side), oldest first."""
        ...


@runtime_checkable
class PostingTexts(Protocol):
    """Optional match-key index methods: postings counted, and with sources as stored text.

    An index offering them (the SQL ones) saves the resolver reading the dozens of
    sources of a common key only to count them, and parsing those it does read before
    they are needed; the others give parsed postings.
    """

    def posting_counts(self, keys: Iterable[str], *, limit: int) -> Mapping[str, int]:
        """How many sources each key has (keys with none left out), counted to ``limit``."""
        ...

    def posting_texts(self, keys: Iterable[str], *, limit: int) -> Mapping[str, tuple[str, ...]]:
        """Each key's sources as ``"channel:id"`` text, as ``postings`` gives them."""
        ...


@runtime_checkable
class PreparedRows(Protocol):
    """Optional source-record repository methods: each record's prepared form beside it.

    A :class:`SourceRecordRepository` offering them (the SQL ones) keeps a text per row
    that the resolver writes (the record with its normalised form, tagged with a
    fingerprint of the settings and code that produced it), so a candidate read cold is
    decoded from that one text instead of its record being read and normalised again.
    The text is opaque to the repository: it stores it, compares its start with a
    fingerprint and returns it. ``put`` keeps a row's form while its record is unchanged
    (a merge moves it) and drops it with any other change (an erasure among them).
    Optional: the resolver checks for it with ``isinstance`` and prepares records as
    before without.
    """

    def current_forms(
        self, sources: Iterable[SourceRef], *, fingerprint: str
    ) -> Mapping[SourceRef, tuple[str, str]]:
        """``(customer_id, form)`` of the rows among ``sources`` whose form is current.

        Current: the form starts with ``fingerprint``. Other rows (no form, another
        fingerprint, no such row) are left out; the resolver reads them with ``get_many``.
        """
        ...

    def put_form(self, stored: StoredRecord, form: str | None) -> None:
        """``put`` with the record's form (``None``: keep it if the record is unchanged)."""
        ...

    def rows_without_form(
        self, after: SourceRef | None, *, fingerprint: str, limit: int
    ) -> Sequence[StoredRecord]:
        """Up to ``limit`` rows after ``after`` (``None``: the first) lacking a form.

        In source order, rows holding a record whose form is missing or does not start
        with ``fingerprint``.
        """
        ...

    def set_forms(self, forms: Iterable[tuple[StoredRecord, str]]) -> None:
        """Store forms of rows read in this unit of work, where the record is unchanged."""
        ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """A unit of work carrying the identity repositories."""

    @property
    def identity_profiles(self) -> ProfileRepository:
        """People."""
        ...

    @property
    def identity_records(self) -> SourceRecordRepository:
        """Source records."""
        ...

    @property
    def identity_keys(self) -> MatchKeyRepository:
        """The match-key index."""
        ...

    @property
    def identity_decisions(self) -> DecisionRepository:
        """Review queue and decisions."""
        ...

    @property
    def identity_audit(self) -> AuditRepository:
        """The audit trail."""
        ...
