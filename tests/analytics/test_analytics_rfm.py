from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from _analytics_support import US, ZONES, local_day, rfm, transactions
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.analytics import RFMPartial, rfm_summary
from omnicrm.analytics._time import local_days
from omnicrm.errors import (
    ConfigurationError,
    InvalidTypeError,
    NaiveDatetimeError,
    OmniCRMError,
    ValidationError,
)


def as_of_dt(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def check_against_reference(summary, expected):
    assert [str(c) for c in summary.customer_ids] == sorted(str(c) for c in expected)
    for i, cid in enumerate(summary.customer_ids.tolist()):
        row = expected[cid]
        assert summary.recency_days[i] == row["recency"]
        assert summary.frequency[i] == row["frequency"]
        assert summary.monetary_total[i] == row["total"]
        assert summary.first_purchase[i].astype(np.int64) == row["first"]
        assert summary.last_purchase[i].astype(np.int64) == row["last"]
        assert summary.monetary_mean[i] == pytest.approx(row["total"] / row["frequency"])


@settings(deadline=None, max_examples=150)
@given(transactions(), st.sampled_from(["net", "exclude"]), st.booleans())
def test_rfm_summary_equals_naive_reference(data, returns, str_ids):
    ids, instants, amounts, as_of_us, zone = data
    if str_ids:
        ids = np.array([f"c{i}" for i in ids.tolist()], dtype=str)
    summary = rfm_summary(
        ids,
        instants.view("datetime64[us]"),
        amounts,
        as_of=as_of_dt(as_of_us),
        tz=zone,
        returns=returns,
    )
    check_against_reference(summary, rfm(ids.tolist(), instants, amounts, as_of_us, zone, returns))


@settings(deadline=None, max_examples=100)
@given(
    transactions(), st.lists(st.integers(0, 40), max_size=4), st.sampled_from(["net", "exclude"])
)
def test_chunked_and_merged_equals_whole(data, cuts, returns):
    ids, instants, amounts, as_of_us, zone = data
    stamps = instants.view("datetime64[us]")
    bounds = [0, *sorted(min(c, ids.size) for c in cuts), ids.size]
    parts = [
        RFMPartial.from_transactions(ids[a:b], stamps[a:b], amounts[a:b], returns=returns)
        for a, b in itertools.pairwise(bounds)
    ]
    merged = parts[0].merge(*parts[1:]) if len(parts) > 1 else parts[0]
    # merging in another grouping gives the same partial
    regrouped = parts[-1]
    for part in reversed(parts[:-1]):
        regrouped = part.merge(regrouped)
    whole = rfm_summary(ids, stamps, amounts, as_of=as_of_dt(as_of_us), tz=zone, returns=returns)
    for partial in (merged, regrouped):
        chunked = partial.summary(as_of=as_of_dt(as_of_us), tz=zone)
        for field in (
            "customer_ids",
            "recency_days",
            "frequency",
            "monetary_total",
            "first_purchase",
            "last_purchase",
        ):
            np.testing.assert_array_equal(getattr(chunked, field), getattr(whole, field))


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from([*ZONES, "America/Sao_Paulo", "Pacific/Apia", "Asia/Kolkata"]),
    st.integers(-2_000_000_000, 4_000_000_000),
    st.lists(st.integers(-60_000_000, 60_000_000), min_size=1, max_size=30),
)
def test_local_days_match_zoneinfo_per_instant(zone, base, seconds):
    # years 1906..2096, each example spanning up to four years
    instants = np.array([(base + s) * US + 123 for s in seconds], dtype=np.int64)
    got = local_days(instants, ZoneInfo(zone))
    assert got.tolist() == [local_day(int(t), zone) for t in instants]


