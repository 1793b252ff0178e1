"""Co-purchase statistics from baskets: pair support, confidence, lift; "also bought"; recommend.

A **basket** is the set of distinct items of one order id (an item bought twice in one order
counts once). With ``N`` baskets, ``n(A)`` baskets holding A and ``n(A, B)`` holding both:

* support(A -> B) = n(A, B) / N
* confidence(A -> B) = n(A, B) / n(A)
* lift(A -> B) = confidence(A -> B) / (n(B) / N)

These are the rules ``mlxtend``'s ``association_rules`` gives from ``apriori`` itemsets of
size 2 at the same minimum support. Pairs are counted by walking each sorted basket once
per offset, so the work grows with the number of pairs, not with items squared.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics._group import factorize, positions, sorted_unique
from omnicrm.analytics._input import as_ids, check_same_length
from omnicrm.errors import NotFoundError, ValidationError
from omnicrm.validation import check_int

__all__ = ["AssociationRules", "CoPurchase", "Recommendations"]

_DENSE_LIMIT = 1 << 22  # count pairs in a dense items x items table (32 MB) up to this size


@attrs.frozen(eq=False)
class AssociationRules:
    """Rules A -> B over item pairs, sorted by antecedent then consequent.

    Attributes:
        antecedents, consequents: item ids.
        count: baskets holding both items (int64).
        support, confidence, lift: as defined in the module docstring (float64).
        antecedent_support, consequent_support: n(A) / N and n(B) / N.

    """

    antecedents: NDArray[Any]
    consequents: NDArray[Any]
    count: NDArray[np.int64]
    support: NDArray[np.float64]
    confidence: NDArray[np.float64]
    lift: NDArray[np.float64]
    antecedent_support: NDArray[np.float64]
    consequent_support: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.antecedents.size)


@attrs.frozen(eq=False)
class Recommendations:
    """Items ranked best first with their scores (confidence, or summed confidence)."""

    items: NDArray[Any]
    scores: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.items.size)


def _pair_counts(
    baskets: NDArray[np.intp], items: NDArray[np.intp], n_items: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs (a < b, as code ``a * n_items + b``) and their basket counts.

    ``baskets``/``items`` are sorted by basket then item, without duplicates.
    """
    dense = n_items * n_items <= _DENSE_LIMIT
    table = np.zeros(n_items * n_items if dense else 0, dtype=np.int64)
    found: list[NDArray[np.int64]] = []
    n = baskets.size
    start = np.arange(max(n - 1, 0))
    offset = 1
    while start.size:
        start = start[baskets[start + offset] == baskets[start]]
        codes = items[start].astype(np.int64) * n_items + items[start + offset]
        if dense:
            table += np.bincount(codes, minlength=table.size)
        else:
            found.append(codes)
        offset += 1
        start = start[start + offset < n]
    if dense:
        pairs = np.flatnonzero(table).astype(np.int64)
        return pairs, table[pairs]
    all_codes = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    pairs = sorted_unique(all_codes)
    edges = np.searchsorted(all_codes, pairs, side="right")
    return pairs, np.diff(edges, prepend=0).astype(np.int64)


