"""The online identity service: place a record at sign-up, merge, unmerge, decide, erase.

``Resolver.resolve(record)`` looks the record's hashed match keys up in the index (never
a scan), scores the few candidates found, and joins, creates or merges people in one
unit of work. Every mutating command carries an idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from omnicrm.clock import Clock
from omnicrm.errors import InvalidTypeError, RuleViolationError, StateError, ValidationError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import run_once
from omnicrm.identity._online import PreparedCache, different_between, person_guard
from omnicrm.identity._placement import PlacementSteps, offers
from omnicrm.identity._prepared_codec import prepared_form
from omnicrm.identity.codec import record_to_dict
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.events import CustomerErased, CustomersUnmerged
from omnicrm.identity.explain import Explanation
from omnicrm.identity.golden import GoldenRecord, build_golden
from omnicrm.identity.model import (
    AuditEntry,
    IdentityProfile,
    PairDecision,
    StoredRecord,
    Verdict,
)
from omnicrm.identity.outcomes import CommandOutcome, Placement
from omnicrm.identity.ports import PreparedRows
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import decide
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.validation import check_id, check_int, check_text

if TYPE_CHECKING:
    from omnicrm.identity.ports import IdentityUnitOfWork
    from omnicrm.unit_of_work import Store

__all__ = ["CommandOutcome", "IdentityService", "Placement", "Resolver"]

T = TypeVar("T")


def _decode_outcome(text: str) -> CommandOutcome:
    customer_id, audit_id = json.loads(text)
    return CommandOutcome(str(customer_id), str(audit_id), replayed=True)


def _check_ref(field: str, value: object) -> SourceRef:
    if not isinstance(value, SourceRef):
        raise InvalidTypeError(field, value, "must be a SourceRef")
    return value


class Resolver(PlacementSteps):
    """Online identity resolution over a store's identity repositories.

    Args:
        store: a store whose units of work carry the identity repositories.
        clock: the source of "now".
        ids: id generator for audit entries and events.
        config: the matching configuration.
        candidate_limit: at most this many stored records per match key are compared.
        review_limit: at most this many review pairs are queued per placed record.

    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdGenerator | None = None,
        config: MatchConfig | None = None,
        *,
        candidate_limit: int = 50,
        review_limit: int = 5,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids or UuidIds()
        self._config = config or MatchConfig()
        self._limit = candidate_limit
        self._review_limit = review_limit
        self._prepared = PreparedCache(self._prepare_uncached, 1 << 17)
        self._form = prepared_form(self._config)

    # ---- plumbing --------------------------------------------------------------------
    def _uow(self) -> IdentityUnitOfWork:
        return cast("IdentityUnitOfWork", self._store.unit_of_work())

    def _run(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[IdentityUnitOfWork], T],
        encode: Callable[[T], str],
        decode: Callable[[str], T],
        with_events: Callable[[T, tuple[DomainEvent, ...]], T],
        subject: Callable[[T], str | None] | None = None,
    ) -> T:
        with self._uow() as uow:
            result, replayed = run_once(
                uow,
                scope=scope,
                key=key,
                payload=payload,
                now=self._clock.now(),
                command=lambda: command(uow),
                encode=encode,
                decode=decode,
                subject=subject,
            )
            if replayed:
                return result
            uow.commit()
        return with_events(result, uow.events)

    # ---- resolve ---------------------------------------------------------------------
    def resolve(self, record: CustomerRecord, *, idempotency_key: str) -> Placement:
        """Place ``record``: join the person it matches, start a new one, or merge people.

        A record from a source seen before updates that record (and re-places it only
        if it is not already with a person). Raises ``ErasedRecordError`` for a source
        whose person was erased.
        """
        if not isinstance(record, CustomerRecord):
            raise InvalidTypeError("record", record, "must be a CustomerRecord")
        payload = {"record": record_to_dict(record)}

        def encode(p: Placement) -> str:
            return json.dumps(
                {"customer_id": p.customer_id, "created": p.created, "merged": list(p.merged)}
            )

        def decode(text: str) -> Placement:
            data = json.loads(text)
            return Placement(
                data["customer_id"], data["created"], tuple(data["merged"]), replayed=True
            )

        return self._run(
            "identity.resolve",
            idempotency_key,
            payload,
            lambda uow: self._place(uow, record),
            encode,
            decode,
            lambda p, events: attrs.evolve(p, events=events),
            subject=lambda p: p.customer_id,
        )

    # ---- merge and unmerge -----------------------------------------------------------
    def merge(
        self, survivor: str, absorbed: str, *, reason: str, idempotency_key: str
    ) -> CommandOutcome:
        """Merge person ``absorbed`` into ``survivor`` (a person's decision); audited.

        Raises ``RuleViolationError`` when a guard forbids it (different dates of birth,
        a "different people" decision) or either person is not active.
        """
        check_id("survivor", survivor)
        check_id("absorbed", absorbed)
        check_text("reason", reason, max_length=500)
        if survivor == absorbed:
            raise ValidationError("absorbed", absorbed, "cannot merge a person into itself")

        def command(uow: IdentityUnitOfWork) -> CommandOutcome:
            now = self._clock.now()
            keep = self._active(uow, "survivor", survivor)
            gone = self._active(uow, "absorbed", absorbed)
            decided = uow.identity_decisions.involving(sorted(keep.members | gone.members))
            guard = person_guard(self._members(uow, keep), self._members(uow, gone))
            if guard or different_between(decided, keep.members, gone.members):
                raise RuleViolationError(
                    "absorbed",
                    absorbed,
                    f"cannot be merged: {guard or 'different_people_decision'}",
                )
            self._merge(uow, keep, gone, reason, now)
            entry = uow.identity_audit.for_customer(absorbed)[-1]
            return CommandOutcome(survivor, entry.entry_id)

        return self._outcome(
            "identity.merge", idempotency_key, {"s": survivor, "a": absorbed, "r": reason}, command
        )

    def _outcome(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[IdentityUnitOfWork], CommandOutcome],
    ) -> CommandOutcome:
        return self._run(
            scope,
            key,
            payload,
            command,
            lambda o: json.dumps([o.customer_id, o.audit_id]),
            _decode_outcome,
            lambda o, events: attrs.evolve(o, events=events),
        )

    def unmerge(self, audit_id: str, *, idempotency_key: str) -> CommandOutcome:
        """Reverse a merge: the absorbed person gets back exactly the records it had.

        Records that joined the survivor after the merge stay with it. The pair is
        remembered as different people, so no later run merges them again.
        """
        check_id("audit_id", audit_id)

        def command(uow: IdentityUnitOfWork) -> CommandOutcome:
            now = self._clock.now()
            entry = uow.identity_audit.get(audit_id)
            if entry.action != "merge" or entry.other_id is None:
                raise StateError(f"audit entry {audit_id!r} is not a merge")
            uow.identity_audit.mark_undone(audit_id)
            survivor = uow.identity_profiles.get(entry.customer_id)
            before = entry.before[entry.other_id]
            restored_refs = before.members
            if survivor.erased or not restored_refs <= survivor.members:
                raise StateError("the merged records have changed since; unmerge is not possible")
            current = uow.identity_profiles.get(entry.other_id)
            uow.identity_profiles.update(
                attrs.evolve(before, version=current.version, updated_at=now)
            )
            uow.identity_profiles.update(
                attrs.evolve(survivor, members=survivor.members - restored_refs, updated_at=now)
            )
            for ref in sorted(restored_refs):
                row = uow.identity_records.get(ref)
                if row is not None:
                    uow.identity_records.put(attrs.evolve(row, customer_id=entry.other_id))
            a, b = SourceRef.parse(entry.customer_id), SourceRef.parse(entry.other_id)
            if a != b:
                uow.identity_decisions.put(
                    PairDecision.of(a, b, verdict=Verdict.DIFFERENT, decided_at=now)
                )
            new_id = self._ids.new_id("aud")
            uow.identity_audit.add(
                AuditEntry(entry_id=new_id, at=now, action="unmerge", customer_id=entry.customer_id,
                           other_id=entry.other_id, reason=f"undo {audit_id}")
            )  # fmt: skip
            uow.record(
                CustomersUnmerged(
                    event_id=self._ids.new_id("evt"),
                    occurred_at=now,
                    survivor=entry.customer_id,
                    restored=entry.other_id,
                    audit_id=audit_id,
                )
            )
            return CommandOutcome(entry.other_id, new_id)

        return self._outcome("identity.unmerge", idempotency_key, {"audit_id": audit_id}, command)

    # ---- decisions and review --------------------------------------------------------
    def decide_pair(
        self, a: SourceRef, b: SourceRef, *, same: bool, idempotency_key: str
    ) -> CommandOutcome:
        """Record a person's decision on a pair; ``same=True`` also merges their people.

        A "different people" decision is respected by every later placement and merge.
        """
        _check_ref("a", a)
        _check_ref("b", b)
        if not isinstance(same, bool):
            raise InvalidTypeError("same", same, "must be a bool")
        if a == b:
            raise ValidationError("b", str(b), "a pair needs two different records")

        def command(uow: IdentityUnitOfWork) -> CommandOutcome:
            now = self._clock.now()
            earlier = uow.identity_decisions.get(a, b)
            uow.identity_decisions.put(
                PairDecision.of(
                    a, b,
                    verdict=Verdict.SAME if same else Verdict.DIFFERENT,
                    score=earlier.score if earlier else 0.0,
                    levels=earlier.levels if earlier else (),
                    decided_at=now,
                )
            )  # fmt: skip
            left, right = uow.identity_records.get(a), uow.identity_records.get(b)
            target = left.customer_id if left else str(a)
            if same and left and right and left.customer_id != right.customer_id:
                keep = self._active(uow, "a", left.customer_id)
                gone = self._active(uow, "b", right.customer_id)
                if gone.created_at < keep.created_at:
                    keep, gone = gone, keep
                guard = person_guard(self._members(uow, keep), self._members(uow, gone))
                if guard:
                    raise RuleViolationError("b", str(b), f"cannot be the same person: {guard}")
                self._merge(uow, keep, gone, "decision:same", now)
                target = keep.customer_id
            audit_id = self._ids.new_id("aud")
            uow.identity_audit.add(
                AuditEntry(entry_id=audit_id, at=now, action="decide", customer_id=target,
                           reason=f"{a} {'=' if same else '≠'} {b}")
            )  # fmt: skip
            return CommandOutcome(target, audit_id)

        payload = {"a": str(a), "b": str(b), "same": same}
        return self._outcome("identity.decide", idempotency_key, payload, command)

    def review_queue(self, *, limit: int | None = None) -> Sequence[PairDecision]:
        """Pairs waiting for a person's decision, highest score first."""
        with self._uow() as uow:
            return uow.identity_decisions.pending(limit=limit)

    # ---- erasure ---------------------------------------------------------------------
    def erase(self, customer_id: str, *, idempotency_key: str) -> CommandOutcome:
        """Erase a person's personal data; leave tombstones refusing their sources.

        Records, match keys and queued pairs go; the profile stays as a tombstone with
        only the source ids, so a stale channel record cannot re-create the person; the
        stored results of their ``resolve`` retries are redacted.
        """
        check_id("customer_id", customer_id)

        def command(uow: IdentityUnitOfWork) -> CommandOutcome:
            now = self._clock.now()
            profile = uow.identity_profiles.get(customer_id)
            if profile.erased:
                raise StateError(f"customer {customer_id!r} is already erased")
            for ref in sorted(profile.members):
                uow.identity_records.put(StoredRecord(source=ref, customer_id=customer_id))
                uow.identity_keys.remove(ref)
            for d in uow.identity_decisions.involving(sorted(profile.members)):
                if d.verdict == Verdict.PENDING:
                    uow.identity_decisions.delete(d.a, d.b)
            uow.identity_profiles.update(attrs.evolve(profile, erased=True, updated_at=now))
            uow.idempotency.redact(customer_id)  # the fingerprints hash their records
            audit_id = self._ids.new_id("aud")
            uow.identity_audit.add(
                AuditEntry(entry_id=audit_id, at=now, action="erase", customer_id=customer_id)
            )
            uow.record(
                CustomerErased(
                    event_id=self._ids.new_id("evt"), occurred_at=now, customer_id=customer_id
                )
            )
            return CommandOutcome(customer_id, audit_id)

        self._prepared.clear()  # no prepared copy of their data stays in this process
        return self._outcome(
            "identity.erase", idempotency_key, {"customer_id": customer_id}, command
        )

    # ---- upkeep ----------------------------------------------------------------------
    def fill_prepared_forms(self, *, batch: int = 2_000) -> int:
        """Store the prepared form of every record lacking a current one; return how many.

        For a store that keeps prepared forms beside its records (SQLite, PostgreSQL): a
        record placed or updated gets its form as it is written, but records written
        before (a store migrated from an older version, a bulk load) or under other
        settings (another phone region, e-mail rules, day-first, normalisation code)
        have none, and each placement meeting them prepares them again. This walks the
        records in source order, ``batch`` per unit of work, and changes no person,
        decision or record (only the derived form), so it takes no idempotency key and
        may run beside placements or be stopped and run again. Returns 0 on a store
        without forms.
        """
        check_int("batch", batch, minimum=1)
        form, after, written = self._form, None, 0
        while form is not None:
            with self._uow() as uow:
                repo = uow.identity_records
                if not offers(repo, PreparedRows):
                    break
                rows = cast("PreparedRows", repo).rows_without_form(
                    after, fingerprint=form.fingerprint, limit=batch
                )
                if not rows:
                    break
                fill = [
                    (row, form.encode(self._prepare_uncached(row.record)))
                    for row in rows
                    if row.record is not None
                ]
                cast("PreparedRows", repo).set_forms(fill)
                uow.commit()
            written += len(fill)
            after = rows[-1].source
        return written

    # ---- reads -----------------------------------------------------------------------
    def profile(self, customer_id: str) -> IdentityProfile:
        """The person's profile (raises ``NotFoundError``)."""
        with self._uow() as uow:
            return uow.identity_profiles.get(customer_id)

    def customer_of(self, source: SourceRef) -> str | None:
        """The person a source record belongs to, or ``None`` if unknown."""
        with self._uow() as uow:
            row = uow.identity_records.get(_check_ref("source", source))
            return None if row is None else row.customer_id

    def golden(self, customer_id: str) -> GoldenRecord:
        """The person's golden record, with provenance."""
        with self._uow() as uow:
            profile = uow.identity_profiles.get(customer_id)
            members = self._members(uow, profile)
        return build_golden(customer_id, members, source_priority=self._config.source_priority)

    def explain(self, a: SourceRef, b: SourceRef) -> Explanation:
        """Score two stored records now and explain the decision."""
        with self._uow() as uow:
            rows = uow.identity_records.get_many([_check_ref("a", a), _check_ref("b", b)])
        records = [rows[r].record if r in rows else None for r in (a, b)]
        if records[0] is None or records[1] is None:
            raise ValidationError("a/b", f"{a}, {b}", "both records must be stored and not erased")
        return decide(self._prepare(records[0]), self._prepare(records[1]), self._config)


IdentityService = Resolver
"""Another name for :class:`Resolver`."""
