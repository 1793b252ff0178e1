import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.inventory import (
    ChannelLocation,
    ChannelRoute,
    DailyHours,
    GeoPoint,
    Hold,
    HoldKind,
    HoldLine,
    Item,
    KitComponent,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
    OrderLine,
    StockLevel,
)
from omnicrm.inventory.codec import (
    hold_from_data,
    hold_to_data,
    location_from_data,
    location_to_data,
)
from omnicrm.testing.strategies_inventory import locations

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [(90.01, 0, "latitude"), (-91, 0, "latitude"), (0, 180.5, "longitude"),
     (math.nan, 0, "latitude"), (0, math.inf, "longitude")],
)  # fmt: skip
def test_position_off_the_globe_is_refused(lat: float, lon: float, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GeoPoint(lat, lon)
    assert caught.value.field == field


def test_position_must_be_numbers() -> None:
    with pytest.raises(InvalidTypeError):
        GeoPoint("35.6", 139.7)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        GeoPoint(True, 0)  # type: ignore[arg-type]
    assert GeoPoint(90, -180) == GeoPoint(90.0, -180.0)


def test_hours_must_open_before_closing() -> None:
    with pytest.raises(ValidationError) as caught:
        DailyHours(time(20), time(10))
    assert caught.value.field == "closes"
    with pytest.raises(ValidationError):
        OpeningHours((None,) * 6)
    with pytest.raises(ValidationError):
        DailyHours(time(9, tzinfo=UTC), time(10))


def _store(**changes: object) -> Location:
    fields: dict[str, object] = {
        "id": "st-1",
        "name": "Shibuya",
        "kind": LocationKind.STORE,
        "position": GeoPoint(35.66, 139.70),
        "time_zone": "Asia/Tokyo",
        "region": "kanto",
        "hours": OpeningHours.every_day(time(10), time(20)),
        "capabilities": {LocationCapability.PICK_UP},
    }
    fields.update(changes)
    return Location(**fields)  # type: ignore[arg-type]


def test_location_validates_zone_and_capabilities() -> None:
    with pytest.raises(ValidationError) as caught:
        _store(time_zone="Mars/Olympus")
    assert caught.value.field == "time_zone"
    with pytest.raises(ValidationError):
        _store(capabilities={"teleport"})
    with pytest.raises(InvalidTypeError):
        _store(kind="store")
    assert _store(capabilities=["pick_up"]).can(LocationCapability.PICK_UP)


@pytest.mark.parametrize(
    ("local", "ready"),
    [
        (datetime(2026, 3, 2, 12, 0), datetime(2026, 3, 2, 13, 0)),
        (datetime(2026, 3, 2, 8, 0), datetime(2026, 3, 2, 10, 0)),  # before opening
        (datetime(2026, 3, 2, 19, 0), datetime(2026, 3, 2, 20, 0)),  # just in time
        (datetime(2026, 3, 2, 19, 1), None),  # too late today
    ],
)
def test_pickup_today_is_judged_in_the_store_zone(local: datetime, ready: datetime | None) -> None:
    now = local.replace(tzinfo=TOKYO).astimezone(UTC)  # the clock speaks UTC
    got = _store().pickup_ready_today(now)
    assert got == (None if ready is None else ready.replace(tzinfo=TOKYO))


def test_pickup_today_respects_closed_days_and_capability() -> None:
    sunday_closed = OpeningHours((*(DailyHours(time(10), time(20)),) * 6, None))
    sunday_noon = datetime(2026, 3, 1, 12, tzinfo=TOKYO)
    assert _store(hours=sunday_closed).pickup_ready_today(sunday_noon) is None
    assert _store(capabilities=()).pickup_ready_today(sunday_noon) is None
    new_york = _store(time_zone="America/New_York")
    # 12:00 in Tokyo is 22:00 the day before in New York: closed.
    assert new_york.pickup_ready_today(datetime(2026, 3, 2, 12, tzinfo=TOKYO)) is None


def test_route_refuses_duplicates_and_accepts_ids() -> None:
    route = ChannelRoute(Channel.EC, ("a", ChannelLocation("b", 2)))
    assert route.entry("b") == ChannelLocation("b", 2)
    assert route.entry("zz") is None
    with pytest.raises(ValidationError):
        ChannelRoute(Channel.EC, ("a", "a"))
    with pytest.raises(ValidationError):
        ChannelLocation("a", -1)


def test_kits_merge_components_and_cannot_contain_themselves() -> None:
    kit = Item(sku="k", components=(KitComponent("b"), KitComponent("a", 2), KitComponent("b")))
    assert kit.components == (KitComponent("a", 2), KitComponent("b", 2))
    assert kit.is_kit
    assert not Item(sku="a").is_kit
    with pytest.raises(ValidationError):
        Item(sku="k", components=(KitComponent("k"),))
    with pytest.raises(ValidationError):
        KitComponent("a", 0)


def test_stock_level_available_is_never_negative() -> None:
    level = StockLevel(sku="s", location_id="l", on_hand=3, held=2, committed=2, safety_stock=1)
    assert level.available() == 0
    assert StockLevel(sku="s", location_id="l", on_hand=9, held=2).available(buffer=3) == 4
    with pytest.raises(ValidationError):
        StockLevel(sku="s", location_id="l", on_hand=-1)


def test_hold_merges_lines_and_needs_one() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    hold = Hold(
        id="h",
        kind=HoldKind.CART,
        channel=Channel.EC,
        lines=(HoldLine("s", "l", 1), HoldLine("s", "l", 2), HoldLine("a", "l", 1)),
        created_at=at,
        expires_at=at + timedelta(minutes=5),
        updated_at=at,
    )
    assert hold.lines == (HoldLine("a", "l", 1), HoldLine("s", "l", 3))
    assert hold.quantity == 4
    assert hold_from_data(hold_to_data(hold)) == hold
    with pytest.raises(ValidationError):
        Hold(
            id="h", kind=HoldKind.CART, channel=Channel.EC, lines=(),
            created_at=at, expires_at=at, updated_at=at,
        )  # fmt: skip
    with pytest.raises(ValidationError):
        HoldLine("s", "l", 0)


@given(locations())
def test_location_codec_round_trips(location: Location) -> None:
    assert location_from_data(location_to_data(location)) == location


@given(st.from_type(Location), st.from_type(GeoPoint), st.from_type(OrderLine))
def test_strategies_are_registered_for_from_type(
    location: Location, point: GeoPoint, line: OrderLine
) -> None:
    assert isinstance(location, Location)
    assert -90 <= point.latitude <= 90
    assert line.quantity >= 1
