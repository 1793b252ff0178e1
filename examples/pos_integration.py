"""A point-of-sale integration: card scan, a sale in one transaction, a retry, a return.

The POS sends each sale once per idempotency key (its receipt number), so a retry after
a lost network answer is safe. Stock, points and the RFM purchase log move together or
not at all. Run it: ``python examples/pos_integration.py`` (a temporary SQLite file).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from omnicrm.channel import Channel
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.inventory import InsufficientStockError
from omnicrm.loyalty import Purchase, PurchaseLine
from omnicrm.omni import OmniCRM
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm

STORE = "st-shinjuku"
clock = FixedClock(datetime(2026, 5, 9, 5, 0, tzinfo=UTC))  # Saturday 14:00 in Tokyo


def member_of(crm: OmniCRM, card: str, name: str) -> str:
    """Scan a member card: the person it belongs to (placed on first sight)."""
    ref = SourceRef(Channel.STORE, card)
    known = crm.identity.customer_of(ref)
    if known is not None:
        return known
    record = CustomerRecord(source=ref, family_name=name, member_card_no=card)
    return crm.identity.resolve(record, idempotency_key=f"card-{card}").customer_id


def ring_up(crm: OmniCRM, receipt: str, member: str, lines: list[tuple[str, int, int]]) -> None:
    """One sale: stock leaves the shelf, points are earned, the purchase is logged. Atomic."""
    with crm.atomic():
        for sku, quantity, _price in lines:
            crm.inventory.sell(
                sku, STORE, quantity, reference=receipt, idempotency_key=f"{receipt}:{sku}"
            )
        purchase = Purchase(
            order_id=receipt,
            company="retail",
            channel=Channel.STORE,
            lines=tuple(PurchaseLine(sku, q * price) for sku, q, price in lines),
        )
        crm.record_purchase(member, purchase, idempotency_key=receipt)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'pos.db'}")
        crm = retail_crm(store, clock, SequentialIds(), customers=["store:M-4410"])
        crm.inventory.receive("shirt", STORE, 3, reference="PO-1", idempotency_key="po-1")
        crm.inventory.receive("belt", STORE, 1, reference="PO-1", idempotency_key="po-1b")

        print("1. A member card is scanned at the till in Shinjuku.")
        member = member_of(crm, "M-4410", "鈴木")
        print(f"   card M-4410 belongs to {member}")

        print("2. Two shirts and a belt are rung up as receipt R-0001.")
        ring_up(crm, "R-0001", member, [("shirt", 2, 4_900), ("belt", 1, 3_300)])
        points = crm.loyalty.balance(member, "points").available
        shirts = crm.inventory.level("shirt", STORE).on_hand
        print(f"   points {points}; shirts left on the shelf {shirts}")

        print("3. The network drops; the POS sends R-0001 again with the same receipt number.")
        ring_up(crm, "R-0001", member, [("shirt", 2, 4_900), ("belt", 1, 3_300)])
        again = crm.loyalty.balance(member, "points").available
        print(f"   still {again} points and {crm.inventory.level('shirt', STORE).on_hand} shirts")

        print("4. R-0002 asks for two belts but none is left: nothing of it is kept.")
        try:
            ring_up(crm, "R-0002", member, [("shirt", 1, 4_900), ("belt", 2, 3_300)])
        except InsufficientStockError as exc:
            print(f"   refused: {exc}")
        print(
            f"   shirts still {crm.inventory.level('shirt', STORE).on_hand}, points still "
            f"{crm.loyalty.balance(member, 'points').available}, "
            f"purchases logged {len(crm.purchases())}"
        )

        print("5. A shirt comes back a week later: stock and points in one transaction.")
        clock.advance(timedelta(days=7))
        with crm.atomic():
            crm.inventory.return_to_stock(
                "shirt", STORE, 1, reference="R-0001", idempotency_key="R-0001:return"
            )
            crm.loyalty.return_purchase(
                member, "points", "R-0001", 4_900, idempotency_key="R-0001:return"
            )
        print(
            f"   points {crm.loyalty.balance(member, 'points').available}; "
            f"shirts {crm.inventory.level('shirt', STORE).on_hand}"
        )
        store.close()


if __name__ == "__main__":
    main()
