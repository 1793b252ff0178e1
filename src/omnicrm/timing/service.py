"""The :class:`Engine`: events and clock ticks in, due actions out, exactly once.

Every call runs in one unit of work on the host's store: the event id is remembered,
positions move, and every action decision is written, or nothing is. A duplicate event
is a no-op; a crash before the commit leaves the event to be delivered again and the
due waits to be found again by the next ``tick``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

import attrs

from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, NotFoundError, ValidationError
from omnicrm.timing import _merging
from omnicrm.timing._compiled import compile_all
from omnicrm.timing._runner import Runner
from omnicrm.timing.campaigns import Campaign
from omnicrm.timing.channels import ChannelPolicy
from omnicrm.timing.conditions import Facts
from omnicrm.timing.errors import UnknownEventTypeError
from omnicrm.timing.guards import GuardPolicy
from omnicrm.timing.model import Journey
from omnicrm.timing.records import (
    ActionStatus,
    CustomerContext,
    CustomerEvent,
    DueAction,
    Enrollment,
    Outcome,
    OutcomeKind,
    TimingHistory,
)
from omnicrm.unit_of_work import Capability
from omnicrm.validation import check_id, check_int

if TYPE_CHECKING:
    from omnicrm.timing.ports import DueClosingRepository, TimingUnitOfWork
    from omnicrm.unit_of_work import Store

__all__ = ["CustomerDirectory", "Engine", "StaticDirectory", "TimingHistory"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the "time" of a merge key in the processed ids


@runtime_checkable
class CustomerDirectory(Protocol):
    """Where the engine looks a customer up; the host implements it over its own data."""

    def context(self, customer_id: str) -> CustomerContext:
        """Return what the engine needs to know of ``customer_id``."""
        ...


class StaticDirectory:
    """A :class:`CustomerDirectory` over a mapping; unknown customers get ``default``'s zone."""

    def __init__(
        self,
        contexts: Mapping[str, CustomerContext] | Iterable[CustomerContext] = (),
        *,
        time_zone: str = "UTC",
    ) -> None:
        items = contexts.values() if isinstance(contexts, Mapping) else contexts
        self._contexts = {c.customer_id: c for c in items}
        self._zone = time_zone

    def add(self, context: CustomerContext) -> None:
        """Add or replace a customer's context."""
        self._contexts[context.customer_id] = context

    def forget(self, customer_id: str) -> None:
        """Drop a customer's context (erasure); later look-ups get a bare one."""
        self._contexts.pop(customer_id, None)

    def context(self, customer_id: str) -> CustomerContext:
        """Return the stored context, or a bare one (no consents) in the default zone."""
        found = self._contexts.get(customer_id)
        if found is None:
            found = CustomerContext(customer_id=customer_id, time_zone=self._zone)
        return found


def _cached(directory: CustomerDirectory) -> Callable[[str], CustomerContext]:
    contexts: dict[str, CustomerContext] = {}

    def lookup(customer_id: str) -> CustomerContext:
        found = contexts.get(customer_id)
        if found is None:
            found = contexts[customer_id] = directory.context(customer_id)
        return found

    return lookup


