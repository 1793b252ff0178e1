"""The inventory application service: stock movements, holds, availability and sourcing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import Clock, to_utc
from omnicrm.errors import InvalidTypeError, NotFoundError, RuleViolationError, ValidationError
from omnicrm.idempotency import IdempotencyRecord, fingerprint, replay_or_none
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.inventory._results import CODECS, Codec, InventoryResult
from omnicrm.inventory.availability import ProductAvailability, compute_availability
from omnicrm.inventory.errors import HoldExpiredError, HoldStateError, InsufficientStockError
from omnicrm.inventory.events import HoldChanged, HoldPlaced, StockMoved
from omnicrm.inventory.holds import (
    DEFAULT_HOLD_TTL,
    Hold,
    HoldKind,
    HoldLine,
    HoldStatus,
    merge_lines,
)
from omnicrm.inventory.model import (
    ChannelRoute,
    GeoPoint,
    Item,
    Location,
    LocationCapability,
)
from omnicrm.inventory.network import ChannelNetwork, component_skus
from omnicrm.inventory.sourcing import FulfilmentPlan, SourcingPolicy, SourcingRequest
from omnicrm.inventory.sourcing_context import build_context
from omnicrm.inventory.stock import Movement, MovementReason, StockLevel, replay
from omnicrm.validation import MAX_ID_LENGTH, check_date, check_id, check_int

if TYPE_CHECKING:
    from omnicrm.inventory.ports import InventoryStore, InventoryUnitOfWork

__all__ = ["InventoryService"]

T = TypeVar("T")
_MAX_QTY = 10**9
_SWEEP = 500
_NEEDS = {
    HoldKind.TRY_ON: LocationCapability.TRY_ON,
    HoldKind.PICK_UP: LocationCapability.PICK_UP,
}


def _quantity(value: object, field: str = "quantity") -> int:
    return check_int(field, value, minimum=1, maximum=_MAX_QTY)


def _optional_id(field: str, value: object) -> str | None:
    return None if value is None else check_id(field, value)


def _check(field: str, value: object, kind: type[T]) -> T:
    if not isinstance(value, kind):
        raise InvalidTypeError(field, value, f"must be a {kind.__name__}")
    return value


class InventoryService:
    """Cross-channel stock, one unit of work per command; every command is idempotent.

    Args:
        store: a store whose units of work carry the inventory repositories.
        clock: the source of "now".
        ids: the id generator (random by default).
        policy: the sourcing policy (the default pipeline if omitted).

    """

    def __init__(
        self,
        store: InventoryStore,
        clock: Clock,
        ids: IdGenerator | None = None,
        *,
        policy: SourcingPolicy | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids or UuidIds()
        self.policy = policy or SourcingPolicy()
        self._networks: dict[Channel, ChannelNetwork] = {}
        self._items: dict[str, Item] = {}
        self._network_version = -1

    # -- plumbing ----------------------------------------------------------------------

    def _run(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[InventoryUnitOfWork], T],
        codec: Codec[T],
    ) -> InventoryResult[T]:
        check_id("idempotency_key", key)
        digest = fingerprint(payload)
        with self._store.unit_of_work() as uow:
            earlier = replay_or_none(uow.idempotency, scope, key, digest)
            if earlier is not None:
                return InventoryResult(codec.decode(earlier), replayed=True)
            value = command(uow)
            uow.idempotency.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=digest,
                    result=codec.encode(value),
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        return InventoryResult(value, uow.events)

    def _move(
        self,
        uow: InventoryUnitOfWork,
        sku: str,
        location_id: str,
        reason: MovementReason,
        key: str,
        *,
        guard: int | None = None,
        reference: str | None = None,
        **deltas: int | None,
    ) -> StockLevel:
        now = self._clock.now()
        fields: dict[str, Any] = dict(deltas)
        movement = Movement(
            id=self._ids.new_id("mov"),
            sku=sku,
            location_id=location_id,
            reason=reason,
            reference=reference,
            idempotency_key=key,
            occurred_at=now,
            **fields,
        )
        level = uow.stock.apply(movement, guard=guard)
        if level is None:
            current = uow.stock.get(sku, location_id)
            needed = abs(next((v for v in deltas.values() if isinstance(v, int) and v), 0))
            have = current.available(guard or 0) if guard is not None else current.on_hand
            raise InsufficientStockError(
                "quantity", needed, f"only {have} of {sku!r} can be used at {location_id!r}"
            )
        uow.record(
            StockMoved(
                event_id=self._ids.new_id("evt"),
                occurred_at=now,
                sku=sku,
                location_id=location_id,
                reason=reason.value,
                available=level.available(),
            )
        )
        return level

    def _stocked(self, uow: InventoryUnitOfWork, sku: str, location_id: str) -> Location:
        """Check that the SKU (not a kit) and the location exist; return the location."""
        item = uow.items.get(sku)
        if item.is_kit:
            raise RuleViolationError("sku", sku, "is a kit: move its components' stock instead")
        return uow.locations.get(location_id)

    def _stock_command(
        self,
        scope: str,
        sku: str,
        location_id: str,
        payload: dict[str, Any],
        key: str,
        body: Callable[[InventoryUnitOfWork], tuple[StockLevel, ...]],
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        check_id("sku", sku)
        check_id("location_id", location_id)

        def command(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            self._stocked(uow, sku, location_id)
            return body(uow)

        full = {"sku": sku, "location_id": location_id, **payload}
        return self._run(f"inventory.{scope}", key, full, command, CODECS.levels)

    # -- network -----------------------------------------------------------------------

    def save_location(
        self, location: Location, *, idempotency_key: str
    ) -> InventoryResult[Location]:
        """Add or replace a warehouse or store."""
        _check("location", location, Location)

        def command(uow: InventoryUnitOfWork) -> Location:
            uow.locations.put(location)
            return location

        payload = {"location": CODECS.location.encode(location)}
        return self._run(
            "inventory.save_location", idempotency_key, payload, command, CODECS.location
        )

    def route_channel(
        self, route: ChannelRoute, *, idempotency_key: str
    ) -> InventoryResult[ChannelRoute]:
        """Set the locations (in priority order, with buffers) that serve a channel."""
        _check("route", route, ChannelRoute)

        def command(uow: InventoryUnitOfWork) -> ChannelRoute:
            ids = [e.location_id for e in route.locations]
            found = uow.locations.get_many(ids)
            for location_id in ids:
                if location_id not in found:
                    raise NotFoundError("location", location_id)
            uow.channel_routes.put(route)
            return route

        payload = {"route": CODECS.route.encode(route)}
        return self._run("inventory.route_channel", idempotency_key, payload, command, CODECS.route)

    def define_item(self, item: Item, *, idempotency_key: str) -> InventoryResult[Item]:
        """Add or replace a SKU; a kit's components must exist and not be kits."""
        _check("item", item, Item)

        def command(uow: InventoryUnitOfWork) -> Item:
            parts = uow.items.get_many(c.sku for c in item.components)
            for component in item.components:
                part = parts.get(component.sku)
                if part is None:
                    raise NotFoundError("sku", component.sku)
                if part.is_kit:
                    raise RuleViolationError("components", component.sku, "a kit cannot nest kits")
            uow.items.put(item)
            return item

        payload = {"item": CODECS.item.encode(item)}
        return self._run("inventory.define_item", idempotency_key, payload, command, CODECS.item)

    # -- movements ---------------------------------------------------------------------

    def receive(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        *,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Units arrived: on hand rises (and incoming falls by what was expected)."""
        _quantity(quantity)
        _optional_id("reference", reference)

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            expected = uow.stock.get(sku, location_id).incoming
            level = self._move(
                uow, sku, location_id, MovementReason.RECEIVE, idempotency_key,
                reference=reference, on_hand=quantity, incoming=-min(expected, quantity),
            )  # fmt: skip
            return (level,)

        payload = {"quantity": quantity, "reference": reference}
        return self._stock_command("receive", sku, location_id, payload, idempotency_key, body)

    def _simple(
        self,
        scope: str,
        reason: MovementReason,
        sku: str,
        location_id: str,
        reference: str | None,
        key: str,
        guard: int | None = None,
        **deltas: int,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        _optional_id("reference", reference)

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            return (
                self._move(
                    uow, sku, location_id, reason, key, guard=guard, reference=reference, **deltas
                ),
            )

        payload = {**deltas, "reference": reference}
        return self._stock_command(scope, sku, location_id, payload, key, body)

    def sell(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        *,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """A unit left with a walk-in customer: on hand falls (it must be there)."""
        _quantity(quantity)
        return self._simple(
            "sell", MovementReason.SELL, sku, location_id, reference, idempotency_key,
            on_hand=-quantity,
        )  # fmt: skip

    def return_to_stock(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        *,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """A returned unit goes back on the shelf."""
        _quantity(quantity)
        return self._simple(
            "return", MovementReason.RETURN, sku, location_id, reference, idempotency_key,
            on_hand=quantity,
        )  # fmt: skip

    def expect(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        *,
        expected_on: date,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Units are on their way, due on ``expected_on``."""
        _quantity(quantity)
        check_date("expected_on", expected_on)
        _optional_id("reference", reference)

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            movement = Movement(
                id=self._ids.new_id("mov"),
                sku=sku,
                location_id=location_id,
                reason=MovementReason.EXPECT,
                incoming=quantity,
                expected_on=expected_on,
                reference=reference,
                idempotency_key=idempotency_key,
                occurred_at=self._clock.now(),
            )
            level = uow.stock.apply(movement)
            assert level is not None  # adding incoming units cannot break a bound
            return (level,)

        payload = {"quantity": quantity, "expected_on": expected_on, "reference": reference}
        return self._stock_command("expect", sku, location_id, payload, idempotency_key, body)

    def adjust(
        self,
        sku: str,
        location_id: str,
        *,
        counted: int,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Record a stock count: on hand becomes ``counted`` through an adjust movement."""
        check_int("counted", counted, minimum=0, maximum=_MAX_QTY)
        _optional_id("reference", reference)

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            delta = counted - uow.stock.get(sku, location_id).on_hand
            return (
                self._move(
                    uow, sku, location_id, MovementReason.ADJUST, idempotency_key,
                    reference=reference, on_hand=delta,
                ),
            )  # fmt: skip

        payload = {"counted": counted, "reference": reference}
        return self._stock_command("adjust", sku, location_id, payload, idempotency_key, body)

    def set_safety_stock(
        self, sku: str, location_id: str, quantity: int, *, idempotency_key: str
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Keep ``quantity`` units of ``sku`` at the location out of every promise."""
        check_int("quantity", quantity, minimum=0, maximum=_MAX_QTY)

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            delta = quantity - uow.stock.get(sku, location_id).safety_stock
            return (
                self._move(
                    uow, sku, location_id, MovementReason.SAFETY_STOCK, idempotency_key,
                    safety_stock=delta,
                ),
            )  # fmt: skip

        payload = {"quantity": quantity}
        return self._stock_command("safety_stock", sku, location_id, payload, idempotency_key, body)

    def transfer(
        self,
        sku: str,
        from_location_id: str,
        to_location_id: str,
        quantity: int,
        *,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Move available units between locations: a transfer-out and a transfer-in."""
        _quantity(quantity)
        check_id("to_location_id", to_location_id)
        _optional_id("reference", reference)
        if to_location_id == from_location_id:
            raise ValidationError("to_location_id", to_location_id, "must differ from the source")

        def body(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            target = uow.locations.get(to_location_id)
            if not target.can(LocationCapability.RECEIVE_TRANSFERS):
                raise RuleViolationError(
                    "to_location_id", to_location_id, "does not receive transfers"
                )
            out = self._move(
                uow, sku, from_location_id, MovementReason.TRANSFER_OUT, idempotency_key,
                guard=0, reference=reference, on_hand=-quantity,
            )  # fmt: skip
            into = self._move(
                uow, sku, to_location_id, MovementReason.TRANSFER_IN, idempotency_key,
                reference=reference, on_hand=quantity,
            )  # fmt: skip
            return (out, into)

        payload = {"to": to_location_id, "quantity": quantity, "reference": reference}
        return self._stock_command(
            "transfer", sku, from_location_id, payload, idempotency_key, body
        )

    # -- holds -------------------------------------------------------------------------

    def _expand(self, uow: InventoryUnitOfWork, lines: Sequence[HoldLine]) -> list[HoldLine]:
        items = self._catalog(uow, {ln.sku for ln in lines})
        expanded: list[HoldLine] = []
        for line in lines:
            item = items.get(line.sku)
            if item is None:
                raise NotFoundError("sku", line.sku)
            if not item.is_kit:
                expanded.append(line)
                continue
            expanded.extend(
                HoldLine(c.sku, line.location_id, c.quantity * line.quantity)
                for c in item.components
            )
        return expanded

    def hold(
        self,
        lines: Iterable[HoldLine],
        *,
        kind: HoldKind,
        channel: Channel,
        expires_at: datetime | None = None,
        reference: str | None = None,
        idempotency_key: str,
    ) -> InventoryResult[Hold]:
        """Set units aside for a cart, try-on, pick-up or order; all lines or none.

        Lines of one SKU and location (and kit components) are summed and checked
        together. Each line is a conditional write: it happens only if the channel can
        still promise that many units there, so concurrent holds never oversell.
        """
        _check("kind", kind, HoldKind)
        _check("channel", channel, Channel)
        if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
            raise InvalidTypeError("lines", lines, "must be an iterable of HoldLine")
        requested = tuple(lines)
        if not requested:
            raise ValidationError("lines", lines, "must hold at least one line")
        for line in requested:
            _check("lines", line, HoldLine)
        _optional_id("reference", reference)
        now = self._clock.now()
        until = (
            now + DEFAULT_HOLD_TTL[kind] if expires_at is None else to_utc("expires_at", expires_at)
        )
        if until <= now:
            raise ValidationError("expires_at", expires_at, f"is not after now ({now.isoformat()})")

        def command(uow: InventoryUnitOfWork) -> Hold:
            self._fresh(uow)
            swept = False
            expanded = self._expand(uow, requested)
            hold = Hold(
                id=self._ids.new_id("hold"),
                kind=kind,
                channel=channel,
                lines=merge_lines(expanded),
                created_at=now,
                expires_at=until,
                updated_at=now,
                reference=reference,
            )
            network = self._network(uow, channel)
            for n, line in enumerate(hold.lines):
                at = network.index.get(line.location_id)
                if at is None:
                    uow.locations.get(line.location_id)  # NotFoundError if it does not exist
                    raise RuleViolationError(
                        "location_id", line.location_id, f"does not serve channel {channel}"
                    )
                place = network.locations[at]
                if kind in _NEEDS and not place.can(_NEEDS[kind]):
                    raise RuleViolationError(
                        "location_id", line.location_id, f"does not offer {_NEEDS[kind].value}"
                    )
                buffer = int(network.buffer[at])
                movement = self._movement(hold, n, MovementReason.HOLD, idempotency_key, held=1)
                level = uow.stock.apply(movement, guard=buffer)
                if level is None and not swept:  # lapsed holds give their units back first
                    swept = True
                    self._sweep(uow, now)
                    level = uow.stock.apply(movement, guard=buffer)
                if level is None:
                    have = uow.stock.get(line.sku, line.location_id).available(buffer)
                    raise InsufficientStockError(
                        "quantity",
                        line.quantity,
                        f"only {have} of {line.sku!r} available to {channel} "
                        f"at {line.location_id!r}",
                    )
            uow.holds.add(hold)
            uow.record(
                HoldPlaced(
                    event_id=self._derived(hold, "placed", "evt"),
                    occurred_at=now,
                    hold_id=hold.id,
                    kind=kind.value,
                    reference=reference,
                )
            )
            return hold

        payload = {
            "lines": [attrs.astuple(ln) for ln in requested],
            "kind": kind.value,
            "channel": channel.name,
            "expires_at": None if expires_at is None else until,
            "reference": reference,
        }
        return self._run("inventory.hold", idempotency_key, payload, command, CODECS.hold)

    def _derived(self, hold: Hold, suffix: str, prefix: str) -> str:
        """An id derived from the hold's (one per hold and step), or a new one if too long."""
        candidate = f"{hold.id}.{suffix}"
        return candidate if len(candidate) <= MAX_ID_LENGTH else self._ids.new_id(prefix)

    def _movement(
        self, hold: Hold, n: int, reason: MovementReason, key: str, **signs: int
    ) -> Movement:
        line = hold.lines[n]
        changes: dict[str, Any] = {state: sign * line.quantity for state, sign in signs.items()}
        return Movement(
            id=self._derived(hold, f"{reason.value}.{n}", "mov"),
            sku=line.sku,
            location_id=line.location_id,
            reason=reason,
            reference=hold.id,
            idempotency_key=key,
            occurred_at=self._clock.now(),
            **changes,
        )

    def _transition(
        self,
        uow: InventoryUnitOfWork,
        hold: Hold,
        status: HoldStatus,
        reason: MovementReason,
        key: str,
        **signs: int,
    ) -> Hold:
        now = self._clock.now()
        for n in range(len(hold.lines)):
            level = uow.stock.apply(self._movement(hold, n, reason, key, **signs))
            if level is None:  # the states a hold put in place are always there to take out
                raise HoldStateError("hold_id", hold.id, "its stock no longer matches the hold")
        changed = attrs.evolve(hold, status=status, updated_at=now)
        if not uow.holds.transition(changed, hold.status):
            raise HoldStateError("hold_id", hold.id, "was changed concurrently")
        uow.record(
            HoldChanged(
                event_id=self._derived(hold, status.value, "evt"),
                occurred_at=now,
                hold_id=hold.id,
                status=status.value,
            )
        )
        return changed

    def _hold_command(
        self, scope: str, hold_id: str, key: str, step: Callable[[InventoryUnitOfWork, Hold], Hold]
    ) -> InventoryResult[Hold]:
        check_id("hold_id", hold_id)

        def command(uow: InventoryUnitOfWork) -> Hold:
            return step(uow, uow.holds.get(hold_id))

        return self._run(f"inventory.{scope}", key, {"hold_id": hold_id}, command, CODECS.hold)

    def confirm(self, hold_id: str, *, idempotency_key: str) -> InventoryResult[Hold]:
        """An active hold becomes committed stock (the order is placed).

        Confirming a confirmed hold changes nothing; a released, expired or fulfilled one,
        or an active one past its expiry, is refused.
        """

        def step(uow: InventoryUnitOfWork, hold: Hold) -> Hold:
            if hold.status is HoldStatus.CONFIRMED:
                return hold
            if hold.status is not HoldStatus.ACTIVE:
                raise HoldStateError("hold_id", hold_id, f"is {hold.status.value}")
            now = self._clock.now()
            if hold.expires_at <= now:
                raise HoldExpiredError(
                    "hold_id", hold_id, f"expired at {hold.expires_at.isoformat()}"
                )
            return self._transition(
                uow, hold, HoldStatus.CONFIRMED, MovementReason.CONFIRM, idempotency_key,
                held=-1, committed=1,
            )  # fmt: skip

        return self._hold_command("confirm", hold_id, idempotency_key, step)

    def release(self, hold_id: str, *, idempotency_key: str) -> InventoryResult[Hold]:
        """Give a hold's units back (a cart emptied, an order cancelled or rejected).

        Releasing a released or expired hold changes nothing; a fulfilled one is refused.
        """

        def step(uow: InventoryUnitOfWork, hold: Hold) -> Hold:
            if hold.status in (HoldStatus.RELEASED, HoldStatus.EXPIRED):
                return hold
            if hold.status is HoldStatus.FULFILLED:
                raise HoldStateError("hold_id", hold_id, "is fulfilled")
            state = "held" if hold.status is HoldStatus.ACTIVE else "committed"
            return self._transition(
                uow, hold, HoldStatus.RELEASED, MovementReason.RELEASE, idempotency_key,
                **{state: -1},
            )  # fmt: skip

        return self._hold_command("release", hold_id, idempotency_key, step)

    def fulfil(self, hold_id: str, *, idempotency_key: str) -> InventoryResult[Hold]:
        """A confirmed hold shipped or was collected: committed and on hand fall."""

        def step(uow: InventoryUnitOfWork, hold: Hold) -> Hold:
            if hold.status is HoldStatus.FULFILLED:
                return hold
            if hold.status is not HoldStatus.CONFIRMED:
                raise HoldStateError("hold_id", hold_id, f"is {hold.status.value}, not confirmed")
            return self._transition(
                uow, hold, HoldStatus.FULFILLED, MovementReason.FULFIL, idempotency_key,
                committed=-1, on_hand=-1,
            )  # fmt: skip

        return self._hold_command("fulfil", hold_id, idempotency_key, step)

    def _sweep(self, uow: InventoryUnitOfWork, now: datetime) -> list[Hold]:
        expired: list[Hold] = []
        while batch := uow.holds.due(now, _SWEEP):
            for hold in batch:
                key = f"expire:{hold.id}"
                expired.append(
                    self._transition(
                        uow, hold, HoldStatus.EXPIRED, MovementReason.EXPIRE, key, held=-1
                    )
                )
        return expired

    def expire_holds(self, now: datetime) -> tuple[Hold, ...]:
        """Expire every active hold whose expiry is at or before ``now``; return them.

        Naturally idempotent: a second call finds nothing left to expire. ``hold`` also
        sweeps due holds when it finds too little stock, so lapsed units serve new holds.
        """
        at = to_utc("now", now)
        with self._store.unit_of_work() as uow:
            expired = self._sweep(uow, at)
            uow.commit()
        return tuple(expired)

    # -- reads -------------------------------------------------------------------------

    def level(self, sku: str, location_id: str) -> StockLevel:
        """The named quantity states of ``sku`` at ``location_id``."""
        check_id("sku", sku)
        check_id("location_id", location_id)
        with self._store.unit_of_work() as uow:
            return uow.stock.get(sku, location_id)

    def get_hold(self, hold_id: str) -> Hold:
        """Return a hold, or raise ``NotFoundError``."""
        check_id("hold_id", hold_id)
        with self._store.unit_of_work() as uow:
            return uow.holds.get(hold_id)

    def movements(
        self, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """The movement log, oldest first (optionally of one SKU and/or location)."""
        _optional_id("sku", sku)
        _optional_id("location_id", location_id)
        with self._store.unit_of_work() as uow:
            return uow.stock.movements(sku=sku, location_id=location_id)

    def rebuild(self) -> dict[tuple[str, str], StockLevel]:
        """Rebuild every level by replaying the movement log (compare with :meth:`levels`)."""
        with self._store.unit_of_work() as uow:
            return replay(uow.stock.movements())

    def levels(self) -> dict[tuple[str, str], StockLevel]:
        """Every stored level, keyed by ``(sku, location_id)``."""
        with self._store.unit_of_work() as uow:
            return {(lv.sku, lv.location_id): lv for lv in uow.stock.levels()}

    def _fresh(self, uow: InventoryUnitOfWork) -> None:
        """Drop cached locations, routes and items if anyone changed them since."""
        version = uow.locations.network_version()
        if version != self._network_version:
            self._networks = {}
            self._items = {}
            self._network_version = version

    def _catalog(self, uow: InventoryUnitOfWork, skus: Iterable[str]) -> dict[str, Item]:
        """The items among ``skus`` that exist (cached per network version; call _fresh)."""
        wanted = list(skus)
        missing = [s for s in wanted if s not in self._items]
        if missing:
            self._items.update(uow.items.get_many(missing))
        return {s: self._items[s] for s in wanted if s in self._items}

    def _network(self, uow: InventoryUnitOfWork, channel: Channel) -> ChannelNetwork:
        """The channel's network (cached per network version; call _fresh first)."""
        network = self._networks.get(channel)
        if network is None:
            route = uow.channel_routes.get(channel)
            places = uow.locations.get_many(e.location_id for e in route.locations)
            network = self._networks[channel] = ChannelNetwork(route, places)
        return network

    def availability(
        self,
        sku: str,
        *,
        channel: Channel,
        near: GeoPoint | None = None,
        limit: int | None = None,
        include_empty: bool = False,
    ) -> ProductAvailability:
        """Where ``sku`` can be promised to ``channel``: nearest first, with pick-up today."""
        return self.availability_many(
            [sku], channel=channel, near=near, limit=limit, include_empty=include_empty
        )[sku]

    def availability_many(
        self,
        skus: Iterable[str],
        *,
        channel: Channel,
        near: GeoPoint | None = None,
        limit: int | None = None,
        include_empty: bool = False,
    ) -> Mapping[str, ProductAvailability]:
        """Availability of many SKUs at once (a listing page), keyed by SKU."""
        wanted = [check_id("skus", s) for s in ([skus] if isinstance(skus, str) else skus)]
        _check("channel", channel, Channel)
        if near is not None:
            _check("near", near, GeoPoint)
        if limit is not None:
            check_int("limit", limit, minimum=1)
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            self._fresh(uow)
            items = self._catalog(uow, wanted)
            for sku in wanted:
                if sku not in items:
                    raise NotFoundError("sku", sku)
            network = self._network(uow, channel)
            columns = uow.stock.columns(component_skus(list(items.values())))
        return compute_availability(
            network, items, columns, near=near, now=now, limit=limit, include_empty=include_empty
        )

    def source(self, request: SourcingRequest, *, excluded: Iterable[str] = ()) -> FulfilmentPlan:
        """Plan which locations fulfil an order (nothing is held; hold the plan's lines).

        ``excluded`` leaves locations out, e.g. a store that rejected its allocation.
        """
        _check("request", request, SourcingRequest)
        left_out = frozenset(check_id("excluded", e) for e in excluded)
        with self._store.unit_of_work() as uow:
            self._fresh(uow)
            items = self._catalog(uow, {ln.sku for ln in request.lines})
            for line in request.lines:
                if line.sku not in items:
                    raise NotFoundError("sku", line.sku)
            network = self._network(uow, request.channel)
            columns = uow.stock.columns(component_skus(list(items.values())))
        ctx = build_context(request, network, items, columns, self.policy, left_out)
        return self.policy.run(ctx)

    def resource(
        self, request: SourcingRequest, plan: FulfilmentPlan, rejected_location_id: str
    ) -> FulfilmentPlan:
        """Source again after ``rejected_location_id`` refused its part of ``plan``."""
        check_id("rejected_location_id", rejected_location_id)
        return self.source(request, excluded=plan.excluded | {rejected_location_id})
