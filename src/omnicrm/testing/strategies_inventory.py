"""Hypothesis strategies and a small sample network for the inventory capability.

Importing this module registers strategies for :class:`~omnicrm.inventory.GeoPoint`,
:class:`~omnicrm.inventory.OpeningHours`, :class:`~omnicrm.inventory.Location`,
:class:`~omnicrm.inventory.HoldLine` and :class:`~omnicrm.inventory.OrderLine` with
``st.register_type_strategy``. :func:`tokyo_network` and :func:`tokyo_items` (from
:mod:`omnicrm.testing.inventory_sample`, which needs no hypothesis) are re-exported.
"""

from __future__ import annotations

from datetime import time

from hypothesis import strategies as st

from omnicrm.inventory.holds import HoldLine
from omnicrm.inventory.model import (
    DailyHours,
    GeoPoint,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
)
from omnicrm.inventory.sourcing import OrderLine
from omnicrm.money import Money
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network

__all__ = [
    "daily_hours",
    "geo_points",
    "hold_lines",
    "locations",
    "opening_hours",
    "order_lines",
    "skus",
    "tokyo_items",
    "tokyo_network",
]

_ZONES = ("Asia/Tokyo", "UTC", "America/New_York", "Europe/London", "Australia/Sydney")


def geo_points() -> st.SearchStrategy[GeoPoint]:
    """Any position on the globe, poles and the antimeridian included."""
    return st.builds(
        GeoPoint,
        st.floats(-90, 90, allow_nan=False, allow_infinity=False),
        st.floats(-180, 180, allow_nan=False, allow_infinity=False),
    )


def daily_hours() -> st.SearchStrategy[DailyHours]:
    """Opening hours of one day (opening before closing)."""
    return (
        st.tuples(st.integers(0, 22), st.integers(1, 23))
        .filter(lambda t: t[0] < t[1])
        .map(lambda t: DailyHours(time(t[0]), time(t[1])))
    )


def opening_hours() -> st.SearchStrategy[OpeningHours]:
    """A week of opening hours, some days closed."""
    return st.lists(st.none() | daily_hours(), min_size=7, max_size=7).map(OpeningHours)


def skus() -> st.SearchStrategy[str]:
    """SKU codes such as ``SKU-0042``."""
    return st.integers(0, 9999).map(lambda n: f"SKU-{n:04d}")


def locations() -> st.SearchStrategy[Location]:
    """Warehouses and stores anywhere, in assorted zones, with assorted capabilities."""
    return st.builds(
        Location,
        id=st.integers(0, 999).map(lambda n: f"loc-{n:03d}"),
        name=st.sampled_from(["渋谷店", "Shinjuku", "Osaka DC", "O'Hare"]),
        kind=st.sampled_from(LocationKind),
        position=geo_points(),
        time_zone=st.sampled_from(_ZONES),
        region=st.sampled_from(["kanto", "kansai", "overseas"]),
        hours=opening_hours(),
        capabilities=st.frozensets(st.sampled_from(LocationCapability)),
        pickup_lead_minutes=st.integers(0, 240),
    )


def hold_lines() -> st.SearchStrategy[HoldLine]:
    """Hold lines of small quantities."""
    return st.builds(
        HoldLine, skus(), st.integers(0, 999).map(lambda n: f"loc-{n:03d}"), st.integers(1, 5)
    )


def order_lines(currency: str = "JPY") -> st.SearchStrategy[OrderLine]:
    """Order lines priced in ``currency``."""
    return st.builds(
        OrderLine,
        skus(),
        st.integers(1, 5),
        st.integers(0, 100_000).map(lambda a: Money(a, currency)),
    )


st.register_type_strategy(GeoPoint, geo_points())
st.register_type_strategy(OpeningHours, opening_hours())
st.register_type_strategy(Location, locations())
st.register_type_strategy(HoldLine, hold_lines())
st.register_type_strategy(OrderLine, order_lines())
