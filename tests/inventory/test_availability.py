from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnicrm.channel import Channel
from omnicrm.errors import NotFoundError, ValidationError
from omnicrm.inventory import (
    ChannelRoute,
    GeoPoint,
    HoldKind,
    HoldLine,
    InventoryService,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
)
from omnicrm.testing import FixedClock

SHIBUYA_CROSSING = GeoPoint(35.6595, 139.7005)


def _stock(service: InventoryService) -> None:
    for n, (sku, loc, qty) in enumerate(
        [
            ("shirt", "wh-chiba", 4),
            ("shirt", "st-shibuya", 2),
            ("shirt", "st-shinjuku", 1),
            ("shirt", "st-umeda", 3),
            ("pants", "st-shibuya", 1),
            ("pants", "st-umeda", 2),
        ]
    ):
        service.receive(sku, loc, qty, idempotency_key=f"seed{n}")


def test_nearest_first_with_buffers_and_total(service: InventoryService) -> None:
    _stock(service)
    page = service.availability("shirt", channel=Channel.EC, near=SHIBUYA_CROSSING)
    # EC keeps one unit per store: Shinjuku (1 unit) drops out.
    assert [(r.location_id, r.quantity) for r in page.locations] == [
        ("st-shibuya", 1),
        ("wh-chiba", 4),
        ("st-umeda", 2),
    ]
    assert page.total == 7
    assert page.in_stock
    distances = [r.distance_km for r in page.locations]
    assert distances == sorted(d for d in distances if d is not None)
    assert page.locations[0].distance_km == 0.0
    app = service.availability("shirt", channel=Channel.APP, near=SHIBUYA_CROSSING)
    assert app.total == 10
    assert [r.location_id for r in app.locations][:2] == ["st-shibuya", "st-shinjuku"]


def test_without_a_point_by_channel_priority(service: InventoryService) -> None:
    _stock(service)
    page = service.availability("shirt", channel=Channel.APP)
    assert [r.priority for r in page.locations] == sorted(r.priority for r in page.locations)
    assert all(r.distance_km is None for r in page.locations)


def test_pickup_today_and_try_on(service: InventoryService, clock: FixedClock) -> None:
    _stock(service)
    page = service.availability("shirt", channel=Channel.APP, near=SHIBUYA_CROSSING)
    shibuya = page.locations[0]
    assert shibuya.pickup_today
    assert shibuya.try_on
    assert shibuya.ready_at == datetime(2026, 3, 2, 13, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    warehouse = next(r for r in page.locations if r.kind is LocationKind.WAREHOUSE)
    assert not warehouse.pickup_today
    assert not warehouse.try_on
    clock.advance(timedelta(hours=7, minutes=30))  # 19:30 in Tokyo: too late today
    late = service.availability("shirt", channel=Channel.APP, near=SHIBUYA_CROSSING)
    assert not any(r.pickup_today for r in late.locations)


def test_holds_and_kits_and_many_skus(service: InventoryService) -> None:
    _stock(service)
    service.hold(
        [HoldLine("shirt", "st-umeda", 2)],
        kind=HoldKind.CART,
        channel=Channel.APP,
        idempotency_key="h",
    )
    listing = service.availability_many(
        ["shirt", "pants", "setup", "belt"], channel=Channel.APP, near=SHIBUYA_CROSSING
    )
    assert listing["shirt"].total == 8
    # set-up = min(shirt, pants) per store: Shibuya 1, Umeda min(1, 2) = 1.
    assert [(r.location_id, r.quantity) for r in listing["setup"].locations] == [
        ("st-shibuya", 1),
        ("st-umeda", 1),
    ]
    assert listing["belt"].total == 0
    assert listing["belt"].locations == ()
    assert not listing["belt"].in_stock


def test_limit_and_include_empty(service: InventoryService) -> None:
    _stock(service)
    top = service.availability("shirt", channel=Channel.APP, near=SHIBUYA_CROSSING, limit=2)
    assert len(top.locations) == 2
    assert top.total == 10
    everything = service.availability("pants", channel=Channel.APP, include_empty=True)
    assert len(everything.locations) == 5
    with pytest.raises(ValidationError):
        service.availability("shirt", channel=Channel.APP, limit=0)


def test_unknown_sku_and_bad_point(service: InventoryService) -> None:
    with pytest.raises(NotFoundError):
        service.availability("hat", channel=Channel.APP)
    with pytest.raises(ValidationError):
        service.availability("shirt", channel=Channel.APP, near=(35, 139))  # type: ignore[arg-type]


def test_network_changes_are_seen(service: InventoryService) -> None:
    _stock(service)
    before = service.availability("shirt", channel=Channel.APP)
    popup = Location(
        id="st-popup",
        name="Pop-up",
        kind=LocationKind.STORE,
        position=GeoPoint(35.66, 139.71),
        time_zone="Asia/Tokyo",
        region="kanto",
        hours=OpeningHours.every_day(time(11), time(19)),
        capabilities={LocationCapability.PICK_UP},
    )
    service.save_location(popup, idempotency_key="popup")
    service.route_channel(ChannelRoute(Channel.APP, ("st-popup", "wh-chiba")), idempotency_key="r")
    service.receive("shirt", "st-popup", 5, idempotency_key="rp")
    after = service.availability("shirt", channel=Channel.APP)
    assert before.total == 10
    assert after.total == 9
    assert [r.location_id for r in after.locations] == ["st-popup", "wh-chiba"]


def test_a_channel_without_locations_has_nothing(service: InventoryService) -> None:
    _stock(service)
    page = service.availability_many(["shirt", "setup"], channel=Channel("marketplace"))
    assert page["shirt"].total == 0
    assert page["setup"].locations == ()
