"""One person, two customer records: merge their journeys, undo it, then erase the person.

Aoi searched for a plan on the app (as ``cust_app``) and again on the web (as
``cust_web``); identity resolution later finds they are one person. The timing engine
moves the web record's journey state to the app record, keeping one reminder instead
of two; an unmerge gives it back exactly; an erasure request (APPI) removes everything.
Run it: ``python examples/timing_merge_erasure.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta

from omnicrm.persistence.memory import MemoryStore
from omnicrm.timing import (
    Action,
    CustomerContext,
    CustomerEvent,
    Engine,
    Exit,
    Journey,
    StaticDirectory,
    Trigger,
    WaitForEvent,
)

T0 = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)  # noon in Tokyo

REMINDER = Journey(
    id="plan_reminder",
    triggers=(Trigger(event_type="plan_searched"),),
    start="wait_booking",
    steps=(
        WaitForEvent(id="wait_booking", event_type="booking_made",
                     timeout=relativedelta(days=2), on_event="done", on_timeout="remind"),
        Action(id="remind", content="plan_reminder", channels=("push", "email"), next="done"),
        Exit(id="done"),
    ),
)  # fmt: skip


def context(customer_id: str) -> CustomerContext:
    return CustomerContext(
        customer_id=customer_id, time_zone="Asia/Tokyo", consents={"push", "email"}
    )


def searched(event_id: str, customer_id: str, at: datetime) -> CustomerEvent:
    return CustomerEvent(
        event_id=event_id, event_type="plan_searched", customer_id=customer_id, occurred_at=at
    )


def main() -> None:
    directory = StaticDirectory([context("cust_app"), context("cust_web")])
    engine = Engine(MemoryStore(), [REMINDER], directory=directory)
    # a host draining a queue can hand several events to one unit of work; each is
    # still applied once (the redelivered e1 is a no-op)
    first = searched("e1", "cust_web", T0)
    engine.handle_many([first, searched("e2", "cust_app", T0 + timedelta(hours=5)), first])
    print("two records, two pending reminders:", engine.active_positions())

    engine.merge_customers("cust_app", "cust_web", key="merge-001")
    print("merged: pending reminders", engine.active_positions(),
          "(the earlier search is kept, the other cancelled)")  # fmt: skip
    assert engine.merge_customers("cust_app", "cust_web", key="merge-001") is False

    engine.unmerge_customers("cust_app", "cust_web")
    print("unmerged: pending reminders", engine.active_positions())

    engine.merge_customers("cust_app", "cust_web")
    for action in engine.tick(T0 + timedelta(days=3)):
        print(f"due: {action.content} to {action.customer_id} by {action.channel}"
              f" ({'; '.join(action.reasons)})")  # fmt: skip

    removed = engine.forget_customer("cust_app")
    history = engine.history()
    print(f"erased cust_app: {removed} rows removed; entries left {len(history.entries)},"
          f" actions left {len(history.actions)}")  # fmt: skip
    engine.handle(searched("e3", "cust_app", T0 + timedelta(days=10)))
    print("a later search starts fresh: pending reminders", engine.active_positions())


if __name__ == "__main__":
    main()
