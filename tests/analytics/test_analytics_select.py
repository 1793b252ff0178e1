from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.analytics import (
    Step,
    consented,
    exclude,
    in_segment,
    min_scores,
    not_contacted_since,
    reachable,
    rfm_scores,
    rfm_segments,
    rfm_summary,
    select,
    where,
)
from omnicrm.errors import InvalidTypeError, NotFoundError, ValidationError


def summary_for(n):
    rng = np.random.default_rng(n)
    ids = rng.integers(0, n, 5 * n)
    stamps = np.datetime64("2024-01-01", "us") + rng.integers(0, 300, ids.size) * np.timedelta64(
        1, "D"
    )
    amounts = rng.integers(100, 10_000, ids.size)
    return rfm_summary(
        ids, stamps, amounts, as_of=datetime(2024, 12, 1, tzinfo=UTC), tz="Asia/Tokyo"
    )


def test_a_sale_notice_reaches_exactly_its_targets():
    summary = summary_for(200)
    scores = rfm_scores(summary)
    segments = rfm_segments(scores)
    ids = summary.customer_ids
    email_ok = ids[ids % 2 == 0]
    has_email = ids[ids % 3 != 0]
    tokyo = ids % 5 != 0
    contact_ids = np.array([2, 4, 4, 8])
    contact_at = np.array(
        ["2024-11-30", "2024-01-01", "2024-11-29", "2024-10-01"], dtype="datetime64[us]"
    )
    since = datetime(2024, 11, 25, tzinfo=UTC)
    result = select(
        ids,
        in_segment(segments, "champions", "loyal"),
        min_scores(scores, monetary=2),
        where("lives in Tokyo", ids, tokyo),
        consented("email", email_ok),
        reachable("email", has_email),
        exclude("staff", [6, 12]),
        not_contacted_since(since, contact_ids, contact_at),
    )
    labels = dict(zip(ids.tolist(), segments.labels().tolist(), strict=True))
    m = dict(zip(ids.tolist(), scores.monetary.tolist(), strict=True))
    expected = [
        c
        for c in ids.tolist()
        if labels[c] in ("champions", "loyal")
        and m[c] >= 2
        and c % 5 != 0
        and c % 2 == 0
        and c % 3 != 0
        and c not in (6, 12)
        and c not in (2, 4)
    ]
    assert result.customer_ids.tolist() == expected
    names = [name for name, _ in result.counts]
    assert names[0] == "all"
    assert names[-1].startswith("not contacted since")
    counts = [count for _, count in result.counts]
    assert counts[0] == ids.size
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] == len(result)


@settings(deadline=None, max_examples=100)
@given(
    st.lists(st.integers(0, 30), max_size=30),
    st.lists(st.lists(st.integers(0, 30), max_size=20), max_size=4),
)
def test_select_is_the_intersection_of_its_steps(universe, lists):
    steps = [consented("email", np.array(ids, dtype=np.int64)) for ids in lists]
    result = select(np.array(universe, dtype=np.int64), *steps)
    expected = set(universe)
    for ids in lists:
        expected &= set(ids)
    assert result.customer_ids.tolist() == sorted(expected)
    assert len(result.counts) == len(lists) + 1


def test_bad_steps():
    with pytest.raises(InvalidTypeError):
        select([1, 2], "segment")
    with pytest.raises(InvalidTypeError):
        where("x", [1, 2], [1, 0])
    with pytest.raises(NotFoundError):
        in_segment(rfm_segments(rfm_scores(summary_for(10))), "vip")
    custom = Step("odd", lambda ids: ids % 2 == 1)
    assert select([1, 2, 3], custom).customer_ids.tolist() == [1, 3]


def test_misaligned_columns_name_the_column():
    with pytest.raises(ValidationError) as info:
        where("x", [1, 2], np.array([True]))
    assert info.value.field == "mask"
    with pytest.raises(ValidationError) as info:
        not_contacted_since(
            datetime(2024, 1, 1, tzinfo=UTC),
            [1, 2],
            np.array(["2024-01-01"], dtype="datetime64[us]"),
        )
    assert info.value.field == "last_contact"
