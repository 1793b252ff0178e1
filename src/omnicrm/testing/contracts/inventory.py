"""The inventory repositories contract: what every backend must do with stock and holds."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from omnicrm.channel import Channel
from omnicrm.errors import DuplicateError, NotFoundError
from omnicrm.inventory import (
    ChannelLocation,
    ChannelRoute,
    Hold,
    HoldKind,
    HoldLine,
    HoldStatus,
    InsufficientStockError,
    InventoryService,
    Item,
    KitComponent,
    Movement,
    MovementReason,
    StockLevel,
    replay,
)
from omnicrm.inventory.ports import InventoryStore
from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts.inventory_machine import InventoryStoreComparison
from omnicrm.testing.fakes import FixedClock
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network
from omnicrm.unit_of_work import Capability

__all__ = ["InventoryContract"]

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Monday 12:00 in Tokyo
_SEQ = iter(range(1, 10**9))


def _movement(sku: str = "shirt", loc: str = "st-shibuya", **deltas: Any) -> Movement:
    reason = deltas.pop("reason", MovementReason.RECEIVE)
    return Movement(
        id=f"mov-{next(_SEQ)}",
        sku=sku,
        location_id=loc,
        reason=reason,
        idempotency_key="k",
        occurred_at=T0,
        **deltas,
    )


def _hold(hold_id: str, *, expires: timedelta = timedelta(hours=1), **changes: Any) -> Hold:
    hold = Hold(
        id=hold_id,
        kind=HoldKind.CART,
        channel=Channel.EC,
        lines=(HoldLine("shirt", "st-shibuya", 1),),
        created_at=T0,
        expires_at=T0 + expires,
        updated_at=T0,
    )
    return attrs.evolve(hold, **changes)


def seed(store: InventoryStore, units: int) -> InventoryService:
    """Load the Tokyo sample network and ``units`` shirts at Shibuya; return a service."""
    service = InventoryService(store, FixedClock(T0))
    locations, routes = tokyo_network()
    for location in locations:
        service.save_location(location, idempotency_key=f"seed-{location.id}")
    for route in routes:
        service.route_channel(route, idempotency_key=f"seed-{route.channel}")
    for item in tokyo_items():
        service.define_item(item, idempotency_key=f"seed-{item.sku}")
    if units:
        service.receive("shirt", "st-shibuya", units, idempotency_key="seed-stock")
    return service


def _grab(store: InventoryStore, tag: str, attempts: int, barrier: Any) -> list[str]:
    """Try ``attempts`` one-unit holds of the last shirts; return the ids of the holds won."""
    service = InventoryService(store, FixedClock(T0))
    barrier.wait(timeout=60)
    won = []
    for n in range(attempts):
        try:
            result = service.hold(
                [HoldLine("shirt", "st-shibuya", 1)],
                kind=HoldKind.CART,
                channel=Channel.APP,
                idempotency_key=f"{tag}-{n}",
            )
        except InsufficientStockError:
            continue
        won.append(result.value.id)
    return won


def _grab_in_process(store: InventoryStore, tag: str, barrier: Any, out: Any) -> None:
    won: list[str] = []
    threads = [
        threading.Thread(target=lambda t=t: won.extend(_grab(store, f"{tag}{t}", 3, barrier)))
        for t in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    out.put(won)


def _check_no_oversell(store: InventoryStore, won: list[str], units: int) -> None:
    assert len(won) == len(set(won)) == units  # every unit promised once, none lost
    service = InventoryService(store, FixedClock(T0))
    level = service.level("shirt", "st-shibuya")
    assert (level.on_hand, level.held) == (units, units)
    assert level.available() == 0
    for hold_id in won:
        assert service.get_hold(hold_id).status is HoldStatus.ACTIVE
    assert service.rebuild() == service.levels()


class InventoryContract(StoreContract):
    """Every behaviour of the inventory repositories and of holds racing on them."""

    def test_locations_put_get_and_version(self, store: InventoryStore) -> None:
        locations, _ = tokyo_network()
        with store.unit_of_work() as uow:
            before = uow.locations.network_version()
            for location in locations:
                uow.locations.put(location)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.locations.network_version() > before
            assert uow.locations.get("st-umeda") == locations[-1]
            assert [loc.id for loc in uow.locations.all()] == sorted(loc.id for loc in locations)
            assert sorted(uow.locations.get_many(["st-umeda", "nowhere", "wh-chiba"])) == [
                "st-umeda",
                "wh-chiba",
            ]
            with pytest.raises(NotFoundError):
                uow.locations.get("nowhere")

    def test_routes_keep_priority_and_buffers(self, store: InventoryStore) -> None:
        route = ChannelRoute(Channel.EC, (ChannelLocation("b", 2), ChannelLocation("a")))
        with store.unit_of_work() as uow:
            version = uow.locations.network_version()
            uow.channel_routes.put(route)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.channel_routes.get(Channel.EC) == route
            assert uow.channel_routes.entry(Channel.EC, "b") == ChannelLocation("b", 2)
            assert uow.channel_routes.entry(Channel.EC, "zz") is None
            assert uow.channel_routes.get(Channel.APP) == ChannelRoute(Channel.APP)
            assert uow.locations.network_version() > version
            uow.channel_routes.put(ChannelRoute(Channel.EC, ("a",)))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.channel_routes.get(Channel.EC).locations == (ChannelLocation("a"),)

    def test_items_and_kits_round_trip(self, store: InventoryStore) -> None:
        kit = Item(sku="kit", name="Set 'A'", components=(KitComponent("x", 2),))
        with store.unit_of_work() as uow:
            uow.items.put(Item(sku="x"))
            uow.items.put(kit)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get("kit") == kit
            assert sorted(uow.items.get_many(["x", "kit", "nope"])) == ["kit", "x"]
            with pytest.raises(NotFoundError):
                uow.items.get("nope")

    def test_apply_records_level_and_movement(self, store: InventoryStore) -> None:
        with store.unit_of_work() as uow:
            assert uow.stock.get("shirt", "st-shibuya") == StockLevel(
                sku="shirt", location_id="st-shibuya"
            )
            uow.stock.apply(_movement(on_hand=5))
            expect = _movement(
                incoming=3, expected_on=date(2026, 4, 1), reason=MovementReason.EXPECT
            )
            level = uow.stock.apply(expect)
            uow.commit()
        assert level is not None
        assert (level.on_hand, level.incoming, level.expected_on) == (5, 3, date(2026, 4, 1))
        with store.unit_of_work() as uow:
            assert uow.stock.get("shirt", "st-shibuya") == level
            log = uow.stock.movements(sku="shirt")
            assert [m.sequence for m in log] == sorted(m.sequence for m in log)
            assert [m.id for m in log] == [m.id for m in uow.stock.movements()]
            assert replay(log)[("shirt", "st-shibuya")] == level
            assert uow.stock.levels() == (level,)

    def test_refused_apply_writes_nothing(self, store: InventoryStore) -> None:
        with store.unit_of_work() as uow:
            assert uow.stock.apply(_movement(on_hand=-1)) is None  # no level yet
            assert uow.stock.apply(_movement(on_hand=2)) is not None
            assert uow.stock.apply(_movement(held=3), guard=0) is None
            assert uow.stock.apply(_movement(on_hand=-3)) is None
            assert uow.stock.apply(_movement(held=2), guard=1) is None
            assert uow.stock.apply(_movement(held=1), guard=1) is not None
            uow.commit()
        with store.unit_of_work() as uow:
            level = uow.stock.get("shirt", "st-shibuya")
            assert (level.on_hand, level.held) == (2, 1)
            assert len(uow.stock.movements()) == 2
            assert len(uow.stock.levels()) == 1

    def test_guard_counts_safety_stock_and_commitments(self, store: InventoryStore) -> None:
        with store.unit_of_work() as uow:
            uow.stock.apply(_movement(on_hand=10, safety_stock=2))
            uow.stock.apply(_movement(held=3, reason=MovementReason.HOLD))
            uow.stock.apply(_movement(held=-1, committed=1, reason=MovementReason.CONFIRM))
            assert uow.stock.apply(_movement(held=6), guard=0) is None  # 10 - 2 - 2 - 1 = 5
            assert uow.stock.apply(_movement(held=5), guard=1) is None
            assert uow.stock.apply(_movement(held=5), guard=0) is not None
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.stock.get("shirt", "st-shibuya").available() == 0

    def test_columns_match_levels(self, store: InventoryStore) -> None:
        with store.unit_of_work() as uow:
            uow.stock.apply(_movement(loc="b", on_hand=4, held=1))
            uow.stock.apply(_movement(loc="a", on_hand=2, safety_stock=1))
            uow.stock.apply(_movement(sku="pants", loc="a", on_hand=7))
            uow.commit()
        with store.unit_of_work() as uow:
            cols = uow.stock.columns(["shirt", "none"])
            assert cols["shirt"].location_ids.tolist() == ["a", "b"]
            assert cols["shirt"].free.tolist() == [1, 3]
            assert cols["shirt"].on_hand.tolist() == [2, 4]
            assert cols["none"].location_ids.tolist() == []
            uow.stock.apply(_movement(loc="a", held=1))
            assert uow.stock.columns(["shirt"])["shirt"].free.tolist() == [0, 3]

    def test_holds_add_get_transition_and_due(self, store: InventoryStore) -> None:
        with store.unit_of_work() as uow:
            uow.holds.add(_hold("h1", expires=timedelta(minutes=30)))
            uow.holds.add(_hold("h2", expires=timedelta(minutes=10)))
            uow.holds.add(_hold("h3", expires=timedelta(days=1)))
            with pytest.raises(DuplicateError):
                uow.holds.add(_hold("h1"))
            uow.commit()
        with store.unit_of_work() as uow:
            h1 = uow.holds.get("h1")
            assert h1 == _hold("h1", expires=timedelta(minutes=30))
            released = attrs.evolve(h1, status=HoldStatus.RELEASED)
            assert uow.holds.transition(released, HoldStatus.ACTIVE)
            assert not uow.holds.transition(released, HoldStatus.ACTIVE)
            due = uow.holds.due(T0 + timedelta(hours=2), 10)
            assert [h.id for h in due] == ["h2"]
            assert uow.holds.due(T0 + timedelta(days=2), 1)[0].id == "h2"
            with pytest.raises(NotFoundError):
                uow.holds.get("h9")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.holds.get("h1").status is HoldStatus.RELEASED

    def test_rollback_leaves_nothing(self, store: InventoryStore) -> None:
        locations, routes = tokyo_network()
        with store.unit_of_work() as uow:
            uow.locations.put(locations[0])
            uow.channel_routes.put(routes[0])
            uow.items.put(Item(sku="x"))
            uow.stock.apply(_movement(on_hand=3))
            uow.stock.columns(["shirt"])
            uow.holds.add(_hold("h1"))
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.locations.all() == ()
            assert uow.channel_routes.get(Channel.EC).locations == ()
            assert uow.items.get_many(["x"]) == {}
            assert uow.stock.levels() == ()
            assert uow.stock.movements() == ()
            assert uow.stock.columns(["shirt"])["shirt"].free.tolist() == []
            assert uow.holds.due(T0 + timedelta(days=9), 5) == ()

    def test_text_is_stored_verbatim(self, store: InventoryStore) -> None:
        name = "Robert'); DROP TABLE inventory_levels;-- 渋谷"
        item = Item(sku="sku'; --", name=name)
        with store.unit_of_work() as uow:
            uow.items.put(item)
            uow.stock.apply(_movement(sku=item.sku, on_hand=1))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get(item.sku) == item
            assert uow.stock.get(item.sku, "st-shibuya").on_hand == 1

    def test_service_end_to_end(self, store: InventoryStore) -> None:
        service = seed(store, 3)
        with pytest.raises(InsufficientStockError):  # no trousers at Shibuya: nothing held
            service.hold(
                [HoldLine("setup", "st-shibuya", 1)],
                kind=HoldKind.TRY_ON,
                channel=Channel.APP,
                idempotency_key="h1",
            )
        assert service.level("shirt", "st-shibuya").held == 0
        hold = service.hold(
            [HoldLine("shirt", "st-shibuya", 1), HoldLine("shirt", "st-shibuya", 1)],
            kind=HoldKind.TRY_ON,
            channel=Channel.APP,
            idempotency_key="h2",
        ).value
        assert hold.lines == (HoldLine("shirt", "st-shibuya", 2),)
        assert service.level("shirt", "st-shibuya").held == 2
        service.confirm(hold.id, idempotency_key="c")
        assert service.level("shirt", "st-shibuya").committed == 2
        assert service.rebuild() == service.levels()

    def test_committed_stock_survives_reopening(self, store: InventoryStore) -> None:
        self.require(store, Capability.DURABLE)
        service = seed(store, 4)
        hold = service.hold(
            [HoldLine("shirt", "st-shibuya", 1)],
            kind=HoldKind.PICK_UP,
            channel=Channel.APP,
            idempotency_key="h",
        ).value
        reopen: Callable[[], InventoryStore] | None = getattr(store, "reopen", None)
        if reopen is None:
            pytest.skip("the store offers no reopen() to test durability with")
        again = reopen()
        try:
            other = InventoryService(again, FixedClock(T0))
            assert other.get_hold(hold.id) == hold
            assert other.levels() == service.levels()
            assert other.movements() == service.movements()
            page = other.availability("shirt", channel=Channel.APP)
            assert page.total == 3
        finally:
            again.close()

    def test_other_services_see_network_changes(self, store: InventoryStore) -> None:
        first = seed(store, 3)
        second = InventoryService(store, FixedClock(T0))
        line = [HoldLine("shirt", "st-shibuya", 1)]
        assert first.availability("shirt", channel=Channel.APP).total == 3  # now cached
        first.hold(line, kind=HoldKind.CART, channel=Channel.EC, idempotency_key="h1")
        second.route_channel(ChannelRoute(Channel.APP, ("wh-chiba",)), idempotency_key="r2")
        assert first.availability("shirt", channel=Channel.APP).total == 0
        second.define_item(
            Item(sku="shirt", components=(KitComponent("pants"),)), idempotency_key="i2"
        )
        with pytest.raises(InsufficientStockError):  # a kit of trousers now: none there
            first.hold(line, kind=HoldKind.CART, channel=Channel.EC, idempotency_key="h2")

    def test_eight_threads_never_oversell(self, store: InventoryStore) -> None:
        self.require(store, Capability.THREADS)
        seed(store, 5)
        barrier = threading.Barrier(8)
        won: list[str] = []
        lock = threading.Lock()

        def run(tag: str) -> None:
            got = _grab(store, tag, 3, barrier)
            with lock:
                won.extend(got)

        threads = [threading.Thread(target=run, args=(f"t{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        _check_no_oversell(store, won, 5)

    def test_four_processes_never_oversell(self, store: InventoryStore) -> None:
        self.require(store, Capability.PROCESSES)
        seed(store, 5)
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(8), ctx.Queue()
        procs = [
            ctx.Process(target=_grab_in_process, args=(store, f"p{i}-", barrier, out))
            for i in range(4)
        ]
        for proc in procs:
            proc.start()
        won = [hold_id for _ in procs for hold_id in out.get(timeout=120)]
        for proc in procs:
            proc.join(timeout=60)
        _check_no_oversell(store, won, 5)

    def test_agrees_with_the_reference_under_any_sequence(
        self, store_factory: StoreFactory
    ) -> None:
        run_state_machine_as_test(
            lambda: InventoryStoreComparison(store_factory()),  # type: ignore[arg-type]
            settings=settings(
                max_examples=15,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