class Engine:
    """Runs journeys and campaigns for customers: ``handle`` events, ``tick`` the clock.

    Args:
        store: a store whose units of work have the timing repositories.
        journeys: the journeys to run (their ids are part of the action ids).
        directory: looks customers up when ``handle`` is not given a context.
        guards: quiet hours, sending windows, frequency caps.
        channels: channel defaults, rules, costs and response rates.
        campaigns: company-origin campaigns that :meth:`launch` may start.
        event_types: further event types the host sends (so they are not unknown).
        batch: due positions per unit of work in :meth:`tick`.

    """

    def __init__(
        self,
        store: Store,
        journeys: Iterable[Journey],
        *,
        directory: CustomerDirectory | None = None,
        guards: GuardPolicy | None = None,
        channels: ChannelPolicy | None = None,
        campaigns: Iterable[Campaign] = (),
        event_types: Iterable[str] = (),
        batch: int = 1000,
    ) -> None:
        self._store = store
        self._open = cast("Callable[..., TimingUnitOfWork]", store.unit_of_work)
        self.journeys = tuple(journeys)
        for journey in self.journeys:
            if not isinstance(journey, Journey):
                raise InvalidTypeError("journeys", journey, "must be a Journey")
        self.campaigns = {c.id: c for c in campaigns}
        self.directory = StaticDirectory() if directory is None else directory
        self.guards = guards or GuardPolicy()
        self.channels = channels or ChannelPolicy()
        self._extra_types = tuple(check_id("event_types", t) for t in event_types)
        self._batch = check_int("batch", batch, minimum=1)
        dispatch = compile_all(
            (*self.journeys, *(c.to_journey() for c in self.campaigns.values())),
            self._extra_types,
        )
        self.event_types = dispatch.event_types
        self.dispatch = dispatch
        self._runner = Runner(dispatch, self.guards, self.channels)
        self._ends = {(j, w): e for j, ends in self._runner.ends.items() for w, e in ends.items()}
        # lock keys are named only for a store that takes them (the others ignore them)
        self._locking = Capability.LOCKS in getattr(store, "capabilities", (Capability.LOCKS,))

    def triggered(self, event: CustomerEvent, customer: CustomerContext) -> list[str]:
        """Return the journeys ``event`` would enter for ``customer`` (conditions only)."""
        facts = Facts(event.properties, customer.profile, customer.segment)
        return self.dispatch.matching(event.event_type, facts)

    def _uow(self, *locks: str) -> TimingUnitOfWork:
        return self._open(locks=locks)

    def _context(self, customer_id: str, given: CustomerContext | None) -> CustomerContext:
        if given is None:
            return self.directory.context(customer_id)
        if not isinstance(given, CustomerContext):
            raise InvalidTypeError("customer", given, "must be a CustomerContext")
        if given.customer_id != customer_id:
            raise ValidationError(
                "customer", given.customer_id, f"is not the event's customer {customer_id!r}"
            )
        return given

    def handle(
        self, event: CustomerEvent, customer: CustomerContext | None = None
    ) -> tuple[DueAction, ...]:
        """Apply one event; return the actions now due (none for a duplicate event id).

        The customer's waits due by the event's time are resumed first, then exits and
        awaited events, then journey entries in priority order.
        """
        if type(event) is not CustomerEvent or event.event_type not in self.event_types:
            self._check(event)  # raises, but for a subclass of a known type
        customer_id = event.customer_id
        ctx = (
            self.directory.context(customer_id)
            if customer is None
            else self._context(customer_id, customer)
        )
        # It writes only this customer's positions, entries and actions (caps count
        # their sends; holdouts hash their id) and the event id (unique, conditional).
        with self._open(locks=(f"timing:{customer_id}",) if self._locking else ()) as uow:
            if not uow.timing_events.add(event.event_id, event.occurred_at):
                return ()
            out = self._runner.handle(uow, event, ctx)
            uow.commit()
        return tuple(out) if out else ()

    def handle_many(self, events: Iterable[CustomerEvent]) -> tuple[DueAction, ...]:
        """Apply events in order in ONE unit of work; return the actions now due, in order.

        The same as :meth:`handle` of each event in turn, customers looked up in the
        directory (an event id already handled, or met earlier in the batch, is a no-op;
        the action ids are the same), except that the batch is atomic: if one event
        fails, none is applied. A host that receives events in bursts saves the cost of
        a unit of work per event.
        """
        batch = tuple(events)
        for event in batch:
            self._check(event)
        locks = sorted({f"timing:{e.customer_id}" for e in batch}) if self._locking else ()
        out: list[DueAction] = []
        with self._uow(*locks) as uow:
            seen, handle, context = uow.timing_events, self._runner.handle, self.directory.context
            for event in batch:
                if seen.add(event.event_id, event.occurred_at):
                    out += handle(uow, event, context(event.customer_id))
            uow.commit()
        return tuple(out)

    def _check(self, event: CustomerEvent) -> None:
        if not isinstance(event, CustomerEvent):
            raise InvalidTypeError("event", event, "must be a CustomerEvent")
        if event.event_type not in self.event_types:
            raise UnknownEventTypeError(
                "event_type", event.event_type, "no journey or declared event type uses it"
            )

    def tick(self, now: datetime) -> tuple[DueAction, ...]:
        """Resume every position due at or before ``now``; return the actions now due."""
        now = to_utc("now", now)
        out: list[DueAction] = []
        while True:
            with self._uow() as uow:
                repo = uow.timing_enrollments
                # a backend that can close waits as it finds them (memory) does so for
                # those ending their journey, without building their records
                close_due = getattr(repo, "close_due", None)
                if close_due is not None:
                    closed, due = cast("DueClosingRepository", repo).close_due(
                        now, self._batch, self._ends
                    )
                else:
                    closed, due = 0, repo.due(now, self._batch)
                if not due and not closed:
                    return tuple(out)
                lookup = _cached(self.directory)  # each customer looked up once a batch
                resume, closing, ends = self._runner.resume, self._runner.closing, self._ends
                closes: list[tuple[Enrollment, str]] = []
                close = closes.append
                for position in due:
                    step_id = ends.get((position.journey_id, position.step_id))
                    if step_id is None:
                        step_id = closing(position)
                    if step_id is not None:  # ends without acting: closed with the batch
                        close((position, step_id))
                        continue
                    after = resume(uow, position, lookup, out)
                    if after.active and after.due_at is not None and after.due_at <= now:
                        break  # it is due again: re-read so time order holds
                if closes:
                    repo.close_many(closes)
                uow.commit()

    def launch(
        self, campaign_id: str, customer_ids: Iterable[str], at: datetime
    ) -> tuple[DueAction, ...]:
        """Start a company-origin campaign for ``customer_ids`` at ``at`` (each at most once)."""
        if campaign_id not in self.campaigns:
            raise NotFoundError("campaign", campaign_id)
        at = to_utc("at", at)
        ids = sorted({check_id("customer_ids", c) for c in customer_ids})
        out: list[DueAction] = []
        with self._uow() as uow:
            for customer_id in ids:
                self._runner.enter(uow, campaign_id, self.directory.context(customer_id), at, out)
            uow.commit()
        return tuple(out)

    def record_outcome(self, action_id: str, kind: str, at: datetime) -> tuple[DueAction, ...]:
        """Record what happened to an action; a ``failed`` send returns its fallback action.

        Reporting the same kind twice for an action is a no-op.
        """
        check_id("action_id", action_id)
        outcome = Outcome(action_id=action_id, kind=kind, at=at)
        with self._uow() as uow:
            action = uow.timing_actions.get(action_id)
            if action is None:
                raise NotFoundError("action", action_id)
            out: list[DueAction] = []
            if (
                uow.timing_outcomes.add(outcome)
                and kind == OutcomeKind.FAILED
                and action.fallbacks
                and action.status == ActionStatus.DUE
            ):
                channel, rest = action.fallbacks[0], action.fallbacks[1:]
                digest = hashlib.sha256(f"{action_id}\x1ffallback".encode()).hexdigest()
                fallback = attrs.evolve(
                    action,
                    action_id="act_" + digest[:32],
                    channel=channel,
                    fallbacks=rest,
                    due_at=outcome.at,
                    reasons=(
                        *action.reasons,
                        f"{action.channel} failed: fell back to {channel}",
                    ),
                )
                if uow.timing_actions.add(fallback):
                    out.append(fallback)
            uow.commit()
        return tuple(out)

    def unacknowledged(self) -> tuple[DueAction, ...]:
        """Return due actions with no reported outcome (to re-send after a crash, same ids)."""
        history = self.history()
        done = {o.action_id for o in history.outcomes}
        return tuple(
            a for a in history.actions if a.status == ActionStatus.DUE and a.action_id not in done
        )

    def history(self) -> TimingHistory:
        """Return every entry, action decision and outcome recorded so far."""
        with self._uow() as uow:
            return TimingHistory(
                tuple(uow.timing_entries.all()),
                tuple(uow.timing_actions.all()),
                tuple(uow.timing_outcomes.all()),
            )

    def merge_customers(self, survivor: str, absorbed: str, *, key: str | None = None) -> bool:
        """Move ``absorbed``'s journey state to ``survivor`` (a customer merge); one unit of work.

        Positions (with their pending waits and event timeouts), entries (re-entry and
        evaluation history) and action decisions (the send history frequency caps count,
        with their outcomes) move to the survivor. Action ids are kept, so nothing already
        due is sent twice; the absorbed customer's entry runs are numbered after the
        survivor's, so later action ids cannot collide. If both are in one journey, one
        position is kept (:func:`~omnicrm.timing._merging.keeps_absorbed`: active beats
        ended, then the earlier entered of two active ones, the later entered of two ended
        ones) and the other is cancelled; the merge record keeps it for
        :meth:`unmerge_customers`.

        Returns ``False`` (changing nothing) if the pair is already merged, or if ``key``
        was used for a merge before (so a redelivered merge event is a no-op even after
        an unmerge).
        """
        survivor, absorbed = self._pair(survivor, absorbed)
        with self._uow() as uow:
            if key is not None and not uow.timing_events.add(
                "timing.merge:" + check_id("key", key), _EPOCH
            ):
                return False
            done = _merging.merge(uow, survivor, absorbed, key)
            uow.commit()
        return done

    def unmerge_customers(self, survivor: str, absorbed: str, *, key: str | None = None) -> bool:
        """Undo :meth:`merge_customers` of the pair: move back exactly what it moved.

        Positions the merge moved go back in their current state (what the merge
        cancelled comes back as it was), as do the moved entries and action decisions;
        what the survivor did after the merge stays with the survivor. Right after a merge
        the stored state is restored exactly. Returns ``False`` (changing nothing) if the
        pair is not merged, or if ``key`` was used for an unmerge before. Raises
        :class:`~omnicrm.timing.errors.UnmergeConflictError` (changing nothing) if the
        absorbed id has journey state again (events sent under it after the merge).
        """
        survivor, absorbed = self._pair(survivor, absorbed)
        with self._uow() as uow:
            if key is not None and not uow.timing_events.add(
                "timing.unmerge:" + check_id("key", key), _EPOCH
            ):
                return False
            done = _merging.unmerge(uow, survivor, absorbed)
            uow.commit()
        return done

    def forget_customer(self, customer: str) -> int:
        """Erase a customer (APPI): positions, waits, entries, actions, outcomes, merges.

        Also drops the customer's context from the directory if it has a ``forget``
        method (:class:`StaticDirectory` has). Nothing naming the customer is left; a
        later event for the id starts fresh, as a new customer. Returns how many stored
        rows were removed (0 on a repeat). Processed event ids are kept: they are the
        host's opaque ids.
        """
        customer = check_id("customer", customer)
        with self._uow() as uow:
            removed = _merging.erase(uow, customer)
            uow.commit()
        forget = getattr(self.directory, "forget", None)
        if callable(forget):
            forget(customer)
        return removed

    @staticmethod
    def _pair(survivor: str, absorbed: str) -> tuple[str, str]:
        survivor, absorbed = check_id("survivor", survivor), check_id("absorbed", absorbed)
        if survivor == absorbed:
            raise ValidationError("absorbed", absorbed, "must differ from the survivor")
        return survivor, absorbed

    def active_positions(self) -> int:
        """Return how many customers are inside a journey now."""
        with self._uow() as uow:
            return uow.timing_enrollments.count_active()

    def replay(
        self, events: Iterable[CustomerEvent], start: datetime, end: datetime
    ) -> tuple[DueAction, ...]:
        """Run the journeys over a historical event log with a virtual clock.

        Uses a fresh in-memory store (this engine's store is not touched). Events in
        ``[start, end]`` are applied in ``(occurred_at, event_id)`` order, the clock
        ticking to each; a last tick at ``end``. Returns every due action, in order.
        """
        return self.replay_history(events, start, end).actions_due()

    def replay_history(
        self, events: Iterable[CustomerEvent], start: datetime, end: datetime
    ) -> ReplayResult:
        """Like :meth:`replay`, returning the whole recorded history for :func:`evaluate`."""
        from omnicrm.persistence.memory import MemoryStore  # service layer: allowed

        start, end = to_utc("start", start), to_utc("end", end)
        if end < start:
            raise ValidationError("end", end, "must not be before start")
        engine = Engine(
            MemoryStore(),
            self.journeys,
            directory=self.directory,
            guards=self.guards,
            channels=self.channels,
            campaigns=self.campaigns.values(),
            event_types=self._extra_types,
            batch=self._batch,
        )
        chosen: Sequence[CustomerEvent] = sorted(
            (e for e in events if start <= e.occurred_at <= end),
            key=lambda e: (e.occurred_at, e.event_id),
        )
        for event in chosen:
            engine.tick(event.occurred_at)
            engine.handle(event)
        engine.tick(end)
        return ReplayResult(engine.history())


@attrs.frozen
class ReplayResult:
    """What a replay recorded."""

    history: TimingHistory

    def actions_due(self) -> tuple[DueAction, ...]:
        """Return the due actions in ``(due_at, action_id)`` order."""
        return tuple(a for a in self.history.actions if a.status == ActionStatus.DUE)
