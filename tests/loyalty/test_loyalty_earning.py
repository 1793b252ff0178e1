from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.loyalty import Confirmation, Program, Purchase, plan_earning
from omnicrm.loyalty._calendar import confirm_at, fixed_expiry, limited_expiry
from omnicrm.testing.strategies_loyalty import programs, purchases

T0 = datetime(2026, 1, 10, 3, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(purchase=purchases())
def test_net_lines_share_points_used_exactly(purchase: Purchase) -> None:
    net = purchase.net_lines()
    assert sum(a for _, a in net) == purchase.gross - purchase.points_used
    assert all(a >= 0 for _, a in net)


@settings(max_examples=60, deadline=None)
@given(program=programs(), purchase=purchases())
def test_earning_is_integer_and_bounded_by_the_multipliers(
    program: Program, purchase: Purchase
) -> None:
    plan = plan_earning(program, purchase, T0)
    net = purchase.gross - purchase.points_used
    base = net // program.unit_amount * program.points_per_unit
    assert isinstance(plan.total, int)
    assert plan.standard >= base
    assert plan.total <= base + sum(base * (r.percent - 100) // 100 for r in program.rules)
    assert all(points > 0 for _, _, points in plan.limited)


@given(st.from_type(Program), st.from_type(Purchase))
@settings(max_examples=20, deadline=None)
def test_strategies_are_registered(program: Program, purchase: Purchase) -> None:
    assert program.companies
    assert purchase.lines


def test_calendar_arithmetic_in_tokyo() -> None:
    tokyo = Program(id="p", companies={"a"}, expiry_months=1)
    # Jan 31 (JST) + 1 month -> valid through Feb 28, expires at Mar 1 00:00 JST
    jan31 = datetime(2026, 1, 31, 3, tzinfo=UTC)
    assert fixed_expiry(tokyo, jan31) == datetime(2026, 2, 28, 15, tzinfo=UTC)
    eom = Program(id="p", companies={"a"}, expiry_months=12, end_of_month=True)
    assert fixed_expiry(eom, T0) == datetime(2027, 1, 31, 15, tzinfo=UTC)
    # 23:30 UTC on Jan 9 is already Jan 10 in Tokyo
    late = datetime(2026, 1, 9, 23, 30, tzinfo=UTC)
    assert limited_expiry(tokyo, late, 1) == datetime(2026, 1, 11, 15, tzinfo=UTC)
    monthly = Program(
        id="p", companies={"a"}, confirmation=Confirmation(days=20, next_month_start=True)
    )
    assert confirm_at(monthly, T0) == datetime(2026, 1, 31, 15, tzinfo=UTC)  # Feb 1 JST
    assert confirm_at(tokyo, T0) is None
    days = Program(id="p", companies={"a"}, confirmation=Confirmation(days=30))
    assert confirm_at(days, T0) == datetime(2026, 2, 9, 3, tzinfo=UTC)
    assert date(2026, 2, 9) == confirm_at(days, T0).date()  # type: ignore[union-attr]
