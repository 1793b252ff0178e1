from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import InvalidTypeError, NotFoundError, ValidationError
from omnicrm.identity import CustomerRecord, Decision, SourceRef, resolve
from omnicrm.testing.japanese_records import generate_records, pairwise_scores
from omnicrm.testing.strategies_identity import customer_records

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STORE, EC, APP = SourceRef("store", "M001"), SourceRef("ec", "u42"), SourceRef("app", "a9")


def three_channels() -> list[CustomerRecord]:
    return [
        CustomerRecord(
            source=STORE, family_name="髙橋", given_name="太郎", family_name_kana="ﾀｶﾊｼ",
            given_name_kana="ﾀﾛｳ", phone="090-1234-5678", member_card_no="M001",
            birth_date="S60.4.1", observed_at=T0,
        ),
        CustomerRecord(
            source=EC, family_name="高橋", given_name="太郎", email="Taro@Example.jp",
            email_verified=True, phone="+81 90 1234 5678", birth_date="1985-04-01",
            postal_code="〒100-0005", address="東京都千代田区丸の内1丁目2番3号",
            observed_at=T0 + timedelta(days=3),
        ),
        CustomerRecord(
            source=APP, family_name_kana="たかはし", given_name_kana="たろう",
            email="taro@example.jp", address="千代田区丸の内一丁目2-3 丸の内ビル",
            observed_at=T0 + timedelta(days=9),
        ),
    ]  # fmt: skip


def test_store_ec_and_app_become_one_person_with_the_earliest_id() -> None:
    result = resolve(three_channels())
    assert result.clusters == (frozenset({STORE, EC, APP}),)
    assert result.cluster_of(APP) == frozenset({STORE, EC, APP})
    assert result.customer_id(APP) == "store:M001"


def test_golden_record_has_provenance() -> None:
    golden = resolve(three_channels()).golden(EC)
    assert golden.customer_id == "store:M001"
    assert golden.fields["email"].source == EC  # verified beats unverified
    assert golden.fields["email"].rule == "agreed"
    assert golden.value("email") == "Taro@Example.jp"
    assert golden.fields["member_card_no"].source == STORE
    assert golden.fields["address"].source == APP  # the most recent
    assert golden.value("postal_code") == "〒100-0005"


def test_explain_gives_levels_and_rule() -> None:
    result = resolve(three_channels())
    e = result.explain(STORE, EC)
    assert e.decision == Decision.MERGE
    assert e.rule == "same_phone_and_name"
    assert result.explain(EC, STORE).a == EC


def test_ids_are_stable_whatever_the_order() -> None:
    records = three_channels()
    assert resolve(records[::-1]).customer_id(EC) == "store:M001"


def test_bad_rows_are_reported_and_the_rest_resolved() -> None:
    rows: list[object] = [
        *three_channels(),
        {"family_name": "x"},
        {"source": "ec:big", "family_name": "x" * 10_000_000},
        {"source": "ec:u42"},
        "not a record",
        {"source": "ec:bad", "phone": "call me"},
    ]
    result = resolve(rows)  # type: ignore[arg-type]
    assert [r.index for r in result.rejected] == [3, 4, 5, 6]
    assert isinstance(result.rejected[0].error, InvalidTypeError)
    assert isinstance(result.rejected[1].error, ValidationError)
    assert result.rejected[1].error.field == "family_name"
    assert len(result.clusters) == 2


def test_unknown_source_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        resolve(three_channels()).cluster_of(SourceRef("ec", "nobody"))


def test_different_decision_is_respected() -> None:
    result = resolve(three_channels(), different=[(EC, APP)])
    assert result.cluster_of(EC) != result.cluster_of(APP)
    assert result.explain(EC, APP).guard == "different_people_decision"


