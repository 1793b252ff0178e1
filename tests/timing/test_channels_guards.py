from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnicrm.errors import ConfigurationError, InvalidTypeError, ValidationError
from omnicrm.money import Money
from omnicrm.timing import (
    ChannelPolicy,
    ChannelRule,
    Condition,
    CustomerContext,
    Facts,
    FrequencyCap,
    GuardPolicy,
    LocalWindow,
    choose_channel,
    next_allowed,
)

POLICY = ChannelPolicy(
    rules=(
        ChannelRule(name="young", conditions=(Condition("profile.age", "lt", 30),),
                    channels=("push",)),
        ChannelRule(name="senior", conditions=(Condition("profile.age", "ge", 60),),
                    channels=("store", "email")),
    ),
    costs={"push": Money(1, "JPY"), "email": Money(2, "JPY"), "store": Money(900, "JPY"),
           "line": Money(1, "JPY")},
    response_rates={"push": 0.02, "email": 0.03, "line": 0.05, "store": 0.4},
    consent_free=frozenset({"store"}),
)  # fmt: skip
ALL = ("push", "email", "line", "store")


def pick(age: str, consents: set[str], preferred: tuple[str, ...] = (), reachable=None):  # type: ignore[no-untyped-def]
    facts = Facts({}, {"age": age})
    return choose_channel(
        POLICY, ALL, "the action", facts, frozenset(consents), reachable, preferred
    )


def test_rule_by_age_band_comes_first_and_is_explained() -> None:
    young = pick("24", {"push", "email", "line"})
    assert young.channel == "push"
    assert young.fallbacks == ("line", "email", "store")  # then response per yen
    assert "rule young prefers push" in young.reasons
    senior = pick("66", {"email"})
    assert (senior.channel, senior.fallbacks) == ("store", ("email",))


def test_preference_then_value_for_money() -> None:
    assert pick("40", {"push", "email", "line"}, preferred=("email",)).channel == "email"
    assert pick("40", {"push", "email", "line"}).channel == "line"


def test_consent_and_reachability_filter() -> None:
    choice = pick("24", {"email"}, reachable=frozenset({"store"}))
    assert choice.channel == "store"
    assert "push: no consent" in choice.reasons
    assert "email: not reachable" in choice.reasons
    none = choose_channel(POLICY, ("push",), "x", Facts({}, {}), frozenset(), None, ())
    assert (none.channel, none.reasons[-1]) == (None, "no usable channel")


def test_measured_rates_can_be_plugged_in() -> None:
    updated = POLICY.with_response_rates({"push": 0.9})
    facts = Facts({}, {"age": "40"})
    got = choose_channel(updated, ALL, "x", facts, frozenset(ALL), None, ())
    assert got.channel == "push"


def test_policy_values_are_checked() -> None:
    with pytest.raises(ValidationError):
        ChannelPolicy(response_rates={"push": 1.5})
    with pytest.raises(InvalidTypeError):
        ChannelPolicy(costs={"push": 3})
    with pytest.raises(ValidationError):
        FrequencyCap(limit=0, window=timedelta(days=1))
    with pytest.raises(ValidationError):
        FrequencyCap(limit=1, window=timedelta(days=1), policy="ignore")
    with pytest.raises(ValidationError):
        LocalWindow(time(9), time(9))
    with pytest.raises(ConfigurationError):
        GuardPolicy(
            quiet_hours=LocalWindow(time(20), time(10)),
            windows={"store": LocalWindow(time(21), time(23))},
        )
    with pytest.raises(ValidationError):
        CustomerContext(customer_id="c", time_zone="Mars/Olympus")


def test_sending_window_opens_on_the_customer_local_clock() -> None:
    policy = GuardPolicy(
        quiet_hours=LocalWindow(time(21), time(9)),
        windows={"store": LocalWindow(time(10), time(19))},
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    at = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)  # 09:30 Tokyo
    assert next_allowed(policy, at, tokyo, "push") == at
    assert next_allowed(policy, at, tokyo, "store") == datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
    evening = datetime(2026, 4, 1, 10, 30, tzinfo=UTC)  # 19:30 Tokyo
    assert next_allowed(policy, evening, tokyo, "store") == datetime(2026, 4, 2, 1, 0, tzinfo=UTC)


def test_quiet_hours_end_on_the_right_side_of_the_autumn_change() -> None:
    policy = GuardPolicy(quiet_hours=LocalWindow(time(0, 0), time(8, 0)))
    london = ZoneInfo("Europe/London")
    # Sunday 25 October 2026: clocks go back at 02:00 BST; 01:30 happens twice
    at = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert next_allowed(policy, at, london, None) == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
