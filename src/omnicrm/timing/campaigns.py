"""Company-origin campaigns: send once to a chosen list of customers, through the same guards."""

from __future__ import annotations

from typing import Any

import attrs

from omnicrm.timing.model import Action, ActionKind, Journey, Reentry, Stage, Trigger
from omnicrm.validation import check_ids, check_int, id_validator

__all__ = ["Campaign"]


def _names(value: Any) -> tuple[str, ...]:
    return check_ids("channels", value)


@attrs.frozen(kw_only=True)
class Campaign:
    """A one-off send (an RFM segment's win-back offer) beside the customer-origin journeys.

    Each customer gets it at most once, through quiet hours, caps, consent, the holdout
    and channel choice, exactly like a journey action.
    """

    id: str = attrs.field(validator=id_validator)
    content: str = attrs.field(validator=id_validator)
    channels: tuple[str, ...] = attrs.field(default=(), converter=_names)
    kind: str = ActionKind.SEND
    holdout_basis_points: int = 0
    priority: int = 0

    def __attrs_post_init__(self) -> None:
        check_int("holdout_basis_points", self.holdout_basis_points, minimum=0, maximum=10_000)

    @property
    def trigger_type(self) -> str:
        """The internal event type naming this campaign."""
        return f"campaign.{self.id}"

    def to_journey(self) -> Journey:
        """Return the one-step journey the engine runs this campaign as."""
        return Journey(
            id=self.id,
            name=f"campaign {self.id}",
            triggers=(Trigger(event_type=self.trigger_type),),
            stages=(Stage(name="campaign", channels=self.channels),),
            steps=(Action(id="send", content=self.content, kind=self.kind, stage="campaign"),),
            start="send",
            reentry=Reentry.ONCE,
            priority=self.priority,
            holdout_basis_points=self.holdout_basis_points,
        )
