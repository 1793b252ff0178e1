"""An EC product page with nearby stores, a try-on that lapses, and ship-from-store.

Run it: ``python examples/inventory_product_page.py`` (no arguments, in-memory store).
"""

from datetime import UTC, datetime, timedelta

from omnicrm.channel import Channel
from omnicrm.inventory import (
    GeoPoint,
    HoldKind,
    HoldLine,
    InventoryService,
    OrderLine,
    Shipment,
    SourcingRequest,
)
from omnicrm.money import Money
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network


def describe(shipments: tuple[Shipment, ...]) -> str:
    return ", ".join(
        f"{s.location_id} sends " + " + ".join(f"{ln.quantity} x {ln.sku}" for ln in s.lines)
        for s in shipments
    )


clock = FixedClock(datetime(2026, 3, 2, 3, 0, tzinfo=UTC))  # Monday 12:00 in Tokyo
service = InventoryService(MemoryStore(), clock, SequentialIds())

locations, routes = tokyo_network()  # a Chiba warehouse, four stores (Tokyo, Yokohama, Osaka)
for location in locations:
    service.save_location(location, idempotency_key=f"setup-{location.id}")
for route in routes:
    service.route_channel(route, idempotency_key=f"setup-{route.channel}")
for item in tokyo_items():
    service.define_item(item, idempotency_key=f"setup-{item.sku}")

service.receive("shirt", "wh-chiba", 1, reference="PO-100", idempotency_key="po-100")
for store, units in (("st-shibuya", 2), ("st-shinjuku", 3), ("st-umeda", 4)):
    service.receive("shirt", store, units, reference="PO-101", idempotency_key=f"po-101-{store}")

print("1. Hanako opens the Oxford shirt page on the EC site, near Shibuya station.")
hanako = GeoPoint(35.6580, 139.7016)
page = service.availability("shirt", channel=Channel.EC, near=hanako, limit=3)
print(f"   {page.total} can be promised online; nearest places that have it:")
for row in page.locations:
    when = f"pick up today from {row.ready_at:%H:%M}" if row.ready_at else "ships to your home"
    print(f"   - {row.name:<9} {row.distance_km:6.1f} km  {row.quantity} available  ({when})")

print("\n2. She reserves one in Shibuya to try on, for 2 hours, through the app.")
try_on = service.hold(
    [HoldLine("shirt", "st-shibuya", 1)],
    kind=HoldKind.TRY_ON,
    channel=Channel.APP,
    expires_at=clock.now() + timedelta(hours=2),
    reference="app-cart-77",
    idempotency_key="app-cart-77-try-on",
).value
print(f"   hold {try_on.id} until {try_on.expires_at:%H:%M} UTC")
level = service.level("shirt", "st-shibuya")
print(f"   Shibuya now: on hand {level.on_hand}, held {level.held}, free {level.available()}")

print("\n3. She never comes. Three hours later the host runs expire_holds(now).")
clock.advance(timedelta(hours=3))
expired = service.expire_holds(clock.now())
print(f"   expired: {[h.id for h in expired]}")
print(f"   running it again expires nothing: {service.expire_holds(clock.now())}")
print(f"   Shibuya again: held={service.level('shirt', 'st-shibuya').held}")

print("\n4. Kenta orders two shirts online for delivery to Tokyo station.")
order = SourcingRequest(
    lines=[OrderLine("shirt", 2, Money(4_900, "JPY"))],
    channel=Channel.EC,
    destination=GeoPoint(35.6812, 139.7671),
    region="kanto",
)
plan = service.source(order)
print(f"   plan: {describe(plan.shipments)}")
for note in plan.explanation:
    print(f"   - {note}")
hold = service.hold(
    plan.hold_lines(), kind=HoldKind.ORDER, channel=Channel.EC, idempotency_key="order-9001"
).value
service.confirm(hold.id, idempotency_key="order-9001-confirm")

rejected = plan.location_ids[0]
print(f"\n5. {rejected} rejects its allocation (the shirt is damaged): release and re-source.")
service.release(hold.id, idempotency_key="order-9001-release")
again = service.resource(order, plan, rejected)
print(f"   new plan: {describe(again.shipments)}")
print(f"   excluded: {sorted(again.excluded)}")

assert service.rebuild() == service.levels()
print("\nEvery quantity above equals the replay of the movement log.")
