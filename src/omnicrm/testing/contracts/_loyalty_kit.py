"""Shared pieces of the loyalty contract suites: programs, a service factory, workers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from omnicrm.channel import Channel
from omnicrm.errors import OmniCRMError
from omnicrm.ids import UuidIds
from omnicrm.loyalty import (
    Confirmation,
    EarnRule,
    InsufficientPointsError,
    LoyaltyService,
    Program,
    Purchase,
    PurchaseLine,
)
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.testing.fakes import FixedClock, SequentialIds, SteppingClock

__all__ = ["GROUP", "PROGRAMS", "T0", "funded", "purchase", "service", "spend_worker"]

T0 = datetime(2026, 1, 10, 3, tzinfo=UTC)

GROUP = Program(
    id="group",
    companies={"acme", "beta"},
    rules=(EarnRule(name="tea", percent=300, products={"tea"}, limited_days=10),),
    expiry_months=1,
    confirmation=Confirmation(days=3),
)
PROGRAMS = (GROUP,)


def service(store: LoyaltyStore, clock: Any = None, ids: Any = None) -> LoyaltyService:
    """A service over ``store`` running :data:`PROGRAMS`."""
    return LoyaltyService(store, clock or FixedClock(T0), PROGRAMS, ids or SequentialIds())


def purchase(order_id: str, amount: int, company: str = "acme", product: str = "shirt") -> Purchase:
    """A one-line store purchase."""
    return Purchase(
        order_id=order_id,
        company=company,
        channel=Channel.STORE,
        lines=(PurchaseLine(product, amount),),
    )


def funded(store: LoyaltyStore, members: int, points: int) -> LoyaltyService:
    """Enroll ``members`` members (``m00``...) and give each ``points`` confirmed points."""
    svc = service(store)
    for i in range(members):
        member = f"m{i:02d}"
        svc.enroll(member, "group", idempotency_key=f"enroll-{member}")
        svc.adjust(
            member, "group", points, company="acme", reason="fund", idempotency_key=f"f-{member}"
        )
    return svc


def spend_worker(store: LoyaltyStore, name: str, members: int, count: int, seed: int) -> list[Any]:
    """Spend random amounts from random members; retry each success once with its key.

    Returns ``(key, member, points, replayed_points)`` for every successful spend.
    """
    svc = LoyaltyService(store, SteppingClock(T0, timedelta(microseconds=1)), PROGRAMS, UuidIds())
    rng = random.Random(seed)
    done: list[Any] = []
    for n in range(count):
        member = f"m{rng.randrange(members):02d}"
        points = rng.randint(1, 40)
        key = f"{name}-{n}"
        company = rng.choice(("acme", "beta"))
        try:
            receipt = svc.spend(
                member,
                "group",
                points,
                company=company,
                channel=Channel.EC,
                order_id=key,
                idempotency_key=key,
            )
        except InsufficientPointsError:
            continue
        except OmniCRMError as exc:  # pragma: no cover - reported to the parent
            done.append(("error", repr(exc), 0, 0))
            continue
        again = svc.spend(
            member,
            "group",
            points,
            company=company,
            channel=Channel.EC,
            order_id=key,
            idempotency_key=key,
        )
        done.append((key, member, receipt.points, again.points if again.replayed else -1))
    return done
