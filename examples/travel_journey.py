"""A travel company's customer-origin journeys, in Asia/Tokyo, with quiet hours and caps.

plan searched -> 2 days with no booking -> app push for under-30s, e-mail or a store
call for over-60s (a booking exits the reminder); 7 days before departure a checklist;
the day after return a review request; a bad review opens a phone follow-up; 60 days
later a repeat proposal. Run it: ``python examples/travel_journey.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from omnicrm.money import Money
from omnicrm.persistence.memory import MemoryStore
from omnicrm.timing import (
    CapPolicy,
    ChannelPolicy,
    ChannelRule,
    Condition,
    CustomerContext,
    CustomerEvent,
    DueAction,
    Engine,
    FrequencyCap,
    GuardPolicy,
    Kpi,
    LocalWindow,
    StaticDirectory,
    evaluate,
    load_journeys_toml,
)

TOKYO = "Asia/Tokyo"

JOURNEYS_TOML = """
[[journeys]]
id = "plan_reminder"
name = "No booking after a plan search"
priority = 10
reentry = "per_period"
reentry_period = { days = 30 }
start = "wait_booking"
exit_on = [{ event_type = "booking_made" }]
stages = [{ name = "planning", channels = ["push", "email", "store"] }]
triggers = [{ event_type = "plan_searched" }]

  [[journeys.steps]]
  id = "wait_booking"
  type = "wait_for_event"
  stage = "planning"
  event_type = "booking_made"
  timeout = { days = 2 }
  on_event = "done"
  on_timeout = "by_age"

  [[journeys.steps]]
  id = "by_age"
  type = "branch"
  stage = "planning"
  otherwise = "remind_email"
  cases = [
    { conditions = [{ field = "profile.age", op = "lt", value = 30 }], next = "remind_push" },
    { conditions = [{ field = "profile.age", op = "ge", value = 60 }], next = "remind_senior" },
  ]

  [[journeys.steps]]
  id = "remind_push"
  type = "action"
  stage = "planning"
  content = "plan_reminder_app"
  channels = ["push", "email"]
  next = "done"

  [[journeys.steps]]
  id = "remind_senior"
  type = "action"
  stage = "planning"
  kind = "call"
  content = "plan_reminder_store_call"
  channels = ["email", "store"]
  next = "done"

  [[journeys.steps]]
  id = "remind_email"
  type = "action"
  stage = "planning"
  content = "plan_reminder_mail"
  channels = ["email"]
  next = "done"

  [[journeys.steps]]
  id = "done"
  type = "exit"

[[journeys]]
id = "trip"
name = "From booking to the next trip"
priority = 5
reentry = "always"
start = "before_departure"
triggers = [{ event_type = "booking_made" }]
stages = [
  { name = "trip", channels = ["push", "email"] },
  { name = "review", channels = ["push", "email"] },
  { name = "repeat", channels = ["push", "email", "dm"] },
]

  [[journeys.steps]]
  id = "before_departure"
  type = "wait_relative"
  stage = "trip"
  field = "event.departure_date"
  offset = { days = -7 }
  at = "10:00"
  next = "checklist"

  [[journeys.steps]]
  id = "checklist"
  type = "action"
  stage = "trip"
  content = "travel_checklist"
  next = "after_return"

  [[journeys.steps]]
  id = "after_return"
  type = "wait_relative"
  stage = "review"
  field = "event.return_date"
  offset = { days = 1 }
  at = "08:00"
  next = "ask_review"

  [[journeys.steps]]
  id = "ask_review"
  type = "action"
  stage = "review"
  content = "review_request"
  next = "wait_review"

  [[journeys.steps]]
  id = "wait_review"
  type = "wait_for_event"
  stage = "review"
  event_type = "review_submitted"
  timeout = { days = 14 }
  on_event = "rating"
  on_timeout = "later"

  [[journeys.steps]]
  id = "rating"
  type = "branch"
  stage = "review"
  otherwise = "later"
  cases = [
    { conditions = [{ field = "event.rating", op = "le", value = 2 }], next = "phone_follow_up" },
  ]

  [[journeys.steps]]
  id = "phone_follow_up"
  type = "action"
  stage = "review"
  kind = "call"
  content = "apology_call"
  channels = ["phone"]
  guarded = true
  next = "later"

  [[journeys.steps]]
  id = "later"
  type = "wait"
  stage = "repeat"
  duration = { days = 60 }
  next = "repeat_offer"

  [[journeys.steps]]
  id = "repeat_offer"
  type = "action"
  stage = "repeat"
  content = "repeat_proposal"
  next = "end"

  [[journeys.steps]]
  id = "end"
  type = "exit"
