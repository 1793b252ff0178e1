"""JSON text for the timing records a SQL adapter stores in a ``data`` column."""

from __future__ import annotations

import json
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.timing.records import DueAction, Enrollment

__all__ = ["action_from_json", "action_to_json", "enrollment_from_json", "enrollment_to_json"]


def action_to_json(action: DueAction) -> str:
    """Encode an action decision."""
    return json.dumps(
        {
            "action_id": action.action_id,
            "customer_id": action.customer_id,
            "journey_id": action.journey_id,
            "stage": action.stage,
            "step_id": action.step_id,
            "run": action.run,
            "kind": action.kind,
            "content": action.content,
            "channel": action.channel,
            "fallbacks": list(action.fallbacks),
            "due_us": to_micros(action.due_at),
            "status": action.status,
            "reasons": list(action.reasons),
            "holdout": action.holdout,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def action_from_json(text: str) -> DueAction:
    """Decode :func:`action_to_json` output."""
    data: dict[str, Any] = json.loads(text)
    due = from_micros(data.pop("due_us"))
    return DueAction(
        **{**data, "fallbacks": tuple(data["fallbacks"]), "reasons": tuple(data["reasons"])},
        due_at=due,
    )


def enrollment_to_json(position: Enrollment) -> str:
    """Encode the parts of a position not kept in their own columns."""
    return json.dumps(
        {
            "entered_us": to_micros(position.entered_at),
            "facts": dict(position.facts),
            "deferrals": position.deferrals,
            "holdout": position.holdout,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def enrollment_from_json(
    customer_id: str,
    journey_id: str,
    run: int,
    step_id: str,
    active: int,
    due_us: int | None,
    wait_event: str | None,
    version: int,
    data: str,
) -> Enrollment:
    """Rebuild a position from its columns and :func:`enrollment_to_json` text."""
    extra: dict[str, Any] = json.loads(data)
    return Enrollment(
        customer_id=customer_id,
        journey_id=journey_id,
        run=run,
        step_id=step_id,
        active=bool(active),
        entered_at=from_micros(extra["entered_us"]),
        due_at=None if due_us is None else from_micros(due_us),
        wait_event=wait_event,
        facts=extra["facts"],
        deferrals=extra["deferrals"],
        holdout=extra["holdout"],
        version=version,
    )