def test_same_decision_links_a_review_pair() -> None:
    a = CustomerRecord(
        source=SourceRef("store", "1"), family_name="高橋", given_name="太郎", postal_code="1000005"
    )
    b = CustomerRecord(
        source=SourceRef("ec", "1"), family_name="高橋", given_name="太郎", postal_code="1000005"
    )
    assert len(resolve([a, b]).review) == 1
    result = resolve([a, b], same=[(a.source, b.source)])
    assert len(result.clusters) == 1
    assert not result.review


def test_weak_link_cannot_chain_two_people() -> None:
    # a record without a birth date links to two people who differ in birth date
    x = CustomerRecord(source=SourceRef("store", "x"), family_name="佐藤", given_name="健一",
                       phone="09011112222", birth_date="1970-01-01")  # fmt: skip
    y = CustomerRecord(source=SourceRef("store", "y"), family_name="佐藤", given_name="健一",
                       phone="09011112222", email="k@example.jp")  # fmt: skip
    z = CustomerRecord(source=SourceRef("app", "z"), family_name="佐藤", given_name="健一",
                       email="k@example.jp", birth_date="1999-09-09")  # fmt: skip
    result = resolve([x, y, z])
    assert result.cluster_of(x.source) != result.cluster_of(z.source)


@settings(max_examples=25, deadline=None)
@given(st.lists(customer_records(), max_size=8, unique_by=lambda r: r.source))
def test_clusters_partition_the_records(records: list[CustomerRecord]) -> None:
    result = resolve(records)
    members = [ref for c in result.clusters for ref in c]
    assert sorted(members) == sorted(r.source for r in records)
    for record in records:
        assert record.source in result.cluster_of(record.source)


def test_accuracy_on_generated_japanese_records() -> None:
    data = generate_records(400, seed=7)
    result = resolve([d.record for d in data])
    precision, _recall, f1 = pairwise_scores(data, result.clusters)
    assert precision >= 0.99
    assert f1 >= 0.95


def test_common_names_weigh_less_than_rare_ones() -> None:
    def person(ref: str, family: str, given: str) -> CustomerRecord:
        return CustomerRecord(
            source=SourceRef.parse(ref), family_name=family, given_name=given,
            postal_code="1000005", gender="男性",
        )  # fmt: skip

    crowd = [person(f"store:s{i}", "佐藤", "健一") for i in range(30)]
    rare = [person("store:r1", "勅使河原", "健一"), person("ec:r2", "勅使河原", "健一")]
    others = [person(f"ec:o{i}", f"名{i}", "花子") for i in range(30)]
    result = resolve([*crowd, *rare, *others])
    common = result.explain(crowd[0].source, crowd[1].source)
    unusual = result.explain(rare[0].source, rare[1].source)
    assert unusual.score > common.score
    family = {c.field: c.weight for c in common.fields}["family_name"]
    assert family < 4.5


def test_estimated_weights_are_sensible_and_usable() -> None:
    from omnicrm.errors import ConfigurationError
    from omnicrm.identity import estimate_weights

    data = generate_records(300, seed=3)
    config = estimate_weights([d.record for d in data], iterations=10)
    for field in ("family_name", "given_name", "birth_date"):
        assert config.weights[field]["exact"] > config.weights[field]["different"]
    assert resolve([d.record for d in data], config).clusters
    with pytest.raises(ConfigurationError):
        estimate_weights(three_channels())


def test_ids_stay_stable_as_data_grows() -> None:
    data = sorted(generate_records(300, seed=5), key=lambda d: d.record.observed_at)  # type: ignore[arg-type, return-value]
    old = [d.record for d in data[: len(data) // 2]]
    first = resolve(old)
    full = resolve([d.record for d in reversed(data)])  # order does not matter either
    for cluster in first.clusters:
        grown = full.cluster_of(next(iter(cluster)))
        old_parts = {first.cluster_of(r) for r in grown if r in cluster or _known(first, r)}
        if len(old_parts) == 1:  # not merged with another old person: same id
            assert full.customer_id(grown) == first.customer_id(cluster)


def _known(result: object, ref: SourceRef) -> bool:
    try:
        result.cluster_of(ref)  # type: ignore[attr-defined]
    except NotFoundError:
        return False
    return True
