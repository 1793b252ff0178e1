"""An erasure request (APPI) through OmniCRM: one call, and every capability follows.

Hanako is a store member with a profile, points, a checkout hold, a watched item and a
journey under way. She asks for her personal data to be erased. ``crm.identity.erase``
raises ``CustomerErased`` and the composition root carries it everywhere in the same
unit of work: points forfeited by ledger entries (the books still balance), the profile
emptied, purchases and watches deleted, journey state forgotten, and stored retry
results about her redacted. Run it: ``python examples/omnicrm_erasure.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.channel import Channel
from omnicrm.customers import Profile
from omnicrm.errors import RuleViolationError
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.loyalty import Purchase, PurchaseLine
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.timing import CustomerEvent

clock = FixedClock(datetime(2026, 6, 1, 3, 0, tzinfo=UTC))  # noon in Tokyo
HANAKO = CustomerRecord(
    source=SourceRef(Channel.STORE, "M-2001"),
    family_name="山田",
    given_name="花子",
    phone="090-1234-5678",
    email="hanako@example.jp",
)
SALE = Purchase(
    order_id="POS-9001",
    company="retail",
    channel=Channel.STORE,
    lines=(PurchaseLine("shirt", 12_800),),
)


def main() -> None:
    crm = retail_crm(MemoryStore(), clock, SequentialIds(), customers=["store:M-2001"])
    person = crm.identity.resolve(HANAKO, idempotency_key="signup").customer_id
    crm.customers.register(
        Profile(family_name="山田", given_name="花子", email="hanako@example.jp"),
        channel=Channel.STORE,
        idempotency_key="profile",
        customer_id=person,
    )
    crm.record_purchase(person, SALE, idempotency_key="POS-9001")
    crm.loyalty.hold(person, "points", 20, company="retail", channel=Channel.EC,
                     idempotency_key="cart-1")  # fmt: skip
    crm.watch(person, "belt")
    crm.timing.handle(
        CustomerEvent(event_id="search-1", event_type="searched", customer_id=person,
                      occurred_at=clock.now(), properties={"query": "linen shirt"})
    )  # fmt: skip
    before = crm.loyalty.balance(person, "points")
    print(f"Before: {person} has {before.available} points available, {before.held} held,")
    print(f"        {len(crm.purchases())} purchase, a watched belt, a search reminder pending.")

    crm.identity.erase(person, idempotency_key="appi-request-1")

    after = crm.loyalty.balance(person, "points")
    print("After the erasure request:")
    print(f"  points available / pending / held: {after.available} / {after.pending} / "
          f"{after.held} (forfeited by ledger entries)")  # fmt: skip
    print(f"  profile emptied: {crm.customers.get(person).profile == Profile()}")
    print(f"  purchases: {len(crm.purchases())}")
    clock.advance(timedelta(days=3))
    print(f"  journey actions due three days later: {len(crm.tick())}")
    books = crm.loyalty.books("points")
    print(f"  the company's points liability: {sum(b.liability for b in books)}")
    try:
        crm.record_purchase(person, SALE, idempotency_key="POS-9001")
    except RuleViolationError as exc:
        print(f"  the till retries the old sale: refused ({exc.reason})")


if __name__ == "__main__":
    main()
