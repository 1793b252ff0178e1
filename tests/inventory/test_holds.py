from datetime import timedelta

import pytest

from omnicrm.channel import Channel
from omnicrm.errors import NotFoundError, RuleViolationError, ValidationError
from omnicrm.inventory import (
    HoldChanged,
    HoldExpiredError,
    HoldKind,
    HoldLine,
    HoldPlaced,
    HoldStateError,
    HoldStatus,
    InsufficientStockError,
    InventoryService,
)
from omnicrm.testing import FixedClock

SHIRT = HoldLine("shirt", "st-shibuya", 1)


def _hold(service: InventoryService, *lines: HoldLine, key: str = "h", **kw: object) -> str:
    options: dict[str, object] = {"kind": HoldKind.CART, "channel": Channel.APP}
    options.update(kw)
    return service.hold(lines or (SHIRT,), idempotency_key=key, **options).value.id  # type: ignore[arg-type]


def test_hold_confirm_fulfil(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 3, idempotency_key="r")
    result = service.hold([SHIRT], kind=HoldKind.ORDER, channel=Channel.APP, idempotency_key="h")
    assert isinstance(result.events[0], HoldPlaced)
    hold_id = result.value.id
    assert service.level("shirt", "st-shibuya").held == 1
    confirmed = service.confirm(hold_id, idempotency_key="c")
    assert confirmed.value.status is HoldStatus.CONFIRMED
    assert isinstance(confirmed.events[0], HoldChanged)
    level = service.level("shirt", "st-shibuya")
    assert (level.held, level.committed, level.available()) == (0, 1, 2)
    assert service.confirm(hold_id, idempotency_key="c2").value.status is HoldStatus.CONFIRMED
    service.fulfil(hold_id, idempotency_key="f")
    level = service.level("shirt", "st-shibuya")
    assert (level.on_hand, level.committed) == (2, 0)
    assert service.rebuild() == service.levels()


def test_release_is_idempotent_and_confirming_it_is_refused(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 1, idempotency_key="r")
    hold_id = _hold(service)
    service.release(hold_id, idempotency_key="x1")
    assert service.release(hold_id, idempotency_key="x2").value.status is HoldStatus.RELEASED
    assert service.level("shirt", "st-shibuya").held == 0
    movements = len(service.movements())
    with pytest.raises(HoldStateError) as caught:
        service.confirm(hold_id, idempotency_key="c")
    assert caught.value.field == "hold_id"
    assert len(service.movements()) == movements


def test_releasing_a_confirmed_hold_frees_the_commitment(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 1, idempotency_key="r")
    hold_id = _hold(service)
    service.confirm(hold_id, idempotency_key="c")
    service.release(hold_id, idempotency_key="x")
    assert service.level("shirt", "st-shibuya").available() == 1
    with pytest.raises(HoldStateError):
        service.fulfil(hold_id, idempotency_key="f")


def test_expired_holds_give_stock_back(service: InventoryService, clock: FixedClock) -> None:
    service.receive("shirt", "st-shibuya", 1, idempotency_key="r")
    hold_id = _hold(service, kind=HoldKind.TRY_ON, expires_at=clock.now() + timedelta(hours=2))
    clock.advance(timedelta(hours=1))
    assert service.expire_holds(clock.now()) == ()
    clock.advance(timedelta(hours=1))
    with pytest.raises(HoldExpiredError):
        service.confirm(hold_id, idempotency_key="late")
    (expired,) = service.expire_holds(clock.now())
    assert expired.id == hold_id
    assert expired.status is HoldStatus.EXPIRED
    assert service.expire_holds(clock.now()) == ()
    assert service.level("shirt", "st-shibuya").available() == 1
    assert service.release(hold_id, idempotency_key="x").value.status is HoldStatus.EXPIRED
    with pytest.raises(HoldStateError):
        service.confirm(hold_id, idempotency_key="c")


