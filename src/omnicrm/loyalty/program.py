"""Program configuration: how points are earned, confirmed, expired and returned.

A :class:`Program` is configuration, handed to :class:`~omnicrm.loyalty.LoyaltyService`
when it is built. Every number is an ``int``: rates are "points per unit amount" and
multipliers are percentages (``200`` is double points), so no float ever touches a point.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from omnicrm.clock import zone
from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.validation import check_aware, check_id, check_int, check_tuple, id_validator

__all__ = ["Confirmation", "EarnRule", "Program"]

EXPIRY_MODES = ("fixed", "rolling")
RETURN_POLICIES = ("lapse", "reissue")
SHORTFALL_POLICIES = ("debt", "write_off")


def _positive(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=1)


def _non_negative(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0)


def _optional_positive(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_int(attribute.name, value, minimum=1)


def _optional_aware(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_aware(attribute.name, value)


def _id_set(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise InvalidTypeError("ids", value, "must be an iterable of ids")
    return frozenset(check_id("ids", item) for item in value)


def _one_of(options: tuple[str, ...]) -> Any:
    def check(_instance: Any, attribute: Any, value: Any) -> None:
        if value not in options:
            raise ConfigurationError(attribute.name, value, f"must be one of {options}")

    return check


@attrs.frozen(kw_only=True)
class EarnRule:
    """A multiplier on the base points of the purchase lines it matches.

    Multipliers add up: a ×2 channel rule and a ×3 campaign rule give the base points
    plus 100 % plus 200 % of them (×4). An empty selector matches everything.

    Attributes:
        name: the rule's id (shown on statements).
        percent: the multiplier in percent (``200`` doubles, ``150`` is ×1.5); >= 100.
        channels: channel names the rule applies to (empty: all).
        tiers: member tiers it applies to (empty: all).
        products: product ids it applies to (empty: all lines).
        companies: companies of the group it applies to (empty: all).
        starts_at: first instant of the campaign period (inclusive), or ``None``.
        ends_at: end of the campaign period (exclusive), or ``None``.
        limited_days: if set, the bonus is granted as limited-time points valid this many
            days (期間限定ポイント); otherwise it joins the ordinary grant.

    """

    name: str = attrs.field(validator=id_validator)
    percent: int = attrs.field(validator=_positive)
    channels: frozenset[str] = attrs.field(factory=frozenset, converter=_id_set)
    tiers: frozenset[str] = attrs.field(factory=frozenset, converter=_id_set)
    products: frozenset[str] = attrs.field(factory=frozenset, converter=_id_set)
    companies: frozenset[str] = attrs.field(factory=frozenset, converter=_id_set)
    starts_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    ends_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    limited_days: int | None = attrs.field(default=None, validator=_optional_positive)

    def __attrs_post_init__(self) -> None:
        if self.percent < 100:
            raise ConfigurationError("percent", self.percent, "a multiplier must be >= 100")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ConfigurationError("ends_at", self.ends_at, "must be after starts_at")

    def applies(self, *, channel: str, tier: str | None, company: str, at: datetime) -> bool:
        """Whether the rule covers a purchase made through ``channel`` at ``company`` at ``at``."""
        if self.channels and channel not in self.channels:
            return False
        if self.tiers and tier not in self.tiers:
            return False
        if self.companies and company not in self.companies:
            return False
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.ends_at is None or at < self.ends_at


@attrs.frozen(kw_only=True)
class Confirmation:
    """When provisional points (仮ポイント) become spendable.

    ``Confirmation()`` confirms at once. ``Confirmation(days=30)`` confirms at the same
    local time 30 days after the purchase (the end of the return period);
    ``Confirmation(days=30, next_month_start=True)`` confirms at 00:00 local on the first
    of the month after that day.

    Attributes:
        days: days after the purchase (local calendar) before confirmation.
        next_month_start: roll forward to the first of the following month.

    """

    days: int = attrs.field(default=0, validator=_non_negative)
    next_month_start: bool = attrs.field(default=False)

    @property
    def immediate(self) -> bool:
        """True when points are spendable as soon as they are earned."""
        return self.days == 0 and not self.next_month_start


def _companies(value: Any) -> frozenset[str]:
    ids = _id_set(value)
    if not ids:
        raise ConfigurationError("companies", value, "a program needs at least one company")
    return ids


def _rules(value: Any) -> tuple[EarnRule, ...]:
    rules: tuple[EarnRule, ...] = check_tuple("rules", value, EarnRule, "an EarnRule")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise ConfigurationError("rules", names, "rule names must be unique")
    return rules


def _time_zone(_instance: Any, attribute: Any, value: Any) -> None:
    zone(attribute.name, value)


def _hold_timeout(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, timedelta):
        raise InvalidTypeError(attribute.name, value, "must be a timedelta")
    if value <= timedelta(0):
        raise ConfigurationError(attribute.name, value, "must be positive")


@attrs.frozen(kw_only=True)
class Program:
    """A points program, for one company or a group (coalition) of companies.

    Attributes:
        id: the program id.
        companies: the companies that issue and accept its points.
        points_per_unit: points for each full ``unit_amount`` (1 point per ¥100 by default).
        unit_amount: the amount, in minor units, that earns ``points_per_unit``.
        rules: the earning multipliers.
        expiry_mode: ``"fixed"`` (each grant expires ``expiry_months`` after it was earned)
            or ``"rolling"`` (every grant expires ``expiry_months`` after the member's last
            earn or spend).
        expiry_months: the validity in calendar months.
        end_of_month: extend a fixed expiry to the end of its month.
        confirmation: when provisional points confirm.
        time_zone: the IANA zone calendar arithmetic runs in ("Asia/Tokyo").
        hold_timeout: how long a checkout hold lasts before it lapses by itself.
        expired_spent_on_return: what a return does with spent points whose grant has
            expired: ``"lapse"`` (they are given back and expire at once) or ``"reissue"``
            (they come back as a new grant with the program's usual validity).
        shortfall: when a return must take back more earned points than the member still
            has: ``"debt"`` (recorded, recovered from future earnings) or ``"write_off"``.

    """

    id: str = attrs.field(validator=id_validator)
    companies: frozenset[str] = attrs.field(converter=_companies)
    points_per_unit: int = attrs.field(default=1, validator=_positive)
    unit_amount: int = attrs.field(default=100, validator=_positive)
    rules: tuple[EarnRule, ...] = attrs.field(default=(), converter=_rules)
    expiry_mode: str = attrs.field(default="fixed", validator=_one_of(EXPIRY_MODES))
    expiry_months: int = attrs.field(default=12, validator=_positive)
    end_of_month: bool = False
    confirmation: Confirmation = attrs.field(factory=Confirmation)
    time_zone: str = attrs.field(default="Asia/Tokyo", validator=_time_zone)
    hold_timeout: timedelta = attrs.field(default=timedelta(minutes=30), validator=_hold_timeout)
    expired_spent_on_return: str = attrs.field(default="lapse", validator=_one_of(RETURN_POLICIES))
    shortfall: str = attrs.field(default="debt", validator=_one_of(SHORTFALL_POLICIES))

    @property
    def rolling(self) -> bool:
        """True when expiry is extended by activity."""
        return self.expiry_mode == "rolling"
