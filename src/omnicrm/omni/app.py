"""The composition root: every capability over one store, joined by domain events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import attrs

from omnicrm.analytics import RFMSummary, rfm_summary
from omnicrm.clock import Clock, to_utc
from omnicrm.customers import CustomerService
from omnicrm.errors import InvalidTypeError, NotFoundError, RuleViolationError, StateError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import IdempotencyRecord, fingerprint, replay_or_none
from omnicrm.identity import (
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    MatchConfig,
    Resolver,
)
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.inventory import InventoryService, SourcingPolicy, StockMoved
from omnicrm.loyalty import LoyaltyService, Program, Purchase
from omnicrm.omni._shared import SharedStore
from omnicrm.omni.events import PurchaseRecorded
from omnicrm.omni.model import PurchaseRecord, Watch
from omnicrm.omni.ports import OmniUnitOfWork
from omnicrm.timing import (
    Campaign,
    ChannelPolicy,
    CustomerDirectory,
    CustomerEvent,
    DueAction,
    Engine,
    GuardPolicy,
    Journey,
)
from omnicrm.unit_of_work import Store
from omnicrm.validation import check_id

__all__ = ["POINTS_EXPIRING", "PURCHASE", "STOCK_BACK", "OmniCRM"]

PURCHASE = "purchase"
"""The timing event type of a purchase (properties: channel, amount, order_id)."""
POINTS_EXPIRING = "points_expiring"
"""The timing event type of points about to expire (properties: points, expires_on)."""
STOCK_BACK = "stock_back"
"""The timing event type of a watched item back in stock (properties: sku, location_id)."""

_RESTOCK = frozenset({"receive", "return", "transfer_in", "adjust", "release", "expire"})


class OmniCRM:
    """One Omni-CRM over one store: the services, and the flows between them.

    Every service opens its units of work through a shared wrapper of ``store``: a command
    run inside :meth:`atomic` (or raised as an event by another command) joins the unit
    of work already open, and events are dispatched to the handlers before it commits, so
    a command and every effect it has on other capabilities commit or roll back together.

    Args:
        store: the store (``open_store("memory:")`` or ``"sqlite:///file.db"``).
        clock: the source of "now".
        ids: the id generator shared by the services (random by default).
        programs: the loyalty programs.
        program_id: the program purchases earn in (the only one if there is one).
        journeys: the timing journeys.
        directory: customer contexts for the timing engine.
        guards: quiet hours and frequency caps for the timing engine.
        channels: channel rules and costs for the timing engine.
        match_config: identity matching configuration.
        sourcing: the inventory sourcing policy.
        event_types: further timing event types the host sends.
        campaigns: company-origin campaigns (:meth:`launch`).

    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdGenerator | None = None,
        *,
        programs: Iterable[Program] = (),
        program_id: str | None = None,
        journeys: Iterable[Journey] = (),
        directory: CustomerDirectory | None = None,
        guards: GuardPolicy | None = None,
        channels: ChannelPolicy | None = None,
        match_config: MatchConfig | None = None,
        sourcing: SourcingPolicy | None = None,
        event_types: Iterable[str] = (),
        campaigns: Iterable[Campaign] = (),
    ) -> None:
        self.clock = clock
        self._ids = ids or UuidIds()
        self._handlers: dict[type[DomainEvent], list[Callable[[Any], None]]] = {}
        # Handlers write other aggregates (a stock move feeds watchers' journeys) inside
        # the command's unit of work, so outer units of work run alone (no locks).
        self.store = SharedStore(store, self._dispatch, pass_locks=False)
        shared = cast("Store", self.store)
        programs = tuple(programs)
        if program_id is None and len(programs) == 1:
            program_id = programs[0].id
        self.program_id = program_id
        self.customers = CustomerService(shared, clock, self._ids)
        self.identity = Resolver(shared, clock, self._ids, match_config)
        self.loyalty = LoyaltyService(cast("Any", shared), clock, programs, self._ids)
        self.inventory = InventoryService(cast("Any", shared), clock, self._ids, policy=sourcing)
        self.timing = Engine(
            shared,
            journeys,
            directory=directory,
            guards=guards,
            channels=channels,
            campaigns=campaigns,
            event_types={PURCHASE, POINTS_EXPIRING, STOCK_BACK, *event_types},
        )
        self.due: list[DueAction] = []
        """Timing actions that became due through the flows, oldest first (drain it)."""
        self.on(CustomersMerged, self._merged)
        self.on(CustomersUnmerged, self._unmerged)
        self.on(CustomerErased, self._erased)
        self.on(PurchaseRecorded, self._purchased)
        self.on(StockMoved, self._stock_moved)

    # ---- events ----------------------------------------------------------------------
    def on(self, event_type: type[DomainEvent], handler: Callable[[Any], None]) -> None:
        """Run ``handler`` for every committed-to-be event of ``event_type``.

        Handlers run inside the unit of work that raised the event, before it commits:
        an exception rolls the whole command back.
        """
        self._handlers.setdefault(event_type, []).append(handler)

    def _dispatch(self, event: DomainEvent) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(event)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[OmniUnitOfWork]:
        """Run every command inside the block in ONE unit of work: all or nothing."""
        with self.store.unit_of_work() as uow:
            yield cast("OmniUnitOfWork", uow)
            uow.commit()

    def _uow(self) -> OmniUnitOfWork:
        return cast("OmniUnitOfWork", self.store.unit_of_work())

    def _feed(self, event_id: str, event_type: str, customer_id: str, at: datetime,
              **properties: str) -> None:  # fmt: skip
        event = CustomerEvent(
            event_id=event_id,
            event_type=event_type,
            customer_id=customer_id,
            occurred_at=at,
            properties=properties,
        )
        self.due.extend(self.timing.handle(event))

    # ---- handlers --------------------------------------------------------------------
    def _merged(self, event: CustomersMerged) -> None:
        self.loyalty.merge_members(
            event.survivor,
            event.absorbed,
            merge_id=event.audit_id,
            idempotency_key=f"omni:{event.event_id}",
        )
        with self._uow() as uow:
            uow.omni_purchases.move(event.absorbed, event.survivor)
        self.timing.merge_customers(event.survivor, event.absorbed, key=f"omni:{event.event_id}")

    def _unmerged(self, event: CustomersUnmerged) -> None:
        self.loyalty.unmerge_members(
            event.survivor,
            event.restored,
            merge_id=event.audit_id,
            idempotency_key=f"omni:{event.event_id}",
        )
        with self._uow() as uow:
            uow.omni_purchases.restore(event.survivor, event.restored)
        self.timing.unmerge_customers(event.survivor, event.restored, key=f"omni:{event.event_id}")

    def _erased(self, event: CustomerErased) -> None:
        person, key = event.customer_id, f"omni:{event.event_id}"
        self.loyalty.close_member(person, reason="erased", idempotency_key=key)
        with self._uow() as uow:
            uow.omni_purchases.erase(person)
            uow.omni_watches.erase(person)
            has_profile = bool(uow.customers.get_many([person]))
        if has_profile:
            self.customers.erase(person, idempotency_key=key)
        self.timing.forget_customer(person)
        with self._uow() as uow:  # last: the commands above stored results about the person
            uow.idempotency.redact(person)

    def _purchased(self, event: PurchaseRecorded) -> None:
        self._feed(
            event.event_id,
            PURCHASE,
            event.customer_id,
            event.occurred_at,
            channel=event.channel,
            amount=str(event.amount),
            order_id=event.order_id,
        )

    def _stock_moved(self, event: StockMoved) -> None:
        if event.available <= 0 or event.reason not in _RESTOCK:
            return
        with self._uow() as uow:
            watches = uow.omni_watches.watchers(event.sku)
            for watch in watches:
                uow.omni_watches.remove(watch.customer_id, watch.sku)
        for watch in watches:
            self._feed(
                f"{event.event_id}:{watch.customer_id}",
                STOCK_BACK,
                watch.customer_id,
                event.occurred_at,
                sku=event.sku,
                location_id=event.location_id,
            )

    # ---- commands --------------------------------------------------------------------
    def person(self, customer_id: str) -> str:
        """The live person ``customer_id`` names, for commands about them.

        An id merged into another person gives the survivor (following a chain of
        merges); an erased person is refused with ``RuleViolationError``, so a stale id
        held by a channel cannot re-create their data. Ids the identity store does not
        know are the host's own and pass unchanged.
        """
        check_id("customer_id", customer_id)
        current, seen, erased = customer_id, {customer_id}, False
        with self.store.unit_of_work(read_only=True) as uow:
            profiles = uow.identity_profiles
            while True:
                profile = profiles.get_many([current]).get(current)
                if profile is None or profile.merged_into is None:
                    erased = profile is not None and profile.erased
                    break
                current = profile.merged_into
                if current in seen:
                    raise StateError(f"the merges of {customer_id!r} form a cycle")
                seen.add(current)
        if erased:
            raise RuleViolationError("customer_id", customer_id, "was erased (APPI)")
        return current

    def handle(self, event: CustomerEvent) -> tuple[DueAction, ...]:
        """Feed a host event to the journeys under the live person (see :meth:`person`).

        Keep the actions in ``due`` too. An event for an erased person is refused.
        """
        if not isinstance(event, CustomerEvent):
            raise InvalidTypeError("event", event, "must be a CustomerEvent")
        person = self.person(event.customer_id)
        if person != event.customer_id:
            event = attrs.evolve(event, customer_id=person)
        out = self.timing.handle(event)
        self.due.extend(out)
        return out

    def record_purchase(
        self, customer_id: str, purchase: Purchase, *, idempotency_key: str
    ) -> PurchaseRecord:
        """Record a purchase in any channel: RFM input, points, and a timing event at once.

        The member's loyalty account is opened if needed. Replays return the first record.
        A merged-away id records for the survivor; an erased person is refused
        (:meth:`person`).
        """
        check_id("idempotency_key", idempotency_key)
        if not isinstance(purchase, Purchase):
            raise InvalidTypeError("purchase", purchase, "must be a Purchase")
        check_id("customer_id", customer_id)
        program_id = self.program_id
        payload = {"customer_id": customer_id, "purchase": purchase, "program": program_id}
        digest = fingerprint(payload)  # what the caller sent: a retry after a merge replays
        with self.atomic() as uow:
            earlier = replay_or_none(uow.idempotency, "omni.purchase", idempotency_key, digest)
            if earlier is not None:
                return _decode(earlier)
            customer_id = self.person(customer_id)
            now = self.clock.now()
            paid = purchase.gross - purchase.points_used
            record = uow.omni_purchases.add(
                PurchaseRecord(order_id=purchase.order_id, customer_id=customer_id,
                               channel=purchase.channel.name, amount=paid, at=now)
            )  # fmt: skip
            uow.idempotency.add(
                IdempotencyRecord(scope="omni.purchase", key=idempotency_key,
                                  fingerprint=digest, result=_encode(record), created_at=now,
                                  subject=customer_id)
            )  # fmt: skip
            if program_id is not None:
                if uow.loyalty_accounts.get(program_id, customer_id) is None:  # type: ignore[attr-defined]
                    self.loyalty.enroll(
                        customer_id, program_id, idempotency_key=f"{idempotency_key}:enroll"
                    )
                self.loyalty.earn(customer_id, program_id, purchase,
                                  idempotency_key=f"{idempotency_key}:earn")  # fmt: skip
            uow.record(
                PurchaseRecorded(event_id=self._ids.new_id("evt"), occurred_at=now,
                                 customer_id=customer_id, order_id=purchase.order_id,
                                 program_id=program_id, channel=purchase.channel.name,
                                 amount=paid)
            )  # fmt: skip
        return record

    def watch(self, customer_id: str, sku: str) -> Watch:
        """Remember that a customer waits for ``sku``: restocking it raises ``stock_back``."""
        watch = Watch(customer_id=self.person(customer_id), sku=sku, since=self.clock.now())
        with self.atomic() as uow:
            uow.omni_watches.put(watch)
        return watch

    def remind_expiring(self, member_ids: Iterable[str], within: timedelta) -> int:
        """Raise ``points_expiring`` for each member with points lapsing ``within``; count them."""
        if self.program_id is None:
            raise NotFoundError("program", None)
        now = self.clock.now()
        raised = 0
        for member_id in sorted(set(member_ids)):
            soon = self.loyalty.expiring_soon(member_id, self.program_id, within)
            if not soon:
                continue
            first = min(s.expires_at for s in soon)
            self._feed(
                f"expiring:{member_id}:{first:%Y%m%d}",
                POINTS_EXPIRING,
                member_id,
                now,
                points=str(sum(s.points for s in soon)),
                expires_on=f"{first:%Y-%m-%d}",
            )
            raised += 1
        return raised

    def launch(self, campaign_id: str, customer_ids: Iterable[str]) -> tuple[DueAction, ...]:
        """Start a campaign now for ``customer_ids`` (a selection); keep the actions in ``due``."""
        out = self.timing.launch(campaign_id, customer_ids, self.clock.now())
        self.due.extend(out)
        return out

    def tick(self, now: datetime | None = None) -> tuple[DueAction, ...]:
        """Advance the journeys to ``now``; return (and keep in ``due``) the actions due."""
        at = self.clock.now() if now is None else to_utc("now", now)
        out = self.timing.tick(at)
        self.due.extend(out)
        return out

    # ---- reads -----------------------------------------------------------------------
    def purchases(self) -> tuple[PurchaseRecord, ...]:
        """Every recorded purchase (merged people's under the survivor's id)."""
        with self._uow() as uow:
            return tuple(uow.omni_purchases.all())

    def rfm(self, *, as_of: datetime | None = None, tz: str = "UTC") -> RFMSummary:
        """The RFM summary of every recorded purchase (see ``omnicrm.analytics``)."""
        rows = self.purchases()
        at = self.clock.now() if as_of is None else as_of
        return rfm_summary(
            [r.customer_id for r in rows], [r.at for r in rows], [r.amount for r in rows],
            as_of=at, tz=tz,
        )  # fmt: skip


def _encode(record: PurchaseRecord) -> str:
    return json.dumps(
        [record.order_id, record.customer_id, record.channel, record.amount,
         record.at.isoformat(), record.merged_from]
    )  # fmt: skip


def _decode(text: str) -> PurchaseRecord:
    o, c, ch, a, at, m = json.loads(text)
    return PurchaseRecord(order_id=o, customer_id=c, channel=ch, amount=a,
                          at=datetime.fromisoformat(at), merged_from=m)  # fmt: skip
