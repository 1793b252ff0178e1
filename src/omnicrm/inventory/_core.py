"""The state and plumbing the inventory service's command groups share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from omnicrm.channel import Channel
from omnicrm.clock import Clock
from omnicrm.errors import InvalidTypeError
from omnicrm.idempotency import run_once
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.inventory._results import Codec, InventoryResult
from omnicrm.inventory.model import Item
from omnicrm.inventory.network import ChannelNetwork
from omnicrm.inventory.strategies import SourcingPolicy
from omnicrm.validation import check_int, check_optional_id

if TYPE_CHECKING:
    from omnicrm.inventory.ports import InventoryStore, InventoryUnitOfWork

__all__ = [
    "Relock",
    "ServiceCore",
    "check_instance",
    "check_quantity",
    "optional_id",
    "require_alone",
    "require_locks",
    "stock_lock",
]

T = TypeVar("T")
MAX_QUANTITY = 10**9


def check_quantity(value: object, field: str = "quantity") -> int:
    """A positive whole number of units."""
    return check_int(field, value, minimum=1, maximum=MAX_QUANTITY)


optional_id = check_optional_id
"""``None`` or a valid id (:func:`omnicrm.validation.check_optional_id`)."""


def check_instance(field: str, value: object, kind: type[T]) -> T:
    """``value`` if it is a ``kind``; else ``InvalidTypeError``."""
    if not isinstance(value, kind):
        raise InvalidTypeError(field, value, f"must be a {kind.__name__}")
    return value


def stock_lock(sku: str, location_id: str) -> str:
    """The lock name of one stock line (a unit of work's ``locks``)."""
    return f"inventory:{sku}@{location_id}"


class Relock(Exception):  # noqa: N818 - a signal, caught by ServiceCore._run
    """The command must run again holding ``locks`` (empty: alone)."""

    def __init__(self, locks: frozenset[str]) -> None:
        super().__init__(sorted(locks))
        self.locks = locks


def require_locks(uow: object, names: Iterable[str]) -> None:
    """Raise :class:`Relock` if ``uow`` holds locks and ``names`` are not among them.

    A unit of work that shows no ``locks`` (memory, SQLite), or shows none held
    (PostgreSQL without locks: it runs alone), may write anything.
    """
    held = frozenset(getattr(uow, "locks", ()))
    wanted = frozenset(names)
    if held and not wanted <= held:
        raise Relock(held | wanted)


def require_alone(uow: object) -> None:
    """Raise :class:`Relock` (to run alone) if ``uow`` holds locks."""
    if getattr(uow, "locks", ()):
        raise Relock(frozenset())


class ServiceCore:
    """Store, clock, ids, policy, the idempotent command runner and the network cache.

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

    def _run(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[InventoryUnitOfWork], T],
        codec: Codec[T],
        locks: Iterable[str] = (),
    ) -> InventoryResult[T]:
        """Run ``command`` once per ``key``, in a unit of work holding ``locks``.

        A command that finds it must write outside them raises :class:`Relock`; it runs
        again, in a new unit of work, holding what it asked for (nothing: alone).
        """
        held = frozenset(locks)
        while True:
            try:
                return self._run_locked(scope, key, payload, command, codec, held)
            except Relock as again:
                if not held:
                    raise  # pragma: no cover - a unit of work without locks runs alone
                held = again.locks

    def _run_locked(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[InventoryUnitOfWork], T],
        codec: Codec[T],
        locks: frozenset[str],
    ) -> InventoryResult[T]:
        with self._store.unit_of_work(locks=locks) as uow:
            value, replayed = run_once(
                uow,
                scope=scope,
                key=key,
                payload=payload,
                now=self._clock.now(),
                command=lambda: command(uow),
                encode=codec.encode,
                decode=codec.decode,
            )
            if replayed:
                return InventoryResult(value, replayed=True)
            uow.commit()
        return InventoryResult(value, uow.events)

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
