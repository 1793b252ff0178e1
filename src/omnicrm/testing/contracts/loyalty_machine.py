"""A stateful test running the same loyalty commands on a backend and on the reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from omnicrm.channel import Channel
from omnicrm.errors import OmniCRMError
from omnicrm.loyalty import LoyaltyService
from omnicrm.loyalty._books import Books
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing.contracts._loyalty_kit import PROGRAMS, T0, purchase, service
from omnicrm.testing.contracts.loyalty_audit import audit_ledger, audit_summaries
from omnicrm.testing.fakes import FixedClock

__all__ = ["LoyaltyStoreComparison"]

_MEMBERS = st.sampled_from(["m1", "m2", "m3"])
_COMPANIES = st.sampled_from(["acme", "beta"])


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = call()
    except OmniCRMError as exc:
        return ("error", type(exc).__name__)
    if isinstance(result, list):
        return ("ok", [_plain(r) for r in result])
    return ("ok", _plain(result))


def _plain(result: Any) -> Any:
    events = getattr(result, "events", None)
    if events is not None:  # events carry ids and times that are equal too, but keep it lean
        return (result.command, result.points, result.allocations, result.hold_id, result.details)
    return result


class LoyaltyStoreComparison(RuleBasedStateMachine):
    """Runs each loyalty command on ``store`` and on a :class:`MemoryStore`; they must agree.

    Every member keeps a balance summary while it runs (however few grants they have),
    so the summaries are compared with the grants they sum up at every step.
    """

    def __init__(self, store: LoyaltyStore) -> None:
        super().__init__()
        self._summary_from = Books.summary_from
        Books.summary_from = 0
        self.store = store
        self.reference = MemoryStore()
        self.clock = FixedClock(T0)
        self.services: tuple[LoyaltyService, LoyaltyService] = (
            service(store, self.clock),
            service(self.reference, self.clock),
        )
        self.n = 0
        self.holds: list[str] = []
        self.orders: list[tuple[str, str]] = []
        for member in ("m1", "m2", "m3"):
            self._both("enroll", member, "group", idempotency_key=f"e-{member}")
            self._both(
                "adjust",
                member,
                "group",
                300,
                company="beta",
                reason="welcome",
                idempotency_key=f"a-{member}",
            )

    def _key(self) -> str:
        self.n += 1
        return f"k{self.n}"

    def _both(self, command: str, *args: Any, **kwargs: Any) -> Any:
        results = [_outcome(partial(getattr(s, command), *args, **kwargs)) for s in self.services]
        assert results[0] == results[1], f"backend {results[0]!r} != reference {results[1]!r}"
        return results[0][1] if results[0][0] == "ok" else None

    @rule(member=_MEMBERS, amount=st.integers(1, 30_000), company=_COMPANIES, tea=st.booleans())
    def earn(self, member: str, amount: int, company: str, tea: bool) -> None:
        key = self._key()
        order = purchase(key, amount, company, "tea" if tea else "shirt")
        if self._both("earn", member, "group", order, idempotency_key=key):
            self.orders.append((member, key))

    @rule(member=_MEMBERS, points=st.integers(1, 300), company=_COMPANIES)
    def spend(self, member: str, points: int, company: str) -> None:
        key = self._key()
        self._both(
            "spend",
            member,
            "group",
            points,
            company=company,
            channel=Channel.EC,
            idempotency_key=key,
        )

    @rule(member=_MEMBERS, points=st.integers(1, 200))
    def hold(self, member: str, points: int) -> None:
        key = self._key()
        got = self._both(
            "hold",
            member,
            "group",
            points,
            company="beta",
            channel=Channel.APP,
            idempotency_key=key,
        )
        if got:
            self.holds.append(got[3])

    @rule(data=st.data(), points=st.integers(1, 200))
    def capture(self, data: st.DataObject, points: int) -> None:
        if self.holds:
            hold_id = data.draw(st.sampled_from(self.holds))
            key = self._key()
            self._both("capture", "group", hold_id, points, idempotency_key=key)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.holds:
            hold_id = data.draw(st.sampled_from(self.holds))
            key = self._key()
            self._both("release", "group", hold_id, idempotency_key=key)

    @rule(data=st.data(), amount=st.integers(1, 20_000))
    def return_purchase(self, data: st.DataObject, amount: int) -> None:
        if self.orders:
            member, order_id = data.draw(st.sampled_from(self.orders))
            key = self._key()
            self._both("return_purchase", member, "group", order_id, amount, idempotency_key=key)

    @rule(member=_MEMBERS, points=st.integers(-200, 200).filter(bool), company=_COMPANIES)
    def adjust(self, member: str, points: int, company: str) -> None:
        key = self._key()
        self._both(
            "adjust", member, "group", points, company=company, reason="fix", idempotency_key=key
        )

    @rule(survivor=_MEMBERS, absorbed=_MEMBERS, undo=st.booleans())
    def merge(self, survivor: str, absorbed: str, undo: bool) -> None:
        key = self._key()
        command = "unmerge_members" if undo else "merge_members"
        self._both(
            command, survivor, absorbed, merge_id=f"mg-{survivor}-{absorbed}", idempotency_key=key
        )

    @rule(minutes=st.sampled_from([10, 45, 60 * 24 * 2, 60 * 24 * 12, 60 * 24 * 35]))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def expire(self) -> None:
        self._both("expire")

    @invariant()
    def same_books(self) -> None:
        for member in ("m1", "m2", "m3"):
            self._both("balance", member, "group")
            self._both("statement", member, "group")

    @invariant()
    def summaries_equal_the_live_grants(self) -> None:
        now = self.clock.now()
        for store in (self.store, self.reference):
            audit_summaries(store, PROGRAMS, ("m1", "m2", "m3"), now)

    def teardown(self) -> None:
        Books.summary_from = self._summary_from
        audit_ledger(self.store, ["group"])
        self.store.close()
