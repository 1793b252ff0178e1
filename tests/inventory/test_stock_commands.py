from datetime import date, time

import pytest

from omnicrm.errors import (
    IdempotencyConflictError,
    InvalidTypeError,
    NotFoundError,
    RuleViolationError,
    ValidationError,
)
from omnicrm.inventory import (
    GeoPoint,
    InsufficientStockError,
    InventoryService,
    Item,
    KitComponent,
    Location,
    LocationKind,
    MovementReason,
    OpeningHours,
    StockMoved,
)


def test_receive_records_a_movement_and_an_event(service: InventoryService) -> None:
    result = service.receive("shirt", "wh-chiba", 5, reference="PO-1", idempotency_key="r1")
    (level,) = result.value
    assert (level.on_hand, level.available()) == (5, 5)
    (event,) = result.events
    assert isinstance(event, StockMoved)
    assert event.available == 5
    (movement,) = service.movements("shirt", "wh-chiba")
    assert (movement.reason, movement.on_hand, movement.reference) == (
        MovementReason.RECEIVE, 5, "PO-1",
    )  # fmt: skip
    assert movement.idempotency_key == "r1"


def test_a_retry_replays_and_a_changed_retry_conflicts(service: InventoryService) -> None:
    first = service.receive("shirt", "wh-chiba", 5, idempotency_key="r1")
    again = service.receive("shirt", "wh-chiba", 5, idempotency_key="r1")
    assert again.replayed
    assert again.value == first.value
    assert again.events == ()
    assert service.level("shirt", "wh-chiba").on_hand == 5
    with pytest.raises(IdempotencyConflictError):
        service.receive("shirt", "wh-chiba", 6, idempotency_key="r1")
    assert len(service.movements()) == 1


def test_expected_stock_is_consumed_by_the_receipt(service: InventoryService) -> None:
    service.expect("shirt", "wh-chiba", 10, expected_on=date(2026, 4, 1), idempotency_key="e")
    level = service.level("shirt", "wh-chiba")
    assert (level.incoming, level.expected_on, level.available()) == (10, date(2026, 4, 1), 0)
    service.receive("shirt", "wh-chiba", 4, idempotency_key="r")
    level = service.level("shirt", "wh-chiba")
    assert (level.on_hand, level.incoming) == (4, 6)
    service.receive("shirt", "wh-chiba", 8, idempotency_key="r2")
    level = service.level("shirt", "wh-chiba")
    assert (level.on_hand, level.incoming, level.expected_on) == (12, 0, None)


def test_sell_return_adjust_and_safety_stock(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 5, idempotency_key="r")
    service.sell("shirt", "st-shibuya", 2, idempotency_key="s")
    service.return_to_stock("shirt", "st-shibuya", 1, idempotency_key="ret")
    service.adjust("shirt", "st-shibuya", counted=3, reference="count-7", idempotency_key="a")
    service.set_safety_stock("shirt", "st-shibuya", 1, idempotency_key="ss")
    level = service.level("shirt", "st-shibuya")
    assert (level.on_hand, level.safety_stock, level.available()) == (3, 1, 2)
    reasons = [m.reason for m in service.movements("shirt", "st-shibuya")]
    assert reasons == [
        MovementReason.RECEIVE, MovementReason.SELL, MovementReason.RETURN,
        MovementReason.ADJUST, MovementReason.SAFETY_STOCK,
    ]  # fmt: skip
    assert service.rebuild() == service.levels()
    with pytest.raises(InsufficientStockError):
        service.sell("shirt", "st-shibuya", 4, idempotency_key="s2")


def test_transfer_moves_only_free_units(service: InventoryService) -> None:
    service.receive("shirt", "wh-chiba", 5, idempotency_key="r")
    service.set_safety_stock("shirt", "wh-chiba", 1, idempotency_key="ss")
    out, into = service.transfer("shirt", "wh-chiba", "st-umeda", 4, idempotency_key="t").value
    assert (out.on_hand, into.on_hand) == (1, 4)
    with pytest.raises(InsufficientStockError):
        service.transfer("shirt", "wh-chiba", "st-umeda", 1, idempotency_key="t2")
    with pytest.raises(ValidationError):
        service.transfer("shirt", "st-umeda", "st-umeda", 1, idempotency_key="t3")
    assert service.rebuild() == service.levels()


def test_transfer_needs_a_receiving_location(service: InventoryService) -> None:
    outlet = Location(
        id="outlet",
        name="Outlet",
        kind=LocationKind.STORE,
        position=GeoPoint(35.0, 139.0),
        time_zone="Asia/Tokyo",
        region="kanto",
        hours=OpeningHours.every_day(time(10), time(18)),
    )
    service.save_location(outlet, idempotency_key="o")
    service.receive("shirt", "wh-chiba", 2, idempotency_key="r")
    with pytest.raises(RuleViolationError) as caught:
        service.transfer("shirt", "wh-chiba", "outlet", 1, idempotency_key="t")
    assert caught.value.field == "to_location_id"


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "2", 10**10])
def test_bad_quantities_are_refused_and_nothing_is_written(
    service: InventoryService, quantity: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        service.receive("shirt", "wh-chiba", quantity, idempotency_key="r")  # type: ignore[arg-type]
    assert caught.value.field == "quantity"
    assert service.movements() == ()


def test_unknown_sku_and_location_are_not_found(service: InventoryService) -> None:
    with pytest.raises(NotFoundError) as caught:
        service.receive("hat", "wh-chiba", 1, idempotency_key="r")
    assert (caught.value.kind, caught.value.key) == ("sku", "hat")
    with pytest.raises(NotFoundError) as caught:
        service.receive("shirt", "mars", 1, idempotency_key="r")
    assert caught.value.kind == "location"
    with pytest.raises(RuleViolationError):
        service.receive("setup", "wh-chiba", 1, idempotency_key="r")  # a kit holds no stock
    with pytest.raises(ValidationError):
        service.receive("shirt", "wh-chiba", 1, idempotency_key=" ")
    with pytest.raises(InvalidTypeError):
        service.receive("shirt", "wh-chiba", 1, idempotency_key=7)  # type: ignore[arg-type]
    assert service.movements() == ()
    assert service.levels() == {}


def test_kit_definitions_need_known_plain_components(service: InventoryService) -> None:
    with pytest.raises(NotFoundError):
        service.define_item(
            Item(sku="k2", components=(KitComponent("ghost"),)), idempotency_key="k2"
        )
    with pytest.raises(RuleViolationError):
        service.define_item(
            Item(sku="k3", components=(KitComponent("setup"),)), idempotency_key="k3"
        )


def test_routes_need_known_locations(service: InventoryService) -> None:
    from omnicrm.channel import Channel
    from omnicrm.inventory import ChannelRoute

    with pytest.raises(NotFoundError):
        service.route_channel(
            ChannelRoute(Channel("marketplace"), ("nowhere",)), idempotency_key="m"
        )
