"""Entering a customer in no journey yet: the journeys an event opens, worked out once.

Most events enter a customer into journeys that start with a wait. For a given set of
matched journeys the rows differ only by customer, instant and due time, so what the
set opens (a :class:`FreshPlan`: the :data:`~omnicrm.timing.ports.Shape`, the wait
lengths, the holdout shares) is worked out once and reused for every such event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from omnicrm.frozenmap import FrozenMap
from omnicrm.timing._compiled import CompiledJourney, Opening
from omnicrm.timing.ports import EnrollmentRepository, Opened, Shape
from omnicrm.timing.records import trusted_enrollment

__all__ = ["FreshPlan", "digest", "enter_rows", "fresh_plan", "in_holdout", "zone"]

_ZONES: dict[str, tzinfo] = {}


def zone(name: str) -> tzinfo:
    """Return the zone ``name`` (each built once)."""
    found = _ZONES.get(name)
    if found is None:
        found = _ZONES[name] = ZoneInfo(name)
    return found


def digest(*parts: str) -> str:
    """Return the SHA-256 hex digest of ``parts`` joined by a unit separator."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def in_holdout(journey_id: str, customer_id: str, basis_points: int) -> bool:
    """Return ``True`` if the customer falls in the journey's control group (by hashing)."""
    if basis_points <= 0:
        return False
    return int(digest("holdout", journey_id, customer_id)[:8], 16) % 10_000 < basis_points


def enter_rows(
    repo: EnrollmentRepository, customer_id: str, at: datetime, facts: FrozenMap,
    rows: Sequence[Opened],
) -> None:  # fmt: skip
    """Enter the journeys ``rows`` open, from plain values where the backend takes them."""
    fresh = getattr(repo, "enter_fresh", None)  # FreshEntryRepository, where implemented
    if fresh is not None:
        fresh(customer_id, at, facts, rows)
        return
    repo.enter([
        trusted_enrollment(customer_id, journey_id, 1, step_id, True, at, due_at, wait_event,
                           facts, 0, holdout, 1)
        for journey_id, step_id, due_at, wait_event, holdout in rows
    ])  # fmt: skip


class FreshPlan:
    """What a set of journeys opens for a customer in no journey yet (rows in id order)."""

    __slots__ = ("count", "points", "shape", "span", "spans")

    def __init__(self, openings: Sequence[Opening]) -> None:
        ordered = sorted(openings, key=lambda o: o.journey_id)
        self.shape: Shape = (
            tuple(o.journey_id for o in ordered),
            tuple(o.start for o in ordered),
            tuple(o.awaits for o in ordered),
        )
        self.count = len(ordered)
        self.spans: tuple[timedelta | relativedelta, ...] = tuple(o.span for o in ordered)
        # one wait length for them all (the common case): one wall-clock sum an event
        self.span = self.spans[0] if all(s == self.spans[0] for s in self.spans) else None
        points = tuple(o.holdout_basis_points for o in ordered)
        self.points = points if any(points) else None

    def enter(
        self, repo: EnrollmentRepository, customer_id: str, time_zone: str, at: datetime,
        facts: FrozenMap,
    ) -> None:  # fmt: skip
        """Enter ``customer_id`` (in no journey yet) at ``at`` into the plan's journeys."""
        local = at.astimezone(_ZONES.get(time_zone) or zone(time_zone))
        dues: tuple[datetime, ...]
        if self.span is not None:
            dues = ((local + self.span).astimezone(UTC),) * self.count
        else:  # one wall-clock sum per distinct wait length
            sums: dict[timedelta | relativedelta, datetime] = {}
            for span in self.spans:
                if span not in sums:
                    sums[span] = (local + span).astimezone(UTC)
            dues = tuple(sums[span] for span in self.spans)
        holdouts = None
        if self.points is not None:
            journeys = self.shape[0]
            holdouts = tuple(
                in_holdout(j, customer_id, p) for j, p in zip(journeys, self.points, strict=True)
            )
        shaped = getattr(repo, "enter_shape", None)  # FreshEntryRepository, where implemented
        if shaped is not None:
            shaped(customer_id, at, facts, self.shape, dues, holdouts)
            return
        flags = (False,) * self.count if holdouts is None else holdouts
        journeys, steps, waits = self.shape
        rows = list(zip(journeys, steps, dues, waits, flags, strict=True))
        enter_rows(repo, customer_id, at, facts, rows)


def fresh_plan(
    journey_ids: Sequence[str], by_id: Mapping[str, CompiledJourney]
) -> FreshPlan | None:
    """Return the plan of entering ``journey_ids`` (matched, in priority order), or ``None``.

    ``None`` when one of them needs the step machine (it does not start with a wait) or
    has a window (whether it is entered depends on the instant): such events are
    entered journey by journey. An exclusive journey ends the set.
    """
    openings = []
    for journey_id in journey_ids:
        opening = by_id[journey_id].opening
        if opening is None or opening.starts_at is not None or opening.ends_at is not None:
            return None
        openings.append(opening)
        if opening.exclusive:
            break
    return FreshPlan(openings)
