from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from _loyalty_support import T0, Kit

from omnicrm.channel import Channel
from omnicrm.errors import IdempotencyConflictError
from omnicrm.loyalty import (
    EntryKind,
    ExceedsHoldError,
    HoldNotActiveError,
    InsufficientPointsError,
    PointsEarned,
)
from omnicrm.testing.contracts.loyalty_audit import audit_ledger

PROGRAM_IDS = ("plain", "group", "pending", "rolling", "writeoff", "reissue")


@pytest.fixture(autouse=True)
def _audit(kit: Kit):  # type: ignore[no-untyped-def]
    yield
    audit_ledger(kit.store, PROGRAM_IDS)  # type: ignore[arg-type]


def test_earn_one_point_per_100_yen_rounded_down_after_points_used(kit: Kit) -> None:
    kit.enroll()
    first = kit.buy(1999)
    assert first.points == 19
    assert kit.available() == 19
    second = kit.buy(1999, points_used=19)  # earns on 1980
    assert second.points == 19
    third = kit.buy(1980, points_used=81)  # earns on 1899
    assert third.points == 18
    assert kit.available() == 56
    assert first.events
    assert isinstance(first.events[0], PointsEarned)


def test_multipliers_add_up_and_limited_bonus_is_its_own_grant(kit: Kit) -> None:
    kit.enroll(program="group")
    plain = kit.buy(1000, program="group")
    assert plain.points == 10
    app = kit.buy(1000, program="group", channel=Channel.APP)
    assert app.points == 20
    gold_app = kit.buy(1000, program="group", channel=Channel.APP, tier="gold")
    assert gold_app.points == 25  # 10 + 100 % + 50 %
    tea = kit.buy(1000, program="group", product="tea")
    assert tea.points == 30
    standard, limited = tea.allocations
    assert (standard.points, limited.points) == (10, 20)
    assert limited.expires_at == datetime(2026, 2, 9, 15, tzinfo=UTC)  # end of Feb 9 in Tokyo
    balance = kit.service.balance("m1", "group")
    assert (balance.available, balance.limited) == (85, 20)


def test_campaign_rule_only_inside_its_period(kit: Kit) -> None:
    from omnicrm.loyalty import EarnRule, LoyaltyService, Program
    from omnicrm.persistence.memory import MemoryStore

    program = Program(
        id="camp",
        companies={"acme"},
        rules=(EarnRule(name="sale", percent=500, starts_at=T0, ends_at=T0 + timedelta(days=1)),),
    )
    kit.service = LoyaltyService(MemoryStore(), kit.clock, [program])
    kit.enroll(program="camp")
    assert kit.buy(1000, program="camp").points == 50
    kit.advance(days=1)
    assert kit.buy(1000, program="camp").points == 10


