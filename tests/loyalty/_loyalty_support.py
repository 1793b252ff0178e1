from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.channel import Channel
from omnicrm.loyalty import (
    Confirmation,
    EarnRule,
    LoyaltyService,
    Program,
    Purchase,
    PurchaseLine,
)
from omnicrm.testing import FixedClock, SequentialIds

T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo

PLAIN = Program(id="plain", companies={"acme"})
GROUP = Program(
    id="group",
    companies={"acme", "beta"},
    rules=(
        EarnRule(name="app-double", percent=200, channels={"app"}),
        EarnRule(name="gold", percent=150, tiers={"gold"}),
        EarnRule(name="tea-x3", percent=300, products={"tea"}, limited_days=30),
    ),
)
PENDING = Program(
    id="pending",
    companies={"acme", "beta"},
    confirmation=Confirmation(days=14, next_month_start=True),
)
ROLLING = Program(id="rolling", companies={"acme"}, expiry_mode="rolling", expiry_months=6)
WRITE_OFF = Program(id="writeoff", companies={"acme"}, shortfall="write_off")
REISSUE = Program(
    id="reissue", companies={"acme"}, expiry_months=1, expired_spent_on_return="reissue"
)
PROGRAMS = (PLAIN, GROUP, PENDING, ROLLING, WRITE_OFF, REISSUE)


class Kit:
    def __init__(self, store: object) -> None:
        self.store = store
        self.clock = FixedClock(T0)
        self.service = LoyaltyService(store, self.clock, PROGRAMS, SequentialIds())  # type: ignore[arg-type]
        self.n = 0

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def enroll(self, member: str = "m1", program: str = "plain") -> None:
        self.service.enroll(member, program, idempotency_key=self.key())

    def buy(
        self,
        amount: int,
        *,
        member: str = "m1",
        program: str = "plain",
        order: str | None = None,
        company: str = "acme",
        channel: Channel = Channel.STORE,
        points_used: int = 0,
        product: str = "shirt",
        tier: str | None = None,
    ):  # type: ignore[no-untyped-def]
        self.n += 1
        purchase = Purchase(
            order_id=order or f"o{self.n}",
            company=company,
            channel=channel,
            lines=(PurchaseLine(product, amount),),
            points_used=points_used,
            tier=tier,
        )
        return self.service.earn(member, program, purchase, idempotency_key=self.key())

    def spend(self, points: int, *, member: str = "m1", program: str = "plain", **kw):  # type: ignore[no-untyped-def]
        kw.setdefault("idempotency_key", self.key())
        kw.setdefault("company", "acme")
        kw.setdefault("channel", Channel.EC)
        return self.service.spend(member, program, points, **kw)

    def available(self, member: str = "m1", program: str = "plain") -> int:
        return self.service.balance(member, program).available

    def advance(self, **kw: int) -> None:
        self.clock.advance(timedelta(**kw))
