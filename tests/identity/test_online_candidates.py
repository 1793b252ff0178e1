"""Which stored records an online placement compares a new record with, and how cheaply."""

import itertools
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.identity import CustomerRecord, MatchConfig, Resolver, SourceRef, prepare
from omnicrm.identity._online import PreparedCache, score_ceiling
from omnicrm.identity.explain import Decision
from omnicrm.identity.scoring import quick_decision
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing.fakes import SequentialIds, SteppingClock
from omnicrm.testing.strategies_identity import customer_records

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
keys = (f"k{i}" for i in itertools.count())
FIELDS = ("email", "phone", "birth_date", "postal_code", "address", "gender", "member_card_no")
CONFIG = MatchConfig()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "id.db")
    yield store
    store.close()


def kenichi(ref: str, **extra: object) -> CustomerRecord:
    return CustomerRecord(
        source=SourceRef.parse(ref),
        family_name="佐藤",
        given_name="健一",
        family_name_kana="サトウ",
        given_name_kana="ケンイチ",
        **extra,  # type: ignore[arg-type]
    )


def test_a_record_whose_keys_are_all_common_still_meets_a_sample(store) -> None:  # type: ignore[no-untyped-def]
    resolver = Resolver(store, SteppingClock(T0), SequentialIds(), candidate_limit=2)
    for n in range(3):  # three 佐藤健一: the name keys hold the limit, they are common
        resolver.resolve(
            kenichi(f"store:M{n}", phone=f"090-1111-000{n}"), idempotency_key=next(keys)
        )
    latest = kenichi("store:M9", gender="男性", address="東京都世田谷区太子堂")
    resolver.resolve(latest, idempotency_key=next(keys))
    # a name, a gender and an address without a lot number: only the common name keys
    placed = resolver.resolve(
        kenichi("app:A1", gender="M", address="世田谷区太子堂"), idempotency_key=next(keys)
    )
    assert placed.customer_id == "store:M9"


def test_a_rare_key_is_compared_whatever_the_common_ones_hold(store) -> None:  # type: ignore[no-untyped-def]
    resolver = Resolver(store, SteppingClock(T0), SequentialIds(), candidate_limit=2)
    resolver.resolve(kenichi("store:M0", phone="090-2222-3333"), idempotency_key=next(keys))
    for n in range(1, 4):
        resolver.resolve(
            kenichi(f"store:M{n}", phone=f"090-1111-000{n}"), idempotency_key=next(keys)
        )
    placed = resolver.resolve(kenichi("ec:E1", phone="09022223333"), idempotency_key=next(keys))
    assert placed.customer_id == "store:M0"  # found by the phone, not among the name's newest


def test_a_name_alone_is_compared_with_no_one(store) -> None:  # type: ignore[no-untyped-def]
    resolver = Resolver(store, SteppingClock(T0), SequentialIds())
    resolver.resolve(kenichi("store:M0"), idempotency_key=next(keys))
    placed = resolver.resolve(kenichi("call_center:C1"), idempotency_key=next(keys))
    assert placed.created
    assert placed.review == ()


def _without(record: CustomerRecord, cleared: frozenset[str]) -> CustomerRecord:
    return attrs.evolve(record, **dict.fromkeys(cleared))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    customer_records(),
    customer_records(),
    st.frozensets(st.sampled_from(FIELDS)),
    st.frozensets(st.sampled_from(FIELDS)),
)
def test_score_ceiling_bounds_every_comparison(
    a: CustomerRecord, other: CustomerRecord, cleared: frozenset[str], taken: frozenset[str]
) -> None:
    # b: a copy of a, with some fields taken from another record (agreeing on the rest)
    b = attrs.evolve(a, source=other.source, **{f: getattr(other, f) for f in taken})
    left = prepare(_without(a, cleared))
    ceiling = score_ceiling(left, CONFIG)
    if ceiling is None:
        assert left.phone or left.email or left.member_card
        return
    decision, score, rule = quick_decision(left, prepare(b), CONFIG)
    assert rule is None
    assert decision == Decision.CANNOT_LINK or score <= ceiling
    if ceiling < CONFIG.review_threshold:
        assert decision in (Decision.NO_MATCH, Decision.CANNOT_LINK)


def test_prepared_cache_by_identity() -> None:
    calls: list[CustomerRecord] = []

    def counting(record: CustomerRecord):  # type: ignore[no-untyped-def]
        calls.append(record)
        return prepare(record)

    cache = PreparedCache(counting, 2)
    one, two = kenichi("store:M1"), kenichi("store:M1")  # equal, not the same object
    assert cache(one) is cache(one)
    assert cache(two).record is two
    assert len(calls) == 2
    cache(kenichi("store:M3"))  # full: starts over
    assert cache(one).record is one
    assert len(calls) == 4
