"""Hold commands: hold, confirm, release, fulfil and expire_holds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, NotFoundError, RuleViolationError, ValidationError
from omnicrm.inventory._core import (
    ServiceCore,
    check_instance,
    optional_id,
    require_alone,
    require_locks,
    stock_lock,
)
from omnicrm.inventory._results import CODECS, InventoryResult
from omnicrm.inventory.errors import HoldExpiredError, HoldStateError, InsufficientStockError
from omnicrm.inventory.events import HoldChanged, HoldPlaced
from omnicrm.inventory.holds import (
    DEFAULT_HOLD_TTL,
    Hold,
    HoldKind,
    HoldLine,
    HoldStatus,
    merge_lines,
)
from omnicrm.inventory.model import LocationCapability
from omnicrm.inventory.stock import Movement, MovementReason
from omnicrm.unit_of_work import Capability
from omnicrm.validation import MAX_ID_LENGTH, check_id

if TYPE_CHECKING:
    from omnicrm.inventory.ports import InventoryUnitOfWork

__all__ = ["HoldCommands"]

_SWEEP = 500
_NEEDS = {
    HoldKind.TRY_ON: LocationCapability.TRY_ON,
    HoldKind.PICK_UP: LocationCapability.PICK_UP,
}


def _locks(lines: Iterable[HoldLine]) -> list[str]:
    return [stock_lock(line.sku, line.location_id) for line in lines]


class HoldCommands(ServiceCore):
    """Commands on holds; every line of a hold is a conditional write (no oversell)."""

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
        check_instance("kind", kind, HoldKind)
        check_instance("channel", channel, Channel)
        if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
            raise InvalidTypeError("lines", lines, "must be an iterable of HoldLine")
        requested = tuple(lines)
        if not requested:
            raise ValidationError("lines", lines, "must hold at least one line")
        for line in requested:
            check_instance("lines", line, HoldLine)
        optional_id("reference", reference)
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
            require_locks(uow, _locks(expanded))  # a kit may have changed since
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
                    if uow.holds.due(now, 1):
                        require_alone(uow)  # the sweep writes other lines: run alone
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
            "lines": [(ln.sku, ln.location_id, ln.quantity) for ln in requested],
            "kind": kind.value,
            "channel": channel.name,
            "expires_at": None if expires_at is None else until,
            "reference": reference,
        }
        locks = self._line_locks(requested)
        return self._run("inventory.hold", idempotency_key, payload, command, CODECS.hold, locks)

    def _line_locks(self, requested: Sequence[HoldLine]) -> list[str]:
        """The stock lines a hold of ``requested`` writes, to lock: kits expanded as the
        cached catalogue knows them (an unknown SKU counts as itself). The command checks
        them against the catalogue it reads and runs again if they were wrong."""  # noqa: D205, D209
        lines: list[HoldLine] = []
        for line in requested:
            item = self._items.get(line.sku)
            if item is None or not item.is_kit:
                lines.append(line)
            else:
                lines.extend(HoldLine(c.sku, line.location_id, 1) for c in item.components)
        return _locks(lines)

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
            hold = uow.holds.get(hold_id)
            require_locks(uow, _locks(hold.lines))
            return step(uow, hold)

        locks: list[str] = []
        if Capability.LOCKS in self._store.capabilities:
            # a hold's lines never change: lock them
            with (
                self._store.unit_of_work(read_only=True) as uow,
                contextlib.suppress(NotFoundError),
            ):
                locks = _locks(uow.holds.get(hold_id).lines)
        payload = {"hold_id": hold_id}
        return self._run(f"inventory.{scope}", key, payload, command, CODECS.hold, locks)

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