def test_dst_day_boundaries_in_stated_zone_not_machine_zone():
    # 2024-03-31 is the spring-forward day in Berlin: 22:30 UTC on 03-30 is 23:30 CET (day 30),
    # 22:30 UTC on 03-31 is 00:30 CEST (day April 1).
    stamps = np.array(["2024-03-30T22:30", "2024-03-31T22:30"], dtype="datetime64[us]")
    as_of = datetime(2024, 4, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    s = rfm_summary([1, 2], stamps, [100, 100], as_of=as_of, tz="Europe/Berlin")
    assert s.recency_days.tolist() == [2, 0]
    s = rfm_summary([1, 2], stamps, [100, 100], as_of=as_of, tz=ZoneInfo("UTC"))
    assert s.recency_days.tolist() == [2, 1]
    fixed = timezone(timedelta(hours=9))
    s = rfm_summary([1, 2], stamps, [100, 100], as_of=as_of, tz=fixed)
    assert s.recency_days.tolist() == [1, 0]


def test_example_with_returns_and_aware_datetimes():
    tokyo = ZoneInfo("Asia/Tokyo")
    stamps = [
        datetime(2024, 5, 1, 10, tzinfo=tokyo),
        datetime(2024, 5, 1, 18, tzinfo=tokyo),
        datetime(2024, 5, 3, 9, tzinfo=tokyo),
        datetime(2024, 5, 2, 9, tzinfo=tokyo),
        datetime(2024, 5, 4, 9, tzinfo=tokyo),
    ]
    s = rfm_summary(
        ["a", "a", "a", "b", "c"],
        stamps,
        [1980, 500, -500, 3000, -100],
        as_of=datetime(2024, 5, 10, tzinfo=tokyo),
        tz="Asia/Tokyo",
    )
    assert s.customer_ids.tolist() == ["a", "b"]  # c only returned something
    assert s.frequency.tolist() == [2, 1]
    assert s.monetary_total.tolist() == [1980, 3000]
    assert s.recency_days.tolist() == [9, 8]  # the return on 05-03 does not move recency
    assert len(s) == 2


def test_money_sums_are_exact_beyond_float_precision():
    amounts = np.array([2**53, 1, 1, 1], dtype=np.int64)
    stamps = np.array(["2024-01-01"] * 4, dtype="datetime64[us]")
    s = rfm_summary([7] * 4, stamps, amounts, as_of=datetime(2024, 2, 1, tzinfo=UTC), tz="UTC")
    assert int(s.monetary_total[0]) == 2**53 + 3


def test_empty_input_gives_empty_summary():
    s = rfm_summary(
        [],
        np.array([], dtype="datetime64[us]"),
        [],
        as_of=datetime(2024, 1, 1, tzinfo=UTC),
        tz="UTC",
    )
    assert len(s) == 0
    assert s.recency_days.dtype == np.int64


STAMPS = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[us]")
AS_OF = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"customer_ids": [1, 2, 3]}, ValidationError, "timestamps"),
        ({"amounts": [1]}, ValidationError, "amounts"),
        ({"amounts": [1.5, 2.0]}, InvalidTypeError, "amounts"),
        ({"amounts": [1.0, float("nan")]}, InvalidTypeError, "amounts[1]"),
        ({"amounts": ["1", "2"]}, InvalidTypeError, "amounts"),
        (
            {"timestamps": [datetime(2024, 1, 1), datetime(2024, 1, 2)]},
            NaiveDatetimeError,
            "timestamps[0]",
        ),
        (
            {"timestamps": np.array(["2024-01-01", "NaT"], dtype="datetime64[us]")},
            ValidationError,
            "timestamps[1]",
        ),
        ({"timestamps": ["2024-01-01", "2024-01-02"]}, InvalidTypeError, "timestamps"),
        ({"as_of": datetime(2024, 2, 1)}, NaiveDatetimeError, "as_of"),
        ({"as_of": datetime(2024, 1, 1, 12, tzinfo=UTC)}, ValidationError, "as_of"),
        ({"tz": "Mars/Olympus"}, ConfigurationError, "tz"),
        ({"tz": 9}, InvalidTypeError, "tz"),
        ({"returns": "sometimes"}, ConfigurationError, "returns"),
        ({"amounts": [5, -5], "returns": "reject"}, ValidationError, "amounts[1]"),
        ({"customer_ids": [1.5, 2.5]}, InvalidTypeError, "customer_ids[0]"),
        ({"customer_ids": np.array([1.5, 2.5])}, InvalidTypeError, "customer_ids"),
        ({"customer_ids": ["a", 2]}, InvalidTypeError, "customer_ids[1]"),
        ({"customer_ids": "ab"}, InvalidTypeError, "customer_ids"),
        ({"customer_ids": [1, 2**70]}, ValidationError, "customer_ids"),
        ({"amounts": [1, 2**70]}, ValidationError, "amounts"),
        ({"customer_ids": [[1], [2]]}, ValidationError, "customer_ids"),
    ],
)
def test_bad_input_raises_precise_error(kwargs, error, field):
    args = {
        "customer_ids": [1, 2],
        "timestamps": STAMPS,
        "amounts": [100, 200],
        "as_of": AS_OF,
        "tz": "UTC",
        **kwargs,
    }
    with pytest.raises(error) as info:
        rfm_summary(**args)
    assert isinstance(info.value, OmniCRMError)
    assert info.value.field == field


