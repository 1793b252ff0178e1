"""Named RFM segments from the usual recency x frequency grid, configurable.

The default grid, for scores 1..5 (R = recency score, F = frequency score; the first rule
that matches wins):

===================  =========  =========
segment              R          F
===================  =========  =========
champions            5          4-5
loyal                3-4        4-5
potential loyalists  4-5        2-3
new                  5          1
promising            4          1
need attention       3          3
about to sleep       3          1-2
can't lose them      1-2        5
at risk              1-2        3-4
lost                 1          1
hibernating          1-2        1-2
===================  =========  =========

Every one of the 25 cells is covered. Custom rules must cover every cell of their
``bins x bins`` grid too, or name a ``default`` segment for the cells they leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics.scores import RFMScores
from omnicrm.errors import ConfigurationError, InvalidTypeError, NotFoundError
from omnicrm.validation import check_text

__all__ = ["DEFAULT_SEGMENTS", "RFMSegments", "SegmentRule", "rfm_segments"]


def _check_range(instance: SegmentRule, attribute: Any, value: Any) -> None:
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok or value[0] < 1 or value[0] > value[1]:
        raise ConfigurationError(
            attribute.name, value, "must be a (low, high) pair of ints, 1 <= low <= high"
        )


@attrs.frozen
class SegmentRule:
    """A named rectangle of the grid: recency score in ``recency``, frequency in ``frequency``.

    Attributes:
        name: the segment's name.
        recency: inclusive ``(low, high)`` recency-score range.
        frequency: inclusive ``(low, high)`` frequency-score range.

    """

    name: str = attrs.field(validator=lambda _i, a, v: check_text(a.name, v, max_length=200))
    recency: tuple[int, int] = attrs.field(validator=_check_range)
    frequency: tuple[int, int] = attrs.field(validator=_check_range)


DEFAULT_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("champions", (5, 5), (4, 5)),
    SegmentRule("loyal", (3, 4), (4, 5)),
    SegmentRule("potential loyalists", (4, 5), (2, 3)),
    SegmentRule("new", (5, 5), (1, 1)),
    SegmentRule("promising", (4, 4), (1, 1)),
    SegmentRule("need attention", (3, 3), (3, 3)),
    SegmentRule("about to sleep", (3, 3), (1, 2)),
    SegmentRule("can't lose them", (1, 2), (5, 5)),
    SegmentRule("at risk", (1, 2), (3, 4)),
    SegmentRule("lost", (1, 1), (1, 1)),
    SegmentRule("hibernating", (1, 2), (1, 2)),
)
"""The usual grid for 5 scores (see the module docstring)."""


@attrs.frozen(eq=False)
class RFMSegments:
    """Each customer's segment, as a code into ``names``.

    Attributes:
        customer_ids: the customer ids, as in the scores.
        codes: index into ``names`` per customer (int16).
        names: the segment names, in rule order (then the default, if any).

    """

    customer_ids: NDArray[Any]
    codes: NDArray[np.int16]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.customer_ids.size)

    def labels(self) -> NDArray[np.str_]:
        """Return the segment name of every customer."""
        return np.asarray(self.names)[self.codes]

    def members(self, *names: str) -> NDArray[Any]:
        """Return the ids of the customers in any of the segments ``names``."""
        wanted = []
        for name in names:
            if name not in self.names:
                raise NotFoundError("segment", name)
            wanted.append(self.names.index(name))
        return self.customer_ids[np.isin(self.codes, wanted)]

    def counts(self) -> dict[str, int]:
        """Return the number of customers per segment, in ``names`` order (zeros included)."""
        counts = np.bincount(self.codes, minlength=len(self.names))
        return {name: int(count) for name, count in zip(self.names, counts, strict=True)}


def rfm_segments(
    scores: RFMScores,
    rules: Sequence[SegmentRule] = DEFAULT_SEGMENTS,
    *,
    default: str | None = None,
) -> RFMSegments:
    """Name each customer's segment from their recency and frequency scores.

    Args:
        scores: the result of :func:`~omnicrm.analytics.rfm_scores`.
        rules: ordered rules; the first that contains a customer's (R, F) cell wins.
        default: segment for cells no rule covers; without it every cell must be covered.

    Raises:
        ConfigurationError: a rule outside ``1..bins``, an uncovered cell without a default.

    """
    if not isinstance(scores, RFMScores):
        raise InvalidTypeError("scores", scores, "must be RFMScores")
    rules = tuple(rules)
    for i, rule in enumerate(rules):
        if not isinstance(rule, SegmentRule):
            raise InvalidTypeError(f"rules[{i}]", rule, "must be a SegmentRule")
        if max(rule.recency[1], rule.frequency[1]) > scores.bins:
            raise ConfigurationError(f"rules[{i}]", rule, f"scores only go up to {scores.bins}")
    names = list(dict.fromkeys(rule.name for rule in rules))
    if default is not None:
        check_text("default", default, max_length=200)
        names = list(dict.fromkeys([*names, default]))
    size = scores.bins + 1
    grid = np.full((size, size), -1, dtype=np.int16)
    for rule in reversed(rules):  # earlier rules overwrite later ones: first match wins
        r_low, r_high = rule.recency
        f_low, f_high = rule.frequency
        grid[r_low : r_high + 1, f_low : f_high + 1] = names.index(rule.name)
    cells = grid[1:, 1:]
    if default is not None:
        cells[cells < 0] = names.index(default)
    elif (cells < 0).any():
        r, f = (int(v) + 1 for v in np.argwhere(cells < 0)[0])
        raise ConfigurationError(
            "rules", f"R={r}, F={f}", "no rule covers this cell; add a default"
        )
    codes = grid[scores.recency.astype(np.intp), scores.frequency.astype(np.intp)]
    return RFMSegments(scores.customer_ids, codes, tuple(names))
