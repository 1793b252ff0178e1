"""The steps of online placement and merging, shared by :class:`~omnicrm.identity.Resolver`.

Kept apart from the service so each module stays readable: this one holds how a record
is compared with its candidates, joined to a person, and how two people are merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, cast

import attrs

from omnicrm.clock import Clock
from omnicrm.errors import RuleViolationError
from omnicrm.identity._online import (
    PreparedCache,
    different_between,
    hashed_keys,
    person_guard,
    score_ceiling,
)
from omnicrm.identity._prepared_codec import PreparedForm
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.errors import ErasedRecordError
from omnicrm.identity.events import CustomersMerged
from omnicrm.identity.explain import Decision, Explanation
from omnicrm.identity.model import (
    AuditEntry,
    IdentityProfile,
    PairDecision,
    StoredRecord,
    Verdict,
)
from omnicrm.identity.outcomes import Placement
from omnicrm.identity.ports import PostingTexts, PreparedRows
from omnicrm.identity.prepared import PreparedRecord, prepare
from omnicrm.identity.readings import Readings, learn_readings
from omnicrm.identity.records import (
    CustomerRecord,
    SourceRef,
    read_source,
    stored_source,
    stored_value,
)
from omnicrm.identity.scoring import birth_dates_guard, born_apart, decide, quick_decision
from omnicrm.ids import IdGenerator

if TYPE_CHECKING:
    from omnicrm.identity.ports import IdentityUnitOfWork

__all__ = ["PlacementSteps", "offers"]


_OFFERS: dict[tuple[type, type], bool] = {}


def offers(repository: object, port: type) -> bool:
    """``isinstance(repository, port)`` for an optional port, answered once per class."""
    key = (type(repository), port)
    found = _OFFERS.get(key)
    if found is None:
        found = _OFFERS[key] = isinstance(repository, port)
    return found


def _compared(sizes: Mapping[str, int], keys: int, limit: int) -> list[str]:
    """The keys whose postings to compare with, from each key's number of sources.

    The rare keys (under ``limit`` sources each), or every key when all ``keys`` keys
    of the record are common ones.
    """
    rare = [key for key, size in sizes.items() if size < limit]
    if not rare and len(sizes) == keys:
        return list(sizes)
    return rare


def _by_source(item: tuple[SourceRef, object]) -> tuple[str, str]:
    """A sort key putting ``(source, ...)`` items in source order (channel, then id)."""
    return item[0].channel.name, item[0].id


def _scripts_differ(a: PreparedRecord, b: PreparedRecord) -> bool:
    """One side has a name only in kanji, the other only its reading."""

    def kanji_only(p: PreparedRecord) -> bool:
        return bool(p.family or p.given) and not (p.family_kana or p.given_kana)

    def kana_only(p: PreparedRecord) -> bool:
        return bool(p.family_kana or p.given_kana) and not (p.family or p.given)

    return (kanji_only(a) and kana_only(b)) or (kana_only(a) and kanji_only(b))


class PlacementSteps:
    """Placement and merge steps; :class:`~omnicrm.identity.Resolver` builds on them."""

    _config: MatchConfig
    _clock: Clock
    _ids: IdGenerator
    _limit: int
    _review_limit: int
    _prepared: PreparedCache
    _form: PreparedForm | None

    def _prepare(self, record: CustomerRecord) -> PreparedRecord:
        return self._prepared(record)

    def _forms(self, uow: IdentityUnitOfWork) -> bool:
        """Whether records are read and written with their prepared forms."""
        return self._form is not None and offers(uow.identity_records, PreparedRows)

    def _rows(
        self,
        uow: IdentityUnitOfWork,
        sources: Iterable[SourceRef],
        *,
        born: date | None = None,
    ) -> Mapping[SourceRef, StoredRecord]:
        """The rows of ``sources``, read from their stored forms where current.

        A row read from its form comes with its record prepared (in the prepared cache);
        the others are read as they are and prepared when compared. With ``born`` (the
        new record's date of birth, where a different one is a cannot-link guard) a row
        whose form states a date of birth apart from it is left out, not decoded.
        """
        repo, form = uow.identity_records, self._form
        if form is None or not self._forms(uow):
            return repo.get_many(sources)
        wanted = list(sources)
        current = cast("PreparedRows", repo).current_forms(wanted, fingerprint=form.fingerprint)
        rows: dict[SourceRef, StoredRecord] = {}
        apart: set[SourceRef] = set()
        for ref, (customer_id, text) in current.items():
            if born is not None and born_apart(born, form.born(text)):
                apart.add(ref)
                continue
            prepared = self._prepared.from_form(text, ref, form.decode)
            if prepared is not None:  # else damaged: read below, prepared again
                values = {"source": ref, "customer_id": customer_id, "record": prepared.record}
                rows[ref] = stored_value(StoredRecord, values)
        missing = [ref for ref in wanted if ref not in rows and ref not in apart]
        if missing:
            rows.update(repo.get_many(missing))
        return rows

    def _put(self, uow: IdentityUnitOfWork, stored: StoredRecord, new: PreparedRecord) -> None:
        """Write the row of a placed record, with its prepared form where kept."""
        repo, form = uow.identity_records, self._form
        if form is not None and self._forms(uow):
            cast("PreparedRows", repo).put_form(stored, form.encode(new))
        else:
            repo.put(stored)

    def _prepare_uncached(self, record: CustomerRecord) -> PreparedRecord:
        c = self._config
        return prepare(
            record,
            phone_region=c.phone_region,
            email_provider_rules=c.email_provider_rules,
            day_first=c.day_first,
        )

    def _members(
        self,
        uow: IdentityUnitOfWork,
        profile: IdentityProfile,
        known: Mapping[SourceRef, StoredRecord] | None = None,
    ) -> list[PreparedRecord]:
        """The person's records, prepared, in source order.

        ``known`` holds rows this unit of work already read (a placement's candidates,
        often the very members of the person it joins): only the others are read.
        """
        members = sorted(profile.members)
        rows = dict(known or {})
        missing = [m for m in members if m not in rows]
        if missing:
            rows.update(self._rows(uow, missing))
        found = (rows.get(m) for m in members)
        return [self._prepare(r.record) for r in found if r is not None and r.record is not None]

    def _place(self, uow: IdentityUnitOfWork, record: CustomerRecord) -> Placement:
        now = self._clock.now()
        existing = uow.identity_records.get(record.source)
        if existing is not None and existing.erased:
            raise ErasedRecordError(
                "source", str(record.source), "this person was erased; the record is refused"
            )
        self._prepared.new_scope()
        new = self._prepare(record)
        keys = hashed_keys(new)
        if existing is not None:  # an update of a known record: stay with its person
            self._put(uow, attrs.evolve(existing, record=record), new)
            uow.identity_keys.remove(record.source)
            uow.identity_keys.add(record.source, keys)
            return Placement(existing.customer_id, created=False)
        decisions = uow.identity_decisions.involving([record.source])
        candidates = self._candidates(uow, new, keys, bool(decisions)) - {record.source}
        # a candidate born apart cannot link (unless a decision says they are one person)
        guarded = not decisions and birth_dates_guard(self._config)
        stored = self._rows(uow, sorted(candidates), born=new.birth_date if guarded else None)
        verdicts = {frozenset((d.a, d.b)): d.verdict for d in decisions}
        links: dict[str, list[Explanation]] = {}
        review_refs: list[tuple[float, SourceRef]] = []
        person_readings: dict[str, Readings] = {}
        for ref, row in sorted(stored.items(), key=_by_source):
            if row.record is None:
                continue
            candidate = self._prepare(row.record)
            if _scripts_differ(new, candidate):
                readings = person_readings.get(row.customer_id)
                if readings is None:
                    profile = uow.identity_profiles.get(row.customer_id)
                    readings = learn_readings([new, *self._members(uow, profile, stored)])
                    person_readings[row.customer_id] = readings
                candidate = readings.fill(candidate)
                new_filled = readings.fill(new)
            else:
                new_filled = new
            verdict = verdicts.get(frozenset((record.source, ref))) if verdicts else None
            if verdict == Verdict.DIFFERENT:
                continue
            decision, score, _ = quick_decision(new_filled, candidate, self._config, prune=True)
            if verdict == Verdict.SAME or decision == Decision.MERGE:
                explanation = decide(new_filled, candidate, self._config)
                links.setdefault(row.customer_id, []).append(explanation)
            elif decision == Decision.REVIEW:
                review_refs.append((-score, ref))
        review = [
            decide(new, self._prepare(stored[ref].record), self._config)  # type: ignore[arg-type]
            for _, ref in sorted(review_refs)[: self._review_limit]
        ]
        target, merged, joined = self._join(uow, record.source, new, links, stored, decisions, now)
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
        self._put(uow, StoredRecord(source=record.source, customer_id=target, record=record), new)
        uow.identity_keys.add(record.source, keys)
        queued = self._queue(uow, review, target, stored, now)
        found = tuple(e for group in links.values() for e in group)
        return Placement(
            target, created=not joined, merged=tuple(merged), links=found, review=tuple(queued)
        )

    def _candidates(
        self, uow: IdentityUnitOfWork, new: PreparedRecord, keys: frozenset[str], decided: bool
    ) -> set[SourceRef]:
        """The stored records to compare a new record with: those sharing a rare key.

        A key holding ``limit`` records or more (a common name, at a large store) is weak
        evidence, and its ``limit`` newest records are an arbitrary sample of it: they
        are compared only when every key of the record is such a common one, so a record
        whose only keys are common still meets a bounded sample. A key nobody else has
        is rare. A record that cannot reach the review threshold against anyone (a name
        and nothing else) is compared with no one.
        """
        ceiling = score_ceiling(new, self._config)
        if not decided and ceiling is not None and ceiling < self._config.review_threshold:
            return set()
        index, limit = uow.identity_keys, self._limit
        if offers(index, PostingTexts):
            texts = cast("PostingTexts", index)
            chosen = _compared(texts.posting_counts(keys, limit=limit), len(keys), limit)
            found = texts.posting_texts(chosen, limit=limit) if chosen else {}
            # rows read with forms are kept only when met again: their sources likewise
            parse = read_source if self._forms(uow) else stored_source
            return {parse(text) for text in {text for ts in found.values() for text in ts}}
        postings = index.postings(keys, limit=limit)
        chosen = _compared({key: len(refs) for key, refs in postings.items()}, len(keys), limit)
        return {ref for key in chosen for ref in postings[key]}

    def _join(
        self,
        uow: IdentityUnitOfWork,
        source: SourceRef,
        new: PreparedRecord,
        links: dict[str, list[Explanation]],
        stored: Mapping[SourceRef, StoredRecord],
        decisions: Sequence[PairDecision],
        now: datetime,
    ) -> tuple[str | None, list[str], bool]:
        """Join the linked people that can be one person with the record; merge them.

        ``decisions``: those involving the record's source.
        """
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
            members = self._members(uow, profile, stored)
            decided = (  # the record's own decisions, read already, suffice while it is alone
                decisions
                if group_refs == {source}
                else uow.identity_decisions.involving(sorted(profile.members | group_refs))
            )
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

    def _active(self, uow: IdentityUnitOfWork, field: str, customer_id: str) -> IdentityProfile:
        profile = uow.identity_profiles.get(customer_id)
        if not profile.active:
            raise RuleViolationError(field, customer_id, "is erased or merged into another person")
        return profile
