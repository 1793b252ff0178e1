"""Hypothesis strategies for the loyalty values, registered for ``st.from_type``.

Importing this module registers strategies for :class:`~omnicrm.loyalty.PurchaseLine`,
:class:`~omnicrm.loyalty.Purchase`, :class:`~omnicrm.loyalty.EarnRule`,
:class:`~omnicrm.loyalty.Confirmation` and :class:`~omnicrm.loyalty.Program`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.loyalty import Confirmation, EarnRule, Program, Purchase, PurchaseLine

__all__ = [
    "COMPANIES",
    "PRODUCTS",
    "confirmations",
    "earn_rules",
    "programs",
    "purchase_lines",
    "purchases",
]

COMPANIES = ("acme", "beta", "gamma")
"""Company ids the strategies draw from."""

PRODUCTS = ("tea", "sweets", "shirt", "bag")
"""Product ids the strategies draw from."""

_CHANNELS = st.sampled_from([Channel.STORE, Channel.EC, Channel.APP])
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def purchase_lines(max_amount: int = 100_000) -> st.SearchStrategy[PurchaseLine]:
    """Lines of a product and a positive amount in minor units."""
    return st.builds(
        PurchaseLine, st.sampled_from(PRODUCTS), st.integers(min_value=1, max_value=max_amount)
    )


@st.composite
def purchases(
    draw: st.DrawFn, companies: tuple[str, ...] = COMPANIES, order_id: str | None = None
) -> Purchase:
    """Purchases with one to four lines, some of them paid partly with points."""
    lines = draw(st.lists(purchase_lines(), min_size=1, max_size=4))
    gross = sum(line.amount for line in lines)
    return Purchase(
        order_id=order_id or draw(st.from_regex(r"o[0-9]{1,6}", fullmatch=True)),
        company=draw(st.sampled_from(companies)),
        channel=draw(_CHANNELS),
        lines=lines,
        points_used=draw(st.integers(min_value=0, max_value=gross)),
        tier=draw(st.none() | st.sampled_from(["gold", "silver"])),
    )


@st.composite
def earn_rules(draw: st.DrawFn) -> EarnRule:
    """Multipliers on a channel, a tier, a product or a campaign period."""
    start = draw(st.none() | st.just(_T0))
    return EarnRule(
        name=draw(st.from_regex(r"rule[0-9]{1,4}", fullmatch=True)),
        percent=draw(st.sampled_from([100, 150, 200, 300, 500])),
        channels=draw(st.frozensets(st.sampled_from(["store", "ec", "app"]), max_size=2)),
        tiers=draw(st.frozensets(st.sampled_from(["gold", "silver"]), max_size=1)),
        products=draw(st.frozensets(st.sampled_from(PRODUCTS), max_size=2)),
        starts_at=start,
        ends_at=None if start is None else start + timedelta(days=draw(st.integers(1, 60))),
        limited_days=draw(st.none() | st.integers(min_value=1, max_value=90)),
    )


def confirmations() -> st.SearchStrategy[Confirmation]:
    """Immediate, after-days and first-of-next-month confirmation rules."""
    return st.builds(
        Confirmation, days=st.integers(min_value=0, max_value=60), next_month_start=st.booleans()
    )


@st.composite
def programs(draw: st.DrawFn, companies: tuple[str, ...] = COMPANIES) -> Program:
    """Programs over some of ``companies`` with up to three uniquely named rules."""
    rules = draw(st.lists(earn_rules(), max_size=3, unique_by=lambda r: r.name))
    return Program(
        id=draw(st.from_regex(r"p[0-9]{1,4}", fullmatch=True)),
        companies=draw(st.frozensets(st.sampled_from(companies), min_size=1)),
        points_per_unit=draw(st.integers(min_value=1, max_value=5)),
        unit_amount=draw(st.sampled_from([1, 100, 108, 200, 1000])),
        rules=rules,
        expiry_mode=draw(st.sampled_from(["fixed", "rolling"])),
        expiry_months=draw(st.integers(min_value=1, max_value=36)),
        end_of_month=draw(st.booleans()),
        confirmation=draw(confirmations()),
        hold_timeout=timedelta(minutes=draw(st.integers(min_value=1, max_value=120))),
        expired_spent_on_return=draw(st.sampled_from(["lapse", "reissue"])),
        shortfall=draw(st.sampled_from(["debt", "write_off"])),
    )


def _register() -> None:
    st.register_type_strategy(PurchaseLine, purchase_lines())
    st.register_type_strategy(Purchase, purchases())
    st.register_type_strategy(EarnRule, earn_rules())
    st.register_type_strategy(Confirmation, confirmations())
    st.register_type_strategy(Program, programs())


_register()
