"""The result of an inventory command and how results are stored for idempotent replays."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from omnicrm.channel import Channel
from omnicrm.events import DomainEvent
from omnicrm.inventory.codec import (
    dumps,
    hold_from_data,
    hold_json,
    item_from_data,
    item_to_data,
    level_from_data,
    level_to_data,
    location_from_data,
    location_to_data,
)
from omnicrm.inventory.holds import Hold
from omnicrm.inventory.model import ChannelLocation, ChannelRoute, Item, Location
from omnicrm.inventory.stock import StockLevel

__all__ = ["CODECS", "Codec", "InventoryResult"]

T = TypeVar("T")


@attrs.frozen
class InventoryResult(Generic[T]):
    """A command's value and the events its commit released (none on a replay).

    Attributes:
        value: what the command produced (levels, a hold, a location, ...).
        events: the domain events of the commit.
        replayed: ``True`` when an earlier run with the same idempotency key answered.

    """

    value: T
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False


@attrs.frozen
class Codec(Generic[T]):
    """Encodes a command's value as text and back."""

    encode: Callable[[T], str]
    decode: Callable[[str], T]


def _levels_codec() -> Codec[tuple[StockLevel, ...]]:
    return Codec(
        lambda levels: dumps([level_to_data(lv) for lv in levels]),
        lambda text: tuple(level_from_data(d) for d in json.loads(text)),
    )


def _codec(to: Callable[[Any], Any], back: Callable[[Any], T]) -> Codec[T]:
    return Codec(lambda value: dumps(to(value)), lambda text: back(json.loads(text)))


def _route_to(route: ChannelRoute) -> Any:
    return [route.channel.name, [[e.location_id, e.buffer] for e in route.locations]]


def _route_from(data: Any) -> ChannelRoute:
    return ChannelRoute(Channel(data[0]), tuple(ChannelLocation(i, b) for i, b in data[1]))


class CODECS:
    """The codecs of the service's commands."""

    levels = _levels_codec()
    hold: Codec[Hold] = Codec(hold_json, lambda text: hold_from_data(json.loads(text)))
    location: Codec[Location] = _codec(location_to_data, location_from_data)
    item: Codec[Item] = _codec(item_to_data, item_from_data)
    route: Codec[ChannelRoute] = _codec(_route_to, _route_from)
