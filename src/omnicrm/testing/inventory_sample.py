"""A small ready-made inventory network: a warehouse and four stores around Tokyo and Osaka.

Used by the contract suite, the tests and the example; it needs nothing beyond omnicrm.
"""

from __future__ import annotations

from datetime import time

from omnicrm.channel import Channel
from omnicrm.inventory.model import (
    ChannelLocation,
    ChannelRoute,
    GeoPoint,
    Item,
    KitComponent,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
)

__all__ = ["tokyo_items", "tokyo_network"]

_STORE_CAPS = (
    LocationCapability.PICK_UP,
    LocationCapability.TRY_ON,
    LocationCapability.SHIP_FROM_STORE,
    LocationCapability.RECEIVE_TRANSFERS,
)


def tokyo_network() -> tuple[tuple[Location, ...], tuple[ChannelRoute, ...]]:
    """A warehouse and four stores around Tokyo and Osaka, routed for EC, app and store.

    EC and app are served by the warehouse first, then the stores; EC keeps a buffer of
    one unit in every store for walk-in customers. Stores open 10:00-20:00 Tokyo time.
    """
    hours = OpeningHours.every_day(time(10), time(20))
    wh = Location(
        id="wh-chiba",
        name="Chiba DC",
        kind=LocationKind.WAREHOUSE,
        position=GeoPoint(35.6074, 140.1065),
        time_zone="Asia/Tokyo",
        region="kanto",
        capabilities={LocationCapability.SHIP_TO_HOME, LocationCapability.RECEIVE_TRANSFERS},
    )
    stores = tuple(
        Location(
            id=i,
            name=n,
            kind=LocationKind.STORE,
            position=GeoPoint(lat, lon),
            time_zone="Asia/Tokyo",
            region=r,
            hours=hours,
            capabilities=_STORE_CAPS,
        )
        for i, n, lat, lon, r in (
            ("st-shibuya", "Shibuya", 35.6595, 139.7005, "kanto"),
            ("st-shinjuku", "Shinjuku", 35.6909, 139.7003, "kanto"),
            ("st-yokohama", "Yokohama", 35.4658, 139.6223, "kanto"),
            ("st-umeda", "Umeda", 34.7025, 135.4959, "kansai"),
        )
    )
    ids = [wh.id, *(s.id for s in stores)]
    routes = (
        ChannelRoute(
            Channel.EC, (ChannelLocation(wh.id), *(ChannelLocation(s.id, 1) for s in stores))
        ),
        ChannelRoute(Channel.APP, tuple(ids)),
        ChannelRoute(Channel.STORE, tuple(s.id for s in stores)),
    )
    return (wh, *stores), routes


def tokyo_items() -> tuple[Item, ...]:
    """A shirt, trousers, a belt and a "set-up" kit of shirt + trousers."""
    return (
        Item(sku="shirt", name="Oxford shirt"),
        Item(sku="pants", name="Chino trousers"),
        Item(sku="belt", name="Leather belt"),
        Item(sku="setup", name="Set-up", components=(KitComponent("shirt"), KitComponent("pants"))),
    )
