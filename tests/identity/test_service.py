import itertools
from datetime import UTC, datetime

import pytest

from omnicrm.errors import IdempotencyConflictError, RuleViolationError, StateError
from omnicrm.identity import (
    CustomerErased,
    CustomerRecord,
    CustomersMerged,
    CustomersUnmerged,
    ErasedRecordError,
    Resolver,
    SourceRef,
    Verdict,
)
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing.fakes import SequentialIds, SteppingClock

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
keys = (f"k{i}" for i in itertools.count())


@pytest.fixture(params=["memory", "sqlite"])
def resolver(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "id.db")
    yield Resolver(store, SteppingClock(T0), SequentialIds())
    store.close()


def taro(ref: str, **extra: object) -> CustomerRecord:
    base: dict[str, object] = {
        "family_name": "高橋",
        "given_name": "太郎",
        "family_name_kana": "タカハシ",
        "given_name_kana": "タロウ",
    }
    base.update(extra)
    return CustomerRecord(source=SourceRef.parse(ref), **base)  # type: ignore[arg-type]


def test_new_record_starts_a_person_named_after_it(resolver: Resolver) -> None:
    placed = resolver.resolve(taro("store:M1", phone="090-1111-2222"), idempotency_key=next(keys))
    assert placed.created
    assert placed.customer_id == "store:M1"