@attrs.frozen(eq=False)
class CoPurchase:
    """Item co-occurrence over baskets; build with :meth:`fit`.

    Attributes:
        items: sorted distinct item ids.
        n_baskets: number of baskets (distinct order ids).
        item_counts: baskets holding each item.
        neighbour_start: CSR offsets into ``neighbours`` per item (length ``items + 1``).
        neighbours: item codes bought with each item, most baskets first, then lowest id.
        neighbour_counts: baskets holding both.

    """

    items: NDArray[Any]
    n_baskets: int
    item_counts: NDArray[np.int64]
    neighbour_start: NDArray[np.intp]
    neighbours: NDArray[np.intp]
    neighbour_counts: NDArray[np.int64]

    @classmethod
    def fit(cls, order_ids: object, item_ids: object) -> CoPurchase:
        """Count items and item pairs over the baskets given as rows ``(order id, item id)``.

        Orders from every channel (store, EC, app) can be mixed: a basket is an order id.
        """
        orders = as_ids("order_ids", order_ids)
        goods = as_ids("item_ids", item_ids)
        check_same_length(order_ids=orders, item_ids=goods)
        order_values, order_codes = factorize(orders)
        item_values, item_codes = factorize(goods)
        m = item_values.size
        keys = sorted_unique(order_codes.astype(np.int64) * max(m, 1) + item_codes)
        baskets = (keys // max(m, 1)).astype(np.intp)
        items = (keys % max(m, 1)).astype(np.intp)
        item_counts = np.bincount(items, minlength=m).astype(np.int64)
        pairs, counts = _pair_counts(baskets, items, m)
        a, b = pairs // max(m, 1), pairs % max(m, 1)
        # Both directions, grouped by item, most shared baskets first, then lowest code.
        source = np.concatenate([a, b])
        target = np.concatenate([b, a])
        shared = np.concatenate([counts, counts])
        order = np.lexsort((target, -shared, source))
        start = np.searchsorted(source[order], np.arange(m + 1)).astype(np.intp)
        return cls(
            items=item_values,
            n_baskets=int(order_values.size),
            item_counts=item_counts,
            neighbour_start=start,
            neighbours=target[order].astype(np.intp),
            neighbour_counts=shared[order],
        )

    def rules(self, min_support: float = 0.0, min_confidence: float = 0.0) -> AssociationRules:
        """Return every rule A -> B at or above both minimums, sorted by A then B.

        Same rules and numbers as ``mlxtend`` ``association_rules(apriori(..., max_len=2))``.
        """
        for name, value in (("min_support", min_support), ("min_confidence", min_confidence)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValidationError(name, value, "must be a number between 0 and 1")
        n = max(self.n_baskets, 1)
        source = np.repeat(np.arange(self.items.size), np.diff(self.neighbour_start))
        support = self.neighbour_counts / n
        confidence = self.neighbour_counts / self.item_counts[source]
        keep = np.flatnonzero((support >= min_support) & (confidence >= min_confidence))
        keep = keep[np.lexsort((self.neighbours[keep], source[keep]))]
        source, target = source[keep], self.neighbours[keep]
        item_support = self.item_counts / n
        return AssociationRules(
            antecedents=self.items[source],
            consequents=self.items[target],
            count=self.neighbour_counts[keep],
            support=support[keep],
            confidence=confidence[keep],
            lift=confidence[keep] / item_support[target],
            antecedent_support=item_support[source],
            consequent_support=item_support[target],
        )

    def _code(self, item: object) -> int:
        needle = as_ids("item", [item])
        found, where = positions(self.items, needle)
        if not found[0]:
            raise NotFoundError("item", item)
        return int(where[0])

    def also_bought(self, item: object, k: int = 10) -> Recommendations:
        """Return up to ``k`` items most often bought with ``item``, scored by confidence.

        Ties (same number of shared baskets) go to the lower item id.

        Raises:
            NotFoundError: ``item`` was never bought.

        """
        check_int("k", k, minimum=0)
        code = self._code(item)
        low = self.neighbour_start[code]
        high = min(self.neighbour_start[code + 1], low + k)
        return Recommendations(
            items=self.items[self.neighbours[low:high]],
            scores=self.neighbour_counts[low:high] / self.item_counts[code],
        )

    def recommend(self, history: object, k: int = 10) -> Recommendations:
        """Recommend up to ``k`` items for a customer who bought ``history`` (any channel).

        Each candidate scores the sum, over the distinct known items of the history, of
        confidence(history item -> candidate). Items already in the history are never
        recommended; history items the model has not seen add nothing. Ties go to the more
        popular item, then to the lower id.
        """
        check_int("k", k, minimum=0)
        bought = sorted_unique(as_ids("history", history))
        found, where = positions(self.items, bought)
        codes = where[found]
        m = self.items.size
        if codes.size == 0 or k == 0:
            return Recommendations(items=self.items[:0], scores=np.zeros(0))
        slices = [np.arange(self.neighbour_start[c], self.neighbour_start[c + 1]) for c in codes]
        at = np.concatenate(slices)
        weights = self.neighbour_counts[at] / np.repeat(
            self.item_counts[codes], [s.size for s in slices]
        )
        score = np.bincount(self.neighbours[at], weights=weights, minlength=m)
        score[codes] = 0.0
        candidates = np.flatnonzero(score > 0)
        order = np.lexsort((candidates, -self.item_counts[candidates], -score[candidates]))
        best = candidates[order[:k]]
        return Recommendations(items=self.items[best], scores=score[best].astype(np.float64))
