"""The whole flow through OmniCRM, on memory and on SQLite: the cross-capability effects."""

from datetime import timedelta

import pytest

from omnicrm.channel import Channel
from omnicrm.errors import NotFoundError, RuleViolationError
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.inventory import HoldKind, HoldLine
from omnicrm.loyalty import Purchase, PurchaseLine
from omnicrm.omni import OmniCRM
from omnicrm.testing import FixedClock
from omnicrm.timing import CustomerEvent

from .conftest import NOON_TOKYO as NOON

STORE_MEMBER = CustomerRecord(
    source=SourceRef("store", "M1"),
    family_name="山田",
    given_name="花子",
    phone="090-1234-5678",
    birth_date="1990-04-01",
)
EC_ACCOUNT = CustomerRecord(source=SourceRef("ec", "u1"), given_name="Hanako", email="h@example.jp")
P = "points"


def buy(order_id: str, channel: Channel, amount: int, points_used: int = 0) -> Purchase:
    return Purchase(
        order_id=order_id,
        company="retail",
        channel=channel,
        lines=(PurchaseLine("shirt", amount),),
        points_used=points_used,
    )


def points(crm: OmniCRM, member: str) -> int:
    """Available points, 0 for someone with no account."""
    try:
        return crm.loyalty.balance(member, P).available
    except NotFoundError:
        return 0


def two_people(crm: OmniCRM) -> tuple[str, str]:
    a = crm.identity.resolve(STORE_MEMBER, idempotency_key="signup-store")
    b = crm.identity.resolve(EC_ACCOUNT, idempotency_key="signup-ec")
    assert a.created
    assert b.created
    return a.customer_id, b.customer_id


def test_a_store_purchase_earns_points_and_is_an_rfm_input(crm: OmniCRM) -> None:
    member, _ = two_people(crm)
    record = crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    assert record.amount == 4_900
    assert record.channel == "store"
    assert points(crm, member) == 49
    again = crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    assert again == record
    assert points(crm, member) == 49
    summary = crm.rfm()
    assert list(summary.customer_ids) == [member]
    assert list(summary.monetary_total) == [4_900]


def test_merge_moves_points_and_purchases_and_unmerge_moves_them_back(crm: OmniCRM) -> None:
    member, account = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 10_000), idempotency_key="p1")
    merged = crm.identity.merge(account, member, reason="same phone", idempotency_key="m1")
    assert points(crm, account) == 100
    assert points(crm, member) == 0
    assert [r.customer_id for r in crm.purchases()] == [account]

    # points earned in a store are spent online
    crm.loyalty.spend(
        account, P, 30, company="retail", channel=Channel.EC, idempotency_key="ec-spend"
    )
    assert points(crm, account) == 70

    crm.identity.unmerge(merged.audit_id, idempotency_key="u1")
    assert points(crm, member) == 70  # what was left of the moved grants
    assert [r.customer_id for r in crm.purchases()] == [member]


def test_a_purchase_ends_the_abandoned_search_journey(crm: OmniCRM, clock: FixedClock) -> None:
    member, account = two_people(crm)
    for customer in (member, account):
        crm.timing.handle(
            CustomerEvent(
                event_id=f"search-{customer}",
                event_type="searched",
                customer_id=customer,
                occurred_at=clock.now(),
                properties={"query": "shirt"},
            )
        )
    clock.advance(timedelta(hours=1))
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    clock.advance(timedelta(hours=3))
    due = crm.tick()
    assert [(a.customer_id, a.content) for a in due] == [(account, "search_reminder")]


def test_quiet_hours_defer_the_reminder_to_the_morning(crm: OmniCRM, clock: FixedClock) -> None:
    _, account = two_people(crm)
    clock.advance(timedelta(hours=7, minutes=30))  # 19:30 in Tokyo
    crm.timing.handle(
        CustomerEvent(
            event_id="late-search",
            event_type="searched",
            customer_id=account,
            occurred_at=clock.now(),
        )
    )
    clock.advance(timedelta(hours=14))
    (reminder,) = crm.tick()
    assert reminder.due_at.hour == 0  # 09:00 in Tokyo
    assert reminder.due_at.date() > clock.now().date() - timedelta(days=1)


def test_points_about_to_expire_become_a_journey_event(crm: OmniCRM, clock: FixedClock) -> None:
    member, _ = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    assert crm.remind_expiring([member], timedelta(days=30)) == 0
    clock.advance(timedelta(days=350))
    assert crm.remind_expiring([member], timedelta(days=30)) == 1
    assert [a.content for a in crm.due if a.journey_id == "points_expiring"] == [
        "points_expiring_notice"
    ]


