"""The work of ``omnicrm journey simulate``: journeys, customers, events, actions printed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

from omnicrm.cli._jobs import JobError
from omnicrm.cli.batch import Row, parse_datetime, require, run_batch
from omnicrm.cli.table import render_table
from omnicrm.errors import OmniCRMError, ValidationError
from omnicrm.timing import (
    Action,
    ActionStatus,
    CustomerContext,
    CustomerEvent,
    DueAction,
    GuardPolicy,
    Journey,
    LocalWindow,
    load_journeys_json,
    load_journeys_toml,
)

__all__ = [
    "OUTPUT_FIELDS",
    "SimulationDirectory",
    "action_row",
    "channels_of",
    "context_of",
    "event_of",
    "load_customers",
    "load_journey_file",
    "print_actions",
    "quiet_hours",
]

OUTPUT_FIELDS = (
    "due_at",
    "customer_id",
    "journey_id",
    "stage",
    "step_id",
    "kind",
    "content",
    "channel",
    "status",
    "action_id",
    "reasons",
)
"""The columns of ``--output``, one row per action decision."""

_EVENT_FIELDS = ("event_id", "event_type", "customer_id", "occurred_at", "properties")


_CONTEXT_FIELDS = ("customer_id", "time_zone", "segment", "consents", "reachable", "preferred")
_SEPARATORS = re.compile(r"[\s,;|]+")


def channels_of(journeys: Iterable[Journey]) -> frozenset[str]:
    """Return every channel the journeys' actions and stages name."""
    found: set[str] = set()
    for journey in journeys:
        for stage in journey.stages:
            found.update(stage.channels)
        for step in journey.steps:
            if isinstance(step, Action):
                found.update(step.channels)
    return frozenset(found)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    names = tuple(n for n in _SEPARATORS.split(str(value)) if n)
    return () if names == ("none",) else names


def context_of(row: Row, *, time_zone: str, channels: frozenset[str]) -> CustomerContext:
    """Build a customer from a row of the ``--customers`` file.

    ``consents``, ``reachable`` and ``preferred`` are channel names separated by spaces,
    commas or semicolons (``none`` for no consent); without ``consents`` the customer
    consents to ``channels``. Other columns (``profile.age`` or plain ``age``) are the
    profile, as text.
    """
    profile = dict(row["profile"]) if isinstance(row.get("profile"), dict) else {}
    for key, value in row.items():
        if key not in (*_CONTEXT_FIELDS, "profile"):
            profile[key.removeprefix("profile.")] = value
    return CustomerContext(
        customer_id=str(require(row, "customer_id")).strip(),
        time_zone=str(row.get("time_zone") or time_zone),
        profile={str(k): str(v) for k, v in profile.items()},
        segment=None if row.get("segment") is None else str(row["segment"]),
        consents=_names(row["consents"]) if "consents" in row else channels,
        reachable=_names(row["reachable"]) if "reachable" in row else None,
        preferred=_names(row.get("preferred", "")),
    )


class SimulationDirectory:
    """The customers of a simulation; anyone else lives in one zone, consenting to ``channels``.

    The default makes the replay show what the journeys would do.
    """

    def __init__(
        self,
        time_zone: str,
        channels: frozenset[str],
        customers: Iterable[CustomerContext] = (),
    ) -> None:
        self._zone = time_zone
        self._channels = channels
        self._contexts = {c.customer_id: c for c in customers}

    def context(self, customer_id: str) -> CustomerContext:
        """Return the customer (a simulated one, created once, if not in the file)."""
        found = self._contexts.get(customer_id)
        if found is None:
            found = CustomerContext(
                customer_id=customer_id, time_zone=self._zone, consents=self._channels
            )
            self._contexts[customer_id] = found
        return found


def load_customers(
    path: Path, *, time_zone: str, channels: frozenset[str], encoding: str
) -> list[CustomerContext]:
    """Read the ``--customers`` file; a bad row stops the job naming its file, line and field."""
    found: list[CustomerContext] = []

    def add(row: Row) -> None:
        found.append(context_of(row, time_zone=time_zone, channels=channels))

    report = run_batch(path, add, max_errors=1, encoding=encoding)
    if report.errors:
        raise JobError("--customers", str(path), f"bad row: {report.errors[0]}")
    return found


def quiet_hours(text: str | None) -> GuardPolicy:
    """Read ``--quiet-hours 21:00-09:00`` into a guard policy (none when not given)."""
    if text is None:
        return GuardPolicy()
    start, sep, end = text.partition("-")
    try:
        if not sep:
            raise ValueError(text)
        return GuardPolicy(
            quiet_hours=LocalWindow(time.fromisoformat(start), time.fromisoformat(end))
        )
    except (ValueError, OmniCRMError) as exc:
        raise JobError("--quiet-hours", text, "must look like 21:00-09:00") from exc


def load_journey_file(path: Path) -> tuple[Journey, ...]:
    """Load the journeys of a ``.json`` or ``.toml`` file."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise JobError("JOURNEY_FILE", str(path), "must end in .json or .toml")
    if not path.is_file():
        raise JobError("JOURNEY_FILE", str(path), "no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise JobError("JOURNEY_FILE", str(path), f"is not UTF-8 text ({exc.reason})") from exc
    try:
        return load_journeys_json(text) if suffix == ".json" else load_journeys_toml(text)
    except OmniCRMError as exc:
        raise JobError("JOURNEY_FILE", str(path), str(exc)) from exc


def event_of(
    row: Row, default_id: str, event_types: Sequence[str] | frozenset[str]
) -> CustomerEvent:
    """Build the event a row describes; an event type no journey uses is refused."""
    event_type = str(require(row, "event_type")).strip()
    if event_type not in event_types:
        raise ValidationError("event_type", event_type, "no journey in the file uses it")
    properties = dict(row["properties"]) if isinstance(row.get("properties"), dict) else {}
    properties.update({k: v for k, v in row.items() if k not in _EVENT_FIELDS})
    return CustomerEvent(
        event_id=str(row.get("event_id") or default_id),
        event_type=event_type,
        customer_id=str(require(row, "customer_id")).strip(),
        occurred_at=parse_datetime(row, "occurred_at"),
        properties={str(k): str(v) for k, v in properties.items()},
    )


def action_row(action: DueAction) -> dict[str, Any]:
    """Return one action decision as an ``--output`` row."""
    return {
        "due_at": action.due_at.isoformat(),
        "customer_id": action.customer_id,
        "journey_id": action.journey_id,
        "stage": action.stage,
        "step_id": action.step_id,
        "kind": action.kind,
        "content": action.content,
        "channel": action.channel or "",
        "status": action.status,
        "action_id": action.action_id,
        "reasons": "; ".join(action.reasons),
    }


def print_actions(actions: Sequence[DueAction], local: Any, tz_name: str) -> None:
    """Print every action decision in time order, in the zone ``local``, and a count."""
    rows = [
        [
            _when(a.due_at, local),
            a.customer_id,
            a.journey_id,
            a.step_id,
            a.content or a.kind,
            a.channel or "-",
            a.status,
        ]
        for a in actions
    ]
    print(
        render_table(
            [f"when ({tz_name})", "customer", "journey", "step", "content", "channel", "status"],
            rows,
        )
    )
    due = sum(1 for a in actions if a.status == ActionStatus.DUE)
    print(f"{len(actions):,} action decisions, {due:,} sent")


def _when(instant: datetime, local: Any) -> str:
    return instant.astimezone(local).strftime("%Y-%m-%d %H:%M")
