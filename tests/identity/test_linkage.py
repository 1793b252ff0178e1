from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import ConfigurationError, DuplicateError, InvalidTypeError
from omnicrm.identity import CustomerRecord, Decision, MatchConfig, SourceRef, link, resolve
from omnicrm.identity.linkage import ONE_TO_ONE_RULE, one_to_one
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
FIELDS = st.sets(st.sampled_from(["landline", "mobile", "address", "gender", "birth_date"]))


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.sampled_from(TWIN_NAMES), min_size=2, max_size=2, unique=True),
    kept=st.lists(FIELDS, min_size=4, max_size=4),
    genders=st.sampled_from(["男性", "女性"]),
    flip=st.booleans(),
)
def test_twins_present_on_both_sides_are_not_crossed(
    names: list[str], kept: list[set[str]], genders: str, flip: bool
) -> None:
    def twin(side: str, n: int, fields: set[str]) -> CustomerRecord:
        values = {
            "landline": ("phone", "03-1234-5678"),
            "mobile": ("phone", f"090-0000-000{n}"),
            "address": ("address", "東京都世田谷区太子堂1-2-3"),
            "birth_date": ("birth_date", "2001-05-05"),
            "gender": ("gender", genders if n == 0 else "女性"),
        }
        given = dict(values[f] for f in sorted(fields))
        return rec(
            f"{side}:{n}", family_name_kana="タナカ", given_name_kana=names[n],
            postal_code="154-0004", **given,
        )  # fmt: skip

    left = [twin("store", n, kept[n]) for n in (0, 1)]
    right = [twin("ec", n, kept[2 + n]) for n in (0, 1)]
    if flip:
        right.reverse()
    result = link(left, right)
    for n in (0, 1):
        partners = result.cluster_of(SourceRef("store", str(n))) - {SourceRef("store", str(n))}
        assert partners <= {SourceRef("ec", str(n))}


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 5), st.integers(6, 11)),
        st.floats(min_value=-5, max_value=30, allow_nan=False),
        max_size=25,
    )
)
def test_one_to_one_links_each_index_at_most_once(values: dict[tuple[int, int], float]) -> None:
    partner = one_to_one(values)
    for i, j in partner.items():
        assert partner[j] == i
        assert (i, j) in values or (j, i) in values
    greedy: dict[int, int] = {}
    for (i, j), _ in sorted(values.items(), key=lambda item: (-item[1], item[0])):
        if i not in greedy and j not in greedy:
            greedy[i], greedy[j] = j, i

    def total(links: dict[int, int]) -> float:
        return sum(values[i, j] for i, j in links.items() if i < j)

    assert total(partner) >= total(greedy) - 1e-9


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


def test_nothing_is_forgiven_when_gender_or_a_personal_contact_contradicts() -> None:
    twin = {"birth_date": "2001-05-05", **BASE}
    a = rec("a:1", given_name="Kynan", gender="M", **twin)
    b = rec("b:1", given_name="Kirra", gender="F", **twin)
    levels = {c.field: c.weight for c in link([a], [b]).explain(a.source, b.source).fields}
    assert levels["given_name"] == -20.0
    c = rec("a:2", given_name="Kynan", phone="090-1111-2222", birth_date="1931-09-24", **BASE)
    d = rec("b:2", given_name="Kynan", phone="080-3333-4444", birth_date="1977-01-17", **BASE)
    result = link([c], [d])
    assert result.explain(c.source, d.source).guard == "different_birth_dates"
