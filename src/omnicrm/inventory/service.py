"""The inventory application service: stock movements, holds, availability and sourcing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from omnicrm.channel import Channel
from omnicrm.errors import NotFoundError, RuleViolationError
from omnicrm.inventory._core import check_instance, optional_id
from omnicrm.inventory._hold_commands import HoldCommands
from omnicrm.inventory._results import CODECS, InventoryResult
from omnicrm.inventory._stock_commands import StockCommands
from omnicrm.inventory.availability import ProductAvailability, compute_availability
from omnicrm.inventory.holds import Hold
from omnicrm.inventory.model import ChannelRoute, GeoPoint, Item, Location
from omnicrm.inventory.network import component_skus
from omnicrm.inventory.sourcing import FulfilmentPlan, SourcingRequest
from omnicrm.inventory.sourcing_context import build_context
from omnicrm.inventory.stock import Movement, StockLevel, replay
from omnicrm.validation import check_id, check_int

if TYPE_CHECKING:
    from omnicrm.inventory.ports import InventoryUnitOfWork

__all__ = ["InventoryService"]


class InventoryService(HoldCommands, StockCommands):
    """Cross-channel stock, one unit of work per command; every command is idempotent.

    Stock commands (``receive``, ``sell``, ``return_to_stock``, ``expect``, ``adjust``,
    ``set_safety_stock``, ``transfer``) and hold commands (``hold``, ``confirm``,
    ``release``, ``fulfil``, ``expire_holds``) come from the two command groups.

    Args:
        store: a store whose units of work carry the inventory repositories.
        clock: the source of "now".
        ids: the id generator (random by default).
        policy: the sourcing policy (the default pipeline if omitted).

    """

    def save_location(
        self, location: Location, *, idempotency_key: str
    ) -> InventoryResult[Location]:
        """Add or replace a warehouse or store."""
        check_instance("location", location, Location)

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
        check_instance("route", route, ChannelRoute)

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
        check_instance("item", item, Item)

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

    def level(self, sku: str, location_id: str) -> StockLevel:
        """The named quantity states of ``sku`` at ``location_id``."""
        check_id("sku", sku)
        check_id("location_id", location_id)
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.stock.get(sku, location_id)

    def get_hold(self, hold_id: str) -> Hold:
        """Return a hold, or raise ``NotFoundError``."""
        check_id("hold_id", hold_id)
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.holds.get(hold_id)

    def movements(
        self, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """The movement log, oldest first (optionally of one SKU and/or location)."""
        optional_id("sku", sku)
        optional_id("location_id", location_id)
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.stock.movements(sku=sku, location_id=location_id)

    def rebuild(self) -> dict[tuple[str, str], StockLevel]:
        """Rebuild every level by replaying the movement log (compare with :meth:`levels`)."""
        with self._store.unit_of_work(read_only=True) as uow:
            return replay(uow.stock.movements())

    def levels(self) -> dict[tuple[str, str], StockLevel]:
        """Every stored level, keyed by ``(sku, location_id)``."""
        with self._store.unit_of_work(read_only=True) as uow:
            return {(lv.sku, lv.location_id): lv for lv in uow.stock.levels()}

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
        check_instance("channel", channel, Channel)
        if near is not None:
            check_instance("near", near, GeoPoint)
        if limit is not None:
            check_int("limit", limit, minimum=1)
        now = self._clock.now()
        with self._store.unit_of_work(read_only=True) as uow:
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
        check_instance("request", request, SourcingRequest)
        left_out = frozenset(check_id("excluded", e) for e in excluded)
        with self._store.unit_of_work(read_only=True) as uow:
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
