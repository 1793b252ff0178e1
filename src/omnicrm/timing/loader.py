"""Journeys from plain data: dicts, JSON text or TOML text, checked as they load.

A marketer's configuration can live outside code. Every problem is reported as a
:class:`~omnicrm.timing.errors.JourneyDefinitionError` (or another
:class:`~omnicrm.errors.ValidationError`) naming the path of the bad field, e.g.
``journeys[0].steps[2].duration``; nothing is returned half-built.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, time
from typing import Any, TypeVar

from dateutil.relativedelta import relativedelta

from omnicrm.errors import NaiveDatetimeError, ValidationError
from omnicrm.timing.conditions import Condition
from omnicrm.timing.errors import JourneyDefinitionError
from omnicrm.timing.model import (
    Action,
    Branch,
    Case,
    Exit,
    Journey,
    Stage,
    Step,
    Trigger,
    Wait,
    WaitForEvent,
    WaitRelative,
    WaitUntil,
)

__all__ = [
    "journey_from_dict",
    "journey_to_dict",
    "load_journeys",
    "load_journeys_json",
    "load_journeys_toml",
    "parse_duration",
]

T = TypeVar("T")

_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _fail(path: str, value: Any, reason: str) -> JourneyDefinitionError:
    return JourneyDefinitionError(path, value, reason)


def parse_duration(path: str, value: Any) -> relativedelta:
    """Read ``{"days": 2}`` or ``"2 days"`` / ``"-7 days"`` as a ``relativedelta``."""
    if isinstance(value, relativedelta):
        return value
    if isinstance(value, str):
        parts = value.split()
        if len(parts) != 2:
            raise _fail(path, value, "must look like '2 days' or {'days': 2}")
        unit = parts[1] if parts[1].endswith("s") else parts[1] + "s"
        try:
            value = {unit: int(parts[0])}
        except ValueError as exc:
            raise _fail(path, value, "must look like '2 days' or {'days': 2}") from exc
    if not isinstance(value, Mapping) or not value:
        raise _fail(path, value, "must be a mapping of units to whole numbers")
    for unit, amount in value.items():
        if unit not in _UNITS:
            raise _fail(path, value, f"unknown unit {unit!r}; use {_UNITS}")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise _fail(path, value, f"{unit} must be a whole number")
    return relativedelta(**dict(value))


def _time(path: str, value: Any) -> time | None:
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError as exc:
            raise _fail(path, value, "must be a time of day like '09:30'") from exc
    raise _fail(path, value, "must be a time of day like '09:30'")


def _weekday(path: str, value: Any) -> int | None:
    if isinstance(value, str):
        if value.lower() not in _WEEKDAYS:
            raise _fail(path, value, f"must be one of {_WEEKDAYS} or 0-6")
        return _WEEKDAYS.index(value.lower())
    return value if value is None else int(value) if isinstance(value, int) else value


def _datetime(path: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise _fail(path, value, "must be an ISO 8601 date-time with an offset") from exc
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise NaiveDatetimeError(path, value, "must carry a UTC offset (e.g. +09:00)")
    return value  # type: ignore[no-any-return]


def _conditions(path: str, items: Any) -> tuple[Condition, ...]:
    if items is None:
        return ()
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise _fail(path, items, "must be a list of conditions")
    out = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        _keys(where, item, {"field", "op", "value"})
        out.append(
            _build(where, Condition, item.get("field"), item.get("op", "eq"), item.get("value"))
        )
    return tuple(out)


def _keys(path: str, item: Any, allowed: set[str]) -> None:
    if not isinstance(item, Mapping):
        raise _fail(path, item, "must be a mapping")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise _fail(path, unknown[0], f"unknown key; expected some of {sorted(allowed)}")


def _build(path: str, factory: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return factory(*args, **kwargs)
    except JourneyDefinitionError as exc:
        if exc.field.startswith(path):
            raise
        raise _fail(f"{path}.{exc.field}", exc.value, exc.reason) from exc
    except ValidationError as exc:
        raise type(exc)(f"{path}.{exc.field}", exc.value, exc.reason) from exc
    except TypeError as exc:
        raise _fail(path, None, f"missing or unexpected field: {exc}") from exc


def _trigger(path: str, item: Any) -> Trigger:
    _keys(path, item, {"event_type", "conditions"})
    return _build(
        path,
        Trigger,
        event_type=item.get("event_type"),
        conditions=_conditions(f"{path}.conditions", item.get("conditions")),
    )


_COMMON = {"id", "type", "stage"}


def _step(path: str, item: Any) -> Step:
    if not isinstance(item, Mapping):
        raise _fail(path, item, "must be a mapping")
    kind = item.get("type")
    common = {"id": item.get("id"), "stage": item.get("stage")}
    if kind == "wait":
        _keys(path, item, _COMMON | {"duration", "next"})
        duration = parse_duration(f"{path}.duration", item.get("duration"))
        return _build(path, Wait, **common, duration=duration, next=item.get("next"))
    if kind == "wait_until":
        _keys(path, item, _COMMON | {"weekday", "at", "next"})
        return _build(
            path,
            WaitUntil,
            **common,
            weekday=_weekday(f"{path}.weekday", item.get("weekday")),
            at=_time(f"{path}.at", item.get("at")),
            next=item.get("next"),
        )
    if kind == "wait_relative":
        _keys(path, item, _COMMON | {"field", "offset", "at", "anniversary", "next"})
        offset = item.get("offset")
        return _build(
            path,
            WaitRelative,
            **common,
            field=item.get("field"),
            offset=relativedelta() if offset is None else parse_duration(f"{path}.offset", offset),
            at=_time(f"{path}.at", item.get("at")),
            anniversary=bool(item.get("anniversary", False)),
            next=item.get("next"),
        )
    if kind == "wait_for_event":
        _keys(
            path, item, _COMMON | {"event_type", "timeout", "on_event", "on_timeout", "conditions"}
        )
        return _build(
            path,
            WaitForEvent,
            **common,
            event_type=item.get("event_type"),
            timeout=parse_duration(f"{path}.timeout", item.get("timeout")),
            on_event=item.get("on_event"),
            on_timeout=item.get("on_timeout"),
            conditions=_conditions(f"{path}.conditions", item.get("conditions")),
        )
    if kind == "branch":
        _keys(path, item, _COMMON | {"cases", "otherwise"})
        cases = []
        for i, case in enumerate(item.get("cases") or ()):
            where = f"{path}.cases[{i}]"
            _keys(where, case, {"conditions", "next"})
            cases.append(
                _build(
                    where,
                    Case,
                    conditions=_conditions(f"{where}.conditions", case.get("conditions")),
                    next=case.get("next"),
                )
            )
        return _build(path, Branch, **common, cases=cases, otherwise=item.get("otherwise"))
    if kind == "action":
        _keys(path, item, _COMMON | {"content", "next", "kind", "channels", "guarded"})
        extra = {k: item[k] for k in ("kind", "guarded") if k in item}
        return _build(
            path,
            Action,
            **common,
            content=item.get("content"),
            next=item.get("next"),
            channels=tuple(item.get("channels") or ()),
            **extra,
        )
    if kind == "exit":
        _keys(path, item, _COMMON)
        return _build(path, Exit, **common)
    raise _fail(f"{path}.type", kind, "unknown step type")


_JOURNEY_KEYS = {
    "id", "name", "triggers", "steps", "start", "stages", "exit_on", "reentry",
    "reentry_period", "priority", "exclusive", "holdout_basis_points", "starts_at", "ends_at",
}  # fmt: skip


def _check_types(path: str, journey: Journey, event_types: Iterable[str] | None) -> Journey:
    if event_types is None:
        return journey
    known = frozenset(event_types)
    for name in sorted(journey.event_types() - known):
        raise _fail(f"{path}.event_type", name, "is not one of the host's event types")
    return journey


def journey_from_dict(
    data: Mapping[str, Any],
    path: str = "journey",
    *,
    event_types: Iterable[str] | None = None,
) -> Journey:
    """Build and check one :class:`Journey` from plain data.

    With ``event_types`` (the host's catalogue), a trigger, exit or awaited event of
    another type is refused.
    """
    return _check_types(path, _journey(data, path), event_types)


def _journey(data: Mapping[str, Any], path: str) -> Journey:
    _keys(path, data, _JOURNEY_KEYS)
    triggers = [
        _trigger(f"{path}.triggers[{i}]", t) for i, t in enumerate(data.get("triggers") or ())
    ]
    exits = [_trigger(f"{path}.exit_on[{i}]", t) for i, t in enumerate(data.get("exit_on") or ())]
    steps = [_step(f"{path}.steps[{i}]", s) for i, s in enumerate(data.get("steps") or ())]
    stages = []
    for i, stage in enumerate(data.get("stages") or ()):
        where = f"{path}.stages[{i}]"
        _keys(where, stage, {"name", "channels"})
        stages.append(
            _build(
                where, Stage, name=stage.get("name"), channels=tuple(stage.get("channels") or ())
            )
        )
    period = data.get("reentry_period")
    extra = {
        k: data[k]
        for k in ("name", "reentry", "priority", "exclusive", "holdout_basis_points")
        if k in data
    }
    return _build(
        path,
        Journey,
        id=data.get("id"),
        triggers=triggers,
        exit_on=exits,
        steps=steps,
        stages=stages,
        start=data.get("start"),
        reentry_period=None if period is None else parse_duration(f"{path}.reentry_period", period),
        starts_at=_datetime(f"{path}.starts_at", data.get("starts_at")),
        ends_at=_datetime(f"{path}.ends_at", data.get("ends_at")),
        **extra,
    )


def load_journeys(data: Any, *, event_types: Iterable[str] | None = None) -> tuple[Journey, ...]:
    """Build journeys from a list of dicts, or a mapping with a ``journeys`` list."""
    if isinstance(data, Mapping):
        _keys("document", data, {"journeys"})
        data = data.get("journeys")
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise _fail("journeys", data, "must be a list of journeys")
    journeys = tuple(
        journey_from_dict(item, f"journeys[{i}]", event_types=event_types)
        for i, item in enumerate(data)
    )
    seen: set[str] = set()
    for journey in journeys:
        if journey.id in seen:
            raise _fail("journeys", journey.id, "two journeys share this id")
        seen.add(journey.id)
    return journeys


def load_journeys_json(
    text: str | bytes, *, event_types: Iterable[str] | None = None
) -> tuple[Journey, ...]:
    """Build journeys from JSON text (a list, or ``{"journeys": [...]}``)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail("json", str(exc), "is not valid JSON") from exc
    return load_journeys(data, event_types=event_types)


def load_journeys_toml(
    text: str, *, event_types: Iterable[str] | None = None
) -> tuple[Journey, ...]:
    """Build journeys from TOML text with ``[[journeys]]`` tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail("toml", str(exc), "is not valid TOML") from exc
    return load_journeys(data, event_types=event_types)


def _duration_dict(delta: relativedelta) -> dict[str, int]:
    parts = {unit: getattr(delta, unit) for unit in _UNITS if unit != "weeks"}
    return {k: v for k, v in parts.items() if v} or {"days": 0}


def _conditions_list(conditions: Sequence[Condition]) -> list[dict[str, Any]]:
    out = []
    for c in conditions:
        value = list(c.value) if isinstance(c.value, tuple) else c.value
        out.append({"field": c.field, "op": c.op, **({} if value is None else {"value": value})})
    return out


def _step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {"id": step.id}
    if step.stage is not None:
        data["stage"] = step.stage
    if isinstance(step, Wait):
        data.update(type="wait", duration=_duration_dict(step.duration), next=step.next)
    elif isinstance(step, WaitUntil):
        data.update(type="wait_until", next=step.next)
        if step.weekday is not None:
            data["weekday"] = step.weekday
        if step.at is not None:
            data["at"] = step.at.isoformat()
    elif isinstance(step, WaitRelative):
        data.update(type="wait_relative", field=step.field, next=step.next,
                    offset=_duration_dict(step.offset), anniversary=step.anniversary)  # fmt: skip
        if step.at is not None:
            data["at"] = step.at.isoformat()
    elif isinstance(step, WaitForEvent):
        data.update(
            type="wait_for_event",
            event_type=step.event_type,
            timeout=_duration_dict(step.timeout),
            on_event=step.on_event,
            on_timeout=step.on_timeout,
            conditions=_conditions_list(step.conditions),
        )
    elif isinstance(step, Branch):
        data.update(
            type="branch",
            cases=[
                {"conditions": _conditions_list(c.conditions), "next": c.next} for c in step.cases
            ],
            otherwise=step.otherwise,
        )
    elif isinstance(step, Action):
        data.update(type="action", content=step.content, kind=step.kind,
                    channels=list(step.channels), guarded=step.guarded)  # fmt: skip
        if step.next is not None:
            data["next"] = step.next
    else:
        data["type"] = "exit"
    return data


def journey_to_dict(journey: Journey) -> dict[str, Any]:
    """Return plain data (JSON-ready) that :func:`journey_from_dict` reads back equal."""

    def trig(t: Trigger) -> dict[str, Any]:
        return {"event_type": t.event_type, "conditions": _conditions_list(t.conditions)}

    data: dict[str, Any] = {
        "id": journey.id,
        "name": journey.name,
        "triggers": [trig(t) for t in journey.triggers],
        "exit_on": [trig(t) for t in journey.exit_on],
        "start": journey.start,
        "steps": [_step_dict(s) for s in journey.steps],
        "stages": [{"name": s.name, "channels": list(s.channels)} for s in journey.stages],
        "reentry": journey.reentry,
        "priority": journey.priority,
        "exclusive": journey.exclusive,
        "holdout_basis_points": journey.holdout_basis_points,
    }
    if journey.reentry_period is not None:
        data["reentry_period"] = _duration_dict(journey.reentry_period)
    for name in ("starts_at", "ends_at"):
        value = getattr(journey, name)
        if value is not None:
            data[name] = value.isoformat()
    return data
