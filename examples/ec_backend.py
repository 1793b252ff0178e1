"""An EC back end on one OmniCRM: sign-up, product page, checkout in one transaction.

The shop's account joins the same person as her store membership; the product page shows
store stock; checkout holds stock and points, and a payment failure half-way leaves
nothing behind; a search with no purchase becomes a reminder after the quiet hours.
Run it: ``python examples/ec_backend.py`` (a temporary SQLite file, a fake clock).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from omnicrm.channel import Channel
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.inventory import GeoPoint, HoldKind, HoldLine
from omnicrm.loyalty import Purchase, PurchaseLine
from omnicrm.omni import OmniCRM
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.timing import CustomerEvent

TOKYO = ZoneInfo("Asia/Tokyo")
clock = FixedClock(datetime(2026, 6, 1, 10, 30, tzinfo=UTC))  # 19:30 in Tokyo


class PaymentDeclinedError(Exception):
    """The payment provider said no."""


def checkout(crm: OmniCRM, person: str, order: str, points: int, pay: bool) -> None:
    """Hold the shirt and the points, capture, log the purchase: all or nothing."""
    with crm.atomic():
        hold = crm.inventory.hold(
            [HoldLine("shirt", "wh-chiba", 1)],
            kind=HoldKind.ORDER,
            channel=Channel.EC,
            reference=order,
            idempotency_key=f"{order}:stock",
        )
        crm.inventory.confirm(hold.value.id, idempotency_key=f"{order}:confirm")
        spent = crm.loyalty.hold(
            person,
            "points",
            points,
            company="retail",
            channel=Channel.EC,
            order_id=order,
            idempotency_key=f"{order}:points",
        )
        crm.loyalty.capture(
            "points", spent.hold_id or "", points, idempotency_key=f"{order}:capture"
        )
        if not pay:
            raise PaymentDeclinedError(order)
        purchase = Purchase(
            order_id=order,
            company="retail",
            channel=Channel.EC,
            lines=(PurchaseLine("shirt", 4_900),),
            points_used=points,
        )
        crm.record_purchase(person, purchase, idempotency_key=order)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'shop.db'}")
        crm = retail_crm(store, clock, SequentialIds(), customers=["store:M-000123"])
        crm.inventory.receive("shirt", "wh-chiba", 4, reference="PO-1", idempotency_key="po-1")
        crm.inventory.receive("shirt", "st-shibuya", 2, reference="PO-1", idempotency_key="po-2")

        print("1. Hanako, a store member with 300 points, opens an EC account.")
        member = SourceRef(Channel.STORE, "M-000123")
        crm.identity.resolve(
            CustomerRecord(
                source=member,
                family_name="山田",
                given_name="花子",
                phone="090-1234-5678",
                email="hanako@example.jp",
            ),
            idempotency_key="store-signup",
        )
        person = crm.identity.customer_of(member) or ""
        crm.loyalty.enroll(person, "points", idempotency_key="enroll")
        crm.loyalty.adjust(
            person, "points", 300, company="retail", reason="welcome", idempotency_key="welcome"
        )
        placed = crm.identity.resolve(
            CustomerRecord(
                source=SourceRef(Channel.EC, "u-42"),
                family_name="山田",
                given_name="花子",
                email="Hanako@Example.jp",
                email_verified=True,
            ),
            idempotency_key="ec-signup",
        )
        print(f"   the EC account joins {placed.customer_id} (created: {placed.created})")

        print("2. The product page: what can be promised online, and in stores near her.")
        page = crm.inventory.availability(
            "shirt", channel=Channel.EC, near=GeoPoint(35.6580, 139.7016), limit=2
        )
        print(f"   {page.total} can be promised online")
        for row in page.locations:
            print(f"   - {row.name:<10} {row.distance_km:5.1f} km  {row.quantity} free")

        print("3. She searches for a belt and leaves (19:30 in Tokyo).")
        crm.timing.handle(
            CustomerEvent(
                event_id="s-1", event_type="searched", customer_id=person, occurred_at=clock.now()
            )
        )

        print("4. Checkout EC-1 with 200 points; the card is declined half-way.")
        try:
            checkout(crm, person, "EC-1", 200, pay=False)
        except PaymentDeclinedError:
            level = crm.inventory.level("shirt", "wh-chiba")
            balance = crm.loyalty.balance(person, "points").available
            print(
                f"   rolled back: warehouse held {level.held}, committed {level.committed}, "
                f"points {balance}"
            )

        print("5. She retries with another card the next morning: everything commits.")
        clock.advance(timedelta(hours=14))
        checkout(crm, person, "EC-1", 200, pay=True)
        balance = crm.loyalty.balance(person, "points").available
        print(
            f"   warehouse committed {crm.inventory.level('shirt', 'wh-chiba').committed}, "
            f"points {balance} (100 left + 47 earned)"
        )

        print("6. The journeys: the search reminder waited out the quiet hours (21:00-09:00).")
        for action in crm.due:
            due = action.due_at.astimezone(TOKYO)
            print(f"   {action.content} by {action.channel} at {due:%m-%d %H:%M} Tokyo time")
        print(f"   RFM input: {[(r.order_id, r.amount) for r in crm.purchases()]}")
        store.close()


if __name__ == "__main__":
    main()
