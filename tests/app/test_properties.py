"""Whatever merges, unmerges and purchases happen, points and purchases are conserved."""

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.errors import OmniCRMError
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.omni import OmniCRM
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.timing import CustomerEvent

from .test_flows import buy, points

PEOPLE = 3
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, PEOPLE - 1), st.integers(1, 50)),
        st.tuples(st.just("merge"), st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE - 1)),
        st.tuples(st.just("unmerge"), st.just(0), st.just(0)),
    ),
    max_size=12,
)


def _crm_with_people() -> tuple[FixedClock, OmniCRM, list[str]]:
    """A retail CRM on a memory store with ``PEOPLE`` people signed up on the EC site."""
    clock = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))
    crm = retail_crm(open_store("memory:"), clock, SequentialIds())
    people = [
        crm.identity.resolve(
            CustomerRecord(source=SourceRef(Channel.EC, f"u{n}"), email=f"u{n}@example.jp"),
            idempotency_key=f"signup-{n}",
        ).customer_id
        for n in range(PEOPLE)
    ]
    return clock, crm, people


@settings(max_examples=25, deadline=None)
@given(steps)
def test_points_and_purchases_follow_the_people(plan: list[tuple[str, int, int]]) -> None:
    _, crm, people = _crm_with_people()
    earned = bought = 0
    audits: list[str] = []
    for n, (op, a, b) in enumerate(plan):
        try:
            if op == "buy":
                person = crm.identity.customer_of(SourceRef(Channel.EC, f"u{a}")) or ""
                crm.record_purchase(
                    person, buy(f"o{n}", Channel.EC, b * 100), idempotency_key=f"o{n}"
                )
                earned, bought = earned + b, bought + 1
            elif op == "merge":
                done = crm.identity.merge(people[a], people[b], reason="t", idempotency_key=f"m{n}")
                audits.append(done.audit_id)
            elif audits:
                crm.identity.unmerge(audits.pop(), idempotency_key=f"u{n}")
        except OmniCRMError:
            pass  # a refused command leaves nothing behind
        assert sum(points(crm, p) for p in people) == earned
        log = crm.purchases()
        assert len(log) == bought
        for person in people:
            profile = crm.identity.profile(person)
            mine = sum(r.amount for r in log if r.customer_id == person) // 100
            if profile.merged_into is not None:
                assert points(crm, person) == mine == 0
            else:
                assert points(crm, person) == mine


flows = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, PEOPLE - 1), st.integers(1, 50)),
        st.tuples(st.just("search"), st.integers(0, PEOPLE - 1), st.just(0)),
        st.tuples(st.just("merge"), st.integers(0, PEOPLE - 1), st.integers(0, PEOPLE - 1)),
        st.tuples(st.just("unmerge"), st.just(0), st.just(0)),
        st.tuples(st.just("erase"), st.integers(0, PEOPLE - 1), st.just(0)),
    ),
    max_size=14,
)


@settings(max_examples=30, deadline=None)
@given(flows)
def test_journeys_follow_merges_and_erasure_leaves_nothing(
    plan: list[tuple[str, int, int]],
) -> None:
    clock, crm, people = _crm_with_people()
    audits: list[str] = []
    for n, (op, a, b) in enumerate(plan):
        try:
            if op == "buy":
                crm.record_purchase(
                    people[a], buy(f"o{n}", Channel.EC, b * 100), idempotency_key=f"o{n}"
                )
            elif op == "search":
                crm.handle(
                    CustomerEvent(event_id=f"s{n}", event_type="searched",
                                  customer_id=people[a], occurred_at=clock.now())
                )  # fmt: skip
            elif op == "merge":
                done = crm.identity.merge(people[a], people[b], reason="t", idempotency_key=f"m{n}")
                audits.append(done.audit_id)
            elif op == "unmerge" and audits:
                crm.identity.unmerge(audits.pop(), idempotency_key=f"u{n}")
            elif op == "erase":
                crm.identity.erase(people[a], idempotency_key=f"e{n}")
        except OmniCRMError:
            pass  # a refused command leaves nothing behind
        profiles = {p: crm.identity.profile(p) for p in people}
        live = {p for p, f in profiles.items() if not f.erased and f.merged_into is None}
        history = crm.timing.history()
        assert {e.customer_id for e in history.entries} <= live  # state sits with live people
        assert {r.customer_id for r in crm.purchases()} <= live
        assert all(points(crm, p) == 0 for p in profiles if p not in live)
        for books in crm.loyalty.books("points"):
            assert sum(dict(books.accounts).values()) == 0
            assert books.liability == sum(points(crm, p) for p in live)
