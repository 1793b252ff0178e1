"""Erasure through OmniCRM reaches every capability and leaves no personal data behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnicrm.channel import Channel
from omnicrm.customers import IdentifierKey, Profile
from omnicrm.errors import RuleViolationError
from omnicrm.omni import OmniCRM
from omnicrm.persistence import open_store
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.memory._tables import Table
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.timing import CustomerEvent

from .conftest import NOON_TOKYO
from .test_flows import EC_ACCOUNT, STORE_MEMBER, P, buy

PERSONAL = (
    "山田",
    "花子",
    "ヤマダ",
    "1234-5678",
    "12345678",
    "yamada@example.jp",
    "1990-04",
    "19900401",
)


def _texts(value: Any, seen: set[int]) -> Iterator[str]:
    """Every piece of text reachable from ``value`` (memory store scan)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, Table):
        for key, row in value.items():
            yield repr(key)
            yield repr(row)
    elif isinstance(value, dict):
        for key, row in value.items():
            yield from _texts(key, seen)
            yield from _texts(row, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for row in value:
            yield from _texts(row, seen)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("omnicrm"):
        for row in vars(value).values():
            yield from _texts(row, seen)


def _stored_text(store: Any, path: Path | None) -> str:
    if path is None:
        return "\n".join(_texts(store, set()))
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    return "\n".join(rows)


@pytest.fixture(params=["memory", "sqlite"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[OmniCRM, Path | None]]:
    path = None if request.param == "memory" else tmp_path / "crm.db"
    store = MemoryStore() if path is None else open_store(f"sqlite:///{path}")
    yield retail_crm(store, FixedClock(NOON_TOKYO), SequentialIds(), customers=["store:M1"]), path
    store.close()


def test_erasure_reaches_every_capability(setup: tuple[OmniCRM, Path | None]) -> None:
    crm, path = setup
    member = crm.identity.resolve(STORE_MEMBER, idempotency_key="signup-store").customer_id
    account = crm.identity.resolve(EC_ACCOUNT, idempotency_key="signup-ec").customer_id
    profile = Profile(
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        email="yamada@example.jp",
        identifiers={IdentifierKey.email("yamada@example.jp")},
    )
    crm.customers.register(
        profile, channel=Channel.STORE, idempotency_key="profile", customer_id=member
    )
    crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    crm.record_purchase(account, buy("EC-1", Channel.EC, 2_000), idempotency_key="p2")
    crm.loyalty.hold(member, P, 10, company="retail", channel=Channel.EC, idempotency_key="h")
    crm.watch(member, "belt")
    crm.timing.handle(
        CustomerEvent(event_id="e1", event_type="purchase", customer_id=member,
                      occurred_at=NOON_TOKYO, properties={"channel": "store"})
    )  # fmt: skip
    assert any(word in _stored_text(crm.store.inner, path) for word in PERSONAL)

    crm.identity.erase(member, idempotency_key="erase")

    balance = crm.loyalty.balance(member, P)
    assert (balance.available, balance.pending, balance.held) == (0, 0, 0)
    assert crm.loyalty.balance(account, P).available == 20  # the other person is untouched
    assert [r.customer_id for r in crm.purchases()] == [account]
    assert crm.customers.get(member).profile == Profile()
    with crm.atomic() as uow:
        assert uow.omni_watches.watchers("belt") == []
    with pytest.raises(RuleViolationError):  # a retry cannot bring the purchase back
        crm.record_purchase(member, buy("POS-1", Channel.STORE, 4_900), idempotency_key="p1")
    left = _stored_text(crm.store.inner, path)
    assert [word for word in PERSONAL if word in left] == []
