"""A ready-made retailer for the composition root: three stores, an EC site and an app.

Used by the demo, the tests and the examples: a points program, three journeys
(abandoned search, points about to expire, back in stock) with quiet hours, and a
warehouse with three Tokyo-area stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from omnicrm.clock import Clock
from omnicrm.ids import IdGenerator
from omnicrm.inventory import ChannelRoute
from omnicrm.loyalty import Program
from omnicrm.omni import OmniCRM
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network
from omnicrm.timing import (
    Campaign,
    ChannelPolicy,
    CustomerContext,
    GuardPolicy,
    LocalWindow,
    StaticDirectory,
    load_journeys_toml,
)
from omnicrm.unit_of_work import Store

__all__ = ["GUARDS", "JOURNEYS_TOML", "PROGRAM", "SALE", "STORES", "retail_crm"]

STORES = ("st-shibuya", "st-shinjuku", "st-yokohama")
"""The retailer's three stores (the warehouse ``wh-chiba`` serves the EC site and app)."""

PROGRAM = Program(
    id="points",
    companies={"retail"},
    points_per_unit=1,
    unit_amount=100,  # 1 point per 100 yen
    expiry_months=12,
)
"""One point per 100 yen in every channel, valid for a year."""

JOURNEYS_TOML = """
[[journeys]]
id = "abandoned_search"
name = "Searched, did not buy"
priority = 10
reentry = "per_period"
reentry_period = { days = 7 }
start = "wait_buy"
exit_on = [{ event_type = "purchase" }]
stages = [{ name = "consider", channels = ["push", "email"] }]
triggers = [{ event_type = "searched" }]

  [[journeys.steps]]
  id = "wait_buy"
  type = "wait_for_event"
  stage = "consider"
  event_type = "purchase"
  timeout = { hours = 3 }
  on_event = "done"
  on_timeout = "remind"

  [[journeys.steps]]
  id = "remind"
  type = "action"
  stage = "consider"
  content = "search_reminder"
  channels = ["push", "email"]
  next = "done"

  [[journeys.steps]]
  id = "done"
  type = "exit"

[[journeys]]
id = "points_expiring"
name = "Points about to expire"
priority = 5
reentry = "always"
start = "tell"
stages = [{ name = "retain", channels = ["email"] }]
triggers = [{ event_type = "points_expiring" }]

  [[journeys.steps]]
  id = "tell"
  type = "action"
  stage = "retain"
  content = "points_expiring_notice"
  channels = ["email"]
  next = "done"

  [[journeys.steps]]
  id = "done"
  type = "exit"

[[journeys]]
id = "back_in_stock"
name = "A watched item is back"
priority = 5
reentry = "always"
start = "tell"
stages = [{ name = "convert", channels = ["push", "email"] }]
triggers = [{ event_type = "stock_back" }]

  [[journeys.steps]]
  id = "tell"
  type = "action"
  stage = "convert"
  content = "back_in_stock_notice"
  channels = ["push", "email"]
  next = "done"

  [[journeys.steps]]
  id = "done"
  type = "exit"
"""
"""Three journeys, each started by an event the composition root raises or the host sends."""

SALE = Campaign(id="spring_sale", content="spring_sale_notice", channels=("email", "push"))
"""A one-off sale notice for a selection of customers."""

GUARDS = GuardPolicy(quiet_hours=LocalWindow(time(21, 0), time(9, 0)))
"""No message between 21:00 and 09:00 in the customer's zone."""


def retail_crm(
    store: Store, clock: Clock, ids: IdGenerator | None = None, *, customers: Iterable[str] = ()
) -> OmniCRM:
    """An :class:`OmniCRM` for the sample retailer, with its network and items set up.

    ``customers`` get a Tokyo context consenting to push and e-mail.
    """
    directory = StaticDirectory(time_zone="Asia/Tokyo")
    for customer_id in customers:
        directory.add(
            CustomerContext(
                customer_id=customer_id, time_zone="Asia/Tokyo", consents={"push", "email"}
            )
        )
    crm = OmniCRM(
        store,
        clock,
        ids,
        programs=[PROGRAM],
        journeys=load_journeys_toml(JOURNEYS_TOML),
        directory=directory,
        guards=GUARDS,
        channels=ChannelPolicy(default_channels=("push", "email")),
        campaigns=[SALE],
    )
    locations, routes = tokyo_network()
    keep = {"wh-chiba", *STORES}
    for location in locations:
        if location.id in keep:
            crm.inventory.save_location(location, idempotency_key=f"setup-{location.id}")
    for route in routes:
        kept = tuple(r for r in route.locations if r.location_id in keep)
        crm.inventory.route_channel(
            ChannelRoute(route.channel, kept), idempotency_key=f"setup-{route.channel}"
        )
    for item in tokyo_items():
        crm.inventory.define_item(item, idempotency_key=f"setup-{item.sku}")
    return crm
