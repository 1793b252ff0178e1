"""When a wait ends: durations, a weekday or time of day, a date relative to a fact.

Every computation is done in the customer's zone and converted to UTC, so "2 days"
keeps the wall-clock time across a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil.relativedelta import relativedelta

from omnicrm.timing.model import Wait, WaitForEvent, WaitRelative, WaitUntil

__all__ = ["DEFAULT_TIME", "add_local", "as_timedelta", "relative_due", "until_due", "wait_due"]

DEFAULT_TIME = time(9, 0)
"""The local time of day a date-relative wait ends at when its step gives none."""


_FIXED: dict[relativedelta, timedelta | None] = {}


def as_timedelta(delta: relativedelta) -> timedelta | None:
    """Return ``delta`` as a ``timedelta`` if it has no calendar (year, month, weekday) part."""
    try:
        return _FIXED[delta]
    except KeyError:
        pass
    calendar = (
        delta.years, delta.months, delta.year, delta.month, delta.day, delta.weekday,
        delta.hour, delta.minute, delta.second, delta.microsecond, delta.leapdays,
    )  # fmt: skip
    fixed = None
    if not any(calendar):
        fixed = timedelta(
            days=delta.days, hours=delta.hours, minutes=delta.minutes,
            seconds=delta.seconds, microseconds=delta.microseconds,
        )  # fmt: skip
    if len(_FIXED) < 10_000:
        _FIXED[delta] = fixed
    return fixed


def add_local(instant: datetime, delta: relativedelta, zone: tzinfo) -> datetime:
    """Return ``instant + delta`` counted on the customer's wall clock, in UTC."""
    local = instant.astimezone(zone)
    fixed = as_timedelta(delta)
    moved = local + fixed if fixed is not None else local + delta
    return moved.astimezone(UTC)


def until_due(step: WaitUntil, instant: datetime, zone: tzinfo) -> datetime:
    """Return the next moment after ``instant`` matching the step's weekday and time."""
    local = instant.astimezone(zone)
    at = step.at if step.at is not None else local.time().replace(tzinfo=None)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        if step.weekday is not None and day.weekday() != step.weekday:
            continue
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        if candidate > instant:
            return candidate
    return datetime.combine(local.date() + timedelta(days=7), at, tzinfo=zone).astimezone(UTC)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def relative_due(
    step: WaitRelative,
    instant: datetime,
    zone: tzinfo,
    event: Mapping[str, str],
    profile: Mapping[str, str],
) -> datetime | None:
    """Return when a date-relative wait ends, or ``None`` if the date is missing or bad."""
    source, _, name = step.field.partition(".")
    base = _parse_date((event if source == "event" else profile).get(name))
    if base is None:
        return None
    at = step.at or DEFAULT_TIME
    if step.anniversary:
        today = instant.astimezone(zone).date()
        for year in (today.year, today.year + 1):
            candidate = base + relativedelta(year=year)  # 29 Feb -> 28 Feb
            due = datetime.combine(candidate + step.offset, at, tzinfo=zone).astimezone(UTC)
            if due > instant:
                return due
        return due
    return datetime.combine(base + step.offset, at, tzinfo=zone).astimezone(UTC)


def wait_due(step: Wait | WaitUntil | WaitForEvent, instant: datetime, zone: tzinfo) -> datetime:
    """Return when a duration, weekday/time or event-timeout wait ends."""
    if isinstance(step, Wait):
        return add_local(instant, step.duration, zone)
    if isinstance(step, WaitForEvent):
        return add_local(instant, step.timeout, zone)
    return until_due(step, instant, zone)
