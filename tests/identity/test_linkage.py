from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import ConfigurationError, DuplicateError, InvalidTypeError
from omnicrm.identity import CustomerRecord, Decision, MatchConfig, SourceRef, link, resolve
from omnicrm.identity.linkage import ONE_TO_ONE_RULE
from omnicrm.testing.japanese_records import generate_records
from omnicrm.testing.strategies_identity import customer_records

BASE = {
    "family_name": "Dooley",
    "postal_code": "6021",
    "address": "92 McIntyre Street Woollahra QLD",
}


def rec(ref: str, **fields: object) -> CustomerRecord:
    return CustomerRecord(source=SourceRef.parse(ref), **fields)  # type: ignore[arg-type]


def test_a_replaced_given_name_links_across_sources_but_not_in_deduplication() -> None:
    a = rec("a:1", given_name="Alexander", birth_date="1931-09-24", **BASE)
    b = rec("b:1", given_name="Jaimee", birth_date="1931-09-24", **BASE)
    assert resolve([a, b]).cluster_of(a.source) == {a.source}
    result = link([a], [b])
    assert result.cluster_of(a.source) == {a.source, b.source}
    explanation = result.explain(a.source, b.source)
    assert explanation.decision == Decision.MERGE
    levels = {c.field: (c.level, c.weight) for c in explanation.fields}
    assert levels["given_name"] == ("different", -4.0)


def test_a_replaced_birth_date_is_no_guard_in_linkage() -> None:
    a = rec("a:1", given_name="Kynan", birth_date="1931-09-24", **BASE)
    b = rec("b:1", given_name="Kynan", birth_date="1977-01-17", **BASE)
    explained = resolve([a, b]).explain(a.source, b.source)
    assert explained.guard == "different_birth_dates"
    linked = link([a], [b]).explain(a.source, b.source)
    assert (linked.decision, linked.guard) == (Decision.MERGE, None)


def test_given_name_and_birth_date_both_different_is_another_person() -> None:
    a = rec("a:1", given_name="Kynan", birth_date="1931-09-24", **BASE)
    b = rec("b:1", given_name="Ruby", birth_date="1977-01-17", **BASE)
    result = link([a], [b])
    assert result.cluster_of(a.source) == {a.source}
    assert result.explain(a.source, b.source).guard == "different_birth_dates"


def test_a_weak_link_names_the_one_to_one_rule() -> None:
    same = {"family_name": "Dooley", "birth_date": "1931-09-24", "postal_code": "6021"}
    a = rec("a:1", given_name="Alexander", **same)
    b = rec("b:1", given_name="Jaimee", **same)
    explanation = link([a], [b]).explain(a.source, b.source)
    assert explanation.decision == Decision.MERGE
    assert explanation.rule == ONE_TO_ONE_RULE


def test_a_name_alone_never_links() -> None:
    a = rec("a:1", family_name_kana="サトウ", given_name_kana="タロウ")
    b = rec("b:1", family_name_kana="サトウ", given_name_kana="タロウ", phone="090-1111-2222")
    assert len(link([a], [b]).cluster_of(a.source)) == 1


TWIN_NAMES = ("ユウタ", "ユウト", "ハルト", "ハルカ", "ソウタ", "ミユ")


@settings(max_examples=30, deadline=None)
@given(
    names=st.lists(st.sampled_from(TWIN_NAMES), min_size=2, max_size=2, unique=True),
    left_fields=st.sets(st.sampled_from(["phone", "address", "gender", "birth_date"])),
    right_fields=st.sets(st.sampled_from(["phone", "address", "gender", "birth_date"])),
    flip=st.booleans(),
)
def test_twins_present_on_both_sides_are_not_crossed(
    names: list[str], left_fields: set[str], right_fields: set[str], flip: bool
) -> None:
    def twin(side: str, n: int, fields: set[str]) -> CustomerRecord:
        values = {
            "phone": "03-1234-5678",
            "address": "東京都世田谷区太子堂1-2-3",
            "postal_code": "154-0004",
            "birth_date": "2001-05-05",
            "gender": "男性" if n == 0 else "女性",
        }
        kept = {k: v for k, v in values.items() if k in fields or k == "postal_code"}
        return rec(f"{side}:{n}", family_name_kana="タナカ", given_name_kana=names[n], **kept)

    left = [twin("store", n, left_fields) for n in (0, 1)]
    right = [twin("ec", n, right_fields) for n in (0, 1)]
    if flip:
        right.reverse()
    result = link(left, right)
    for n in (0, 1):
        partners = result.cluster_of(left[0 if n == 0 else 1].source) - {left[n].source}
        assert partners <= {SourceRef("ec", str(n))}


@settings(max_examples=25, deadline=None)
@given(
    st.lists(customer_records(), max_size=8, unique_by=lambda r: r.source),
    st.integers(min_value=0, max_value=8),
)
def test_every_record_is_in_at_most_one_link(records: list[CustomerRecord], cut: int) -> None:
    left, right = records[:cut], records[cut:]
    result = link(left, right)
    members = [ref for c in result.clusters for ref in c]
    assert sorted(members) == sorted(r.source for r in records)
    left_refs = {r.source for r in left}
    for cluster in result.clusters:
        assert len(cluster) <= 2
        if len(cluster) == 2:
            assert len(cluster & left_refs) == 1


def test_generated_channels_link_one_to_one() -> None:
    data = generate_records(300, seed=3)
    person = {d.record.source: d.person for d in data}
    left = [d.record for d in data if d.record.source.channel.name == "store"]
    right = [d.record for d in data if d.record.source.channel.name == "ec"]
    result = link(left, right)
    pairs = [c for c in result.clusters if len(c) == 2]
    wrong = sum(1 for c in pairs if len({person[r] for r in c}) > 1)
    assert pairs
    assert wrong / len(pairs) <= 0.05
    assert max(Counter(r for c in pairs for r in c).values()) == 1


def test_bad_input_is_refused_or_reported() -> None:
    a = rec("a:1", given_name="Kynan", **BASE)
    with pytest.raises(InvalidTypeError):
        link([a], [a], config="strict")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        link(a, [])  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        link([], "records")  # type: ignore[arg-type]
    result = link([a, {"source": "nope"}], [a, {"given_name": "no source"}])
    assert [(r.index, type(r.error)) for r in result.rejected][1:] == [
        (2, DuplicateError),
        (3, type(result.rejected[2].error)),
    ]
    assert result.clusters == (frozenset({a.source}),)


def test_a_custom_config_is_used() -> None:
    a = rec("a:1", given_name="Alexander", birth_date="1931-09-24", **BASE)
    b = rec("b:1", given_name="Jaimee", birth_date="1931-09-24", **BASE)
    strict = MatchConfig(match_threshold=40.0, review_threshold=40.0)
    assert len(link([a], [b], strict).cluster_of(a.source)) == 2  # linked below the match
    assert len(link([a], [b], strict, threshold=30).cluster_of(a.source)) == 1


def test_a_bad_threshold_is_refused() -> None:
    with pytest.raises(InvalidTypeError):
        link([], [], threshold="6")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        link([], [], threshold=float("nan"))
