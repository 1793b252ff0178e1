"""Locations, their opening hours and capabilities, channel routing and the item catalogue."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import zone
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.validation import check_aware, check_int, check_text, id_validator

__all__ = [
    "ChannelLocation",
    "ChannelRoute",
    "DailyHours",
    "GeoPoint",
    "Item",
    "KitComponent",
    "Location",
    "LocationCapability",
    "LocationKind",
    "OpeningHours",
]


def _check_coordinate(field: str, value: object, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTypeError(field, value, f"must be a number, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValidationError(field, value, f"must be between -{limit:g} and {limit:g} degrees")
    return number


def _latitude(value: Any) -> float:
    return _check_coordinate("latitude", value, 90.0)


def _longitude(value: Any) -> float:
    return _check_coordinate("longitude", value, 180.0)


@attrs.frozen
class GeoPoint:
    """A position on the globe in decimal degrees (WGS 84).

    Attributes:
        latitude: -90 (south pole) to 90 (north pole).
        longitude: -180 to 180, east positive.

    """

    latitude: float = attrs.field(converter=_latitude)
    longitude: float = attrs.field(converter=_longitude)


def _check_time(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, time):
        raise InvalidTypeError(attribute.name, value, "must be a datetime.time")
    if value.tzinfo is not None:
        raise ValidationError(
            attribute.name, value, "must be a wall-clock time without tzinfo (the store's zone)"
        )


@attrs.frozen
class DailyHours:
    """One day's opening, in the location's own wall-clock time (``opens < closes``).

    Attributes:
        opens: opening time.
        closes: closing time (the same day).

    """

    opens: time = attrs.field(validator=_check_time)
    closes: time = attrs.field(validator=_check_time)

    def __attrs_post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValidationError("closes", self.closes, f"must be after opens ({self.opens})")


def _to_days(value: Any) -> tuple[DailyHours | None, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("days", value, "must be 7 DailyHours-or-None, Monday first")
    days = tuple(value)
    if len(days) != 7:
        raise ValidationError("days", value, "must have 7 entries, Monday first")
    for day in days:
        if day is not None and not isinstance(day, DailyHours):
            raise InvalidTypeError("days", day, "each entry must be DailyHours or None")
    return days


@attrs.frozen
class OpeningHours:
    """Opening hours per weekday (Monday first; ``None`` is a closed day).

    Attributes:
        days: seven :class:`DailyHours` or ``None``.

    """

    days: tuple[DailyHours | None, ...] = attrs.field(converter=_to_days)

    @classmethod
    def every_day(cls, opens: time, closes: time) -> OpeningHours:
        """The same hours on all seven days."""
        return cls((DailyHours(opens, closes),) * 7)

    @classmethod
    def always(cls) -> OpeningHours:
        """Open around the clock (a warehouse that takes orders at any time)."""
        return cls.every_day(time(0, 0), time(23, 59, 59, 999999))

    def ready_today(self, local: datetime, lead: timedelta) -> datetime | None:
        """When an order placed at ``local`` (local wall time) can be collected today.

        Returns the local instant (``max(local + lead, opening)``) if that is before the
        closing time of the same day, else ``None``.
        """
        day = self.days[local.weekday()]
        if day is None:
            return None
        ready = max(
            local + lead,
            local.replace(
                hour=day.opens.hour, minute=day.opens.minute, second=day.opens.second, microsecond=0
            ),
        )
        closes = datetime.combine(local.date(), day.closes, tzinfo=local.tzinfo)
        if ready.date() != local.date() or ready > closes:
            return None
        return ready


class LocationKind(StrEnum):
    """What a location is."""

    WAREHOUSE = "warehouse"
    STORE = "store"


class LocationCapability(StrEnum):
    """What a location can do for a customer."""

    SHIP_TO_HOME = "ship_to_home"
    PICK_UP = "pick_up"
    TRY_ON = "try_on"
    SHIP_FROM_STORE = "ship_from_store"
    RECEIVE_TRANSFERS = "receive_transfers"


def _to_capabilities(value: Any) -> frozenset[LocationCapability]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("capabilities", value, "must be an iterable of LocationCapability")
    result = set()
    for item in value:
        try:
            result.add(LocationCapability(item))
        except ValueError as exc:
            raise ValidationError("capabilities", item, "is not a LocationCapability") from exc
    return frozenset(result)


def _check_kind(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, LocationKind):
        raise InvalidTypeError(attribute.name, value, "must be a LocationKind")


def _check_zone(_instance: Any, attribute: Any, value: Any) -> None:
    zone(attribute.name, value)


def _check_position(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, GeoPoint):
        raise InvalidTypeError(attribute.name, value, "must be a GeoPoint")


def _check_hours(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, OpeningHours):
        raise InvalidTypeError(attribute.name, value, "must be OpeningHours")


def _check_name(_instance: Any, attribute: Any, value: Any) -> None:
    check_text(attribute.name, value, max_length=200)


def _check_lead(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0, maximum=24 * 60)


@attrs.frozen(kw_only=True)
class Location:
    """A warehouse or a store that holds stock.

    Attributes:
        id: the location id.
        name: a display name.
        kind: warehouse or store.
        position: where it is.
        time_zone: its IANA zone; opening hours are read in it.
        region: a host-defined region code ("kanto"); sourcing prefers the destination's.
        hours: opening hours (pick-up today is judged against them).
        capabilities: what it offers (ship to home, pick-up, try-on, ...).
        pickup_lead_minutes: how long it needs to prepare a pick-up.

    """

    id: str = attrs.field(validator=id_validator)
    name: str = attrs.field(validator=_check_name)
    kind: LocationKind = attrs.field(validator=_check_kind)
    position: GeoPoint = attrs.field(validator=_check_position)
    time_zone: str = attrs.field(validator=_check_zone)
    region: str = attrs.field(validator=id_validator)
    hours: OpeningHours = attrs.field(factory=OpeningHours.always, validator=_check_hours)
    capabilities: frozenset[LocationCapability] = attrs.field(
        factory=frozenset, converter=_to_capabilities
    )
    pickup_lead_minutes: int = attrs.field(default=60, validator=_check_lead)

    def can(self, capability: LocationCapability) -> bool:
        """Whether the location offers ``capability``."""
        return capability in self.capabilities

    @property
    def ships(self) -> bool:
        """Whether it can send a parcel (a warehouse shipping, or a store shipping)."""
        capability = (
            LocationCapability.SHIP_TO_HOME
            if self.kind is LocationKind.WAREHOUSE
            else LocationCapability.SHIP_FROM_STORE
        )
        return capability in self.capabilities

    def pickup_ready_today(self, now: datetime) -> datetime | None:
        """When a pick-up ordered at ``now`` is ready today in the store's zone, or ``None``."""
        if LocationCapability.PICK_UP not in self.capabilities:
            return None
        local = check_aware("now", now).astimezone(zone("time_zone", self.time_zone))
        return self.hours.ready_today(local, timedelta(minutes=self.pickup_lead_minutes))


