"""The online identity service: place a record at sign-up, merge, unmerge, decide, erase.

``Resolver.resolve(record)`` looks the record's hashed match keys up in the index (never
a scan), scores the few candidates found, and joins, creates or merges people in one
unit of work. Every mutating command carries an idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from omnicrm.clock import Clock
from omnicrm.errors import InvalidTypeError, RuleViolationError, StateError, ValidationError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import IdempotencyRecord, fingerprint, replay_or_none
from omnicrm.identity._online import different_between, hashed_keys, person_guard
from omnicrm.identity.codec import record_to_dict
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.errors import ErasedRecordError
from omnicrm.identity.events import CustomerErased, CustomersMerged, CustomersUnmerged
from omnicrm.identity.explain import Decision, Explanation
from omnicrm.identity.golden import GoldenRecord, build_golden
from omnicrm.identity.model import (
    AuditEntry,
    IdentityProfile,
    PairDecision,
    StoredRecord,
    Verdict,
)
from omnicrm.identity.prepared import PreparedRecord, prepare
from omnicrm.identity.readings import Readings, learn_readings
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.scoring import decide, quick_decision
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.validation import check_id, check_text

if TYPE_CHECKING:
    from omnicrm.identity.ports import IdentityUnitOfWork
    from omnicrm.unit_of_work import Store

__all__ = ["CommandOutcome", "IdentityService", "Placement", "Resolver"]

T = TypeVar("T")


@attrs.frozen
class Placement:
    """Where ``resolve`` put a record.

    Attributes:
        customer_id: the person the record belongs to.
        created: ``True`` when the record started a new person.
        merged: people merged into ``customer_id`` because the record linked them.
        links: why the record joined (its merge explanations with stored records).
        review: pairs queued for a person to decide.
        events: the committed events (``CustomersMerged``); empty on a replay.
        replayed: ``True`` when an earlier call with the same idempotency key answered.

    """

    customer_id: str
    created: bool
    merged: tuple[str, ...] = ()
    links: tuple[Explanation, ...] = ()
    review: tuple[Explanation, ...] = ()
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False


@attrs.frozen
class CommandOutcome:
    """The result of merge, unmerge, decide or erase.

    Attributes:
        customer_id: the person acted on (the survivor of a merge).
        audit_id: the audit entry written.
        events: the committed events; empty on a replay.
        replayed: ``True`` when an earlier call with the same key answered.

    """

    customer_id: str
    audit_id: str
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False


def _decode_outcome(text: str) -> CommandOutcome:
    customer_id, audit_id = json.loads(text)
    return CommandOutcome(str(customer_id), str(audit_id), replayed=True)


def _scripts_differ(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One side has a name only in kanji, the other only its reading."""

    def kanji_only(p: PreparedRecord) -> bool:
        return bool(p.family or p.given) and not (p.family_kana or p.given_kana)

    def kana_only(p: PreparedRecord) -> bool:
        return bool(p.family_kana or p.given_kana) and not (p.family or p.given)

    return (kanji_only(a) and kana_only(b)) or (kana_only(a) and kanji_only(b))


def _check_ref(field: str, value: object) -> SourceRef:
    if not isinstance(value, SourceRef):
        raise InvalidTypeError(field, value, "must be a SourceRef")
    return value