def test_stock_back_for_a_watched_item_becomes_a_journey_event(crm: OmniCRM) -> None:
    _, account = two_people(crm)
    crm.watch(account, "belt")
    crm.inventory.receive("belt", "st-shibuya", 3, reference="PO-1", idempotency_key="po-1")
    notices = [a for a in crm.due if a.journey_id == "back_in_stock"]
    assert [(a.customer_id, a.content) for a in notices] == [(account, "back_in_stock_notice")]
    crm.inventory.receive("belt", "st-shibuya", 1, reference="PO-2", idempotency_key="po-2")
    assert len([a for a in crm.due if a.journey_id == "back_in_stock"]) == 1  # watched once


def test_erasure_reaches_the_purchase_log_and_watch_list(crm: OmniCRM) -> None:
    member, account = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    crm.record_purchase(account, buy("EC-1", Channel.EC, 2_000), idempotency_key="p2")
    crm.watch(member, "belt")
    crm.identity.erase(member, idempotency_key="erase")
    assert [r.customer_id for r in crm.purchases()] == [account]
    with crm.atomic() as uow:
        assert uow.omni_watches.watchers("belt") == []


def test_a_try_on_hold_and_points_in_one_unit_of_work(crm: OmniCRM) -> None:
    member, _ = two_people(crm)
    crm.inventory.receive("shirt", "st-shibuya", 2, reference="PO-1", idempotency_key="po-1")
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    with crm.atomic():
        crm.inventory.hold(
            [HoldLine("shirt", "st-shibuya", 1)],
            kind=HoldKind.TRY_ON,
            channel=Channel.APP,
            idempotency_key="try-on",
        )
        crm.loyalty.spend(
            member, P, 10, company="retail", channel=Channel.APP, idempotency_key="app-spend"
        )
    assert crm.inventory.level("shirt", "st-shibuya").held == 1
    assert points(crm, member) == 39


def test_the_root_is_importable_from_the_package() -> None:
    import omnicrm

    assert omnicrm.OmniCRM is OmniCRM
    assert "OmniCRM" in omnicrm.__all__


def _search(crm: OmniCRM, customer: str, at: object) -> None:
    crm.timing.handle(
        CustomerEvent(event_id=f"search-{customer}", event_type="searched",
                      customer_id=customer, occurred_at=at, properties={"query": "shirt"})  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_merge_moves_journey_state_to_the_survivor(crm: OmniCRM, clock: FixedClock) -> None:
    member, account = two_people(crm)
    _search(crm, member, clock.now())
    crm.identity.merge(account, member, reason="same phone", idempotency_key="m1")
    clock.advance(timedelta(hours=4))
    due = crm.tick()
    assert [(a.customer_id, a.content) for a in due] == [(account, "search_reminder")]
    assert {a.customer_id for a in crm.timing.history().actions} == {account}


def test_an_unmerge_gives_the_journey_back(crm: OmniCRM, clock: FixedClock) -> None:
    member, account = two_people(crm)
    _search(crm, member, clock.now())
    merged = crm.identity.merge(account, member, reason="same phone", idempotency_key="m1")
    crm.identity.unmerge(merged.audit_id, idempotency_key="u1")
    clock.advance(timedelta(hours=4))
    due = crm.tick()
    assert [(a.customer_id, a.content) for a in due] == [(member, "search_reminder")]


def test_erasure_ends_the_person_journeys(crm: OmniCRM, clock: FixedClock) -> None:
    member, account = two_people(crm)
    _search(crm, member, clock.now())
    _search(crm, account, clock.now())
    crm.identity.erase(member, idempotency_key="erase")
    clock.advance(timedelta(hours=4))
    assert [a.customer_id for a in crm.tick()] == [account]
    history = crm.timing.history()
    assert member not in {e.customer_id for e in history.entries}


def test_commands_follow_a_merged_id_and_refuse_an_erased_one(crm: OmniCRM) -> None:
    member, account = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 1_000), idempotency_key="p1")
    crm.identity.merge(account, member, reason="same phone", idempotency_key="m1")
    assert crm.person(member) == account
    late = crm.record_purchase(member, buy("POS-2", Channel.STORE, 2_000), idempotency_key="p2")
    assert late.customer_id == account  # a till holding the old id still earns for her
    assert (
        crm.record_purchase(  # the first sale retried after the merge replays
            member, buy("POS-1", Channel.STORE, 1_000), idempotency_key="p1"
        ).customer_id
        == member
    )
    assert points(crm, account) == 30
    crm.identity.erase(account, idempotency_key="erase")
    for stale in (member, account):
        with pytest.raises(RuleViolationError) as refused:
            crm.record_purchase(stale, buy("POS-3", Channel.EC, 500), idempotency_key="p3")
        assert refused.value.field == "customer_id"
        with pytest.raises(RuleViolationError):
            crm.handle(CustomerEvent(event_id=f"e-{stale}", event_type="searched",
                                     customer_id=stale, occurred_at=NOON))  # fmt: skip
    assert crm.purchases() == ()
    assert crm.person("host-only-id") == "host-only-id"
