"""Guards: quiet hours and sending windows in the customer's zone, frequency caps.

Times of day are read in the customer's IANA zone, so a window is right on both sides
of a daylight-saving change; the next allowed moment is searched among the local
boundaries of the next days, each converted through the zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

import attrs

from omnicrm.errors import ConfigurationError, InvalidTypeError, ValidationError
from omnicrm.validation import check_id, check_int, check_tuple

__all__ = [
    "CapPolicy",
    "FrequencyCap",
    "GuardPolicy",
    "LocalWindow",
    "cap_exceeded",
    "next_allowed",
]


def _check_time(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise InvalidTypeError(attribute.name, value, "must be a datetime.time without tzinfo")


@attrs.frozen
class LocalWindow:
    """A daily span of local time ``[start, end)``; it wraps midnight if ``end <= start``."""

    start: time = attrs.field(validator=_check_time)
    end: time = attrs.field(validator=_check_time)

    def __attrs_post_init__(self) -> None:
        if self.start == self.end:
            raise ValidationError("end", self.end, "must differ from start")

    def contains(self, local: time) -> bool:
        """Return ``True`` if the local time of day ``local`` falls inside."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class CapPolicy:
    """What to do with an action a frequency cap refuses (the decision is recorded)."""

    SKIP = "skip"
    """Do not send it; the journey goes on to the next step."""
    DEFER = "defer"
    """Send it when the window has room again."""
    DROP = "drop"
    """Do not send it; the customer leaves the journey."""

    ALL = (SKIP, DEFER, DROP)


def _check_policy(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in CapPolicy.ALL:
        raise ValidationError(attribute.name, value, f"must be one of {CapPolicy.ALL}")


def _check_window(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError(attribute.name, value, "must be a positive timedelta")


def _optional_channel(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_id(attribute.name, value)


@attrs.frozen(kw_only=True)
class FrequencyCap:
    """At most ``limit`` sends in any rolling ``window``, on ``channel`` (``None``: overall)."""

    limit: int
    window: timedelta = attrs.field(validator=_check_window)
    channel: str | None = attrs.field(default=None, validator=_optional_channel)
    policy: str = attrs.field(default=CapPolicy.SKIP, validator=_check_policy)

    def __attrs_post_init__(self) -> None:
        check_int("limit", self.limit, minimum=1)

    def describe(self) -> str:
        """Return ``"2 per 1 day, 0:00:00 on push"``-style text."""
        where = f"on {self.channel}" if self.channel else "overall"
        return f"{self.limit} per {self.window} {where}"


def _caps(value: Any) -> tuple[FrequencyCap, ...]:
    return check_tuple("caps", value, FrequencyCap, "a FrequencyCap")


def _windows(value: Any) -> dict[str, LocalWindow]:
    items = dict(value or {})
    for name, window in items.items():
        check_id("windows", name)
        if not isinstance(window, LocalWindow):
            raise InvalidTypeError(f"windows[{name!r}]", window, "must be a LocalWindow")
    return items


def _optional_window(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, LocalWindow):
        raise InvalidTypeError(attribute.name, value, "must be a LocalWindow")


@attrs.frozen(kw_only=True, eq=False)
class GuardPolicy:
    """Quiet hours (no sends), per-channel sending windows and frequency caps.

    Attributes:
        quiet_hours: local hours with no sends at all (``LocalWindow(21:00, 09:00)``).
        windows: per channel, the local hours it may be used (a store call 10:00-18:00).
        caps: frequency caps, checked in order.
        max_deferrals: after this many deferrals of one step the action is dropped.

    """

    quiet_hours: LocalWindow | None = attrs.field(default=None, validator=_optional_window)
    windows: dict[str, LocalWindow] = attrs.field(factory=dict, converter=_windows)
    caps: tuple[FrequencyCap, ...] = attrs.field(default=(), converter=_caps)
    max_deferrals: int = 20

    def __attrs_post_init__(self) -> None:
        check_int("max_deferrals", self.max_deferrals, minimum=0)
        quiet = self.quiet_hours
        for name, window in self.windows.items():
            minutes = (time(m // 60, m % 60) for m in range(0, 24 * 60))
            if not any(window.contains(t) and not (quiet and quiet.contains(t)) for t in minutes):
                raise ConfigurationError(
                    f"windows[{name!r}]", window, "lies wholly inside the quiet hours"
                )
        if quiet is not None and quiet.start == quiet.end:
            raise ConfigurationError("quiet_hours", quiet, "would forbid every moment")

    def allowed(self, instant: datetime, zone: tzinfo, channel: str | None) -> bool:
        """Return ``True`` if sending on ``channel`` at ``instant`` is within the rules."""
        local = instant.astimezone(zone).time()
        if self.quiet_hours is not None and self.quiet_hours.contains(local):
            return False
        window = self.windows.get(channel) if channel is not None else None
        return window is None or window.contains(local)


def next_allowed(
    policy: GuardPolicy, instant: datetime, zone: tzinfo, channel: str | None
) -> datetime:
    """Return the first moment at or after ``instant`` when ``channel`` may be used."""
    if policy.allowed(instant, zone, channel):
        return instant
    bounds: list[time] = []
    if policy.quiet_hours is not None:
        bounds.append(policy.quiet_hours.end)
    window = policy.windows.get(channel) if channel is not None else None
    if window is not None:
        bounds.append(window.start)
    first = instant.astimezone(zone).date()
    candidates = sorted(
        datetime.combine(first + timedelta(days=d), b, tzinfo=zone).astimezone(UTC)
        for d in range(9)
        for b in bounds
    )
    for candidate in candidates:
        if candidate > instant and policy.allowed(candidate, zone, channel):
            return candidate
    raise ValidationError("windows", channel, "the guards leave no moment to send at all")


def cap_exceeded(
    caps: Sequence[FrequencyCap],
    sends: Sequence[tuple[datetime, str]],
    instant: datetime,
    channel: str,
) -> tuple[FrequencyCap, datetime] | None:
    """Return the first cap a send on ``channel`` at ``instant`` would break, and when it frees.

    ``sends`` are the customer's earlier sends as ``(at, channel)``.
    """
    for cap in caps:
        if cap.channel is not None and cap.channel != channel:
            continue
        since = instant - cap.window
        inside = sorted(
            at
            for at, used in sends
            if since < at <= instant and (cap.channel is None or used == cap.channel)
        )
        if len(inside) >= cap.limit:
            return cap, inside[len(inside) - cap.limit] + cap.window
    return None