def test_a_new_hold_sweeps_lapsed_ones_first(service: InventoryService, clock: FixedClock) -> None:
    service.receive("shirt", "st-shibuya", 1, idempotency_key="r")
    first = _hold(service, key="h1")
    clock.advance(timedelta(hours=1))  # carts last 30 minutes
    second = _hold(service, key="h2")
    assert service.get_hold(first).status is HoldStatus.EXPIRED
    assert service.get_hold(second).status is HoldStatus.ACTIVE


def test_batch_is_atomic_and_cumulative(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 2, idempotency_key="r1")
    service.receive("pants", "st-shibuya", 1, idempotency_key="r2")
    pants = HoldLine("pants", "st-shibuya", 1)
    with pytest.raises(InsufficientStockError):  # 3 shirts over two lines: only 2
        _hold(service, HoldLine("shirt", "st-shibuya", 2), pants, SHIRT)
    assert service.level("shirt", "st-shibuya").held == 0
    assert service.level("pants", "st-shibuya").held == 0
    with pytest.raises(InsufficientStockError):  # 2 set-ups need 2 trousers
        _hold(service, HoldLine("setup", "st-shibuya", 2), key="k")
    assert service.level("shirt", "st-shibuya").held == 0
    hold_id = _hold(service, HoldLine("setup", "st-shibuya", 1), SHIRT, key="ok")
    hold = service.get_hold(hold_id)
    assert hold.lines == (pants, HoldLine("shirt", "st-shibuya", 2))


def test_channel_buffer_keeps_units_for_walk_ins(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 2, idempotency_key="r")
    _hold(service, kind=HoldKind.CART, channel=Channel.EC, key="ec1")
    with pytest.raises(InsufficientStockError):  # EC must leave one unit in the store
        _hold(service, kind=HoldKind.CART, channel=Channel.EC, key="ec2")
    _hold(service, kind=HoldKind.CART, channel=Channel.STORE, key="walk-in")


def test_hold_rules_and_bad_input_write_nothing(
    service: InventoryService, clock: FixedClock
) -> None:
    service.receive("shirt", "wh-chiba", 2, idempotency_key="r")
    service.receive("shirt", "st-shibuya", 2, idempotency_key="r2")
    before = len(service.movements())
    with pytest.raises(RuleViolationError):  # a warehouse offers no try-on
        _hold(service, HoldLine("shirt", "wh-chiba", 1), kind=HoldKind.TRY_ON)
    with pytest.raises(RuleViolationError):  # the store channel is not served by the warehouse
        _hold(service, HoldLine("shirt", "wh-chiba", 1), channel=Channel.STORE)
    with pytest.raises(ValidationError) as caught:
        _hold(service, expires_at=clock.now() - timedelta(seconds=1))
    assert caught.value.field == "expires_at"
    with pytest.raises(ValidationError):
        _hold(service, expires_at=clock.now())
    with pytest.raises(NotFoundError):
        _hold(service, HoldLine("hat", "st-shibuya", 1))
    with pytest.raises(NotFoundError):
        _hold(service, HoldLine("shirt", "nowhere", 1))
    with pytest.raises(ValidationError):
        service.hold([], kind=HoldKind.CART, channel=Channel.APP, idempotency_key="e")
    with pytest.raises(NotFoundError):
        service.confirm("hold_missing", idempotency_key="c")
    assert len(service.movements()) == before
    assert service.level("shirt", "st-shibuya").held == 0


def test_hold_retry_returns_the_same_hold(service: InventoryService) -> None:
    service.receive("shirt", "st-shibuya", 2, idempotency_key="r")
    first = _hold(service, key="same")
    assert _hold(service, key="same") == first
    assert service.level("shirt", "st-shibuya").held == 1


def test_lines_must_be_an_iterable_of_hold_lines(service: InventoryService) -> None:
    from omnicrm.errors import InvalidTypeError

    with pytest.raises(InvalidTypeError):
        service.hold(5, kind=HoldKind.CART, channel=Channel.APP, idempotency_key="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        service.hold(["shirt"], kind=HoldKind.CART, channel=Channel.APP, idempotency_key="x")  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError):
        service.hold([SHIRT], kind="cart", channel=Channel.APP, idempotency_key="x")  # type: ignore[arg-type]
