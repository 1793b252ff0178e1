"""Analytics over transaction logs held in numpy arrays: RFM, co-purchase, targeting.

* :func:`rfm_summary` / :class:`RFMPartial`: classic recency, frequency, monetary value per
  customer, exact integer money, calendar days in a stated zone, mergeable over chunks.
* :func:`lifetimes_summary`: the frequency / recency / T / monetary summary of the
  ``lifetimes`` package (and PyMC-Marketing), with the same numbers.
* :func:`rfm_scores` and :func:`rfm_segments`: quantile or fixed-threshold scores and the
  named recency x frequency segments.
* :class:`CoPurchase`: item-pair support, confidence and lift; "also bought"; recommendations.
* :func:`select`: a composable customer selection for a campaign, counting each step.

Everything accepts numpy arrays or anything ``np.asarray`` can read (lists, pandas or polars
columns) without importing pandas or polars. See ``docs/analytics.md``.
"""

from omnicrm.analytics.copurchase import AssociationRules, CoPurchase, Recommendations
from omnicrm.analytics.lifetimes import LifetimesPartial, LifetimesSummary, lifetimes_summary
from omnicrm.analytics.rfm import Returns, RFMPartial, RFMSummary, rfm_summary
from omnicrm.analytics.scores import RFMScores, rfm_scores
from omnicrm.analytics.segments import DEFAULT_SEGMENTS, RFMSegments, SegmentRule, rfm_segments
from omnicrm.analytics.select import (
    Selection,
    Step,
    consented,
    exclude,
    in_segment,
    min_scores,
    not_contacted_since,
    reachable,
    select,
    where,
)

__all__ = [
    "DEFAULT_SEGMENTS",
    "AssociationRules",
    "CoPurchase",
    "LifetimesPartial",
    "LifetimesSummary",
    "RFMPartial",
    "RFMScores",
    "RFMSegments",
    "RFMSummary",
    "Recommendations",
    "Returns",
    "SegmentRule",
    "Selection",
    "Step",
    "consented",
    "exclude",
    "in_segment",
    "lifetimes_summary",
    "min_scores",
    "not_contacted_since",
    "reachable",
    "rfm_scores",
    "rfm_segments",
    "rfm_summary",
    "select",
    "where",
]
