"""A position being entered, before its first record is written."""

from __future__ import annotations

from datetime import datetime

from omnicrm.frozenmap import FrozenMap
from omnicrm.timing.records import Enrollment, trusted_enrollment

__all__ = ["Seat"]


class Seat:
    """A position being entered: what :meth:`Enrollment.moved` needs, without a record yet."""

    __slots__ = ("customer_id", "entered_at", "holdout", "journey_id", "run", "version")

    step_id = ""
    deferrals = 0

    def __init__(
        self,
        customer_id: str,
        journey_id: str,
        run: int,
        entered_at: datetime,
        holdout: bool,
        version: int,
    ) -> None:
        self.customer_id = customer_id
        self.journey_id = journey_id
        self.run = run
        self.entered_at = entered_at
        self.holdout = holdout
        self.version = version

    def moved(
        self,
        *,
        step_id: str,
        active: bool,
        due_at: datetime | None,
        wait_event: str | None,
        facts: FrozenMap,
        deferrals: int,
    ) -> Enrollment:
        """Return the position record at its first resting step."""
        return trusted_enrollment(
            self.customer_id, self.journey_id, self.run, step_id, active, self.entered_at,
            due_at, wait_event, facts, deferrals, self.holdout, self.version,
        )  # fmt: skip
