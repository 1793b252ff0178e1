"""Journeys, customers and policies shared by the timing contract suites."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from omnicrm.timing import (
    Action,
    CapPolicy,
    ChannelPolicy,
    CustomerContext,
    CustomerEvent,
    Engine,
    Exit,
    FrequencyCap,
    GuardPolicy,
    Journey,
    LocalWindow,
    Reentry,
    StaticDirectory,
    Trigger,
    Wait,
    WaitForEvent,
)
from omnicrm.unit_of_work import Store

__all__ = ["CUSTOMERS", "JOURNEYS", "T0", "fresh_directory", "make_engine", "make_event"]

T0 = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # the US changes to summer time on 8 March

JOURNEYS = (
    Journey(
        id="cart",
        triggers=(Trigger(event_type="viewed"),),
        exit_on=(Trigger(event_type="unsubscribed"),),
        start="wait_buy",
        reentry=Reentry.ALWAYS,
        steps=(
            WaitForEvent(
                id="wait_buy",
                event_type="bought",
                timeout=relativedelta(hours=20),
                on_event="done",
                on_timeout="nudge",
            ),
            Action(id="nudge", content="cart_nudge", channels=("push", "email"), next="later"),
            Wait(id="later", duration=relativedelta(days=2), next="second"),
            Action(id="second", content="cart_second", next="done"),
            Exit(id="done"),
        ),
    ),
    Journey(
        id="welcome",
        priority=5,
        triggers=(Trigger(event_type="signed_up"),),
        start="hello",
        reentry=Reentry.ALWAYS,
        steps=(Action(id="hello", content="welcome", channels=("email", "push")),),
    ),
)

CONTEXTS = (
    CustomerContext(customer_id="c1", time_zone="Asia/Tokyo", consents={"push", "email"}),
    CustomerContext(customer_id="c2", time_zone="America/New_York", consents={"email"}),
    CustomerContext(customer_id="c3", time_zone="Europe/London", consents=()),
)

CUSTOMERS = StaticDirectory(CONTEXTS)
"""A shared directory (read only: ``make_engine`` gives each engine its own copy)."""


def fresh_directory() -> StaticDirectory:
    """Return a new directory of the shared customers (erasure may change it)."""
    return StaticDirectory(CONTEXTS)


GUARDS = GuardPolicy(
    quiet_hours=LocalWindow(time(22, 0), time(8, 0)),
    caps=(FrequencyCap(limit=2, window=timedelta(days=1), policy=CapPolicy.DEFER),),
)

CHANNELS = ChannelPolicy(default_channels=("push", "email"))


def make_engine(store: Store, directory: StaticDirectory | None = None) -> Engine:
    """Return an engine over ``store`` with the shared journeys and policies.

    ``directory`` defaults to a fresh copy of the shared customers.
    """
    return Engine(
        store,
        JOURNEYS,
        directory=fresh_directory() if directory is None else directory,
        guards=GUARDS,
        channels=CHANNELS,
        event_types=("page_viewed",),
    )


def make_event(event_id: str, kind: str, customer: str, at: datetime) -> CustomerEvent:
    """Return an event with no properties."""
    return CustomerEvent(event_id=event_id, event_type=kind, customer_id=customer, occurred_at=at)