def test_provisional_points_confirm_on_first_of_next_month(kit: Kit) -> None:
    kit.enroll(program="pending")
    receipt = kit.buy(5000, program="pending")
    assert receipt.detail("pending") == 50
    balance = kit.service.balance("m1", "pending")
    assert (balance.available, balance.pending) == (0, 50)
    with pytest.raises(InsufficientPointsError):
        kit.spend(1, program="pending")
    # Jan 10 + 14 days = Jan 24 -> confirmed at Feb 1 00:00 Tokyo = Jan 31 15:00 UTC
    kit.clock.set(datetime(2026, 1, 31, 14, 59, tzinfo=UTC))
    assert kit.service.balance("m1", "pending").pending == 50
    kit.clock.set(datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    assert kit.service.balance("m1", "pending").available == 50
    kit.spend(20, program="pending")
    confirm = [e for e in kit.service.statement("m1", "pending") if e.kind == EntryKind.CONFIRM]
    assert [c.effective_at for c in confirm] == [datetime(2026, 1, 31, 15, tzinfo=UTC)]
    assert kit.available(program="pending") == 30


def test_return_before_confirmation_cancels_pending_points(kit: Kit) -> None:
    kit.enroll(program="pending")
    kit.buy(5000, program="pending", order="ord")
    receipt = kit.service.return_purchase("m1", "pending", "ord", 2000, idempotency_key="r")
    assert receipt.detail("reversed") == 20
    assert kit.service.balance("m1", "pending").pending == 30
    kit.service.return_purchase("m1", "pending", "ord", 3000, idempotency_key="r2")
    assert kit.service.balance("m1", "pending").pending == 0
    kit.clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    kit.service.expire()
    assert kit.service.balance("m1", "pending").available == 0


def test_spend_uses_limited_then_soonest_expiring_and_traces_grants(kit: Kit) -> None:
    kit.enroll(program="group")
    early = kit.buy(1000, program="group").allocations[0]
    kit.advance(days=40)
    late = kit.buy(1000, program="group").allocations[0]
    bonus = kit.buy(500, program="group", product="tea").allocations  # 5 + limited 10
    spent = kit.spend(22, program="group")
    assert [(a.grant_id, a.points) for a in spent.allocations] == [
        (bonus[1].grant_id, 10),
        (early.grant_id, 10),
        (late.grant_id, 2),
    ]
    assert sum(a.points for a in spent.allocations) == 22


def test_hold_capture_part_returns_the_rest(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000)
    hold = kit.service.hold(
        "m1", "plain", 60, company="acme", channel=Channel.EC, idempotency_key="h"
    )
    balance = kit.service.balance("m1", "plain")
    assert (balance.available, balance.held) == (40, 60)
    with pytest.raises(ExceedsHoldError):
        kit.service.capture("plain", hold.hold_id or "", 61, idempotency_key="c0")
    captured = kit.service.capture("plain", hold.hold_id or "", 45, idempotency_key="c")
    assert captured.detail("released") == 15
    balance = kit.service.balance("m1", "plain")
    assert (balance.available, balance.held) == (55, 0)
    with pytest.raises(HoldNotActiveError):
        kit.service.release("plain", hold.hold_id or "", idempotency_key="r")


def test_release_twice_is_refused_and_lapse_returns_points(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000)
    one = kit.service.hold(
        "m1", "plain", 30, company="acme", channel=Channel.EC, idempotency_key="a"
    )
    kit.service.release("plain", one.hold_id or "", idempotency_key="r1")
    with pytest.raises(HoldNotActiveError, match="released"):
        kit.service.release("plain", one.hold_id or "", idempotency_key="r2")
    two = kit.service.hold(
        "m1", "plain", 70, company="acme", channel=Channel.EC, idempotency_key="b"
    )
    assert kit.service.balance("m1", "plain").held == 70
    kit.advance(minutes=30)
    balance = kit.service.balance("m1", "plain")
    assert (balance.available, balance.held) == (100, 0)
    with pytest.raises(HoldNotActiveError, match="lapsed"):
        kit.service.capture("plain", two.hold_id or "", 10, idempotency_key="c")
    report = kit.service.expire()
    assert report.lapsed == 70
    lapse = [e for e in kit.service.statement("m1", "plain") if e.kind == EntryKind.LAPSE]
    assert lapse[0].effective_at == T0 + timedelta(minutes=30)


def test_return_reverses_earned_and_restores_spent_in_proportion(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000, order="first")  # 100 points
    kit.spend(40, order_id="o2")
    receipt = kit.buy(10000, order="o2", points_used=40)  # earns on 9960 -> 99
    assert receipt.points == 99
    assert kit.available() == 60 + 99
    back = kit.service.return_purchase("m1", "plain", "o2", 5000, idempotency_key="r")
    # kept: 99 * 5000 // 10000 = 49 -> reversed 50; restored 40 * 5000 // 10000 = 20
    assert (back.detail("reversed"), back.detail("restored"), back.detail("debt")) == (50, 20, 0)
    assert kit.available() == 60 + 99 - 50 + 20
    rest = kit.service.return_purchase("m1", "plain", "o2", 5000, idempotency_key="r2")
    assert (rest.detail("reversed"), rest.detail("restored")) == (49, 20)
    assert kit.available() == 100
    with pytest.raises(Exception, match="left to return"):
        kit.service.return_purchase("m1", "plain", "o2", 1, idempotency_key="r3")


def test_return_shortfall_becomes_debt_recovered_from_future_earnings(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000, order="big")
    kit.spend(90)
    back = kit.service.return_purchase("m1", "plain", "big", 10000, idempotency_key="r")
    assert back.detail("debt") == 90
    balance = kit.service.balance("m1", "plain")
    assert (balance.available, balance.debt) == (0, 90)
    earned = kit.buy(5000)
    assert earned.detail("recovered") == 50
    assert kit.service.balance("m1", "plain").debt == 40
    kit.buy(10000)
    balance = kit.service.balance("m1", "plain")
    assert (balance.available, balance.debt) == (60, 0)


def test_write_off_policy_leaves_no_debt(kit: Kit) -> None:
    kit.enroll(program="writeoff")
    kit.buy(10000, program="writeoff", order="big")
    kit.spend(90, program="writeoff")
    back = kit.service.return_purchase("m1", "writeoff", "big", 10000, idempotency_key="r")
    assert back.detail("debt") == 0
    assert kit.service.balance("m1", "writeoff").debt == 0


def test_spent_points_of_expired_grant_lapse_or_reissue(kit: Kit) -> None:
    for program in ("plain", "reissue"):
        kit.enroll(program=program)
        kit.buy(10000, program=program, order=f"old-{program}")
        kit.spend(100, program=program, order_id=f"buy-{program}")
        kit.buy(1000, program=program, order=f"buy-{program}", points_used=100)
    kit.advance(days=400)
    for program in ("plain", "reissue"):
        kit.service.return_purchase(
            "m1", program, f"buy-{program}", 1000, idempotency_key=f"r-{program}"
        )
    assert kit.available("m1", "plain") == 0
    assert kit.available("m1", "reissue") == 100


def test_expire_is_idempotent_and_dated_at_the_expiry(kit: Kit) -> None:
    kit.enroll()
    grant = kit.buy(10000).allocations[0]
    assert grant.expires_at == datetime(2027, 1, 10, 15, tzinfo=UTC)  # end of 2027-01-10 JST
    kit.clock.set(datetime(2027, 3, 1, tzinfo=UTC))
    assert kit.available() == 0
    first = kit.service.expire()
    second = kit.service.expire()
    assert (first.expired, second.expired) == (100, 0)
    expiry = [e for e in kit.service.statement("m1", "plain") if e.kind == EntryKind.EXPIRE]
    assert [(e.amount, e.effective_at) for e in expiry] == [(100, grant.expires_at)]
    with pytest.raises(InsufficientPointsError):
        kit.spend(1)


def test_expiring_soon_lists_grants_about_to_lapse(kit: Kit) -> None:
    kit.enroll(program="group")
    kit.buy(1000, program="group", product="tea")  # 10 standard + 20 limited (30 days)
    soon = kit.service.expiring_soon("m1", "group", timedelta(days=31))
    assert [(s.points, s.limited) for s in soon] == [(20, True)]
    assert len(kit.service.expiring_soon("m1", "group", timedelta(days=400))) == 2
    balance = kit.service.balance("m1", "group")
    assert balance.expiring == ((date(2026, 2, 9), 20), (date(2027, 1, 10), 10))


def test_balance_as_of_matches_the_balance_seen_then(kit: Kit) -> None:
    kit.enroll(program="pending")
    seen = []
    kit.buy(5000, program="pending", order="a")
    seen.append((kit.clock.now(), kit.service.balance("m1", "pending")))
    kit.clock.set(datetime(2026, 2, 2, tzinfo=UTC))
    kit.buy(3000, program="pending", order="b")
    kit.service.hold("m1", "pending", 10, company="acme", channel=Channel.EC, idempotency_key="h")
    seen.append((kit.clock.now(), kit.service.balance("m1", "pending")))
    kit.advance(hours=1)
    seen.append((kit.clock.now(), kit.service.balance("m1", "pending")))
    kit.advance(minutes=1)  # as_of includes every command at that very instant
    kit.spend(15, program="pending")
    kit.service.return_purchase("m1", "pending", "b", 1000, idempotency_key="r")
    seen.append((kit.clock.now(), kit.service.balance("m1", "pending")))
    kit.clock.set(datetime(2027, 6, 1, tzinfo=UTC))
    seen.append((kit.clock.now(), kit.service.balance("m1", "pending")))
    kit.service.expire()
    kit.advance(days=1)
    for at, balance in seen:
        again = kit.service.balance("m1", "pending", as_of=at)
        assert again == balance, at


def test_rolling_expiry_is_extended_by_activity(kit: Kit) -> None:
    kit.enroll(program="rolling")
    kit.buy(10000, program="rolling")
    kit.advance(days=150)
    kit.buy(1000, program="rolling")
    kit.advance(days=150)  # 300 days after the first earn, 150 after the last activity
    assert kit.available(program="rolling") == 110
    kit.advance(days=40)  # > 6 months since the last activity
    assert kit.available(program="rolling") == 0
    assert kit.service.expire().expired == 110


def test_settlement_between_group_companies_reconciles(kit: Kit) -> None:
    kit.enroll(program="group")
    kit.buy(10000, program="group", company="acme")
    kit.buy(5000, program="group", company="beta")
    kit.spend(120, program="group", company="beta", order_id="ob")
    kit.spend(20, program="group", company="acme")
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    report = kit.service.settlement("group", start, end)
    assert report.owed("acme", "beta") == 100
    assert report.owed("beta", "beta") == 20
    assert report.owed("beta", "acme") == 20
    assert dict(report.net) == {"acme": -80, "beta": 80}
    redeemed = sum(
        (e.amount if e.credit == "company.redeemed" else 0)
        - (e.amount if e.debit == "company.redeemed" else 0)
        for e in kit.service.statement("m1", "group")
    )
    assert sum(p for _, _, p in report.matrix) == redeemed == 140
    books = {b.company: b for b in kit.service.books("group")}
    assert all(sum(v for _, v in b.accounts) == 0 for b in books.values())
    assert books["acme"].liability + books["beta"].liability == kit.available(program="group")
    assert books["acme"].balance("company.issued") == -100
    assert books["acme"].liability == 0
    assert books["beta"].liability == 50 - 20 - 20
    assert (books["acme"].receivable, books["beta"].receivable) == (-80, 80)
    earlier = {b.company: b for b in kit.service.books("group", as_of=T0 - timedelta(1))}
    assert earlier["acme"].accounts == ()


def test_merge_moves_grants_with_expiry_and_issuer_and_unmerge_moves_back(kit: Kit) -> None:
    kit.enroll("a", "group")
    kit.enroll("b", "group")
    a_grant = kit.buy(10000, member="a", program="group", company="beta").allocations[0]
    kit.buy(1000, member="b", program="group")
    merged = kit.service.merge_members("b", "a", merge_id="mg1", idempotency_key="ev1")
    assert [r.points for r in merged] == [100]
    assert kit.available("b", "group") == 110
    assert kit.available("a", "group") == 0
    soon = kit.service.expiring_soon("b", "group", timedelta(days=800))
    moved = next(s for s in soon if s.grant_id == a_grant.grant_id)
    assert (moved.company, moved.expires_at) == ("beta", a_grant.expires_at)
    again = kit.service.merge_members("b", "a", merge_id="mg1", idempotency_key="ev1")
    assert all(r.replayed for r in again)
    kit.spend(5, member="b", program="group")  # the soonest: b's own? both expire 2027-01-10
    kit.service.unmerge_members("b", "a", merge_id="mg1", idempotency_key="ev2")
    assert kit.available("a", "group") + kit.available("b", "group") == 105
    assert kit.available("b", "group") in (5, 10)


def test_retry_returns_first_result_and_other_payload_conflicts(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000)
    first = kit.service.spend(
        "m1", "plain", 10, company="acme", channel=Channel.EC, idempotency_key="pay"
    )
    again = kit.service.spend(
        "m1", "plain", 10, company="acme", channel=Channel.EC, idempotency_key="pay"
    )
    assert again.replayed
    assert not first.replayed
    assert again.allocations == first.allocations
    assert again.points == first.points
    assert kit.available() == 90
    with pytest.raises(IdempotencyConflictError):
        kit.service.spend(
            "m1", "plain", 11, company="acme", channel=Channel.EC, idempotency_key="pay"
        )


def test_adjust_up_and_down(kit: Kit) -> None:
    kit.enroll()
    up = kit.service.adjust(
        "m1",
        "plain",
        50,
        company="acme",
        reason="apology",
        expires_on=date(2026, 1, 31),
        limited=True,
        idempotency_key="a1",
    )
    assert up.allocations[0].expires_at == datetime(2026, 1, 31, 15, tzinfo=UTC)
    kit.service.adjust("m1", "plain", -20, company="acme", reason="fix", idempotency_key="a2")
    assert kit.service.balance("m1", "plain").limited == 30


def test_returning_after_the_points_expired_charges_no_debt(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000, order="old")
    kit.spend(30)
    kit.advance(days=400)
    back = kit.service.return_purchase("m1", "plain", "old", 10000, idempotency_key="r")
    # 30 of the 100 points were spent (charged as debt); the 70 that expired are forgiven
    assert (back.detail("reversed"), back.detail("debt")) == (100, 30)
    assert kit.service.balance("m1", "plain").debt == 30


def test_provisional_points_pay_debt_first(kit: Kit) -> None:
    kit.enroll(program="pending")
    kit.service.adjust("m1", "pending", 50, company="acme", reason="r", idempotency_key="a")
    kit.buy(5000, program="pending", order="o")
    kit.spend(50, program="pending")
    kit.clock.set(datetime(2026, 2, 1, tzinfo=UTC))  # confirmed
    kit.spend(50, program="pending")
    back = kit.service.return_purchase("m1", "pending", "o", 5000, idempotency_key="r")
    assert back.detail("debt") == 50
    earned = kit.buy(3000, program="pending")
    assert earned.detail("recovered") == 30
    balance = kit.service.balance("m1", "pending")
    assert (balance.pending, balance.debt) == (0, 20)
