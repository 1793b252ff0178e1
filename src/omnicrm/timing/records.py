"""The engine's inputs and records: events, customer context, actions, positions, outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from omnicrm.clock import to_utc
from omnicrm.frozenmap import FrozenMap, to_frozen_map
from omnicrm.validation import check_id, check_ids, check_optional_text, id_validator

__all__ = [
    "ActionStatus",
    "CustomerContext",
    "CustomerEvent",
    "DueAction",
    "Enrollment",
    "EntryRecord",
    "Outcome",
    "OutcomeKind",
    "TimingHistory",
]


def _utc(_instance: Any, attribute: Any, value: Any) -> None:
    to_utc(attribute.name, value)


def _to_utc_converter(value: Any) -> Any:
    from datetime import UTC

    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return value


def _channel_set(value: Any) -> frozenset[str]:
    items = frozenset(value)
    for item in items:
        check_id("channels", item)
    return items


def _channel_tuple(value: Any) -> tuple[str, ...]:
    return check_ids("channels", value)


def _optional_channels(value: Any) -> frozenset[str] | None:
    return None if value is None else _channel_set(value)


@attrs.frozen(kw_only=True)
class CustomerEvent:
    """Something a customer did: ``plan_searched``, ``booking_made``, ``review_submitted``.

    ``properties`` are plain text (dates as ISO ``YYYY-MM-DD``); ``occurred_at`` is kept
    in UTC. The event id makes a second delivery of the same event a no-op.
    """

    event_id: str = attrs.field(validator=id_validator)
    event_type: str = attrs.field(validator=id_validator)
    customer_id: str = attrs.field(validator=id_validator)
    occurred_at: datetime = attrs.field(converter=_to_utc_converter, validator=_utc)
    properties: FrozenMap = attrs.field(factory=FrozenMap, converter=to_frozen_map)


@attrs.frozen(kw_only=True)
class CustomerContext:
    """What the engine knows of a customer, handed in by the host as plain values.

    Attributes:
        customer_id: the customer.
        time_zone: an IANA zone name; waits and quiet hours are read in it.
        profile: attributes as text (``{"age": "27"}``); conditions read them.
        segment: the segment name the host's analytics gave the customer, if any.
        consents: channels the customer agreed to be contacted on.
        reachable: channels with a working address (``None``: every consented one).
        preferred: channels the customer said they prefer, best first.

    """

    customer_id: str = attrs.field(validator=id_validator)
    time_zone: str = "UTC"
    profile: FrozenMap = attrs.field(factory=FrozenMap, converter=to_frozen_map)
    segment: str | None = None
    consents: frozenset[str] = attrs.field(factory=frozenset, converter=_channel_set)
    reachable: frozenset[str] | None = attrs.field(default=None, converter=_optional_channels)
    preferred: tuple[str, ...] = attrs.field(default=(), converter=_channel_tuple)

    def __attrs_post_init__(self) -> None:
        from omnicrm.clock import zone

        zone("time_zone", self.time_zone)
        check_optional_text("segment", self.segment, max_length=200)


class ActionStatus:
    """What became of an action the engine reached."""

    DUE = "due"
    """Handed to the host to perform now."""
    HELD_OUT = "held_out"
    """Not sent: the customer is in the journey's control group."""
    SKIPPED = "skipped"
    """Not sent (a frequency cap); the journey went on."""
    DROPPED = "dropped"
    """Not sent (a frequency cap); the customer left the journey."""
    DEFERRED = "deferred"
    """Postponed (quiet hours, a window, a cap); the same step runs again later."""
    NO_CHANNEL = "no_channel"
    """No consented, reachable channel; not sent."""


@attrs.frozen(kw_only=True)
class DueAction:
    """An action the engine decided on, with its deterministic id and the reasons.

    Like :class:`Enrollment` and :class:`EntryRecord`, it is produced by the engine
    (instants in UTC), so its fields are not re-validated on every copy.

    ``action_id`` is the host's idempotency key for sending. ``journey_id`` is the
    campaign id for company-origin sends. ``fallbacks`` are the channels to try next
    if the host reports this one ``failed``.
    """

    action_id: str
    customer_id: str
    journey_id: str
    stage: str = ""
    step_id: str
    run: int = 1
    kind: str = "send"
    content: str = ""
    channel: str | None = None
    fallbacks: tuple[str, ...] = ()
    due_at: datetime
    status: str = ActionStatus.DUE
    reasons: tuple[str, ...] = ()
    holdout: bool = False


