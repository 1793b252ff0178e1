"""The household estimate: twin penalty and birth-date guard kept or relaxed per batch."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import InvalidTypeError
from omnicrm.identity import CustomerRecord, Decision, MatchConfig, SourceRef, prepare, resolve
from omnicrm.identity._households import (
    HOUSEHOLD_SHARE,
    MIN_HOUSEHOLD_PAIRS,
    RELAXED_WEIGHT,
    estimate_households,
)
from omnicrm.identity.blocking import candidate_pairs
from omnicrm.identity.scoring import UNCORROBORATED, cannot_link, decide

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du")


def _word(n: int, first: str) -> str:
    """A distinct made-up name for each ``n``."""
    text = first
    for _ in range(3):
        n, digit = divmod(n, len(_SYLLABLES))
        text += _SYLLABLES[digit]
    return text


def _record(ref: str, n: int, given: str, born: str, **fields: object) -> CustomerRecord:
    return CustomerRecord(
        source=SourceRef.parse(ref),
        given_name=given,
        family_name=_word(n, "f"),
        birth_date=born,
        postal_code=f"{2000 + n}",
        address=f"{n + 1} {_word(n, 's')} street {_word(n, 't')} nsw",
        **fields,  # type: ignore[arg-type]
    )


def duplicates(people: int) -> list[CustomerRecord]:
    """Each person twice, the same at one address: no household among them."""
    rows = []
    for n in range(people):
        born = f"19{50 + n % 40}-0{1 + n % 9}-1{n % 9}"
        rows.append(_record(f"a:{n}", n, _word(n, "g"), born))
        rows.append(_record(f"b:{n}", n, _word(n, "g"), born))
    return rows


def families(count: int, start: int = 500) -> list[CustomerRecord]:
    """A parent and a child at one address: another given name and birth date."""
    rows = []
    for n in range(start, start + count):
        rows.append(_record(f"p:{n}", n, _word(n, "g"), "1960-02-03"))
        rows.append(_record(f"c:{n}", n, _word(n + 1, "h"), "1992-07-08"))
    return rows


# person 0's second record carries a wholly different given name (a replaced value),
# person 1's a wholly different birth date: errors, or a twin and a parent?
REPLACED_NAME = _record("x:0", 0, "jaimee", "1950-01-10")
REPLACED_DATE = _record("x:1", 1, _word(1, "g"), "1977-11-23")


def test_a_batch_of_duplicates_shows_no_households_and_relaxes_both() -> None:
    records = [*duplicates(30), REPLACED_NAME, REPLACED_DATE]
    result = resolve(records)
    assert not result.households.shows_households
    assert result.households.pairs >= MIN_HOUSEHOLD_PAIRS
    assert result.cluster_of(REPLACED_NAME.source) == result.cluster_of(SourceRef("a", "0"))
    explanation = result.explain(SourceRef("a", "0"), REPLACED_NAME.source)
    weights = {c.field: c.weight for c in explanation.fields}
    assert weights["given_name"] == RELAXED_WEIGHT
    assert explanation.note is not None
    assert "twin penalty" in explanation.note
    assert "no households" in explanation.note
    assert result.households.describe() in explanation.note
    assert "note:" in str(explanation)
    dated = result.explain(SourceRef("a", "1"), REPLACED_DATE.source)
    assert (dated.guard, dated.decision) == (None, Decision.REVIEW)  # −4, no guard
    assert dated.note is not None
    assert "guard on a different birth date" in dated.note


def test_the_same_batch_with_households_keeps_the_twin_penalty_and_the_guard() -> None:
    records = [*duplicates(30), *families(30), REPLACED_NAME, REPLACED_DATE]
    result = resolve(records)
    assert result.households.shows_households
    assert result.households.share >= HOUSEHOLD_SHARE
    assert result.cluster_of(REPLACED_NAME.source) == frozenset({REPLACED_NAME.source})
    assert result.cluster_of(REPLACED_DATE.source) == frozenset({REPLACED_DATE.source})
    twin = result.explain(SourceRef("a", "0"), REPLACED_NAME.source)
    assert {c.field: c.weight for c in twin.fields}["given_name"] == -20.0
    assert twin.note is None
    dated = result.explain(SourceRef("a", "1"), REPLACED_DATE.source)
    assert dated.guard == "different_birth_dates"
    for n in range(500, 530):  # the families themselves stay apart
        assert result.cluster_of(SourceRef("p", str(n))) != result.cluster_of(
            SourceRef("c", str(n))
        )


def test_a_batch_too_small_to_tell_assumes_households() -> None:
    records = [*duplicates(3), REPLACED_NAME]
    result = resolve(records)
    assert result.households.pairs < MIN_HOUSEHOLD_PAIRS
    assert result.households.shows_households
    assert result.cluster_of(REPLACED_NAME.source) == frozenset({REPLACED_NAME.source})


def test_households_can_be_set_in_the_configuration() -> None:
    kept = resolve([*duplicates(30), REPLACED_NAME], MatchConfig(households=True))
    assert kept.cluster_of(REPLACED_NAME.source) == frozenset({REPLACED_NAME.source})
    relaxed = resolve([*duplicates(2), REPLACED_NAME], MatchConfig(households=False))
    assert REPLACED_NAME.source in relaxed.cluster_of(SourceRef("a", "0"))
    note = relaxed.explain(SourceRef("a", "0"), REPLACED_NAME.source).note
    assert note is not None
    assert "households=False" in note
    a, b = prepare(REPLACED_DATE), prepare(duplicates(2)[2])
    assert cannot_link(a, b) == "different_birth_dates"
    assert cannot_link(a, b, households=False) is None
    with pytest.raises(InvalidTypeError):
        MatchConfig(households="no")  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(
    people=st.integers(min_value=0, max_value=25),
    parents=st.integers(min_value=0, max_value=25),
)
def test_the_estimate_counts_same_surname_same_address_pairs(people: int, parents: int) -> None:
    estimate = estimate_households([prepare(r) for r in [*duplicates(people), *families(parents)]])
    assert (estimate.pairs, estimate.family_pairs) == (people + parents, parents)
    expected = estimate.pairs < MIN_HOUSEHOLD_PAIRS or parents >= HOUSEHOLD_SHARE * estimate.pairs
    assert estimate.shows_households == expected


def test_generated_japanese_records_show_households() -> None:
    from omnicrm.testing.japanese_records import generate_records

    data = generate_records(300, seed=5)
    result = resolve([d.record for d in data])
    assert result.households.shows_households
    assert result.households.share > 0.3


def test_a_merge_score_on_names_alone_goes_to_review_in_a_batch() -> None:
    a = CustomerRecord(source=SourceRef("a", "1"), family_name="quennell", given_name="oswin")
    b = CustomerRecord(source=SourceRef("b", "1"), family_name="quennell", given_name="oswin")
    heavy = MatchConfig(
        weights={"family_name": {"exact": 9.0}, "given_name": {"exact": 9.0}},
        households=True,
    )
    assert decide(prepare(a), prepare(b), heavy).decision == Decision.MERGE
    result = resolve([a, b], heavy)
    assert len(result.clusters) == 2
    explanation = result.explain(a.source, b.source)
    assert explanation.decision == Decision.REVIEW
    assert explanation.note == UNCORROBORATED


def test_both_names_replaced_are_compared_through_the_secondary_keys() -> None:
    # the names are both replaced; the birth date, postcode and address still agree
    moved = _record("x:2", 2, "wilhelmina", "1952-03-12")
    moved = CustomerRecord.from_mapping({**_as_row(moved), "family_name": "brankovic"})
    records = [prepare(r) for r in [*duplicates(30), moved]]
    pair = (4, len(records) - 1)  # a:2 and the moved record

    def pairs(secondary: bool) -> set[tuple[int, int]]:
        return set(candidate_pairs(records, max_block_size=20, window=12, secondary=secondary))

    assert pair not in pairs(False)
    assert pair in pairs(True)
    assert pairs(False) <= pairs(True)


def _as_row(record: CustomerRecord) -> dict[str, object]:
    fields = ("given_name", "family_name", "birth_date", "postal_code", "address")
    return {"source": str(record.source), **{f: getattr(record, f) for f in fields}}


def test_no_duplicate_pairs_are_counted_twice() -> None:
    records = [prepare(r) for r in duplicates(25)]
    pairs = {
        (a.record.source, b.record.source)
        for a, b in itertools.combinations(records, 2)
        if a.family == b.family
    }
    assert estimate_households(records).pairs == len(pairs)


def test_a_large_batch_without_households_has_its_weights_fitted() -> None:
    records = [*duplicates(260), REPLACED_NAME]
    result = resolve(records)
    assert result.households.fitted
    note = result.explain(SourceRef("a", "0"), REPLACED_NAME.source).note
    assert note is not None
    assert "fitted by EM" in note
    assert not resolve([*duplicates(260), *families(30)]).households.fitted