def _check_buffer(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0, maximum=10**9)


@attrs.frozen
class ChannelLocation:
    """One location serving a channel, and the units that channel must leave there.

    Attributes:
        location_id: the location.
        buffer: units of each SKU this channel may not promise at this location (kept,
            say, for walk-in customers when the channel is EC).

    """

    location_id: str = attrs.field(validator=id_validator)
    buffer: int = attrs.field(default=0, validator=_check_buffer)


def _check_channel(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Channel):
        raise InvalidTypeError(attribute.name, value, "must be a Channel")


def _to_route_locations(value: Any) -> tuple[ChannelLocation, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("locations", value, "must be an iterable of ChannelLocation")
    items = tuple(ChannelLocation(v) if isinstance(v, str) else v for v in value)
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, ChannelLocation):
            raise InvalidTypeError("locations", item, "must be a ChannelLocation or an id")
        if item.location_id in seen:
            raise ValidationError("locations", item.location_id, "is listed twice")
        seen.add(item.location_id)
    return items


@attrs.frozen
class ChannelRoute:
    """The locations that may serve a channel, highest priority first.

    A location may serve many channels and a channel many locations (many-to-many).

    Attributes:
        channel: the channel (EC, app, store, a marketplace, ...).
        locations: :class:`ChannelLocation` entries (or bare ids), in priority order.

    """

    channel: Channel = attrs.field(validator=_check_channel)
    locations: tuple[ChannelLocation, ...] = attrs.field(
        factory=tuple, converter=_to_route_locations
    )

    def entry(self, location_id: str) -> ChannelLocation | None:
        """Return the entry for ``location_id``, or ``None`` if it does not serve the channel."""
        for item in self.locations:
            if item.location_id == location_id:
                return item
        return None


def _check_quantity(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=1, maximum=10**9)


@attrs.frozen
class KitComponent:
    """``quantity`` units of ``sku`` go into one kit."""

    sku: str = attrs.field(validator=id_validator)
    quantity: int = attrs.field(default=1, validator=_check_quantity)


def _to_components(value: Any) -> tuple[KitComponent, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError("components", value, "must be an iterable of KitComponent")
    merged: dict[str, int] = {}
    for item in value:
        if not isinstance(item, KitComponent):
            raise InvalidTypeError("components", item, "must be a KitComponent")
        merged[item.sku] = merged.get(item.sku, 0) + item.quantity
    return tuple(KitComponent(s, q) for s, q in sorted(merged.items()))


@attrs.frozen(kw_only=True)
class Item:
    """A sellable SKU; a kit lists its components and holds no stock of its own.

    Attributes:
        sku: the SKU.
        name: a display name.
        components: for a kit, its components (merged by SKU, sorted); empty otherwise.

    """

    sku: str = attrs.field(validator=id_validator)
    name: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    components: tuple[KitComponent, ...] = attrs.field(factory=tuple, converter=_to_components)

    def __attrs_post_init__(self) -> None:
        if any(c.sku == self.sku for c in self.components):
            raise ValidationError("components", self.sku, "a kit cannot contain itself")

    @property
    def is_kit(self) -> bool:
        """Whether this SKU is made of components."""
        return bool(self.components)
