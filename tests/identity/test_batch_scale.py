"""The household-free batch at scale: a bounded, deterministic EM; pruned pairs; caps."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.identity import CustomerRecord, Decision, MatchConfig, prepare, resolve
from omnicrm.identity._em import DISAGREEMENT, fit_weights, sample_pairs
from omnicrm.identity.batch import FITTED_PAIRS, prepare_all, with_households
from omnicrm.identity.blocking import secondary_pairs
from omnicrm.identity.compare import DIFFERENT
from omnicrm.identity.frequencies import count_names
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.scoring import quick_decision

from .test_households import REPLACED_NAME, duplicates

_GIVEN = ("james", "john", "mary", "anna", "peter", "grace")
_FAMILY = ("smith", "jones", "brown", "white")


def _people(count: int) -> list[CustomerRecord]:
    """Common names (strangers share them), each person twice with a typo or a change."""
    rows = []
    for n in range(count):
        given, family = _GIVEN[n % 6], _FAMILY[n % 4]
        born = f"19{40 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        fields = {
            "given_name": given,
            "family_name": family,
            "birth_date": born,
            "postal_code": f"{2000 + n % 7}",
            "address": f"{1 + n % 90} {('main', 'high', 'park')[n % 3]} street",
        }
        rows.append(CustomerRecord.from_mapping({"source": f"a:{n}", **fields}))
        changed = dict(fields, given_name=given + "e") if n % 2 else dict(fields, address=None)
        rows.append(CustomerRecord.from_mapping({"source": f"b:{n}", **changed}))
    return rows


def test_a_sampled_fit_is_deterministic_and_bounded() -> None:
    prepared, _ = prepare_all(_people(300), MatchConfig())
    config = MatchConfig(households=False)
    first = fit_weights(prepared, config, iterations=5, max_pairs=200)
    again = fit_weights(list(prepared), config, iterations=5, max_pairs=200)
    assert first.weights == again.weights
    assert first.weights != fit_weights(prepared, config, iterations=5).weights  # sampled
    for levels in first.weights.values():
        assert levels.get(DIFFERENT, DISAGREEMENT) <= DISAGREEMENT


def test_a_batch_fits_its_weights_on_a_bounded_number_of_pairs() -> None:
    prepared, _ = prepare_all([*duplicates(260), REPLACED_NAME], MatchConfig())
    fitted, households = with_households(MatchConfig(), prepared)
    assert households.fitted
    bounded = fit_weights(prepared, MatchConfig(households=False), max_pairs=FITTED_PAIRS)
    assert fitted.weights == bounded.weights


def test_the_same_batch_gives_the_same_clusters() -> None:
    records = _people(300)
    first, again = resolve(records), resolve(list(records))
    assert first.households.fitted
    assert sorted(map(sorted, first.clusters)) == sorted(map(sorted, again.clusters))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 299), st.integers(0, 299), st.sampled_from(["a", "b"]))
def test_pruning_never_changes_a_decision(x: int, y: int, side: str) -> None:
    prepared = _prepared()
    config, _ = with_households(MatchConfig(), prepared)
    frequencies = count_names(prepared)
    a, b = prepared[2 * x], prepared[2 * y + (side == "b")]
    full = quick_decision(a, b, config, frequencies, corroborate=True)
    pruned = quick_decision(a, b, config, frequencies, corroborate=True, prune=True)
    assert pruned[0] == full[0]
    if pruned[0] != Decision.NO_MATCH:
        assert pruned == full


@functools.cache
def _prepared() -> tuple[PreparedRecord, ...]:
    return tuple(prepare_all(_people(300), MatchConfig())[0])


def test_a_pruned_pair_is_a_no_match_without_its_address() -> None:
    prepared = [prepare(r) for r in _people(40)]
    config = MatchConfig(households=False)
    a, b = prepared[0], prepared[3]  # strangers: another name, birth date and postcode
    assert quick_decision(a, b, config, prune=True) == (Decision.NO_MATCH, 0.0, None)
    assert quick_decision(a, b, config)[0] == Decision.NO_MATCH


def test_a_secondary_block_larger_than_the_cap_pairs_nothing() -> None:
    # ten strangers born on one day: the birth-date block pairs the first and the sixth
    # (no name brings them together: five apart in both orders of the names)
    born = [
        CustomerRecord.from_mapping(
            {"source": f"x:{n}", "family_name": f"f{n}", "given_name": f"g{n}",
             "birth_date": "1970-01-02"}
        )
        for n in range(10)
    ]  # fmt: skip
    prepared = [prepare(r) for r in born]
    assert (0, 5) in set(secondary_pairs(prepared, max_block_size=10))
    assert (0, 5) not in set(secondary_pairs(prepared, max_block_size=9))


def test_the_fitting_sample_is_bounded_and_the_same_in_any_order() -> None:
    pairs = [(i, j) for i in range(60) for j in range(i + 1, 60)]
    sample = sample_pairs(pairs, 100)
    assert len(sample) == 100
    assert set(sample) <= set(pairs)
    assert sample == sorted(sample)
    assert sample_pairs(reversed(pairs), 100) == sample
    assert sample != sorted(pairs)[:100]  # spread, not the first records' pairs
    assert sample_pairs(pairs[:50], 100) == pairs[:50]