"""

GUARDS = GuardPolicy(
    quiet_hours=LocalWindow(time(21, 0), time(9, 0)),
    windows={"store": LocalWindow(time(10, 0), time(19, 0)),
             "phone": LocalWindow(time(10, 0), time(18, 0))},
    caps=(
        FrequencyCap(limit=3, window=timedelta(days=7), policy=CapPolicy.DEFER),
        FrequencyCap(limit=1, window=timedelta(days=1), channel="push", policy=CapPolicy.SKIP),
    ),
)  # fmt: skip

CHANNELS = ChannelPolicy(
    default_channels=("push", "email"),
    rules=(
        ChannelRule(name="twenties_on_the_app",
                    conditions=(Condition("profile.age", "lt", 30),), channels=("push",)),
        ChannelRule(name="sixties_in_store",
                    conditions=(Condition("profile.age", "ge", 60),), channels=("store", "email")),
    ),
    costs={"push": Money(1, "JPY"), "email": Money(2, "JPY"), "store": Money(800, "JPY"),
           "phone": Money(500, "JPY"), "dm": Money(120, "JPY")},
    response_rates={"push": 0.04, "email": 0.02, "store": 0.3, "phone": 0.25, "dm": 0.05},
    consent_free=frozenset({"store", "phone"}),
)  # fmt: skip

CUSTOMERS = StaticDirectory(
    [
        CustomerContext(customer_id="aoi", time_zone=TOKYO, profile={"age": "26"},
                        consents={"push", "email"}, preferred=("push",)),
        CustomerContext(customer_id="hiroshi", time_zone=TOKYO, profile={"age": "67"},
                        consents={"email"}),
        CustomerContext(customer_id="kenji", time_zone=TOKYO, profile={"age": "41"},
                        consents={"email", "push"}),
    ]
)  # fmt: skip


def jst(day: int, hour: int, minute: int = 0, month: int = 4) -> datetime:
    """An instant given in Tokyo time (UTC+9), kept in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=9)


def event(n: int, kind: str, who: str, at: datetime, **props: str) -> CustomerEvent:
    return CustomerEvent(
        event_id=f"ev{n}", event_type=kind, customer_id=who, occurred_at=at, properties=props
    )


EVENTS = [
    event(1, "plan_searched", "aoi", jst(1, 22, 30), destination="Okinawa"),
    event(2, "plan_searched", "hiroshi", jst(1, 14), destination="Kyoto"),
    event(3, "plan_searched", "kenji", jst(2, 9), destination="Sapporo"),
    event(4, "booking_made", "kenji", jst(3, 12), departure_date="2026-04-20",
          return_date="2026-04-24"),
    event(5, "review_submitted", "kenji", jst(25, 20), rating="2"),
]  # fmt: skip


def engine() -> Engine:
    return Engine(
        MemoryStore(),
        load_journeys_toml(JOURNEYS_TOML),
        directory=CUSTOMERS,
        guards=GUARDS,
        channels=CHANNELS,
    )


def describe(action: DueAction) -> str:
    when = action.due_at.astimezone(ZoneInfo(TOKYO)).strftime("%m-%d %H:%M JST")
    return (
        f"{when}  {action.customer_id:<8} {action.journey_id}/{action.step_id:<16} "
        f"{action.kind:<5} {action.content:<26} via {action.channel}\n"
        f"            why: {'; '.join(action.reasons)}"
    )


def main() -> list[DueAction]:
    crm = engine()
    actions = list(crm.replay(EVENTS, jst(1, 0), jst(30, 0, month=6)))
    for action in actions:
        print(describe(action))
    report = evaluate(
        crm.replay_history(EVENTS, jst(1, 0), jst(30, 0, month=6)).history,
        conversions=EVENTS,
        conversion_type="booking_made",
        attribution_window=timedelta(days=3),
        costs=CHANNELS.costs,
        kpis=(Kpi(name="plan_searches", event_type="plan_searched", target=5),
              Kpi(name="bookings", event_type="booking_made", target=2)),
        kpi_events=EVENTS,
    )  # fmt: skip
    for journey, stats in report.by_journey.items():
        print(f"{journey}: entered {stats.entered}, sent {stats.sent}, converted {stats.converted}")
    for kpi in report.kpis:
        print(f"KPI {kpi.name}: {kpi.actual} of {kpi.target} (cost per unit {kpi.cost_per_unit})")
    return actions


if __name__ == "__main__":
    main()
