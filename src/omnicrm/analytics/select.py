"""A small composable selection of customers for a campaign, counting who is left after each step.

``select(universe, step, step, ...)`` applies the steps in order and returns the ids that
pass every one, with the count after each step, so a marketer sees where the audience went
("12,000 champions, 9,100 with e-mail consent, 8,700 reachable, 8,200 not mailed this week").
A step is a :class:`Step`: a name and a function from customer ids to a keep-mask. Build
steps with :func:`in_segment`, :func:`min_scores`, :func:`where`, :func:`consented`,
:func:`reachable`, :func:`exclude` and :func:`not_contacted_since`, or write your own.
A customer a step knows nothing about (not in its id list) does not pass it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics._group import factorize, positions, sorted_unique
from omnicrm.analytics._input import as_ids, as_instant, as_instants, check_same_length
from omnicrm.analytics.scores import RFMScores
from omnicrm.analytics.segments import RFMSegments
from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.validation import check_int, check_text

__all__ = [
    "Selection",
    "Step",
    "consented",
    "exclude",
    "in_segment",
    "min_scores",
    "not_contacted_since",
    "reachable",
    "select",
    "where",
]

Mask = Callable[[NDArray[np.generic]], NDArray[np.bool_]]


@attrs.frozen
class Step:
    """One filter of a selection: ``keep(ids)`` returns a boolean mask over ``ids``."""

    name: str
    keep: Mask


@attrs.frozen(eq=False)
class Selection:
    """The customers selected, and how many were left after each step.

    Attributes:
        customer_ids: the selected ids, sorted.
        counts: ``(step name, customers left)`` pairs, starting with ``("all", N)``.

    """

    customer_ids: NDArray[np.generic]
    counts: tuple[tuple[str, int], ...]

    def __len__(self) -> int:
        return int(self.customer_ids.size)


def _lookup(
    ids: object, values: NDArray[np.bool_] | None = None, values_field: str = "values"
) -> Mask:
    """Build a keep-mask: listed in ``ids`` (with a true ``values`` entry on any of its rows)."""
    listed = as_ids("customer_ids", ids)
    rows = np.ones(listed.size, dtype=bool) if values is None else values
    check_same_length(customer_ids=listed, **{values_field: rows})
    known, codes = factorize(listed)
    flags = np.bincount(codes[rows], minlength=known.size) > 0

    def keep(candidates: NDArray[np.generic]) -> NDArray[np.bool_]:
        found, where_ = positions(known, candidates)
        if not known.size:
            return found
        kept: NDArray[np.bool_] = found & flags[where_]
        return kept

    return keep


def where(name: str, customer_ids: object, mask: object) -> Step:
    """Keep customers whose ``mask`` entry is true (any attribute test the host computed)."""
    check_text("name", name, max_length=200)
    flags = np.asarray(mask)
    if flags.dtype != np.bool_:
        raise InvalidTypeError("mask", flags.dtype, "must be booleans")
    return Step(name, _lookup(customer_ids, flags, "mask"))


def in_segment(segments: RFMSegments, *names: str) -> Step:
    """Keep customers in any of the segments ``names``."""
    members = segments.members(*names)
    return Step(f"segment in {list(names)}", _lookup(members))


def min_scores(
    scores: RFMScores,
    *,
    recency: int = 1,
    frequency: int = 1,
    monetary: int = 1,
) -> Step:
    """Keep customers whose scores are at least the given ones."""
    for field, value in (("recency", recency), ("frequency", frequency), ("monetary", monetary)):
        check_int(field, value, minimum=1, maximum=scores.bins)
    mask = scores.recency >= recency
    mask &= scores.frequency >= frequency
    mask &= scores.monetary >= monetary
    return Step(
        f"scores >= R{recency} F{frequency} M{monetary}", _lookup(scores.customer_ids, mask)
    )


def _channel(channel: Channel | str) -> Channel:
    return channel if isinstance(channel, Channel) else Channel(channel)


def consented(channel: Channel | str, customer_ids: object) -> Step:
    """Keep customers who consented to messages on ``channel`` (the host's consent list)."""
    return Step(f"consented to {_channel(channel)}", _lookup(customer_ids))


def reachable(channel: Channel | str, customer_ids: object) -> Step:
    """Keep customers with a working address on ``channel`` (e-mail, LINE id, app token)."""
    return Step(f"reachable on {_channel(channel)}", _lookup(customer_ids))


def exclude(name: str, customer_ids: object) -> Step:
    """Drop the customers in ``customer_ids`` (a suppression list, staff, complaints)."""
    check_text("name", name, max_length=200)
    inside = _lookup(customer_ids)
    return Step(f"excluding {name}", lambda ids: ~inside(ids))


def not_contacted_since(
    since: datetime | np.datetime64, customer_ids: object, last_contact: object
) -> Step:
    """Drop customers whose last contact is at or after ``since``; never contacted passes."""
    since_us = as_instant("since", since)
    contacted = as_instants("last_contact", last_contact) >= since_us
    recent = _lookup(customer_ids, contacted, "last_contact")
    return Step(
        f"not contacted since {np.datetime_as_string(np.datetime64(since_us, 'us'), 'm')}Z",
        lambda ids: ~recent(ids),
    )


def select(customers: object, *steps: Step) -> Selection:
    """Return the customers of ``customers`` that pass every step, with the count after each.

    Raises:
        InvalidTypeError: a step that is not a :class:`Step`.
        ValidationError: a step whose mask does not match the candidates.

    """
    for i, step in enumerate(steps):
        if not isinstance(step, Step):
            raise InvalidTypeError(f"steps[{i}]", step, "must be a Step")
    current = sorted_unique(as_ids("customers", customers))
    counts = [("all", int(current.size))]
    for step in steps:
        mask = np.asarray(step.keep(current))
        if mask.dtype != np.bool_ or mask.shape != current.shape:
            raise ValidationError(step.name, mask.shape, "keep() must return one bool per id")
        current = current[mask]
        counts.append((step.name, int(current.size)))
    return Selection(current, tuple(counts))