def test_merging_int_and_str_partials_is_refused():
    a = RFMPartial.from_transactions([1], STAMPS[:1], [1])
    b = RFMPartial.from_transactions(["x"], STAMPS[:1], [1])
    with pytest.raises(InvalidTypeError):
        a.merge(b)
    c = RFMPartial.from_transactions([1], STAMPS[:1], [1], returns="exclude")
    with pytest.raises(ConfigurationError):
        a.merge(c)


def test_as_of_before_a_return_is_refused_under_net_policy():
    stamps = np.array(["2024-01-01", "2024-03-01"], dtype="datetime64[us]")
    with pytest.raises(ValidationError, match="as_of"):
        rfm_summary([1, 1], stamps, [100, -50], as_of=AS_OF, tz="UTC")
    s = rfm_summary([1, 1], stamps, [100, -50], as_of=AS_OF, tz="UTC", returns="exclude")
    assert s.monetary_total.tolist() == [100]


def test_accepts_numpy_datetime64_as_of_and_uint_ids():
    s = rfm_summary(
        np.array([3, 1], dtype=np.uint32),
        STAMPS,
        np.array([5, 6], dtype=np.int32),
        as_of=np.datetime64("2024-01-03"),
        tz="UTC",
    )
    assert s.customer_ids.tolist() == [1, 3]
    assert s.recency_days.tolist() == [1, 2]


def test_importing_analytics_does_not_import_pandas_or_polars():
    code = (
        "import sys, omnicrm.analytics; "
        "assert not {'pandas', 'polars'} & set(sys.modules), sorted(sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


class Column:
    """A column type omnicrm does not know, readable through ``__array__``."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


def test_accepts_foreign_columns_through_array_protocol():
    s = rfm_summary(Column([5, 5]), Column(STAMPS), Column([10, 20]), as_of=AS_OF, tz="UTC")
    assert s.customer_ids.tolist() == [5]
    assert s.monetary_total.tolist() == [30]


@pytest.mark.parametrize(
    ("zone", "transition"),
    [
        (
            "America/Sao_Paulo",
            "2019-02-17T02:00",
        ),  # midnight fall-back: 00:00 -> 23:00 the day before
        ("America/Sao_Paulo", "2018-11-04T03:00"),  # midnight spring-forward
        ("Europe/Berlin", "2024-03-31T01:00"),
        ("Australia/Lord_Howe", "2024-04-06T15:00"),  # half-hour change
    ],
)
def test_local_days_exactly_at_a_transition(zone, transition):
    at = int(np.datetime64(transition, "us").astype(np.int64))
    instants = np.array([at - 1, at, at + 1, at - 3_600 * US, at + 3_600 * US], dtype=np.int64)
    got = local_days(instants, ZoneInfo(zone))
    assert got.tolist() == [local_day(int(t), zone) for t in instants]
