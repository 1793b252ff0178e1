"""The service against a simple model: grants with remaining points, holds, a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from omnicrm.channel import Channel
from omnicrm.errors import RuleViolationError
from omnicrm.loyalty import HoldNotActiveError, InsufficientPointsError, LoyaltyService, Receipt
from omnicrm.loyalty._books import Books
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.contracts._loyalty_kit import PROGRAMS, T0, purchase
from omnicrm.testing.contracts.loyalty_audit import audit_ledger, audit_summaries


@dataclass
class MGrant:
    id: str
    company: str
    remaining: int
    expires_at: datetime
    confirm_at: datetime | None
    limited: bool


@dataclass
class MHold:
    points: int
    expires_at: datetime
    allocations: list[tuple[str, int]]
    active: bool = True


@dataclass
class Model:
    grants: dict[str, MGrant] = field(default_factory=dict)
    holds: dict[str, MHold] = field(default_factory=dict)
    debt: int = 0


class LedgerAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.summary_from = Books.summary_from
        Books.summary_from = 0  # a summary however few grants: checked at every step
        self.clock = FixedClock(T0)
        self.store = MemoryStore()
        self.svc = LoyaltyService(self.store, self.clock, PROGRAMS, SequentialIds())
        self.model = Model()
        self.n = 0
        self.orders: list[str] = []
        self.history: dict[datetime, object] = {}  # the last balance seen at each instant

    def key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # -- the model --------------------------------------------------------------------

    def lapse(self) -> None:
        for hold in self.model.holds.values():
            if hold.active and hold.expires_at <= self.now:
                hold.active = False
                for grant_id, points in hold.allocations:
                    self.model.grants[grant_id].remaining += points

    def live(self, g: MGrant) -> bool:
        return g.expires_at > self.now and g.remaining > 0

    def spendable(self) -> list[MGrant]:
        self.lapse()
        found = [
            g
            for g in self.model.grants.values()
            if self.live(g) and (g.confirm_at is None or g.confirm_at <= self.now)
        ]
        return sorted(found, key=lambda g: (not g.limited, g.expires_at, g.id))

    def expected_take(self, points: int) -> list[tuple[str, int]]:
        taken, left = [], points
        for g in self.spendable():
            if left == 0:
                break
            part = min(left, g.remaining)
            taken.append((g.id, part))
            left -= part
        return taken

    def resync(self) -> None:
        """After a return (proportional reversal, debt), take the grants' state from the store."""
        with self.store.unit_of_work() as uow:
            ids = {e.grant_id for e in uow.loyalty_ledger.for_member("group", "m1") if e.grant_id}
            rows = uow.loyalty_grants.get_many(ids)
            for grant in rows.values():
                assert grant.expires_at is not None
                known = self.model.grants.get(grant.id)
                self.model.grants[grant.id] = MGrant(
                    grant.id,
                    grant.company,
                    grant.remaining,
                    grant.expires_at,
                    grant.confirm_at if known is None else known.confirm_at,
                    grant.limited,
                )
            for hold_id, hold in self.model.holds.items():  # a held point is not in a grant
                hold.active = uow.loyalty_holds.get(hold_id).state == "active"
        self.model.debt = self.svc.balance("m1", "group").debt

    # -- rules ----------------------------------------------------------------------

    @initialize()
    def enroll(self) -> None:
        self.svc.enroll("m1", "group", idempotency_key="enroll")
        welcome = self.svc.adjust(
            "m1", "group", 500, company="beta", reason="welcome", idempotency_key="welcome"
        )
        (grant,) = welcome.allocations
        assert grant.expires_at is not None
        self.model.grants[grant.grant_id] = MGrant(
            grant.grant_id, "beta", 500, grant.expires_at, None, limited=False
        )

    @rule(
        amount=st.integers(1, 20_000), company=st.sampled_from(["acme", "beta"]), tea=st.booleans()
    )
    def earn(self, amount: int, company: str, tea: bool) -> None:
        key = self.key()
        receipt = self.svc.earn(
            "m1",
            "group",
            purchase(key, amount, company, "tea" if tea else "shirt"),
            idempotency_key=key,
        )
        assert receipt.points == sum(a.points for a in receipt.allocations)
        assert receipt.points == amount // 100 * (3 if tea else 1)
        confirm = self.now + timedelta(days=3)
        for a in receipt.allocations:
            assert a.expires_at is not None
            self.model.grants[a.grant_id] = MGrant(
                a.grant_id,
                company,
                a.points,
                a.expires_at,
                confirm,
                limited=a.expires_at < self.now + timedelta(days=20),
            )
        if receipt.points:
            self.orders.append(key)

    @rule(points=st.integers(1, 400), company=st.sampled_from(["acme", "beta"]))
    def spend(self, points: int, company: str) -> None:
        if self.model.debt:
            self.resync()
        expected = self.expected_take(points)
        available = sum(p for _, p in expected)
        try:
            receipt = self.svc.spend(
                "m1",
                "group",
                points,
                company=company,
                channel=Channel.EC,
                idempotency_key=self.key(),
            )
        except InsufficientPointsError:
            assert available < points
            return
        assert available == points, "spent more than the model allows"
        assert [(a.grant_id, a.points) for a in receipt.allocations] == expected
        for grant_id, part in expected:
            self.model.grants[grant_id].remaining -= part

    @rule(points=st.integers(1, 300))
    def hold(self, points: int) -> None:
        if self.model.debt:
            self.resync()
        expected = self.expected_take(points)
        try:
            receipt = self.svc.hold(
                "m1",
                "group",
                points,
                company="beta",
                channel=Channel.APP,
                idempotency_key=self.key(),
            )
        except InsufficientPointsError:
            assert sum(p for _, p in expected) < points
            return
        assert [(a.grant_id, a.points) for a in receipt.allocations] == expected
        for grant_id, part in expected:
            self.model.grants[grant_id].remaining -= part
        assert receipt.hold_id is not None
        self.model.holds[receipt.hold_id] = MHold(
            points, self.now + timedelta(minutes=30), expected
        )

    def _pick_hold(self, data: st.DataObject) -> tuple[str, MHold] | None:
        if not self.model.holds:
            return None
        hold_id = data.draw(st.sampled_from(sorted(self.model.holds)))
        self.lapse()
        return hold_id, self.model.holds[hold_id]

    @rule(data=st.data())
    def capture(self, data: st.DataObject) -> None:
        picked = self._pick_hold(data)
        if picked is None:
            return
        hold_id, hold = picked
        points = data.draw(st.integers(1, hold.points))
        try:
            receipt: Receipt = self.svc.capture(
                "group", hold_id, points, idempotency_key=self.key()
            )
        except HoldNotActiveError:
            assert not hold.active
            return
        assert hold.active
        hold.active = False
        left = points
        for grant_id, part in hold.allocations:
            used = min(left, part)
            left -= used
            self.model.grants[grant_id].remaining += part - used
        assert receipt.points == points

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        picked = self._pick_hold(data)
        if picked is None:
            return
        hold_id, hold = picked
        try:
            self.svc.release("group", hold_id, idempotency_key=self.key())
        except HoldNotActiveError:
            assert not hold.active
            return
        assert hold.active
        hold.active = False
        for grant_id, part in hold.allocations:
            self.model.grants[grant_id].remaining += part

    @rule(data=st.data(), amount=st.integers(1, 20_000))
    def return_purchase(self, data: st.DataObject, amount: int) -> None:
        if not self.orders:
            return
        order = data.draw(st.sampled_from(self.orders))
        self.lapse()
        try:
            self.svc.return_purchase("m1", "group", order, amount, idempotency_key=self.key())
        except RuleViolationError as exc:
            refused = exc.field
        else:
            refused = None
        assert refused in (None, "returned_amount")
        self.resync()

    @rule(minutes=st.sampled_from([15, 31, 60 * 24, 60 * 24 * 4, 60 * 24 * 11, 60 * 24 * 40]))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def expire(self) -> None:
        before = self.svc.balance("m1", "group")
        self.svc.expire()
        again = self.svc.expire()
        assert again.expired == 0
        assert self.svc.balance("m1", "group") == before

    @rule()
    def close(self) -> None:
        """The member leaves: holds go back, then every live point is forfeited."""
        if self.model.debt:
            self.resync()
        self.lapse()
        for hold in self.model.holds.values():
            if hold.active:
                hold.active = False
                for grant_id, points in hold.allocations:
                    self.model.grants[grant_id].remaining += points
        live = [g for g in self.model.grants.values() if self.live(g)]
        receipts = self.svc.close_member("m1", reason="closed", idempotency_key=self.key())
        assert [r.points for r in receipts] == [sum(g.remaining for g in live)]
        for grant in live:
            grant.remaining = 0

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def balance_matches_the_model(self) -> None:
        if self.model.debt:
            self.resync()
        self.lapse()
        balance = self.svc.balance("m1", "group")
        live = [g for g in self.model.grants.values() if self.live(g)]
        confirmed = [g for g in live if g.confirm_at is None or g.confirm_at <= self.now]
        assert balance.available == sum(g.remaining for g in confirmed)
        assert balance.pending == sum(g.remaining for g in live) - balance.available
        assert balance.held == sum(h.points for h in self.model.holds.values() if h.active)
        assert balance.limited == sum(g.remaining for g in confirmed if g.limited)
        assert min(balance.available, balance.pending, balance.held, balance.debt) >= 0
        self.history[self.now] = balance

    @invariant()
    def books_balance(self) -> None:
        audit_ledger(self.store, ["group"])

    @invariant()
    def summary_equals_the_live_grants(self) -> None:
        audit_summaries(self.store, PROGRAMS, ["m1"], self.now)

    def teardown(self) -> None:
        Books.summary_from = self.summary_from
        self.clock.advance(timedelta(seconds=1))
        for at, balance in list(self.history.items())[-6:]:
            assert self.svc.balance("m1", "group", as_of=at) == balance


TestLedgerAgainstModel = LedgerAgainstModel.TestCase
TestLedgerAgainstModel.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
