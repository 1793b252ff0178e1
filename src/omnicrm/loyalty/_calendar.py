"""Calendar arithmetic in the program's zone (dateutil.relativedelta), returned in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache, partial

from dateutil.relativedelta import relativedelta

from omnicrm.clock import zone
from omnicrm.loyalty.program import Program

__all__ = [
    "confirm_at",
    "day_end",
    "expiry_day",
    "expiry_days",
    "fixed_expiry",
    "limited_expiry",
    "local_date",
]

_TICK = timedelta(microseconds=1)


@lru_cache(maxsize=64)
def _tz(name: str) -> tzinfo:
    return zone("time_zone", name)


def local_date(program: Program, at: datetime) -> date:
    """The calendar date of ``at`` in the program's zone."""
    return _local_date(program.time_zone, at)


@lru_cache(maxsize=8192)
def _local_date(time_zone: str, at: datetime) -> date:
    return at.astimezone(_tz(time_zone)).date()


def expiry_day(program: Program, expiry: datetime) -> date:
    """The last local date points expiring at ``expiry`` can be used on."""
    return _expiry_day(program.time_zone, expiry)


@lru_cache(maxsize=8192)
def _expiry_day(time_zone: str, expiry: datetime) -> date:
    return (expiry - _TICK).astimezone(_tz(time_zone)).date()


def expiry_days(program: Program) -> Callable[[datetime], date]:
    """:func:`expiry_day` for one program, as a function of the expiry alone (no frame)."""
    return partial(_expiry_day, program.time_zone)


def day_end(program: Program, day: date) -> datetime:
    """The instant a day ends in the program's zone (00:00 local the next day), in UTC."""
    tz = _tz(program.time_zone)
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)


def confirm_at(program: Program, at: datetime) -> datetime | None:
    """When points earned at ``at`` confirm, or ``None`` if they are spendable at once."""
    rule = program.confirmation
    if rule.immediate:
        return None
    local = at.astimezone(_tz(program.time_zone)) + relativedelta(days=rule.days)
    if rule.next_month_start:
        local = local + relativedelta(months=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def fixed_expiry(program: Program, at: datetime) -> datetime:
    """End of validity for points earned (or last active) at ``at``.

    Valid through the same day ``expiry_months`` later (the month's last day when it is
    shorter), or through the end of that month with ``end_of_month``.
    """
    last = local_date(program, at) + relativedelta(months=program.expiry_months)
    if program.end_of_month:
        last = last + relativedelta(day=31)
    return day_end(program, last)


def limited_expiry(program: Program, at: datetime, days: int) -> datetime:
    """End of validity of limited-time points valid ``days`` days from ``at``."""
    return day_end(program, local_date(program, at) + timedelta(days=days))
