"""RFM scores 1..n per customer: by quantile (with a stated tie policy) or by fixed thresholds.

**Quantile scores, tie policy.** A customer's score on a measure is
``1 + floor(n * below / N)``, where ``N`` is the number of customers and ``below`` the
number of customers with a strictly worse value. Equal values always get equal scores (no
arbitrary tie-breaking by row order), and the best score a measure can give is ``n``. When
many customers share a value (most customers buy once) some scores are skipped rather than
splitting the tied customers. "Worse" means: more recency days, lower frequency, lower
monetary total.

**Fixed thresholds.** Give ``n - 1`` ascending edges for a measure. Frequency and monetary:
the score is 1 + the number of edges ``<=`` the value (edges ``[2, 5]`` -> 1 buy scores 1,
2-4 buys score 2, 5+ score 3). Recency: the score is ``n`` - the number of edges ``<`` the
days (edges ``[30, 90]`` -> 0..30 days scores 3, 31..90 scores 2, more scores 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics.rfm import RFMSummary
from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.validation import check_int

__all__ = ["RFMScores", "rfm_scores"]

_MEASURES = ("recency", "frequency", "monetary")


@attrs.frozen(eq=False)
class RFMScores:
    """Scores 1..``bins`` per customer (int8), aligned with ``customer_ids``.

    Attributes:
        customer_ids: the customer ids, as in the summary scored.
        recency: recency score; higher is more recent.
        frequency: frequency score; higher buys more often.
        monetary: monetary score (on the net monetary total); higher spends more.
        bins: the highest possible score.

    """

    customer_ids: NDArray[Any]
    recency: NDArray[np.int8]
    frequency: NDArray[np.int8]
    monetary: NDArray[np.int8]
    bins: int

    def __len__(self) -> int:
        return int(self.customer_ids.size)


def _quantile_scores(goodness: NDArray[Any], bins: int) -> NDArray[np.int8]:
    """``1 + floor(bins * (number strictly worse) / N)``; ``goodness`` higher is better."""
    n = goodness.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    low, high = int(goodness.min()), int(goodness.max())
    if high - low <= 4 * n:  # days and counts: a histogram instead of a sort
        shifted = goodness - low
        counts = np.bincount(shifted, minlength=high - low + 1)
        below: NDArray[np.intp] = (np.cumsum(counts) - counts)[shifted]
    else:
        below = np.searchsorted(np.sort(goodness), goodness, side="left")
    return (1 + (bins * below) // n).astype(np.int8)


def _check_edges(measure: str, edges: Sequence[int], bins: int) -> NDArray[Any]:
    edge_array = np.asarray(edges)
    if edge_array.dtype.kind not in "iu" or edge_array.ndim != 1:
        raise InvalidTypeError(f"thresholds[{measure!r}]", edges, "must be a sequence of ints")
    if edge_array.size != bins - 1:
        raise ConfigurationError(
            f"thresholds[{measure!r}]", edges, f"needs {bins - 1} edges for {bins} scores"
        )
    if np.any(np.diff(edge_array) <= 0):
        raise ConfigurationError(f"thresholds[{measure!r}]", edges, "must be strictly ascending")
    return edge_array


def _threshold_scores(
    measure: str, values: NDArray[Any], edge_array: NDArray[Any], bins: int
) -> NDArray[np.int8]:
    if measure == "recency":
        return (bins - np.searchsorted(edge_array, values, side="left")).astype(np.int8)
    return (1 + np.searchsorted(edge_array, values, side="right")).astype(np.int8)


def rfm_scores(
    summary: RFMSummary,
    *,
    bins: int = 5,
    thresholds: Mapping[str, Sequence[int]] | None = None,
) -> RFMScores:
    """Score each customer of ``summary`` 1..``bins`` on recency, frequency and monetary.

    Args:
        summary: the result of :func:`~omnicrm.analytics.rfm_summary`.
        bins: the number of scores (2..100); 5 is the usual.
        thresholds: optional fixed edges set by the business for any of ``"recency"``
            (days), ``"frequency"`` (purchases), ``"monetary"`` (minor units); measures
            without edges are scored by quantile. See the module docstring.

    Raises:
        ConfigurationError: bad ``bins``, unknown measure names, wrong number of edges.

    """
    if not isinstance(summary, RFMSummary):
        raise InvalidTypeError("summary", summary, "must be an RFMSummary")
    check_int("bins", bins, minimum=2, maximum=100)
    unknown = sorted(set(thresholds or {}) - set(_MEASURES))
    if unknown:
        raise ConfigurationError("thresholds", unknown, f"measures must be among {_MEASURES}")
    fixed = {name: _check_edges(name, edges, bins) for name, edges in (thresholds or {}).items()}
    values = {
        "recency": summary.recency_days,
        "frequency": summary.frequency,
        "monetary": summary.monetary_total,
    }
    scored = {}
    for measure, column in values.items():
        if measure in fixed:
            scored[measure] = _threshold_scores(measure, column, fixed[measure], bins)
        else:
            goodness = -column if measure == "recency" else column
            scored[measure] = _quantile_scores(goodness, bins)
    return RFMScores(summary.customer_ids, bins=bins, **scored)
