from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from _analytics_support import lifetimes, transactions
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.analytics import LifetimesPartial, lifetimes_summary
from omnicrm.errors import (
    ConfigurationError,
    InvalidTypeError,
    NaiveDatetimeError,
    ValidationError,
)


def as_dt(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


@settings(deadline=None, max_examples=150)
@given(transactions(), st.booleans(), st.integers(-4 * 86_400, 0))
def test_lifetimes_summary_equals_naive_reference(data, include_first, shift):
    ids, instants, amounts, as_of_us, zone = data
    # as_of may fall inside the data: later rows are cut, as lifetimes does
    as_of_us += shift * 1_000_000
    if instants.size and instants.min() > as_of_us:
        return
    got = lifetimes_summary(
        ids,
        instants.view("datetime64[us]"),
        amounts,
        as_of=as_of_dt(as_of_us),
        tz=zone,
        include_first_transaction=include_first,
    )
    expected = lifetimes(ids.tolist(), instants, amounts, as_of_us, zone, include_first)
    assert got.customer_ids.tolist() == sorted(expected)
    for i, cid in enumerate(got.customer_ids.tolist()):
        row = expected[cid]
        assert got.frequency[i] == row["frequency"]
        assert got.recency[i] == row["recency"]
        assert got.T[i] == row["T"]
        assert got.monetary_value[i] == pytest.approx(row["monetary"], rel=1e-12)


as_of_dt = as_dt


def test_small_example_by_hand():
    stamps = np.array(
        ["2024-01-01T10", "2024-01-01T12", "2024-01-05", "2024-01-09", "2024-01-03", "2024-02-01"],
        dtype="datetime64[us]",
    )
    got = lifetimes_summary(
        [1, 1, 1, 1, 2, 2],
        stamps,
        [100, 50, 30, 70, 10, 99],
        as_of=datetime(2024, 1, 10, tzinfo=UTC),
        tz="UTC",
    )
    assert got.customer_ids.tolist() == [1, 2]
    assert got.frequency.tolist() == [2, 0]
    assert got.recency.tolist() == [8, 0]
    assert got.T.tolist() == [9, 7]
    assert got.monetary_value.tolist() == [50.0, 0.0]
    without = lifetimes_summary([1], stamps[:1], as_of=datetime(2024, 1, 10, tzinfo=UTC), tz="UTC")
    assert without.monetary_value is None
    assert without.frequency.tolist() == [0]


def test_errors_and_empty():
    stamps = np.array(["2024-01-05"], dtype="datetime64[us]")
    with pytest.raises(ValidationError) as info:
        lifetimes_summary([1], stamps, [1], as_of=datetime(2024, 1, 1, tzinfo=UTC), tz="UTC")
    assert info.value.field == "as_of"
    with pytest.raises(NaiveDatetimeError):
        lifetimes_summary([1], stamps, [1], as_of=datetime(2024, 2, 1), tz="UTC")
    with pytest.raises(ValidationError) as info:
        lifetimes_summary([1, 2], stamps, [1], as_of=datetime(2024, 2, 1, tzinfo=UTC), tz="UTC")
    assert info.value.field == "timestamps"
    empty = lifetimes_summary(
        [],
        np.array([], dtype="datetime64[us]"),
        [],
        as_of=datetime(2024, 2, 1, tzinfo=UTC),
        tz="UTC",
    )
    assert len(empty) == 0


@settings(deadline=None, max_examples=100)
@given(
    st.booleans().flatmap(lambda s: transactions(str_ids=s)),
    st.lists(st.integers(0, 40), max_size=4),
    st.booleans(),
    st.booleans(),
    st.integers(-5 * 86_400, 0),
)
def test_lifetimes_chunked_and_merged_equals_whole(data, cuts, with_amounts, include_first, shift):
    ids, instants, amounts, as_of_us, zone = data
    as_of_us += shift * 1_000_000  # some chunks may lie wholly after as_of
    if instants.size and instants.min() > as_of_us:
        return
    stamps = instants.view("datetime64[us]")
    money = amounts if with_amounts else None
    bounds = [0, *sorted(min(c, ids.size) for c in cuts), ids.size]
    parts = [
        LifetimesPartial.from_transactions(
            ids[a:b],
            stamps[a:b],
            None if money is None else money[a:b],
            as_of=as_dt(as_of_us),
            tz=zone,
        )
        for a, b in itertools.pairwise(bounds)
    ]
    merged = parts[0].merge(*parts[1:]).summary(include_first_transaction=include_first)
    whole = lifetimes_summary(
        ids, stamps, money, as_of=as_dt(as_of_us), tz=zone, include_first_transaction=include_first
    )
    for field in ("customer_ids", "frequency", "recency", "T", "monetary_value"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(whole, field))


def test_lifetimes_partials_must_agree_on_as_of_and_zone():
    stamps = np.array(["2024-01-05"], dtype="datetime64[us]")
    a = LifetimesPartial.from_transactions(
        [1], stamps, as_of=datetime(2024, 2, 1, tzinfo=UTC), tz="UTC"
    )
    b = LifetimesPartial.from_transactions(
        [1], stamps, as_of=datetime(2024, 3, 1, tzinfo=UTC), tz="UTC"
    )
    c = LifetimesPartial.from_transactions(
        [1], stamps, as_of=datetime(2024, 2, 1, tzinfo=UTC), tz="Asia/Tokyo"
    )
    with pytest.raises(ConfigurationError):
        a.merge(b)
    with pytest.raises(ConfigurationError):
        a.merge(c)
    with pytest.raises(InvalidTypeError):
        a.merge("b")
