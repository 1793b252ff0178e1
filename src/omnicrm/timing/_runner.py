"""The step machine: enter, resume and advance positions inside one unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import attrs
from dateutil.relativedelta import relativedelta

from omnicrm.clock import to_micros
from omnicrm.errors import ValidationError
from omnicrm.frozenmap import FrozenMap
from omnicrm.timing._compiled import CompiledJourney, Dispatch, matches
from omnicrm.timing._entering import FreshPlan, digest, enter_rows, fresh_plan, in_holdout
from omnicrm.timing._entering import zone as _zone
from omnicrm.timing._seat import Seat
from omnicrm.timing.channels import ChannelPolicy, choose_channel
from omnicrm.timing.conditions import Facts
from omnicrm.timing.guards import CapPolicy, GuardPolicy, cap_exceeded, next_allowed
from omnicrm.timing.model import (
    Action,
    Branch,
    Exit,
    Reentry,
    Wait,
    WaitForEvent,
    WaitRelative,
    WaitUntil,
)
from omnicrm.timing.ports import Opened, TimingUnitOfWork
from omnicrm.timing.records import (
    ActionStatus,
    CustomerContext,
    CustomerEvent,
    DueAction,
    Enrollment,
    trusted_enrollment,
    trusted_entry,
)
from omnicrm.timing.waits import add_local, relative_due, until_due

__all__ = ["Runner", "action_id", "in_holdout"]

_SPANNED = (Wait, WaitForEvent)
_PLAIN_WAITS = (Wait, WaitUntil, WaitRelative)
_PLANS = 4096  # matched journey sets whose plan is kept, per runner


def action_id(journey_id: str, customer_id: str, run: int, step_id: str, at: datetime) -> str:
    """Return the deterministic id of the action a step takes for a customer at ``at``."""
    return "act_" + digest(journey_id, customer_id, str(run), step_id, str(to_micros(at)))[:32]


class Runner:
    """Moves positions through journeys; every write goes through the unit of work."""

    def __init__(self, dispatch: Dispatch, guards: GuardPolicy, channels: ChannelPolicy) -> None:
        self.dispatch = dispatch
        self.guards = guards
        self.channels = channels
        self._history = max((c.window for c in guards.caps), default=timedelta(0))
        self._plans: dict[tuple[str, ...], FreshPlan | None] = {}  # None: one by one
        # by journey and wait step: the exit the wait leads to straight away, if any
        self.ends: dict[str, dict[str, str]] = {
            journey_id: {
                step.id: target
                for step in compiled.steps.values()
                if isinstance(step, (WaitForEvent, *_PLAIN_WAITS))
                and (target := step.on_timeout if isinstance(step, WaitForEvent) else step.next)
                in compiled.exits_at
            }
            for journey_id, compiled in dispatch.by_id.items()
        }

    # -- entry points -------------------------------------------------------------
    def handle(
        self, uow: TimingUnitOfWork, event: CustomerEvent, ctx: CustomerContext
    ) -> list[DueAction]:
        """Apply one new event: due waits first, then exits and awaited events, then entries."""
        out: list[DueAction] = []
        at = event.occurred_at
        repo = uow.timing_enrollments
        positions = repo.for_customer(event.customer_id)
        facts = tuple.__new__(Facts, (event.properties, ctx.profile, ctx.segment))  # no frame
        if positions:
            positions = self.catch_up(uow, positions, at, ctx, out)
            for position in positions:
                if position.active:
                    self._on_event(uow, position, event, facts, ctx, out)
        matcher = self.dispatch.matchers.get(event.event_type)
        if matcher is None:
            return out
        by_id = self.dispatch.by_id
        matched = matcher(facts)
        if positions:
            for journey_id in matched:
                compiled = by_id[journey_id]
                if (
                    self._enter(uow, compiled, ctx, at, event.properties, out)
                    and compiled.journey.exclusive
                ):
                    break
            return out
        if not matched:
            return out
        # a customer in no journey yet: nothing to look up, and the journeys that start
        # with a wait are entered together, in one repository call; the same matched
        # journeys open the same rows, worked out once (a plan)
        key, plans = tuple(matched), self._plans
        plan = plans.get(key)
        if plan is None and key not in plans:
            if len(plans) >= _PLANS:
                plans.clear()
            plan = plans[key] = fresh_plan(key, by_id)
        if plan is not None:
            plan.enter(repo, ctx.customer_id, ctx.time_zone, at, event.properties)
            return out
        # a journey with a window or the step machine among them: one by one
        entering: list[Opened] = []
        dues: dict[timedelta | relativedelta, datetime] = {}
        local: datetime | None = None
        customer_id, properties = ctx.customer_id, event.properties
        for journey_id in matched:
            compiled = by_id[journey_id]
            opening = compiled.opening
            if opening is None:  # the step machine; what is gathered is written first
                if entering:
                    enter_rows(repo, customer_id, at, properties, entering)
                    entering = []
                if (
                    self._enter(uow, compiled, ctx, at, properties, out, fresh=True)
                    and compiled.journey.exclusive
                ):
                    break
                continue
            _, start, span, awaits, basis_points, starts_at, ends_at, exclusive = opening
            if (starts_at is not None and at < starts_at) or (
                ends_at is not None and at >= ends_at
            ):
                continue
            due = dues.get(span)
            if due is None:  # one wall-clock sum per distinct wait length and event
                if local is None:
                    local = at.astimezone(_zone(ctx.time_zone))
                due = dues[span] = (local + span).astimezone(UTC)
            holdout = basis_points > 0 and in_holdout(journey_id, customer_id, basis_points)
            entering.append((journey_id, start, due, awaits, holdout))
            if exclusive:
                break
        if entering:
            enter_rows(repo, customer_id, at, properties, entering)
        return out

    def catch_up(
        self,
        uow: TimingUnitOfWork,
        positions: Sequence[Enrollment],
        at: datetime,
        ctx: CustomerContext,
        out: list[DueAction],
    ) -> Sequence[Enrollment]:
        """Resume the customer's positions due at or before ``at``, in time order."""
        current = {p.journey_id: p for p in positions}
        for _ in range(10_000):
            due = [p for p in current.values() if p.active and p.due_at is not None]
            due = [p for p in due if p.due_at <= at]  # type: ignore[operator]
            if not due:
                break
            first = min(due, key=lambda p: (p.due_at, p.journey_id))
            current[first.journey_id] = self.resume(uow, first, ctx, out)
        return [current[k] for k in sorted(current)]

    def enter(
        self,
        uow: TimingUnitOfWork,
        journey_id: str,
        ctx: CustomerContext,
        at: datetime,
        out: list[DueAction],
    ) -> bool:
        """Enter ``ctx``'s customer into a journey directly (a company-origin campaign)."""
        return self._enter(uow, self.dispatch.by_id[journey_id], ctx, at, FrozenMap(), out)

    def closing(self, position: Enrollment) -> str | None:
        """Return the step a due position ends at without acting, or ``None`` if it goes on.

        A wait that leads straight to an exit (or a journey or step the host removed)
        just closes; ``tick`` closes those in one repository call per batch.
        """
        ends = self.ends.get(position.journey_id)
        if ends is not None:
            found = ends.get(position.step_id)
            if (
                found is not None
                or position.step_id in self.dispatch.by_id[position.journey_id].steps
            ):
                return found
        return position.step_id  # the host removed the journey or the step

    def resume(
        self,
        uow: TimingUnitOfWork,
        position: Enrollment,
        ctx: CustomerContext | Callable[[str], CustomerContext],
        out: list[DueAction],
    ) -> Enrollment:
        """Continue a position whose ``due_at`` has come (a wait ended, a timeout, a deferral).

        ``ctx`` may be a look-up by customer id, called only if the customer is needed
        (a wait that ends the journey does not need it).
        """
        compiled = self.dispatch.by_id.get(position.journey_id)
        step = None if compiled is None else compiled.steps.get(position.step_id)
        if compiled is None or step is None or position.due_at is None:
            return uow.timing_enrollments.put(position.ended())  # removed by the host
        at = position.due_at
        if isinstance(step, WaitForEvent):
            target = step.on_timeout
        elif isinstance(step, _PLAIN_WAITS):
            target = step.next
        else:  # a deferred action runs again
            target = step.id
        if target in compiled.exits_at:  # the wait was the last step: close the position
            return uow.timing_enrollments.put(
                position.moved(
                    step_id=target, active=False, due_at=None, wait_event=None,
                    facts=position.facts, deferrals=0,
                )
            )  # fmt: skip
        if not isinstance(ctx, CustomerContext):
            ctx = ctx(position.customer_id)
        return self._advance(uow, compiled, position, target, at, ctx, position.facts, out)

    # -- internals ----------------------------------------------------------------
    def _on_event(
        self,
        uow: TimingUnitOfWork,
        position: Enrollment,
        event: CustomerEvent,
        facts: Facts,
        ctx: CustomerContext,
        out: list[DueAction],
    ) -> None:
        compiled = self.dispatch.by_id.get(position.journey_id)
        if compiled is None:
            return
        if compiled.exited(event.event_type, facts):
            uow.timing_enrollments.put(position.ended())
            return
        if position.wait_event != event.event_type:
            return
        step = compiled.steps.get(position.step_id)
        if isinstance(step, WaitForEvent) and matches(compiled.tests[(step.id, 0)], facts):
            merged = FrozenMap({**position.facts, **event.properties})
            self._advance(
                uow, compiled, position, step.on_event, event.occurred_at, ctx, merged, out
            )

    def _enter(
        self,
        uow: TimingUnitOfWork,
        compiled: CompiledJourney,
        ctx: CustomerContext,
        at: datetime,
        facts: FrozenMap,
        out: list[DueAction],
        *,
        fresh: bool = False,
    ) -> bool:
        """Enter a journey; ``fresh``: the customer is known to have no position at all."""
        journey = compiled.journey
        if (journey.starts_at is not None and at < journey.starts_at) or (
            journey.ends_at is not None and at >= journey.ends_at
        ):
            return False
        enrollments = uow.timing_enrollments
        before = None if fresh else enrollments.get(ctx.customer_id, journey.id)
        if before is not None:
            if before.active or journey.reentry == Reentry.ONCE:
                return False
            if journey.reentry == Reentry.PER_PERIOD:
                assert journey.reentry_period is not None
                zone = _zone(ctx.time_zone)
                if add_local(before.entered_at, journey.reentry_period, zone) > at:
                    return False
        run = 1 if before is None else before.run + 1
        basis_points = journey.holdout_basis_points
        holdout = basis_points > 0 and in_holdout(journey.id, ctx.customer_id, basis_points)
        opening = compiled.opening
        if opening is not None:  # the common start, a duration wait: no step machine needed
            due = (at.astimezone(_zone(ctx.time_zone)) + opening.span).astimezone(UTC)
            row = trusted_enrollment(
                ctx.customer_id, journey.id, run, journey.start, True, at, due,
                opening.awaits, facts, 0, holdout, 1 if before is None else before.version,
            )  # fmt: skip
            if before is None:  # a first entry: stored as built, at version 1, with its entry
                enrollments.enter((row,))
            else:
                uow.timing_entries.add(trusted_entry(ctx.customer_id, journey.id, run, at, holdout))
                enrollments.put(row)
            return True
        uow.timing_entries.add(trusted_entry(ctx.customer_id, journey.id, run, at, holdout))
        version = 0 if before is None else before.version
        position = Seat(ctx.customer_id, journey.id, run, at, holdout, version)
        self._advance(uow, compiled, position, journey.start, at, ctx, facts, out)
        return True

    def _advance(
        self,
        uow: TimingUnitOfWork,
        compiled: CompiledJourney,
        position: Enrollment | Seat,
        step_id: str,
        at: datetime,
        ctx: CustomerContext,
        facts: FrozenMap,
        out: list[DueAction],
    ) -> Enrollment:
        zone = _zone(ctx.time_zone)
        view = Facts(facts, ctx.profile, ctx.segment)
        deferrals = position.deferrals if step_id == position.step_id else 0
        for _ in range(2 * len(compiled.steps) + 2):  # no cycle without a wait: bounded
            step = compiled.steps[step_id]
            due: datetime | None = None
            if isinstance(step, Exit):
                break
            if isinstance(step, Branch):
                step_id = step.otherwise
                for i, case in enumerate(step.cases):
                    if matches(compiled.tests[(step.id, i)], view):
                        step_id = case.next
                        break
                continue
            if isinstance(step, WaitRelative):
                due = relative_due(step, at, zone, facts, ctx.profile)
                if due is None or due <= at:
                    step_id = step.next
                    continue
            elif isinstance(step, _SPANNED):
                due = (at.astimezone(zone) + compiled.spans[step.id]).astimezone(UTC)
            elif isinstance(step, WaitUntil):
                due = until_due(step, at, zone)
            else:
                decision = self._act(uow, compiled, position, step, at, ctx, view, deferrals, out)
                if decision is None:
                    break
                if isinstance(decision, datetime):
                    due = decision
                    deferrals += 1
                else:
                    if step.next is None:
                        break
                    step_id = step.next
                    deferrals = 0
                    continue
            waiting = step.event_type if isinstance(step, WaitForEvent) else None
            return uow.timing_enrollments.put(
                position.moved(
                    step_id=step.id,
                    active=True,
                    due_at=due,
                    wait_event=waiting,
                    facts=facts,
                    deferrals=deferrals,
                )
            )
        return uow.timing_enrollments.put(
            position.moved(
                step_id=step_id,
                active=False,
                due_at=None,
                wait_event=None,
                facts=facts,
                deferrals=0,
            )
        )

    def _act(
        self,
        uow: TimingUnitOfWork,
        compiled: CompiledJourney,
        position: Enrollment | Seat,
        step: Action,
        at: datetime,
        ctx: CustomerContext,
        view: Facts,
        deferrals: int,
        out: list[DueAction],
    ) -> datetime | bool | None:
        """Decide one action: ``True`` to go on, a datetime to defer, ``None`` to leave."""
        stage = step.stage or ""
        if step.channels:
            candidates, source = step.channels, "the action"
        elif compiled.stage_channels.get(stage):
            candidates, source = compiled.stage_channels[stage], f"stage {stage}"
        else:
            candidates, source = self.channels.default_channels, "the policy"
        choice = choose_channel(
            self.channels, candidates, source, view, ctx.consents, ctx.reachable, ctx.preferred
        )
        record = DueAction(
            action_id=action_id(position.journey_id, ctx.customer_id, position.run, step.id, at),
            customer_id=ctx.customer_id,
            journey_id=position.journey_id,
            stage=stage,
            step_id=step.id,
            run=position.run,
            kind=step.kind,
            content=step.content,
            channel=choice.channel,
            fallbacks=choice.fallbacks,
            due_at=at,
            reasons=choice.reasons,
            holdout=position.holdout,
        )
        emit: Callable[[str, str], bool] = lambda status, why: self._record(  # noqa: E731
            uow, record, status, why, out
        )
        if position.holdout:
            emit(ActionStatus.HELD_OUT, "control group: not sent, kept for measurement")
            return True
        if choice.channel is None:
            emit(ActionStatus.NO_CHANNEL, "not sent")
            return True
        if step.guarded:
            try:
                allowed = next_allowed(self.guards, at, _zone(ctx.time_zone), choice.channel)
            except ValidationError as exc:  # a window swallowed by a time change
                emit(ActionStatus.DROPPED, f"no moment to send: {exc.reason}")
                return None
            hit = None
            if allowed == at:
                zone = _zone(ctx.time_zone)
                sends = uow.timing_actions.sends(ctx.customer_id, at - self._history)
                hit = cap_exceeded(self.guards.caps, sends, at, choice.channel)
                if hit is not None and hit[0].channel is not None:  # try the next channel
                    for other in choice.fallbacks:
                        if self.guards.allowed(at, zone, other) and not cap_exceeded(
                            self.guards.caps, sends, at, other
                        ):
                            rest = tuple(c for c in choice.fallbacks if c != other)
                            note = (
                                f"{choice.channel}: frequency cap {hit[0].describe()}; "
                                f"switched to {other}"
                            )
                            record = attrs.evolve(
                                record,
                                channel=other,
                                fallbacks=rest,
                                reasons=(*record.reasons, note),
                            )
                            hit = None
                            break
            if allowed > at or (hit is not None and hit[0].policy == CapPolicy.DEFER):
                until = allowed if allowed > at else hit[1]  # type: ignore[index]
                why = (
                    "quiet hours or sending window"
                    if allowed > at
                    else f"frequency cap {hit[0].describe()}"  # type: ignore[index]
                )
                if deferrals >= self.guards.max_deferrals:
                    emit(ActionStatus.DROPPED, f"{why}: deferred too often, left the journey")
                    return None
                local = until.astimezone(_zone(ctx.time_zone)).isoformat()
                emit(ActionStatus.DEFERRED, f"{why}: deferred to {local}")
                return until
            if hit is not None:
                cap = hit[0]
                if cap.policy == CapPolicy.DROP:
                    emit(ActionStatus.DROPPED, f"frequency cap {cap.describe()}: left the journey")
                    return None
                emit(ActionStatus.SKIPPED, f"frequency cap {cap.describe()}: skipped")
                return True
        emit(ActionStatus.DUE, f"due now after {deferrals} deferral(s)" if deferrals else "due now")
        return True

    @staticmethod
    def _record(
        uow: TimingUnitOfWork, record: DueAction, status: str, why: str, out: list[DueAction]
    ) -> bool:
        final = attrs.evolve(record, status=status, reasons=(*record.reasons, why))
        if not uow.timing_actions.add(final):
            return False
        if status == ActionStatus.DUE:
            out.append(final)
        return True
