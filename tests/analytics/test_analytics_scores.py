from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.analytics import (
    DEFAULT_SEGMENTS,
    RFMSummary,
    SegmentRule,
    rfm_scores,
    rfm_segments,
    rfm_summary,
)
from omnicrm.errors import ConfigurationError, InvalidTypeError, NotFoundError


def make_summary(recency, frequency, monetary):
    n = len(recency)
    stamps = np.zeros(n, dtype="datetime64[us]")
    return RFMSummary(
        customer_ids=np.arange(n, dtype=np.int64),
        recency_days=np.asarray(recency, dtype=np.int64),
        frequency=np.asarray(frequency, dtype=np.int64),
        monetary_total=np.asarray(monetary, dtype=np.int64),
        monetary_mean=np.asarray(monetary, dtype=np.float64),
        first_purchase=stamps,
        last_purchase=stamps,
    )


columns = st.integers(1, 60).flatmap(
    lambda n: st.tuples(*(st.lists(st.integers(0, 20), min_size=n, max_size=n) for _ in range(3)))
)


@settings(deadline=None, max_examples=150)
@given(columns, st.integers(2, 10))
def test_quantile_scores_follow_the_stated_policy(cols, bins):
    recency, frequency, monetary = cols
    scores = rfm_scores(make_summary(recency, frequency, monetary), bins=bins)
    n = len(recency)
    for i in range(n):
        worse_r = sum(r > recency[i] for r in recency)
        worse_f = sum(f < frequency[i] for f in frequency)
        worse_m = sum(m < monetary[i] for m in monetary)
        assert scores.recency[i] == 1 + bins * worse_r // n
        assert scores.frequency[i] == 1 + bins * worse_f // n
        assert scores.monetary[i] == 1 + bins * worse_m // n
    # ties share a score, better never scores lower, scores stay in 1..bins
    for a in range(n):
        for b in range(n):
            if frequency[a] == frequency[b]:
                assert scores.frequency[a] == scores.frequency[b]
            if recency[a] < recency[b]:
                assert scores.recency[a] >= scores.recency[b]
    for column in (scores.recency, scores.frequency, scores.monetary):
        assert column.min() >= 1
        assert column.max() <= bins


def test_distinct_values_fill_the_quintiles_evenly():
    scores = rfm_scores(make_summary(range(10), range(10), range(10)))
    assert scores.frequency.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores.recency.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_fixed_thresholds():
    summary = make_summary([0, 30, 31, 90, 91], [1, 2, 4, 5, 9], [0, 999, 1000, 5000, 10**9])
    scores = rfm_scores(
        summary,
        bins=3,
        thresholds={"recency": [30, 90], "frequency": [2, 5], "monetary": [1000, 5000]},
    )
    assert scores.recency.tolist() == [3, 3, 2, 2, 1]
    assert scores.frequency.tolist() == [1, 2, 2, 3, 3]
    assert scores.monetary.tolist() == [1, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"bins": 1}, Exception),
        ({"bins": 2.5}, InvalidTypeError),
        ({"thresholds": {"loyalty": [1]}}, ConfigurationError),
        ({"thresholds": {"recency": [30, 90]}}, ConfigurationError),
        ({"thresholds": {"recency": [90, 30, 10, 5]}}, ConfigurationError),
        ({"thresholds": {"recency": [1.5, 2, 3, 4]}}, InvalidTypeError),
    ],
)
def test_bad_score_config(kwargs, error):
    with pytest.raises(error):
        rfm_scores(make_summary([1], [1], [1]), **kwargs)


def test_default_grid_covers_every_cell_as_documented():
    r, f = np.meshgrid(np.arange(5) + 1, np.arange(5) + 1, indexing="ij")
    summary = make_summary([0] * 25, [1] * 25, [1] * 25)
    scores = rfm_scores(summary)
    scores = type(scores)(
        summary.customer_ids,
        r.ravel().astype(np.int8),
        f.ravel().astype(np.int8),
        np.ones(25, np.int8),
        5,
    )
    segments = rfm_segments(scores)
    labels = segments.labels().reshape(5, 5)  # [R-1, F-1]
    assert labels[4, 4] == "champions"
    assert labels[4, 0] == "new"
    assert labels[3, 0] == "promising"
    assert labels[2, 2] == "need attention"
    assert labels[0, 0] == "lost"
    assert labels[1, 1] == "hibernating"
    assert labels[0, 4] == "can't lose them"
    assert labels[1, 3] == "at risk"
    assert labels[2, 0] == "about to sleep"
    assert labels[3, 4] == "loyal"
    assert labels[4, 2] == "potential loyalists"
    assert set(segments.counts()) == {rule.name for rule in DEFAULT_SEGMENTS}
    assert sum(segments.counts().values()) == 25
    assert segments.members("lost").tolist() == [0]
    with pytest.raises(NotFoundError):
        segments.members("vip")


def test_custom_rules_need_full_cover_or_default():
    scores = rfm_scores(make_summary([0, 5, 9], [3, 2, 1], [1, 1, 1]), bins=3)
    rules = [SegmentRule("best", (3, 3), (3, 3))]
    with pytest.raises(ConfigurationError):
        rfm_segments(scores, rules)
    segs = rfm_segments(scores, rules, default="rest")
    assert segs.labels().tolist() == ["best", "rest", "rest"]
    with pytest.raises(ConfigurationError):
        rfm_segments(scores, [SegmentRule("x", (1, 5), (1, 5))])
    with pytest.raises(ConfigurationError):
        SegmentRule("x", (3, 1), (1, 1))
    with pytest.raises(ConfigurationError):
        rfm_segments(scores)  # the default grid is for 5 scores


def test_end_to_end_on_a_summary():
    stamps = np.array(
        ["2024-01-01", "2024-03-01", "2024-03-02", "2024-03-30"], dtype="datetime64[us]"
    )
    summary = rfm_summary(
        [1, 2, 2, 3],
        stamps,
        [10, 20, 30, 40],
        as_of=datetime(2024, 4, 1, tzinfo=UTC),
        tz="Asia/Tokyo",
    )
    segments = rfm_segments(rfm_scores(summary))
    assert len(segments) == 3
    assert sum(segments.counts().values()) == 3
