"""A stateful test running the same inventory commands on a backend and on the reference.

Besides agreeing with :class:`~omnicrm.persistence.memory.MemoryStore`, the backend must
keep the inventory invariants after every step: quantities equal the replay of the
movement log, available-to-promise is never negative, held and committed equal what the
active and confirmed holds account for, and no lapsed hold survives ``expire_holds``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omnicrm.channel import Channel
from omnicrm.errors import OmniCRMError
from omnicrm.inventory.holds import HoldKind, HoldLine, HoldStatus
from omnicrm.inventory.ports import InventoryStore
from omnicrm.inventory.service import InventoryService
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.fakes import FixedClock, SequentialIds
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network

__all__ = ["InventoryStoreComparison"]

T = TypeVar("T")
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
_SKUS = st.sampled_from(["shirt", "pants", "belt"])
_LOCS = st.sampled_from(["st-shibuya", "wh-chiba", "st-umeda"])
_QTY = st.integers(1, 4)
_LINES = st.lists(
    st.builds(HoldLine, st.sampled_from(["shirt", "pants", "setup"]), _LOCS, st.integers(1, 3)),
    min_size=1,
    max_size=3,
)


def _outcome(call: Callable[[], T]) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except OmniCRMError as exc:
        return ("error", type(exc).__name__)


class InventoryStoreComparison(RuleBasedStateMachine):
    """Runs each command on ``store`` and on a :class:`MemoryStore`; they must agree."""

    def __init__(self, store: InventoryStore) -> None:
        super().__init__()
        self.clock = FixedClock(T0)
        self.store = store
        self.services = [
            InventoryService(target, self.clock, SequentialIds())
            for target in (store, MemoryStore())
        ]
        self.hold_ids: list[str] = []
        self.keys = 0
        locations, routes = tokyo_network()
        for service in self.services:
            for location in locations:
                service.save_location(location, idempotency_key=f"l-{location.id}")
            for route in routes:
                service.route_channel(route, idempotency_key=f"r-{route.channel}")
            for item in tokyo_items():
                service.define_item(item, idempotency_key=f"i-{item.sku}")

    def _key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def _both(self, action: Callable[[InventoryService], T]) -> T | None:
        results = []
        for service in self.services:

            def call(s: InventoryService = service) -> T:
                return action(s)

            results.append(_outcome(call))
        assert results[0] == results[1], f"backend {results[0]!r} != reference {results[1]!r}"
        return results[0][1] if results[0][0] == "ok" else None

    @rule(sku=_SKUS, loc=_LOCS, qty=_QTY)
    def receive(self, sku: str, loc: str, qty: int) -> None:
        key = self._key()
        self._both(lambda s: s.receive(sku, loc, qty, idempotency_key=key))

    @rule(sku=_SKUS, loc=_LOCS, qty=_QTY)
    def sell(self, sku: str, loc: str, qty: int) -> None:
        key = self._key()
        self._both(lambda s: s.sell(sku, loc, qty, idempotency_key=key))

    @rule(sku=_SKUS, loc=_LOCS, counted=st.integers(0, 6))
    def adjust(self, sku: str, loc: str, counted: int) -> None:
        key = self._key()
        self._both(lambda s: s.adjust(sku, loc, counted=counted, idempotency_key=key))

    @rule(sku=_SKUS, src=_LOCS, dst=_LOCS, qty=_QTY)
    def transfer(self, sku: str, src: str, dst: str, qty: int) -> None:
        key = self._key()
        self._both(lambda s: s.transfer(sku, src, dst, qty, idempotency_key=key))

    @rule(sku=_SKUS, loc=_LOCS, qty=st.integers(0, 2))
    def safety_stock(self, sku: str, loc: str, qty: int) -> None:
        key = self._key()
        self._both(lambda s: s.set_safety_stock(sku, loc, qty, idempotency_key=key))

    @rule(
        lines=_LINES,
        kind=st.sampled_from([HoldKind.CART, HoldKind.ORDER, HoldKind.TRY_ON]),
        channel=st.sampled_from([Channel.EC, Channel.APP]),
        minutes=st.integers(1, 120),
        retry=st.booleans(),
    )
    def hold(
        self, lines: list[HoldLine], kind: HoldKind, channel: Channel, minutes: int, retry: bool
    ) -> None:
        key = self._key()
        until = self.clock.now() + timedelta(minutes=minutes)

        def place(s: InventoryService) -> Any:
            return s.hold(lines, kind=kind, channel=channel, expires_at=until, idempotency_key=key)

        for _ in range(2 if retry else 1):
            result = self._both(place)
        if result is not None:
            assert result.replayed is retry
            self.hold_ids.append(result.value.id)

    @precondition(lambda self: self.hold_ids)
    @rule(pick=st.integers(0, 100), action=st.sampled_from(["confirm", "release", "fulfil"]))
    def change_hold(self, pick: int, action: str) -> None:
        hold_id = self.hold_ids[pick % len(self.hold_ids)]
        key = self._key()
        self._both(lambda s: getattr(s, action)(hold_id, idempotency_key=key))

    @rule(minutes=st.integers(0, 90))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def expire(self) -> None:
        now = self.clock.now()
        self._both(lambda s: s.expire_holds(now))
        for service in self.services:
            assert service.expire_holds(now) == ()  # idempotent
            for hold_id in self.hold_ids:
                assert not service.get_hold(hold_id).is_due(now)

    @invariant()
    def same_levels_equal_to_replay(self) -> None:
        backend = self.services[0]
        levels = backend.levels()
        assert levels == self.services[1].levels()
        rebuilt = {k: v for k, v in backend.rebuild().items() if k in levels}
        assert rebuilt == levels

    @invariant()
    def holds_account_for_held_and_committed(self) -> None:
        backend = self.services[0]
        held: dict[tuple[str, str], int] = {}
        committed: dict[tuple[str, str], int] = {}
        for hold_id in self.hold_ids:
            hold = backend.get_hold(hold_id)
            if hold.status not in (HoldStatus.ACTIVE, HoldStatus.CONFIRMED):
                continue
            into = held if hold.status is HoldStatus.ACTIVE else committed
            for line in hold.lines:
                key = (line.sku, line.location_id)
                into[key] = into.get(key, 0) + line.quantity
        for key, level in backend.levels().items():
            assert level.held == held.get(key, 0)
            assert level.committed == committed.get(key, 0)

    @invariant()
    def availability_never_negative(self) -> None:
        for channel in (Channel.EC, Channel.APP):
            found = self.services[0].availability_many(
                ["shirt", "pants", "setup"], channel=channel, include_empty=True
            )
            for product in found.values():
                assert product.total >= 0
                assert all(row.quantity >= 0 for row in product.locations)
                assert product.total == sum(row.quantity for row in product.locations)

    def teardown(self) -> None:
        self.store.close()
