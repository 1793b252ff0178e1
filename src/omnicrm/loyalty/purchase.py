"""Purchases as the earn command takes them, and the points they earn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.loyalty.program import Program
from omnicrm.validation import check_int, check_tuple, id_validator, optional_id_validator

__all__ = ["EarnPlan", "Purchase", "PurchaseLine", "plan_earning"]


def _amount(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=1)


@attrs.frozen
class PurchaseLine:
    """One line of a purchase.

    Attributes:
        product_id: the product (product multipliers match on it).
        amount: the line's price in minor units, before points are used (> 0).

    """

    product_id: str = attrs.field(validator=id_validator)
    amount: int = attrs.field(validator=_amount)


def _lines(value: Any) -> tuple[PurchaseLine, ...]:
    lines: tuple[PurchaseLine, ...] = check_tuple("lines", value, PurchaseLine, "a PurchaseLine")
    if not lines:
        raise ValidationError("lines", value, "a purchase needs at least one line")
    return lines


def _channel(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Channel):
        raise InvalidTypeError(attribute.name, value, "must be a Channel")


@attrs.frozen(kw_only=True)
class Purchase:
    """A purchase to earn points on.

    Attributes:
        order_id: the host's order id (one earn per order; returns refer to it).
        company: the group company that sold it.
        channel: where it was bought.
        lines: the lines bought.
        points_used: points used as payment on it (earning is on the amount after them).
        tier: the member's tier, for tier multipliers.

    """

    order_id: str = attrs.field(validator=id_validator)
    company: str = attrs.field(validator=id_validator)
    channel: Channel = attrs.field(validator=_channel)
    lines: tuple[PurchaseLine, ...] = attrs.field(converter=_lines)
    points_used: int = attrs.field(default=0)
    tier: str | None = attrs.field(default=None, validator=optional_id_validator)

    def __attrs_post_init__(self) -> None:
        check_int("points_used", self.points_used, minimum=0)
        if self.points_used > self.gross:
            raise ValidationError(
                "points_used", self.points_used, f"exceeds the purchase amount {self.gross}"
            )

    @property
    def gross(self) -> int:
        """The purchase amount before points."""
        return sum(line.amount for line in self.lines)

    def net_lines(self) -> list[tuple[str, int]]:
        """Each line's amount after its share of the points used (shares sum exactly)."""
        gross, net = self.gross, self.gross - self.points_used
        out: list[tuple[str, int]] = []
        before = cumulative = 0
        for line in self.lines:
            cumulative += line.amount
            upto = cumulative * net // gross
            out.append((line.product_id, upto - before))
            before = upto
        return out


@attrs.frozen
class EarnPlan:
    """The points a purchase earns: ordinary points, and limited-time bonuses.

    Attributes:
        standard: ordinary points (base plus ordinary bonuses).
        limited: ``(rule name, valid days, points)`` for each limited-time bonus.

    """

    standard: int
    limited: tuple[tuple[str, int, int], ...]

    @property
    def total(self) -> int:
        """Every point earned."""
        return self.standard + sum(points for _, _, points in self.limited)


def plan_earning(program: Program, purchase: Purchase, at: datetime) -> EarnPlan:
    """Compute the points ``purchase`` earns at ``at``, rounded down, in integers only."""
    lines = purchase.net_lines()
    per, unit = program.points_per_unit, program.unit_amount
    net = sum(amount for _, amount in lines)
    standard = net // unit * per
    limited: list[tuple[str, int, int]] = []
    for rule in program.rules:
        if not rule.applies(
            channel=purchase.channel.name, tier=purchase.tier, company=purchase.company, at=at
        ):
            continue
        matched = sum(a for p, a in lines if not rule.products or p in rule.products)
        bonus = matched // unit * per * (rule.percent - 100) // 100
        if bonus <= 0:
            continue
        if rule.limited_days is None:
            standard += bonus
        else:
            limited.append((rule.name, rule.limited_days, bonus))
    return EarnPlan(standard, tuple(limited))
