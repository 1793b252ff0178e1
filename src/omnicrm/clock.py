"""Time, injected: the :class:`Clock` protocol, the system clock and UTC helpers.

Domain code never reads the wall clock; services take a :class:`Clock`. Tests use
:class:`omnicrm.testing.FixedClock` or :class:`omnicrm.testing.SteppingClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.validation import check_aware

__all__ = [
    "Clock",
    "SystemClock",
    "from_micros",
    "to_micros",
    "to_utc",
    "zone",
]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current instant as an aware UTC ``datetime``."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock: ``datetime.now(UTC)``."""

    def now(self) -> datetime:
        """Return the current instant in UTC."""
        return datetime.now(UTC)


def to_utc(field: str, value: object) -> datetime:
    """Check that ``value`` is an aware datetime and return it converted to UTC."""
    return check_aware(field, value).astimezone(UTC)


def zone(field: str, name: object) -> tzinfo:
    """Return the IANA time zone called ``name`` ("Asia/Tokyo"), or raise a clear error."""
    if not isinstance(name, str):
        raise InvalidTypeError(field, name, f"must be a str, not {type(name).__name__}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(field, name, "is not a known IANA time zone") from exc


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(instant: datetime) -> int:
    """Return an aware instant as integer microseconds since the Unix epoch (sortable)."""
    return (instant - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """Return the UTC instant ``micros`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)
