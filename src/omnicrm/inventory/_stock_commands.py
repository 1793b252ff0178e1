"""Stock movement commands: receive, sell, return, expect, adjust, safety stock, transfer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from omnicrm.errors import RuleViolationError, ValidationError
from omnicrm.inventory._core import (
    MAX_QUANTITY,
    ServiceCore,
    check_quantity,
    optional_id,
    stock_lock,
)
from omnicrm.inventory._results import CODECS, InventoryResult
from omnicrm.inventory.errors import InsufficientStockError
from omnicrm.inventory.events import StockMoved
from omnicrm.inventory.model import Location, LocationCapability
from omnicrm.inventory.stock import Movement, MovementReason, StockLevel
from omnicrm.validation import check_date, check_id, check_int

if TYPE_CHECKING:
    from omnicrm.inventory.ports import InventoryUnitOfWork

__all__ = ["StockCommands"]


class StockCommands(ServiceCore):
    """Commands that record stock movements; each returns the levels it changed."""

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
        also: tuple[str, ...] = (),
    ) -> InventoryResult[tuple[StockLevel, ...]]:
        """Run a command on ``sku``'s stock at ``location_id`` (and at ``also``), locking
        those lines."""  # noqa: D205, D209
        check_id("sku", sku)
        check_id("location_id", location_id)

        def command(uow: InventoryUnitOfWork) -> tuple[StockLevel, ...]:
            self._stocked(uow, sku, location_id)
            return body(uow)

        full = {"sku": sku, "location_id": location_id, **payload}
        locks = [stock_lock(sku, where) for where in (location_id, *also)]
        return self._run(f"inventory.{scope}", key, full, command, CODECS.levels, locks)

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
        check_quantity(quantity)
        optional_id("reference", reference)

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
        optional_id("reference", reference)

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
        check_quantity(quantity)
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
        check_quantity(quantity)
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
        check_quantity(quantity)
        check_date("expected_on", expected_on)
        optional_id("reference", reference)

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
        check_int("counted", counted, minimum=0, maximum=MAX_QUANTITY)
        optional_id("reference", reference)

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
        check_int("quantity", quantity, minimum=0, maximum=MAX_QUANTITY)

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
        check_quantity(quantity)
        check_id("to_location_id", to_location_id)
        optional_id("reference", reference)
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
            "transfer", sku, from_location_id, payload, idempotency_key, body, (to_location_id,)
        )
