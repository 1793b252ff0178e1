"""Unified points across a group: store purchase, EC checkout, a return, expiry, settlement.

Run it: ``python examples/loyalty_points.py``. Everything happens on a fake clock, so
a month passes in a moment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.channel import Channel
from omnicrm.loyalty import (
    Confirmation,
    EarnRule,
    LoyaltyService,
    Program,
    Purchase,
    PurchaseLine,
)
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds

TOKYO_NOON = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)

program = Program(
    id="group-points",
    companies={"depachika", "fashion-ec"},  # two companies of one retail group
    points_per_unit=1,
    unit_amount=100,  # 1 point per ¥100, rounded down
    rules=(
        EarnRule(name="app-double", percent=200, channels={"app"}),
        EarnRule(name="spring-tea", percent=300, products={"tea"}, limited_days=30),
    ),
    expiry_months=12,
    confirmation=Confirmation(days=14, next_month_start=True),  # 仮ポイント until the 1st
    hold_timeout=timedelta(minutes=20),
)

clock = FixedClock(TOKYO_NOON)
points = LoyaltyService(MemoryStore(), clock, [program], SequentialIds())
P = program.id


def show(title: str) -> None:
    b = points.balance("hanako", P)
    print(f"  {title}: available {b.available}, pending {b.pending}, held {b.held}, debt {b.debt}")


print("1. Hanako joins and buys at the department store (store channel).")
points.enroll("hanako", P, idempotency_key="enroll-hanako")
store_buy = points.earn(
    "hanako",
    P,
    Purchase(
        order_id="POS-0001",
        company="depachika",
        channel=Channel.STORE,
        lines=(PurchaseLine("tea", 3240), PurchaseLine("sweets", 5400)),
    ),
    idempotency_key="pos-0001",
)
print(f"   earned {store_buy.points} points, provisional until confirmation")
for a in store_buy.allocations:
    print(
        f"   - grant {a.grant_id}: {a.points} points, valid until {a.expires_at:%Y-%m-%d %H:%M} UTC"
    )
show("balance")

print("2. The return period passes; on April 1st the points confirm by themselves.")
clock.set(datetime(2026, 3, 31, 15, 0, tzinfo=UTC))  # 2026-04-01 00:00 in Tokyo
show("balance")

print("3. On the EC site she checks out, holding 60 points, and captures 50.")
hold = points.hold(
    "hanako",
    P,
    60,
    company="fashion-ec",
    channel=Channel.EC,
    order_id="EC-77",
    idempotency_key="ec-77-hold",
)
show("during checkout")
captured = points.capture(P, hold.hold_id or "", 50, idempotency_key="ec-77-capture")
print("   spent from (limited-time first, then the soonest-expiring):")
for a in captured.allocations:
    print(f"   - {a.points} points of grant {a.grant_id} issued by {a.company}")
ec_buy = points.earn(
    "hanako",
    P,
    Purchase(
        order_id="EC-77",
        company="fashion-ec",
        channel=Channel.EC,
        lines=(PurchaseLine("blouse", 8800), PurchaseLine("scarf", 2200)),
        points_used=50,
    ),
    idempotency_key="ec-77-earn",
)
print(f"   the order earns {ec_buy.points} points on ¥{11000 - 50} (after points)")
show("after checkout")

print("4. She returns the scarf: earned points reversed, spent points given back, pro rata.")
back = points.return_purchase("hanako", P, "EC-77", 2200, idempotency_key="ec-77-return")
print(
    f"   reversed {back.detail('reversed')}, restored {back.detail('restored')}, "
    f"debt {back.detail('debt')}"
)
show("after the return")

print("5. Timing CRM: which points lapse within 30 days?")
clock.set(datetime(2026, 4, 5, 3, 0, tzinfo=UTC))
for soon in points.expiring_soon("hanako", P, timedelta(days=30)):
    print(f"   {soon.points} limited-time points expire {soon.expires_at:%Y-%m-%d} -> remind her")

print("6. She spends 60 points at the department store; the group settles for March-April.")
points.spend(
    "hanako", P, 60, company="depachika", channel=Channel.STORE, idempotency_key="pos-0002"
)
report = points.settlement(P, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
for issuer, spender, owed in report.matrix:
    print(f"   issued by {issuer:<10} spent at {spender:<10} {owed:>4} points")
for company, net in report.net:
    print(f"   {company:<10} net {'receives' if net >= 0 else 'pays'} {abs(net)} points")

for books in points.books(P):
    print(f"   {books.company:<10} owes its members {books.liability} points")

print("7. A retried command returns its first result instead of spending twice.")
again = points.spend(
    "hanako", P, 60, company="depachika", channel=Channel.STORE, idempotency_key="pos-0002"
)
print(f"   replayed={again.replayed}")
show("final balance")
print("   statement:")
for entry in points.statement("hanako", P):
    print(f"   {entry.effective_at:%m-%d %H:%M} {entry.kind:<12} {entry.amount:>4} {entry.company}")
