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
    empty = [r for r in everything.locations if r.quantity == 0]
    assert empty
    assert not any(r.pickup_today or r.ready_at for r in empty)
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


def test_availability_equals_a_naive_reference() -> None:
    from datetime import UTC

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from omnicrm.inventory import haversine_km
    from omnicrm.persistence.memory import MemoryStore
    from omnicrm.testing import SequentialIds
    from omnicrm.testing.strategies_inventory import geo_points, tokyo_items, tokyo_network

    locations, routes = tokyo_network()
    by_id = {loc.id: loc for loc in locations}

    @settings(max_examples=25, deadline=None)
    @given(
        stock=st.lists(
            st.tuples(
                st.sampled_from(["shirt", "pants"]),
                st.sampled_from(sorted(by_id)),
                st.integers(1, 4),
                st.integers(0, 2),
            ),
            max_size=10,
        ),
        near=geo_points(),
        channel=st.sampled_from([Channel.EC, Channel.APP, Channel.STORE]),
    )
    def check(stock: list[tuple[str, str, int, int]], near: GeoPoint, channel: Channel) -> None:
        service = InventoryService(
            MemoryStore(), FixedClock(datetime(2026, 3, 2, 3, tzinfo=UTC)), SequentialIds()
        )
        for loc in locations:
            service.save_location(loc, idempotency_key=loc.id)
        for route in routes:
            service.route_channel(route, idempotency_key=route.channel.name)
        for item in tokyo_items():
            service.define_item(item, idempotency_key=item.sku)
        for n, (sku, loc, qty, safety) in enumerate(stock):
            service.receive(sku, loc, qty, idempotency_key=f"r{n}")
            service.set_safety_stock(sku, loc, safety, idempotency_key=f"s{n}")
        route = next(r for r in routes if r.channel == channel)
        page = service.availability_many(["shirt", "setup"], channel=channel, near=near)
        for sku in ("shirt", "setup"):
            expected = []
            for entry in route.locations:
                parts = ["shirt", "pants"] if sku == "setup" else [sku]
                qty = min(
                    service.level(p, entry.location_id).available(entry.buffer) for p in parts
                )
                if qty > 0:
                    km = haversine_km(near, by_id[entry.location_id].position)
                    expected.append((entry.location_id, qty, round(km, 3)))
            got = [(r.location_id, r.quantity, r.distance_km) for r in page[sku].locations]
            assert sorted(got) == sorted(expected)
            assert [r.distance_km for r in page[sku].locations] == sorted(e[2] for e in expected)
            assert page[sku].total == sum(e[1] for e in expected)

    check()
