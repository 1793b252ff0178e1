"""A fitted batch's thresholds follow its size: the prior odds of a random pair."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.identity import CustomerRecord, Decision, MatchConfig, SourceRef, prepare, resolve
from omnicrm.identity._em import REFERENCE_RECORDS, threshold_shift
from omnicrm.identity.batch import MIN_FITTED_RECORDS, prepare_all, with_households
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.scoring import quick_decision

from .test_households import REPLACED_NAME, duplicates, families

_DEFAULT = MatchConfig()


def test_the_shift_is_log2_of_the_batch_against_the_reference() -> None:
    assert threshold_shift(round(REFERENCE_RECORDS)) == pytest_approx(0.0)
    assert threshold_shift(1_000) == pytest_approx(math.log2(1_000) - 14.5)
    assert threshold_shift(1_000_000) == pytest_approx(math.log2(1_000_000) - 14.5)
    # the default match threshold becomes log2 of the batch's size
    assert _DEFAULT.match_threshold + threshold_shift(100_000) == pytest_approx(math.log2(100_000))


def pytest_approx(value: float) -> object:
    return pytest.approx(value, abs=1e-4)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 10**7), st.integers(2, 10**7))
def test_a_larger_batch_never_asks_less_evidence(small: int, large: int) -> None:
    small, large = sorted((small, large))
    assert threshold_shift(small) <= threshold_shift(large)


def _shifted(records: int) -> MatchConfig:
    shift = threshold_shift(records)
    return attrs.evolve(
        _DEFAULT,
        households=False,
        match_threshold=_DEFAULT.match_threshold + shift,
        review_threshold=_DEFAULT.review_threshold + shift,
    )


_FIELDS = ("given_name", "birth_date", "postal_code", "address")
_BASE = {
    "family_name": "rumbal",
    "given_name": "stephanie",
    "birth_date": "1971-07-18",
    "postal_code": "6258",
    "address": "26 griffin place galston nsw",
}
_CHANGED = {
    "given_name": "annika",
    "birth_date": "1946-04-06",
    "postal_code": "6285",
    "address": "26 sollya place galston nsw",
}


def _pair(changed: set[str], dropped: set[str]) -> tuple[PreparedRecord, PreparedRecord]:
    """A record and another with some fields replaced and some left out."""
    other = {f: v for f, v in _BASE.items() if f not in dropped}
    other.update({f: _CHANGED[f] for f in changed - dropped})
    left = CustomerRecord.from_mapping({"source": "a:1", **_BASE})
    right = CustomerRecord.from_mapping({"source": "b:1", **other})
    return prepare(left), prepare(right)


_ORDER = (Decision.NO_MATCH, Decision.REVIEW, Decision.MERGE)


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.sampled_from(_FIELDS)),
    st.sets(st.sampled_from(_FIELDS)),
    st.integers(500, 10**7),
    st.integers(500, 10**7),
)
def test_a_pair_merged_in_a_larger_batch_is_merged_in_a_smaller_one(
    changed: set[str], dropped: set[str], small: int, large: int
) -> None:
    """With the same weights, a larger batch can only take a merge (or a review) away."""
    small, large = sorted((small, large))
    a, b = _pair(changed, dropped)
    in_large = quick_decision(a, b, _shifted(large), corroborate=True)
    in_small = quick_decision(a, b, _shifted(small), corroborate=True)
    assert in_large[1] == in_small[1]  # the score does not depend on the batch
    assert _ORDER.index(in_small[0]) >= _ORDER.index(in_large[0])


def test_the_same_score_merges_in_a_small_batch_and_not_in_a_large_one() -> None:
    a, b = _pair({"birth_date"}, set())
    _, score, _ = quick_decision(a, b, _shifted(1_000), corroborate=True)
    assert math.log2(1_000) <= score < math.log2(1_000_000) - 3.5
    assert quick_decision(a, b, _shifted(1_000), corroborate=True)[0] == Decision.MERGE
    assert quick_decision(a, b, _shifted(1_000_000), corroborate=True)[0] == Decision.NO_MATCH


def test_a_fitted_batch_has_its_thresholds_set_for_its_size() -> None:
    prepared, _ = prepare_all([*duplicates(260), REPLACED_NAME], _DEFAULT)
    config, households = with_households(_DEFAULT, prepared)
    assert households.fitted
    shift = threshold_shift(len(prepared))
    assert config.match_threshold == _DEFAULT.match_threshold + shift
    assert config.review_threshold == _DEFAULT.review_threshold + shift
    assert config.match_threshold == pytest_approx(math.log2(len(prepared)))


def test_an_unfitted_batch_keeps_the_configured_thresholds() -> None:
    with_families, _ = prepare_all([*duplicates(260), *families(30)], _DEFAULT)
    small, _ = prepare_all(duplicates(MIN_FITTED_RECORDS // 2 - 10), _DEFAULT)
    for prepared in (with_families, small):
        config, households = with_households(_DEFAULT, prepared)
        assert not households.fitted
        assert (config.match_threshold, config.review_threshold) == (14.5, 11.0)
    prepared, _ = prepare_all(duplicates(260), _DEFAULT)
    weights = {**_DEFAULT.weights, "gender": {"exact": 1.0, "different": -4.0}}
    own = MatchConfig(weights=weights, match_threshold=20.0, review_threshold=15.0)
    config, households = with_households(own, prepared)
    assert not households.fitted  # a host's own weights: not fitted, thresholds its own
    assert (config.match_threshold, config.review_threshold) == (20.0, 15.0)


def test_a_hosts_thresholds_keep_their_offset_in_a_fitted_batch() -> None:
    prepared, _ = prepare_all(duplicates(260), _DEFAULT)
    own = MatchConfig(match_threshold=20.0, review_threshold=15.0)
    config, households = with_households(own, prepared)
    assert households.fitted
    shift = threshold_shift(len(prepared))
    assert (config.match_threshold, config.review_threshold) == (20.0 + shift, 15.0 + shift)


def test_the_explanation_names_the_thresholds_of_a_fitted_batch() -> None:
    result = resolve([*duplicates(260), REPLACED_NAME])
    assert result.households.fitted
    records = 2 * 260 + 1
    explanation = result.explain(SourceRef("a", "0"), SourceRef("b", "0"))
    assert explanation.decision == Decision.MERGE
    note = explanation.note or ""
    threshold = math.log2(records)
    assert f"thresholds set for its {records:,} records" in note
    assert f"merge from {threshold:.1f} bits, review from {threshold - 3.5:.1f}" in note
    relaxed = result.explain(SourceRef("a", "0"), REPLACED_NAME.source).note or ""
    assert "relaxed" in relaxed
    assert f"merge from {threshold:.1f} bits" in relaxed
