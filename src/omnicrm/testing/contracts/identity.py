"""The identity repositories contract: what every backend must do for identity."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError, StateError
from omnicrm.identity.model import AuditEntry, IdentityProfile, PairDecision, StoredRecord, Verdict
from omnicrm.identity.ports import IdentityUnitOfWork, PostingTexts, PreparedRows
from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.identity.service import Resolver
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.fakes import SequentialIds, SteppingClock
from omnicrm.unit_of_work import Capability, Store

__all__ = ["IdentityRepositoryContract", "IdentityStoreComparison"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A, B, C = SourceRef("store", "m1"), SourceRef("ec", "u1"), SourceRef("app", "a1")


def _uow(store: Store) -> IdentityUnitOfWork:
    return cast(IdentityUnitOfWork, store.unit_of_work())


def _profile(customer_id: str, *members: SourceRef) -> IdentityProfile:
    return IdentityProfile(
        customer_id=customer_id, members=frozenset(members), created_at=T0, updated_at=T0
    )


def _rename_race(store: Store, barrier: Any) -> str:
    with _uow(store) as uow:
        current = uow.identity_profiles.get("p1")
    barrier.wait(timeout=30)
    try:
        with _uow(store) as uow:
            uow.identity_profiles.update(attrs.evolve(current, members=frozenset({B})))
            uow.commit()
    except ConcurrencyError:
        return "conflict"
    return "ok"


def _race_in_process(store: Store, barrier: Any, out: Any) -> None:
    out.put(_rename_race(store, barrier))


class IdentityRepositoryContract(StoreContract):
    """Every behaviour of the identity repositories (:mod:`omnicrm.identity.ports`)."""

    def test_profile_add_get_update(self, store: Store) -> None:
        with _uow(store) as uow:
            stored = uow.identity_profiles.add(_profile("p1", A))
            assert stored.version == 1
            with pytest.raises(DuplicateError):
                uow.identity_profiles.add(_profile("p1"))
            changed = uow.identity_profiles.update(attrs.evolve(stored, members={A, B}))
            assert changed.version == 2
            with pytest.raises(ConcurrencyError):
                uow.identity_profiles.update(stored)
            with pytest.raises(NotFoundError):
                uow.identity_profiles.get("nobody")
            with pytest.raises(NotFoundError):
                uow.identity_profiles.update(_profile("nobody"))
            uow.commit()
        with _uow(store) as uow:
            assert uow.identity_profiles.get("p1") == changed
            assert set(uow.identity_profiles.get_many(["p1", "p9"])) == {"p1"}

    def test_records_put_get_and_tombstone(self, store: Store) -> None:
        record = CustomerRecord(
            source=A, family_name="O'Brien; DROP TABLE x", birth_date="昭和60年4月1日",
            email_verified=True, observed_at=T0, attributes={"tier": "gold"},
        )  # fmt: skip
        with _uow(store) as uow:
            uow.identity_records.put(StoredRecord(source=A, customer_id="p1", record=record))
            uow.identity_records.put(StoredRecord(source=B, customer_id="p1"))
            uow.commit()
        with _uow(store) as uow:
            row = uow.identity_records.get(A)
            assert row is not None
            assert row.record == record
            tomb = uow.identity_records.get(B)
            assert tomb is not None
            assert tomb.erased
            assert uow.identity_records.get(C) is None
            assert set(uow.identity_records.get_many([A, B, C])) == {A, B}

    def test_match_keys(self, store: Store) -> None:
        with _uow(store) as uow:
            keys = uow.identity_keys
            keys.add(A, ["k1", "k2"])
            keys.add(B, ["k2"])
            keys.add(C, ["k3"])
            assert keys.find(["k2"], limit=10) == {A, B}
            assert keys.find(["k1", "k3"], limit=10) == {A, C}
            assert keys.find(["k2"], limit=1) == {B}  # the latest indexed
            assert keys.postings(["k2", "k3", "k9"], limit=10) == {"k2": (B, A), "k3": (C,)}
            assert keys.postings(["k2"], limit=1) == {"k2": (B,)}
            if isinstance(keys, PostingTexts):  # the optional port: the same, as stored text
                texts = keys.posting_texts(["k2", "k3", "k9"], limit=10)
                assert texts == {"k2": (str(B), str(A)), "k3": (str(C),)}
                counts = keys.posting_counts(["k2", "k3", "k9"], limit=10)
                assert counts == {"k2": 2, "k3": 1}  # keys with no sources left out
                assert keys.posting_counts(["k1", "k2"], limit=1) == {"k1": 1, "k2": 1}
            assert keys.keys_of(A) == {"k1", "k2"}
            keys.remove(A)
            assert keys.find(["k1", "k2"], limit=10) == {B}
            assert keys.keys_of(A) == frozenset()
            uow.commit()

    def test_prepared_forms_beside_records(self, store: Store) -> None:
        with _uow(store) as uow:
            repo = uow.identity_records
            if not isinstance(repo, PreparedRows):
                pytest.skip("no prepared forms kept (an optional port)")
            ra, rb, rc = (CustomerRecord(source=s, family_name="高橋") for s in (A, B, C))
            rb2 = attrs.evolve(rb, given_name="太郎")

            def forms() -> dict[SourceRef, str | None]:  # any fingerprint ("" starts each)
                found = repo.current_forms([A, B, C], fingerprint="")
                return {s: found[s][1] if s in found else None for s in (A, B, C)}

            repo.put_form(StoredRecord(source=A, customer_id="p1", record=ra), "fa")
            repo.put_form(StoredRecord(source=B, customer_id="p1", record=rb), "fb")
            repo.put(StoredRecord(source=C, customer_id="p2", record=rc))
            assert forms() == {A: "fa", B: "fb", C: None}
            assert repo.current_forms([A, B, C], fingerprint="f") == {
                A: ("p1", "fa"),
                B: ("p1", "fb"),
            }
            repo.put(StoredRecord(source=A, customer_id="p2", record=ra))  # moved: kept
            repo.put(StoredRecord(source=B, customer_id="p1", record=rb2))  # changed: dropped
            repo.put_form(StoredRecord(source=C, customer_id="p2", record=rc), "xc")
            assert forms() == {A: "fa", B: None, C: "xc"}
            assert repo.current_forms([A, C], fingerprint="f") == {A: ("p2", "fa")}
            lacking = repo.rows_without_form(None, fingerprint="f", limit=10)
            assert [r.source for r in lacking] == [C, B]  # source order
            assert [r.source for r in repo.rows_without_form(C, fingerprint="f", limit=10)] == [B]
            assert [r.source for r in repo.rows_without_form(None, fingerprint="f", limit=1)] == [C]
            repo.set_forms([(StoredRecord(source=B, customer_id="p1", record=rb), "stale")])
            assert forms()[B] is None  # the record changed since: not stored
            repo.set_forms([(StoredRecord(source=B, customer_id="p1", record=rb2), "fb2")])
            repo.put(StoredRecord(source=A, customer_id="p2"))  # erased: its form goes
            assert forms() == {A: None, B: "fb2", C: "xc"}
            assert [r.source for r in repo.rows_without_form(None, fingerprint="f", limit=9)] == [C]
            uow.commit()

    def test_decisions_and_review_queue(self, store: Store) -> None:
        with _uow(store) as uow:
            repo = uow.identity_decisions
            levels = (("given_name", "exact", 6.0),)
            repo.put(
                PairDecision.of(
                    B, A, verdict=Verdict.PENDING, score=9.5, levels=levels, decided_at=T0
                )
            )
            repo.put(PairDecision.of(A, C, verdict=Verdict.PENDING, score=12.0, decided_at=T0))
            assert [d.score for d in repo.pending()] == [12.0, 9.5]
            assert repo.get(A, B) == repo.get(B, A)
            got = repo.get(A, B)
            assert got is not None
            assert got.levels == (("given_name", "exact", 6.0),)
            repo.put(PairDecision.of(A, C, verdict=Verdict.DIFFERENT, decided_at=T0))
            assert [d.score for d in repo.pending()] == [9.5]
            assert len(repo.involving([C])) == 1
            repo.delete(A, B)
            assert repo.get(A, B) is None
            assert repo.pending() == ()
            uow.commit()

    def test_audit_trail(self, store: Store) -> None:
        entry = AuditEntry(
            entry_id="a1", at=T0, action="merge", customer_id="p1", other_id="p2",
            reason="rule", before={"p2": _profile("p2", B)},
        )  # fmt: skip
        with _uow(store) as uow:
            uow.identity_audit.add(entry)
            with pytest.raises(DuplicateError):
                uow.identity_audit.add(entry)
            uow.identity_audit.add(
                attrs.evolve(entry, entry_id="a2", action="erase", other_id=None)
            )
            uow.commit()
        with _uow(store) as uow:
            assert uow.identity_audit.get("a1") == entry
            assert [e.entry_id for e in uow.identity_audit.for_customer("p2")] == ["a1"]
            assert [e.entry_id for e in uow.identity_audit.for_customer("p1")] == ["a1", "a2"]
            assert uow.identity_audit.mark_undone("a1").undone
            with pytest.raises(StateError):
                uow.identity_audit.mark_undone("a1")
            with pytest.raises(NotFoundError):
                uow.identity_audit.get("zz")

    def test_rollback_leaves_nothing(self, store: Store) -> None:
        with _uow(store) as uow:
            uow.identity_profiles.add(_profile("p1", A))
            uow.identity_records.put(StoredRecord(source=A, customer_id="p1"))
            uow.identity_keys.add(A, ["k"])
            uow.identity_decisions.put(PairDecision.of(A, B, verdict="same", decided_at=T0))
            uow.identity_audit.add(
                AuditEntry(entry_id="x", at=T0, action="erase", customer_id="p1")
            )
        with _uow(store) as uow:
            assert uow.identity_profiles.get_many(["p1"]) == {}
            assert uow.identity_records.get(A) is None
            assert uow.identity_keys.find(["k"], limit=5) == frozenset()
            assert uow.identity_decisions.get(A, B) is None
            assert uow.identity_audit.for_customer("p1") == ()

    def test_two_threads_racing_one_wins_one_conflicts(self, store: Store) -> None:
        self.require(store, Capability.THREADS)
        with _uow(store) as uow:
            uow.identity_profiles.add(_profile("p1", A))
            uow.commit()
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=lambda: outcomes.append(_rename_race(store, barrier)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["conflict", "ok"]

    def test_two_processes_racing_one_wins_one_conflicts(self, store: Store) -> None:
        self.require(store, Capability.PROCESSES)
        with _uow(store) as uow:
            uow.identity_profiles.add(_profile("p1", A))
            uow.commit()
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_race_in_process, args=(store, barrier, out)) for _ in "ab"]
        for p in procs:
            p.start()
        outcomes = sorted(out.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert outcomes == ["conflict", "ok"]

    def test_agrees_with_the_reference_under_any_sequence(
        self, store_factory: StoreFactory
    ) -> None:
        run_state_machine_as_test(
            lambda: IdentityStoreComparison(store_factory()),  # type: ignore[arg-type]
            settings=settings(
                max_examples=15,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


_SOURCES = [SourceRef("store", "m1"), SourceRef("ec", "u1"), SourceRef("app", "a1"),
            SourceRef("call_center", "c1")]  # fmt: skip
_RECORDS = st.builds(
    lambda source, family, given, phone, birth: CustomerRecord(
        source=source, family_name=family, given_name=given, phone=phone, birth_date=birth
    ),
    st.sampled_from(_SOURCES),
    st.sampled_from(["高橋", "髙橋", "佐藤"]),
    st.sampled_from(["太郎", "花子"]),
    st.none() | st.sampled_from(["090-1111-2222", "+81 90 1111 2222", "03-1234-5678"]),
    st.none() | st.sampled_from(["1985-04-01", "S60.4.1", "1990-01-01"]),
)


class IdentityStoreComparison(RuleBasedStateMachine):
    """Runs the same resolver commands on a backend and on :class:`MemoryStore`."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.stores = (store, MemoryStore())
        self.resolvers = [
            Resolver(s, SteppingClock(T0, timedelta(seconds=1)), SequentialIds())
            for s in self.stores
        ]
        self.count = 0

    def _both(self, name: str, *args: Any) -> None:
        self.count += 1
        outcomes = []
        for resolver in self.resolvers:
            try:
                result = getattr(resolver, name)(*args, idempotency_key=f"k{self.count}")
                outcomes.append(("ok", attrs.evolve(result, events=())))
            except Exception as exc:
                outcomes.append(("error", type(exc).__name__))
        assert outcomes[0] == outcomes[1], outcomes

    @rule(record=_RECORDS)
    def resolve(self, record: CustomerRecord) -> None:
        self._both("resolve", record)

    @rule(customer=st.sampled_from([str(s) for s in _SOURCES]))
    def erase(self, customer: str) -> None:
        self._both("erase", customer)

    @rule(a=st.sampled_from(_SOURCES), b=st.sampled_from(_SOURCES), same=st.booleans())
    def decide(self, a: SourceRef, b: SourceRef, same: bool) -> None:
        self._decide(a, b, same)

    def _decide(self, a: SourceRef, b: SourceRef, same: bool) -> None:
        self.count += 1
        outcomes = []
        for resolver in self.resolvers:
            try:
                r = resolver.decide_pair(a, b, same=same, idempotency_key=f"k{self.count}")
                outcomes.append(("ok", r.customer_id))
            except Exception as exc:
                outcomes.append(("error", type(exc).__name__))
        assert outcomes[0] == outcomes[1], outcomes

    @invariant()
    def same_people(self) -> None:
        seen = []
        for store in self.stores:
            with _uow(store) as uow:
                rows = uow.identity_records.get_many(_SOURCES)
                people = uow.identity_profiles.get_many([str(s) for s in _SOURCES])
                seen.append(
                    (
                        {s: (r.customer_id, r.erased) for s, r in rows.items()},
                        {k: (p.members, p.erased, p.merged_into) for k, p in people.items()},
                        [(d.a, d.b, d.verdict) for d in uow.identity_decisions.involving(_SOURCES)],
                    )
                )
        assert seen[0] == seen[1]

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