def test_matching_record_joins_the_person(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", phone="090-1111-2222"), idempotency_key=next(keys))
    placed = resolver.resolve(taro("ec:E1", phone="+81 90 1111 2222"), idempotency_key=next(keys))
    assert not placed.created
    assert placed.customer_id == "store:M1"
    assert placed.links[0].rule == "same_phone_and_name"
    assert resolver.profile("store:M1").members == {
        SourceRef.parse("store:M1"),
        SourceRef.parse("ec:E1"),
    }


def test_a_record_linking_two_people_merges_them_and_unmerge_restores(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", phone="090-1111-2222"), idempotency_key=next(keys))
    resolver.resolve(
        taro("ec:E1", email="taro@example.jp", email_verified=True, birth_date="1985-04-01"),
        idempotency_key=next(keys),
    )
    before = {c: resolver.profile(c) for c in ("store:M1", "ec:E1")}
    placed = resolver.resolve(
        taro("app:A1", phone="09011112222", email="taro@example.jp", email_verified=True),
        idempotency_key=next(keys),
    )
    assert placed.customer_id == "store:M1"
    assert placed.merged == ("ec:E1",)
    merged = [e for e in placed.events if isinstance(e, CustomersMerged)]
    assert [(e.survivor, e.absorbed) for e in merged] == [("store:M1", "ec:E1")]
    assert resolver.customer_of(SourceRef.parse("ec:E1")) == "store:M1"

    undone = resolver.unmerge(merged[0].audit_id, idempotency_key=next(keys))
    assert isinstance(undone.events[0], CustomersUnmerged)
    restored = resolver.profile("ec:E1")
    assert restored.members == before["ec:E1"].members
    assert restored.active
    assert resolver.customer_of(SourceRef.parse("ec:E1")) == "ec:E1"
    assert SourceRef.parse("ec:E1") not in resolver.profile("store:M1").members
    with pytest.raises(StateError):
        resolver.unmerge(merged[0].audit_id, idempotency_key=next(keys))
    # remembered as different people: a manual merge is refused
    with pytest.raises(RuleViolationError):
        resolver.merge("store:M1", "ec:E1", reason="try again", idempotency_key=next(keys))


def test_review_queue_and_different_decision(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", postal_code="1000005"), idempotency_key=next(keys))
    placed = resolver.resolve(taro("ec:E1", postal_code="100-0005"), idempotency_key=next(keys))
    assert placed.created
    assert len(placed.review) == 1
    queue = resolver.review_queue()
    assert [(str(d.a), str(d.b)) for d in queue] == [("ec:E1", "store:M1")]
    assert queue[0].levels
    resolver.decide_pair(queue[0].a, queue[0].b, same=False, idempotency_key=next(keys))
    assert resolver.review_queue() == ()
    with pytest.raises(RuleViolationError):
        resolver.merge("store:M1", "ec:E1", reason="manual", idempotency_key=next(keys))


def test_same_decision_merges(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1"), idempotency_key=next(keys))
    resolver.resolve(taro("ec:E1"), idempotency_key=next(keys))
    out = resolver.decide_pair(
        SourceRef.parse("store:M1"), SourceRef.parse("ec:E1"), same=True, idempotency_key=next(keys)
    )
    assert out.customer_id == "store:M1"
    assert any(isinstance(e, CustomersMerged) for e in out.events)
    assert resolver.customer_of(SourceRef.parse("ec:E1")) == "store:M1"


def test_guard_refuses_a_merge_of_different_birth_dates(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", birth_date="1960-01-01"), idempotency_key=next(keys))
    resolver.resolve(taro("ec:E1", birth_date="1990-05-05"), idempotency_key=next(keys))
    with pytest.raises(RuleViolationError):
        resolver.merge("store:M1", "ec:E1", reason="manual", idempotency_key=next(keys))


def test_erase_leaves_a_tombstone(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", phone="090-1111-2222"), idempotency_key=next(keys))
    resolver.resolve(taro("ec:E1", phone="09011112222"), idempotency_key=next(keys))
    out = resolver.erase("store:M1", idempotency_key=next(keys))
    assert isinstance(out.events[0], CustomerErased)
    assert resolver.profile("store:M1").erased
    with pytest.raises(ErasedRecordError):
        resolver.resolve(taro("ec:E1", phone="09011112222"), idempotency_key=next(keys))
    # a new source with the same data starts afresh: nothing personal was left to match
    placed = resolver.resolve(taro("app:A1", phone="09011112222"), idempotency_key=next(keys))
    assert placed.created


def test_idempotent_replay_and_conflict(resolver: Resolver) -> None:
    first = resolver.resolve(taro("store:M1"), idempotency_key="same")
    again = resolver.resolve(taro("store:M1"), idempotency_key="same")
    assert again.replayed
    assert again.customer_id == first.customer_id
    with pytest.raises(IdempotencyConflictError):
        resolver.resolve(taro("store:M2"), idempotency_key="same")


def test_verdict_names() -> None:
    assert {"pending", "same", "different"} == Verdict.ALL


def test_kana_only_record_joins_a_kanji_only_record_through_the_person(resolver: Resolver) -> None:
    both = taro("store:M1", phone="090-1111-2222")
    kanji = CustomerRecord(
        source=SourceRef.parse("ec:E1"), family_name="髙橋", given_name="太郎",
        phone="09011112222", email="taro@example.jp",
    )  # fmt: skip
    kana = CustomerRecord(
        source=SourceRef.parse("call_center:C1"), family_name_kana="たかはし",
        given_name_kana="たろう", email="taro@example.jp",
    )  # fmt: skip
    for record in (both, kanji, kana):
        resolver.resolve(record, idempotency_key=next(keys))
    assert resolver.customer_of(kana.source) == "store:M1"


PII = ("高橋", "髙橋", "太郎", "タカハシ", "タロウ", "1111", "taro@", "丸の内", "1985")


def _dump_identity_tables(store: object) -> str:
    if isinstance(store, SQLiteStore):
        conn = store._connection()
        rows = []
        for table in ("identity_profiles", "identity_records", "identity_keys",
                      "identity_decisions", "identity_audit"):  # fmt: skip
            rows += [repr(r) for r in conn.execute(f"SELECT * FROM {table}")]
        return "\n".join(rows)
    tables = store._identity  # type: ignore[attr-defined]
    return "\n".join(repr(list(getattr(tables, name).items())) for name in vars(tables))


def test_erase_leaves_no_personal_data_in_any_identity_table(resolver: Resolver) -> None:
    resolver.resolve(taro("store:M1", phone="090-1111-2222", birth_date="1985-04-01",
                          address="千代田区丸の内1-2-3"), idempotency_key=next(keys))  # fmt: skip
    resolver.resolve(taro("ec:E1", phone="09011112222", email="taro@example.jp"),
                     idempotency_key=next(keys))  # fmt: skip
    resolver.resolve(taro("app:A1", birth_date="1985-04-02"), idempotency_key=next(keys))
    store = resolver._store
    assert any(p in _dump_identity_tables(store) for p in PII)  # the check can fail
    resolver.erase("store:M1", idempotency_key=next(keys))
    resolver.erase("app:A1", idempotency_key=next(keys))
    dump = _dump_identity_tables(store)
    assert not [p for p in PII if p in dump]
