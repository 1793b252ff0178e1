"""A command touching two capabilities commits or rolls back as a whole."""

import pytest

from omnicrm.channel import Channel
from omnicrm.errors import StateError
from omnicrm.identity import CustomersMerged
from omnicrm.inventory import HoldKind, HoldLine, InsufficientStockError
from omnicrm.omni import OmniCRM, PurchaseRecorded

from .test_flows import P, buy, points, two_people


class InjectedError(Exception):
    pass


def fail(_event: object) -> None:
    raise InjectedError("injected half-way")


def test_a_failing_handler_rolls_back_the_purchase_and_its_points(crm: OmniCRM) -> None:
    member, _ = two_people(crm)
    crm.on(PurchaseRecorded, fail)
    with pytest.raises(InjectedError):
        crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    assert crm.purchases() == ()
    assert points(crm, member) == 0
    assert crm.due == []


def test_a_failing_handler_rolls_back_the_merge_and_the_moved_points(crm: OmniCRM) -> None:
    member, account = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    crm.on(CustomersMerged, fail)  # runs after the points moved
    with pytest.raises(InjectedError):
        crm.identity.merge(account, member, reason="same", idempotency_key="m1")
    assert not crm.identity.profile(member).erased
    assert points(crm, member) == 49
    assert points(crm, account) == 0
    assert [r.customer_id for r in crm.purchases()] == [member]
    # the same command, retried once the fault is gone, goes through
    crm._handlers[CustomersMerged].remove(fail)
    crm.identity.merge(account, member, reason="same", idempotency_key="m1")
    assert points(crm, account) == 49


def test_a_composite_command_failing_half_way_leaves_nothing(crm: OmniCRM) -> None:
    member, _ = two_people(crm)
    crm.inventory.receive("shirt", "st-shibuya", 1, reference="PO-1", idempotency_key="po-1")
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")

    def checkout() -> None:
        with crm.atomic():
            crm.loyalty.spend(
                member, P, 40, company="retail", channel=Channel.EC, idempotency_key="ec-spend"
            )
            crm.inventory.hold(
                [HoldLine("shirt", "st-shibuya", 1)],
                kind=HoldKind.ORDER,
                channel=Channel.STORE,
                idempotency_key="ec-hold",
            )
            raise InjectedError("the payment provider refused")

    with pytest.raises(InjectedError):
        checkout()
    assert points(crm, member) == 49
    assert crm.inventory.level("shirt", "st-shibuya").held == 0
    # the idempotency keys were rolled back too: the retry really runs
    receipt = crm.loyalty.spend(
        member, P, 40, company="retail", channel=Channel.EC, idempotency_key="ec-spend"
    )
    assert not receipt.replayed
    assert points(crm, member) == 9


def test_a_refused_inner_command_caught_by_the_host_still_rolls_back(crm: OmniCRM) -> None:
    member, _ = two_people(crm)
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")

    def checkout() -> None:
        with crm.atomic():
            crm.loyalty.spend(
                member, P, 10, company="retail", channel=Channel.EC, idempotency_key="spend"
            )
            with pytest.raises(InsufficientStockError):
                crm.inventory.hold(
                    [HoldLine("shirt", "st-shibuya", 5)],
                    kind=HoldKind.CART,
                    channel=Channel.EC,
                    idempotency_key="too-many",
                )

    with pytest.raises(StateError):
        checkout()
    assert points(crm, member) == 49
