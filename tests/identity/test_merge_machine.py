"""Stateful: merging any two people and unmerging restores every profile and record exactly."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from omnicrm.errors import RuleViolationError
from omnicrm.identity import CustomerRecord, Resolver, SourceRef
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.fakes import SequentialIds, SteppingClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = [SourceRef(c, str(i)) for c in ("store", "ec", "app") for i in range(3)]
RECORDS = st.builds(
    lambda source, given, phone, birth: CustomerRecord(
        source=source, family_name="佐藤", given_name=given, phone=phone, birth_date=birth
    ),
    st.sampled_from(SOURCES),
    st.sampled_from(["健一", "花子"]),
    st.none() | st.sampled_from(["09011112222", "0312345678"]),
    st.none() | st.sampled_from(["1970-01-01", "1999-09-09"]),
)


class MergeUnmerge(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.resolver = Resolver(
            self.store, SteppingClock(T0, timedelta(seconds=1)), SequentialIds()
        )
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def state(self) -> Any:
        with self.store.unit_of_work() as uow:
            rows = uow.identity_records.get_many(SOURCES)  # type: ignore[attr-defined]
            people = uow.identity_profiles.get_many([str(s) for s in SOURCES])  # type: ignore[attr-defined]
            return (
                {s: (r.customer_id, r.record) for s, r in rows.items()},
                {k: (p.members, p.erased, p.merged_into, p.created_at) for k, p in people.items()},
            )

    @rule(record=RECORDS)
    def resolve(self, record: CustomerRecord) -> None:
        self.resolver.resolve(record, idempotency_key=self.key())

    @rule(a=st.sampled_from(SOURCES), b=st.sampled_from(SOURCES))
    def merge_then_unmerge(self, a: SourceRef, b: SourceRef) -> None:
        first, second = self.resolver.customer_of(a), self.resolver.customer_of(b)
        if first is None or second is None or first == second:
            return
        before = self.state()
        try:
            merged = self.resolver.merge(first, second, reason="test", idempotency_key=self.key())
        except RuleViolationError:
            assert self.state() == before  # a refused merge writes nothing
            return
        assert self.resolver.customer_of(b) == first
        self.resolver.unmerge(merged.audit_id, idempotency_key=self.key())
        assert self.state() == before

    @invariant()
    def every_record_belongs_to_an_active_person_holding_it(self) -> None:
        rows, people = self.state()
        for source, (customer_id, _) in rows.items():
            members, erased, merged_into, _ = people[customer_id]
            assert source in members
            assert not erased
            assert merged_into is None


TestMergeUnmerge = MergeUnmerge.TestCase
TestMergeUnmerge.settings = settings(
    max_examples=30,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
