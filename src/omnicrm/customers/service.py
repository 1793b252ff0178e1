"""The customers application service: register, update and look up profiles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import Clock
from omnicrm.customers.codec import customer_from_json, customer_to_json, profile_to_dict
from omnicrm.customers.events import CustomerProfileErased, CustomerRegistered, CustomerUpdated
from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.errors import InvalidTypeError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import run_once
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.validation import check_id, check_int

if TYPE_CHECKING:  # the unit-of-work port imports this package's port
    from omnicrm.unit_of_work import Store, UnitOfWork

__all__ = ["CommandResult", "CustomerService"]


@attrs.frozen
class CommandResult:
    """A command's customer and the events its commit released (empty on a replay).

    Attributes:
        customer: the customer as the command left it.
        events: the domain events of the commit.
        replayed: ``True`` when an earlier run with the same idempotency key answered.

    """

    customer: Customer
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False


class CustomerService:
    """Registers and updates customers, one unit of work per command.

    Args:
        store: the store to open units of work on.
        clock: the source of "now".
        ids: the id generator for new customers (random by default).

    """

    def __init__(self, store: Store, clock: Clock, ids: IdGenerator | None = None) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids or UuidIds()

    def _event(self, now: datetime) -> dict[str, Any]:
        """The fields every event of this service shares: a new id and the instant."""
        return {"event_id": self._ids.new_id("evt"), "occurred_at": now}

    def _run(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Callable[[UnitOfWork], Customer],
    ) -> CommandResult:
        with self._store.unit_of_work() as uow:
            customer, replayed = run_once(
                uow,
                scope=scope,
                key=key,
                payload=payload,
                now=self._clock.now(),
                command=lambda: command(uow),
                encode=customer_to_json,
                decode=customer_from_json,
                subject=lambda c: c.id,
            )
            if replayed:
                return CommandResult(customer, replayed=True)
            uow.commit()
        return CommandResult(customer, uow.events)

    def register(
        self,
        profile: Profile,
        *,
        channel: Channel,
        idempotency_key: str,
        customer_id: str | None = None,
    ) -> CommandResult:
        """Store a new customer who signed up through ``channel``; return it (version 1).

        ``customer_id`` gives the profile a known id (the person id ``omnicrm.identity``
        resolved, say); by default a new ``cus_`` id. A taken id raises ``DuplicateError``.
        """
        if not isinstance(profile, Profile):
            raise InvalidTypeError("profile", profile, "must be a Profile")
        if not isinstance(channel, Channel):
            raise InvalidTypeError("channel", channel, "must be a Channel")
        if customer_id is not None:
            check_id("customer_id", customer_id)
        payload = {
            "profile": profile_to_dict(profile),
            "channel": channel.name,
            "customer_id": customer_id,
        }

        def command(uow: UnitOfWork) -> Customer:
            now = self._clock.now()
            new_id = customer_id or self._ids.new_id("cus")
            stored = uow.customers.add(
                Customer(id=new_id, created_at=now, updated_at=now, profile=profile)
            )
            uow.record(
                CustomerRegistered(**self._event(now), customer_id=new_id, channel=channel.name)
            )
            return stored

        return self._run("customers.register", idempotency_key, payload, command)

    def update(
        self, customer_id: str, profile: Profile, *, expected_version: int, idempotency_key: str
    ) -> CommandResult:
        """Replace a customer's profile if nobody changed it since ``expected_version``.

        Raises ``ConcurrencyError`` on a stale version and ``NotFoundError`` if absent.
        """
        check_id("customer_id", customer_id)
        check_int("expected_version", expected_version, minimum=1)
        if not isinstance(profile, Profile):
            raise InvalidTypeError("profile", profile, "must be a Profile")
        payload = {
            "customer_id": customer_id,
            "profile": profile_to_dict(profile),
            "expected_version": expected_version,
        }

        def command(uow: UnitOfWork) -> Customer:
            now = self._clock.now()
            current = uow.customers.get(customer_id)
            stored = uow.customers.update(
                attrs.evolve(current, profile=profile, updated_at=now, version=expected_version)
            )
            uow.record(
                CustomerUpdated(**self._event(now), customer_id=customer_id, version=stored.version)
            )
            return stored

        return self._run("customers.update", idempotency_key, payload, command)

    def erase(self, customer_id: str, *, idempotency_key: str) -> CommandResult:
        """Erase a customer's personal data (an APPI request); keep an empty tombstone.

        The profile is replaced by an empty one (no names, contact points, identifiers or
        attributes), the results stored for idempotent retries of commands about the
        customer are redacted, and ``CustomerProfileErased`` is recorded. The id stays,
        so references elsewhere do not dangle. ``NotFoundError`` if there is no such
        customer; erasing twice is harmless.
        """
        check_id("customer_id", customer_id)

        def command(uow: UnitOfWork) -> Customer:
            now = self._clock.now()
            current = uow.customers.get(customer_id)
            stored = uow.customers.update(attrs.evolve(current, profile=Profile(), updated_at=now))
            uow.idempotency.redact(customer_id)
            uow.record(CustomerProfileErased(**self._event(now), customer_id=customer_id))
            return stored

        return self._run("customers.erase", idempotency_key, {"customer_id": customer_id}, command)

    def get(self, customer_id: str) -> Customer:
        """Return a customer, or raise ``NotFoundError``."""
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.customers.get(customer_id)

    def find(self, key: IdentifierKey) -> Sequence[Customer]:
        """Return every customer carrying ``key``."""
        if not isinstance(key, IdentifierKey):
            raise InvalidTypeError("key", key, "must be an IdentifierKey")
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.customers.find_by_identifier(key)
