from datetime import UTC, datetime, timedelta

import pytest

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.money import Money
from omnicrm.persistence.memory import MemoryStore
from omnicrm.timing import (
    Action,
    ChannelPolicy,
    CustomerContext,
    CustomerEvent,
    Engine,
    Journey,
    Kpi,
    StaticDirectory,
    Trigger,
    evaluate,
)
from omnicrm.timing._runner import in_holdout

T0 = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
IDS = [f"c{i:03d}" for i in range(200)]
JOURNEY = Journey(
    id="winback",
    holdout_basis_points=3000,
    triggers=(Trigger(event_type="lapsed"),),
    start="a",
    steps=(Action(id="a", content="coupon"),),
)


def event(i: int, kind: str, cid: str, at: datetime) -> CustomerEvent:
    return CustomerEvent(event_id=f"{kind}{i}", event_type=kind, customer_id=cid, occurred_at=at)


def run() -> tuple[Engine, list[CustomerEvent]]:
    directory = StaticDirectory(
        [
            CustomerContext(customer_id=c, consents={"push", "email"}, reachable=(
                {"push", "email"} if i % 4 else {"email"}))
            for i, c in enumerate(IDS)
        ]
    )  # fmt: skip
    channels = ChannelPolicy(default_channels=("push", "email"))
    crm = Engine(MemoryStore(), (JOURNEY,), directory=directory, channels=channels)
    for i, cid in enumerate(IDS):
        crm.handle(event(i, "lapsed", cid, T0))
    bought = [
        event(i, "bought", cid, T0 + timedelta(days=2 if i % 3 else 20))
        for i, cid in enumerate(IDS)
        if i % 2 == 0
    ]
    return crm, bought


def test_counts_uplift_and_cost_match_a_hand_count() -> None:
    crm, bought = run()
    costs = {"push": Money(3, "JPY"), "email": Money(10, "JPY")}
    report = evaluate(
        crm.history(),
        conversions=bought,
        conversion_type="bought",
        attribution_window=timedelta(days=7),
        costs=costs,
    )
    held = [c for c in IDS if in_holdout("winback", c, 3000)]
    sent = [c for c in IDS if c not in held]
    converts = {e.customer_id for e in bought if e.occurred_at - T0 <= timedelta(days=7)}
    stats = report.by_journey["winback"]
    assert (stats.entered, stats.sent, stats.held_out) == (200, len(sent), len(held))
    assert stats.converted == len([c for c in sent if c in converts])
    assert stats.holdout_converted == len([c for c in held if c in converts])
    assert stats.uplift == pytest.approx(
        stats.converted / len(sent) - stats.holdout_converted / len(held)
    )
    pushes = [c for c in sent if IDS.index(c) % 4]
    assert report.by_channel["push"].sent == len(pushes)
    assert report.by_channel["email"].sent == len(sent) - len(pushes)
    expected_cost = 3 * len(pushes) + 10 * (len(sent) - len(pushes))
    assert stats.cost == Money(expected_cost, "JPY")
    assert stats.cost_per_conversion == pytest.approx(expected_cost / stats.converted)
    assert report.by_step[("winback", "a")].sent == len(sent)
    assert report.by_stage[("winback", "")].sent == len(sent)
    assert set(report.response_rates()) == {"push", "email"}


def test_outcomes_count_delivery_and_reported_conversions() -> None:
    crm, _ = run()
    due = [a for a in crm.history().actions if a.status == "due"]
    crm.record_outcome(due[0].action_id, "delivered", T0)
    crm.record_outcome(due[1].action_id, "converted", T0)
    crm.record_outcome(due[2].action_id, "failed", T0)
    report = evaluate(crm.history())
    stats = report.by_journey["winback"]
    assert (stats.delivered, stats.converted) == (2, 1)
    assert stats.cost is None
    assert stats.cost_per_conversion is None


def test_kpis_against_targets_over_a_period() -> None:
    crm, bought = run()
    period = (T0, T0 + timedelta(days=10))
    report = evaluate(
        crm.history(),
        costs={"push": Money(3, "JPY"), "email": Money(10, "JPY")},
        kpis=(Kpi(name="purchases", event_type="bought", target=100),
              Kpi(name="calls", event_type="phone_inquiry", target=0)),
        kpi_events=bought,
        period=period,
    )  # fmt: skip
    purchases, calls = report.kpis
    in_period = [e for e in bought if e.occurred_at <= period[1]]
    assert (purchases.actual, purchases.target) == (len(in_period), 100)
    assert purchases.attainment == pytest.approx(len(in_period) / 100)
    assert purchases.cost is not None
    assert purchases.cost_per_unit == pytest.approx(purchases.cost.amount / len(in_period))
    assert (calls.actual, calls.attainment, calls.cost_per_unit) == (0, None, None)


def test_bad_arguments() -> None:
    crm, _ = run()
    with pytest.raises(ValidationError):
        evaluate(crm.history(), attribution_window=timedelta(0))
    with pytest.raises(InvalidTypeError):
        evaluate("history")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Kpi(name="x", event_type="y", target=-1)


def test_satisfaction_kpi_is_a_mean_of_ratings() -> None:
    crm, _ = run()
    reviews = [
        CustomerEvent(
            event_id=f"r{i}",
            event_type="review_submitted",
            customer_id="c001",
            occurred_at=T0,
            properties={"rating": rating},
        )
        for i, rating in enumerate(["5", "4", "2", "not a number"])
    ]
    report = evaluate(
        crm.history(),
        kpis=(Kpi(name="satisfaction", event_type="review_submitted", target=4.0,
                  mean_of="rating"),
              Kpi(name="reviews", event_type="review_submitted", target=4)),
        kpi_events=reviews,
    )  # fmt: skip
    satisfaction, count = report.kpis
    assert satisfaction.actual == pytest.approx(11 / 3)
    assert satisfaction.attainment == pytest.approx(11 / 12)
    assert (count.actual, count.attainment) == (4, 1.0)
