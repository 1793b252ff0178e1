from __future__ import annotations

import numpy as np
import pytest
from _analytics_support import pair_counts
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.analytics import CoPurchase
from omnicrm.analytics import copurchase as copurchase_module
from omnicrm.errors import NotFoundError, ValidationError

baskets = st.integers(0, 80).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 15), min_size=n, max_size=n),
        st.lists(st.integers(0, 9), min_size=n, max_size=n),
    )
)


@settings(deadline=None, max_examples=150)
@given(baskets, st.sampled_from([0.0, 0.05, 0.2]), st.sampled_from([0.0, 0.5]), st.booleans())
def test_rules_equal_naive_pair_count(data, min_support, min_confidence, sparse):
    orders, items = data
    if sparse:  # force the sort-based pair counting used for large catalogues
        old = copurchase_module._DENSE_LIMIT
        copurchase_module._DENSE_LIMIT = 0
    try:
        model = CoPurchase.fit(
            np.array(orders, dtype=np.int64), [f"i{i}" for i in items] or np.zeros(0, np.int64)
        )
    finally:
        if sparse:
            copurchase_module._DENSE_LIMIT = old
    n, single, pairs = pair_counts(orders, [f"i{i}" for i in items])
    assert model.n_baskets == n
    rules = model.rules(min_support=min_support, min_confidence=min_confidence)
    expected = {
        (a, b): c
        for (a, b), c in pairs.items()
        if c / n >= min_support and c / single[a] >= min_confidence
    }
    got = dict(
        zip(
            zip(rules.antecedents.tolist(), rules.consequents.tolist(), strict=True),
            rules.count.tolist(),
            strict=True,
        )
    )
    assert got == expected
    assert list(got) == sorted(got)
    for i, (a, b) in enumerate(got):
        c = expected[(a, b)]
        assert rules.support[i] == pytest.approx(c / n)
        assert rules.confidence[i] == pytest.approx(c / single[a])
        assert rules.lift[i] == pytest.approx((c / single[a]) / (single[b] / n))
        assert rules.antecedent_support[i] == pytest.approx(single[a] / n)
    # also bought: neighbours ranked by shared baskets then id, confidence as score
    for a in single:
        top = model.also_bought(a, k=3)
        ranked = sorted(((-c, b) for (x, b), c in pairs.items() if x == a))[:3]
        assert top.items.tolist() == [b for _, b in ranked]
        assert top.scores.tolist() == pytest.approx([-c / single[a] for c, _ in ranked])


@settings(deadline=None, max_examples=100)
@given(baskets, st.lists(st.integers(0, 12), max_size=4), st.integers(0, 5))
def test_recommend_excludes_history_and_ranks_by_summed_confidence(data, history, k):
    orders, items = data
    model = CoPurchase.fit(orders or np.zeros(0, np.int64), items or np.zeros(0, np.int64))
    _, single, pairs = pair_counts(orders, items)
    got = model.recommend(history, k=k)
    known = {h for h in history if h in single}
    score: dict[int, float] = {}
    for (a, b), c in pairs.items():
        if a in known and b not in known:
            score[b] = score.get(b, 0.0) + c / single[a]
    ranked = sorted(score, key=lambda b: (-score[b], -single[b], b))[:k]
    assert set(got.items.tolist()).isdisjoint(history)
    assert got.scores.tolist() == pytest.approx([score[b] for b in ranked])
    # equal scores may order differently only through float rounding of the sums
    assert sorted(got.items.tolist()) == sorted(ranked) or np.allclose(
        sorted(got.scores), sorted(score[b] for b in ranked)
    )


def test_small_example():
    model = CoPurchase.fit(
        ["o1", "o1", "o2", "o2", "o2", "o3", "o3", "o1"],
        ["tea", "cup", "tea", "cup", "pot", "tea", "pot", "tea"],  # tea twice in o1 counts once
    )
    assert model.n_baskets == 3
    top = model.also_bought("tea")
    assert top.items.tolist() == ["cup", "pot"]
    assert top.scores.tolist() == pytest.approx([2 / 3, 2 / 3])
    assert model.recommend(["cup"], k=5).items.tolist() == ["tea", "pot"]
    assert model.recommend(["unknown"], k=5).items.tolist() == []
    with pytest.raises(NotFoundError):
        model.also_bought("kettle")
    with pytest.raises(ValidationError):
        model.rules(min_support=1.5)
    with pytest.raises(ValidationError):
        CoPurchase.fit([1, 2], [1])
