"""A stateful test running the same customer operations on a backend and on the reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.errors import OmniCRMError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.unit_of_work import Store, UnitOfWork

__all__ = ["CustomerStoreComparison"]

T = TypeVar("T")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_IDS = st.sampled_from(["c1", "c2", "c3", "c4"])
_KEYS = st.sampled_from(
    [
        IdentifierKey.email("a@example.jp"),
        IdentifierKey.phone("0312345678"),
        IdentifierKey.member_card("M1"),
        IdentifierKey.external("ec", "u1"),
    ]
)
_PROFILES = st.builds(
    Profile,
    identifiers=st.frozensets(_KEYS, max_size=3),
    family_name=st.none() | st.sampled_from(["佐藤", "鈴木", "O'Brien", "ﾀﾅｶ"]),
    attributes=st.dictionaries(st.sampled_from(["tier", "band"]), st.sampled_from(["g", "s"])),
)


def _outcome(call: Callable[[], T]) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except OmniCRMError as exc:
        return ("error", type(exc).__name__)


class CustomerStoreComparison(RuleBasedStateMachine):
    """Runs each step on ``store`` and on a :class:`MemoryStore`; they must agree."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.reference = MemoryStore()
        self.minutes = 0

    def _both(self, action: Callable[[UnitOfWork], T], *, commit: bool = True) -> T | None:
        results = []
        for target in (self.store, self.reference):
            with target.unit_of_work() as uow:

                def bound(u: UnitOfWork = uow) -> T:
                    return action(u)

                result = _outcome(bound)
                if commit and result[0] == "ok":
                    uow.commit()
            results.append(result)
        assert results[0] == results[1], f"backend {results[0]!r} != reference {results[1]!r}"
        return results[0][1] if results[0][0] == "ok" else None

    def _now(self) -> datetime:
        self.minutes += 1
        return T0 + timedelta(minutes=self.minutes)

    @rule(customer_id=_IDS, profile=_PROFILES)
    def add(self, customer_id: str, profile: Profile) -> None:
        at = self._now()
        customer = Customer(id=customer_id, created_at=at, updated_at=at, profile=profile)
        self._both(lambda uow: uow.customers.add(customer))

    @rule(customer_id=_IDS, profile=_PROFILES, stale=st.booleans(), commit=st.booleans())
    def update(self, customer_id: str, profile: Profile, stale: bool, commit: bool) -> None:
        at = self._now()

        def change(uow: UnitOfWork) -> Customer:
            current = uow.customers.get(customer_id)
            version = current.version - 1 if stale else current.version
            return uow.customers.update(
                attrs.evolve(current, profile=profile, updated_at=at, version=version)
            )

        self._both(change, commit=commit)

    @rule(key=_KEYS)
    def find(self, key: IdentifierKey) -> None:
        self._both(lambda uow: uow.customers.find_by_identifier(key), commit=False)

    @rule(customer_id=_IDS)
    def get(self, customer_id: str) -> None:
        self._both(lambda uow: uow.customers.get(customer_id), commit=False)

    @precondition(lambda self: self.minutes > 0)
    @rule(back=st.integers(min_value=0, max_value=20), limit=st.none() | st.integers(1, 3))
    def changed_since(self, back: int, limit: int | None) -> None:
        since = T0 + timedelta(minutes=max(self.minutes - back, 0))
        self._both(lambda uow: uow.customers.changed_since(since, limit=limit), commit=False)

    @invariant()
    def same_contents(self) -> None:
        self._both(lambda uow: uow.customers.get_many(["c1", "c2", "c3", "c4"]), commit=False)

    def teardown(self) -> None:
        self.store.close()