@attrs.frozen(kw_only=True, weakref_slot=False)
class Enrollment:
    """A customer's position in a journey (one row per customer and journey).

    ``active`` positions wait: until ``due_at`` (a wait, a deferral, a timeout) and/or
    for an event of type ``wait_event``. ``facts`` keeps the properties of the events
    that moved the customer (a departure date for a later wait).
    """

    customer_id: str
    journey_id: str
    run: int
    step_id: str
    active: bool
    entered_at: datetime
    due_at: datetime | None = None
    wait_event: str | None = None
    facts: FrozenMap = attrs.field(factory=FrozenMap, converter=to_frozen_map)
    deferrals: int = 0
    holdout: bool = False
    version: int = 0

    def moved(
        self,
        *,
        step_id: str,
        active: bool,
        due_at: datetime | None,
        wait_event: str | None,
        facts: FrozenMap,
        deferrals: int,
    ) -> Enrollment:
        """Return this position at another step (a fast ``attrs.evolve``)."""
        return trusted_enrollment(
            self.customer_id, self.journey_id, self.run, step_id, active, self.entered_at,
            due_at, wait_event, facts, deferrals, self.holdout, self.version,
        )  # fmt: skip

    def with_version(self, version: int) -> Enrollment:
        """Return this position with ``version``."""
        return trusted_enrollment(
            self.customer_id, self.journey_id, self.run, self.step_id, self.active,
            self.entered_at, self.due_at, self.wait_event, self.facts, self.deferrals,
            self.holdout, version,
        )  # fmt: skip

    def ended(self) -> Enrollment:
        """Return this position, no longer active."""
        return self.moved(
            step_id=self.step_id, active=False, due_at=None, wait_event=None,
            facts=self.facts, deferrals=0,
        )  # fmt: skip


_new = object.__new__
(_customer, _journey, _run, _step, _active, _entered, _due, _waiting, _facts, _deferrals,
 _holdout, _version) = (
    Enrollment.__dict__[a.name].__set__ for a in attrs.fields(Enrollment)
)  # fmt: skip


def trusted_enrollment(
    customer_id: str,
    journey_id: str,
    run: int,
    step_id: str,
    active: bool,
    entered_at: datetime,
    due_at: datetime | None,
    wait_event: str | None,
    facts: FrozenMap,
    deferrals: int,
    holdout: bool,
    version: int,
) -> Enrollment:
    """Build an :class:`Enrollment` from values the engine holds already (no conversion).

    The engine's hot paths make several positions per event; this sets the frozen
    record's slots directly, which is about twice as fast as the generated ``__init__``.
    ``facts`` must already be a :class:`FrozenMap`.
    """
    row: Enrollment = _new(Enrollment)
    _customer(row, customer_id)
    _journey(row, journey_id)
    _run(row, run)
    _step(row, step_id)
    _active(row, active)
    _entered(row, entered_at)
    _due(row, due_at)
    _waiting(row, wait_event)
    _facts(row, facts)
    _deferrals(row, deferrals)
    _holdout(row, holdout)
    _version(row, version)
    return row


@attrs.frozen(kw_only=True)
class EntryRecord:
    """One entry of a customer into a journey (for re-entry and for evaluation)."""

    customer_id: str
    journey_id: str
    run: int
    at: datetime
    holdout: bool = False


_entry_setters = tuple(EntryRecord.__dict__[a.name].__set__ for a in attrs.fields(EntryRecord))


def trusted_entry(
    customer_id: str, journey_id: str, run: int, at: datetime, holdout: bool
) -> EntryRecord:
    """Build an :class:`EntryRecord` from values the engine holds already (no conversion)."""
    row: EntryRecord = _new(EntryRecord)
    set_customer, set_journey, set_run, set_at, set_holdout = _entry_setters
    set_customer(row, customer_id)
    set_journey(row, journey_id)
    set_run(row, run)
    set_at(row, at)
    set_holdout(row, holdout)
    return row


class OutcomeKind:
    """What the host reports about an action."""

    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    FAILED = "failed"

    ALL = (SENT, DELIVERED, OPENED, CLICKED, CONVERTED, FAILED)


@attrs.frozen(kw_only=True)
class Outcome:
    """The host's report on an action (one per action and kind)."""

    action_id: str = attrs.field(validator=id_validator)
    kind: str
    at: datetime = attrs.field(converter=_to_utc_converter, validator=_utc)

    def __attrs_post_init__(self) -> None:
        from omnicrm.errors import ValidationError

        if self.kind not in OutcomeKind.ALL:
            raise ValidationError("kind", self.kind, f"must be one of {OutcomeKind.ALL}")


@attrs.frozen
class TimingHistory:
    """Everything the engine recorded: entries, action decisions and outcomes."""

    entries: tuple[EntryRecord, ...]
    actions: tuple[DueAction, ...]
    outcomes: tuple[Outcome, ...]