class Resolver:
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
        self._prepared = lru_cache(maxsize=1 << 16)(self._prepare_uncached)

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
    ) -> T:
        check_id("idempotency_key", key)
        digest = fingerprint(payload)
        with self._uow() as uow:
            earlier = replay_or_none(uow.idempotency, scope, key, digest)
            if earlier is not None:
                return decode(earlier)
            result = command(uow)
            uow.idempotency.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=digest,
                    result=encode(result),
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        return with_events(result, uow.events)

    def _prepare(self, record: CustomerRecord) -> PreparedRecord:
        return self._prepared(record)

    def _prepare_uncached(self, record: CustomerRecord) -> PreparedRecord:
        c = self._config
        return prepare(
            record,
            phone_region=c.phone_region,
            email_provider_rules=c.email_provider_rules,
            day_first=c.day_first,
        )

    def _members(self, uow: IdentityUnitOfWork, profile: IdentityProfile) -> list[PreparedRecord]:
        rows = uow.identity_records.get_many(sorted(profile.members))
        return [self._prepare(r.record) for r in rows.values() if r.record is not None]

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
        )

    def _place(self, uow: IdentityUnitOfWork, record: CustomerRecord) -> Placement:
        now = self._clock.now()
        existing = uow.identity_records.get(record.source)
        if existing is not None and existing.erased:
            raise ErasedRecordError(
                "source", str(record.source), "this person was erased; the record is refused"
            )
        new = self._prepare(record)
        keys = hashed_keys(new)
        if existing is not None:  # an update of a known record: stay with its person
            uow.identity_records.put(attrs.evolve(existing, record=record))
            uow.identity_keys.remove(record.source)
            uow.identity_keys.add(record.source, keys)
            return Placement(existing.customer_id, created=False)
        candidates = uow.identity_keys.find(keys, limit=self._limit) - {record.source}
        stored = uow.identity_records.get_many(sorted(candidates))
        decisions = uow.identity_decisions.involving([record.source])
        verdicts = {frozenset((d.a, d.b)): d.verdict for d in decisions}
        links: dict[str, list[Explanation]] = {}
        review_refs: list[tuple[float, SourceRef]] = []
        person_readings: dict[str, Readings] = {}
        for ref, row in sorted(stored.items()):
            if row.record is None:
                continue
            candidate = self._prepare(row.record)
            if _scripts_differ(new, candidate):
                readings = person_readings.get(row.customer_id)
                if readings is None:
                    profile = uow.identity_profiles.get(row.customer_id)
                    readings = learn_readings([new, *self._members(uow, profile)])
                    person_readings[row.customer_id] = readings
                candidate = readings.fill(candidate)
                new_filled = readings.fill(new)
            else:
                new_filled = new
            verdict = verdicts.get(frozenset((record.source, ref)))
            if verdict == Verdict.DIFFERENT:
                continue
            decision, score, _ = quick_decision(new_filled, candidate, self._config)
            if verdict == Verdict.SAME or decision == Decision.MERGE:
                explanation = decide(new_filled, candidate, self._config)
                links.setdefault(row.customer_id, []).append(explanation)
            elif decision == Decision.REVIEW:
                review_refs.append((-score, ref))
        review = [
            decide(new, self._prepare(stored[ref].record), self._config)  # type: ignore[arg-type]
            for _, ref in sorted(review_refs)[: self._review_limit]
        ]
        target, merged, joined = self._join(uow, record.source, new, links, now)
        if target is None:
            target = str(record.source)
            uow.identity_profiles.add(
                IdentityProfile(
                    customer_id=target,
                    members=frozenset({record.source}),
                    created_at=now,
                    updated_at=now,
                )
            )
        uow.identity_records.put(
            StoredRecord(source=record.source, customer_id=target, record=record)
        )
        uow.identity_keys.add(record.source, keys)
        queued = self._queue(uow, review, target, stored, now)
        found = tuple(e for group in links.values() for e in group)
        return Placement(
            target, created=not joined, merged=tuple(merged), links=found, review=tuple(queued)
        )

    def _join(
        self,
        uow: IdentityUnitOfWork,
        source: SourceRef,
        new: PreparedRecord,
        links: dict[str, list[Explanation]],
        now: datetime,
    ) -> tuple[str | None, list[str], bool]:
        """Join the linked people that can be one person with the record; merge them."""
        if not links:
            return None, [], False
        strength: dict[str, tuple[float, IdentityProfile]] = {}
        for cid, profile in uow.identity_profiles.get_many(links).items():
            live = self._follow(uow, profile)
            if live is None or not live.active:
                continue
            best = max(1000.0 if e.rule else e.score for e in links[cid])
            if live.customer_id not in strength or strength[live.customer_id][0] < best:
                strength[live.customer_id] = (best, live)
        order = [
            p
            for _, p in sorted(
                strength.values(), key=lambda sp: (-sp[0], sp[1].created_at, sp[1].customer_id)
            )
        ]
        if not order:
            return None, [], False
        group_records = [new]
        group_refs = frozenset({source})
        accepted: list[IdentityProfile] = []
        for profile in order:
            members = self._members(uow, profile)
            decided = uow.identity_decisions.involving(sorted(profile.members | group_refs))
            if person_guard(group_records, members) or different_between(
                decided, group_refs, profile.members
            ):
                continue
            accepted.append(profile)
            group_records += members
            group_refs |= profile.members
        if not accepted:
            return None, [], False
        survivor = min(accepted, key=lambda p: (p.created_at, p.customer_id))
        merged = []
        for absorbed in accepted:
            if absorbed.customer_id == survivor.customer_id:
                continue
            survivor = self._merge(uow, survivor, absorbed, "linked by " + str(source), now)
            merged.append(absorbed.customer_id)
        uow.identity_profiles.update(
            attrs.evolve(survivor, members=survivor.members | {source}, updated_at=now)
        )
        return survivor.customer_id, merged, True

    def _follow(self, uow: IdentityUnitOfWork, profile: IdentityProfile) -> IdentityProfile | None:
        seen = 0
        while profile.merged_into is not None and seen < 50:
            profile = uow.identity_profiles.get(profile.merged_into)
            seen += 1
        return None if profile.erased else profile

    def _queue(
        self,
        uow: IdentityUnitOfWork,
        review: list[Explanation],
        target: str,
        stored: Mapping[SourceRef, StoredRecord],
        now: datetime,
    ) -> list[Explanation]:
        queued = []
        for e in review:
            if stored[e.b].customer_id == target:
                continue
            uow.identity_decisions.put(
                PairDecision.of(
                    e.a,
                    e.b,
                    verdict=Verdict.PENDING,
                    score=e.score,
                    levels=tuple((c.field, c.level, c.weight) for c in e.fields),
                    decided_at=now,
                )
            )
            queued.append(e)
        return queued

    # ---- merge and unmerge -----------------------------------------------------------
    def _merge(
        self,
        uow: IdentityUnitOfWork,
        survivor: IdentityProfile,
        absorbed: IdentityProfile,
        reason: str,
        now: datetime,
    ) -> IdentityProfile:
        audit_id = self._ids.new_id("aud")
        uow.identity_audit.add(
            AuditEntry(
                entry_id=audit_id,
                at=now,
                action="merge",
                customer_id=survivor.customer_id,
                other_id=absorbed.customer_id,
                reason=reason,
                before={survivor.customer_id: survivor, absorbed.customer_id: absorbed},
            )
        )
        for ref in sorted(absorbed.members):
            row = uow.identity_records.get(ref)
            if row is not None:
                uow.identity_records.put(attrs.evolve(row, customer_id=survivor.customer_id))
        uow.identity_profiles.update(
            attrs.evolve(
                absorbed, members=frozenset(), merged_into=survivor.customer_id, updated_at=now
            )
        )
        stored = uow.identity_profiles.update(
            attrs.evolve(survivor, members=survivor.members | absorbed.members, updated_at=now)
        )
        uow.record(
            CustomersMerged(
                event_id=self._ids.new_id("evt"),
                occurred_at=now,
                survivor=survivor.customer_id,
                absorbed=absorbed.customer_id,
                reason=reason,
                audit_id=audit_id,
            )
        )
        return stored

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

    def _active(self, uow: IdentityUnitOfWork, field: str, customer_id: str) -> IdentityProfile:
        profile = uow.identity_profiles.get(customer_id)
        if not profile.active:
            raise RuleViolationError(field, customer_id, "is erased or merged into another person")
        return profile

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
        only the source ids, so a stale channel record cannot re-create the person.
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

        return self._outcome(
            "identity.erase", idempotency_key, {"customer_id": customer_id}, command
        )

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
