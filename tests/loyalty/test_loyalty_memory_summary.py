"""The memory adapter keeps cached grant summaries exact through writes and rollbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.loyalty.model import Grant, GrantKind, evolve
from omnicrm.persistence.memory import MemoryStore

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _grant(grant_id: str, remaining: int, member: str = "m", days: int = 30) -> Grant:
    return Grant(
        id=grant_id,
        program_id="p",
        member_id=member,
        company="acme",
        kind=GrantKind.STANDARD,
        amount=100,
        remaining=remaining,
        granted_at=AT,
        expires_at=AT + timedelta(days=days),
    )


def _summary(store: MemoryStore, member: str = "m") -> dict[object, int]:
    with store.unit_of_work() as uow:
        rows = uow.loyalty_grants.summary("p", member)
    return {(r.kind, r.pending, r.confirm_at, r.expires_at): r.remaining for r in rows}


def _fresh(store: MemoryStore, member: str = "m") -> dict[object, int]:
    store._loyalty.summaries.clear()
    return _summary(store, member)


def test_cached_summary_follows_writes_and_rollbacks() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.loyalty_grants.add(_grant("g1", 100))
        uow.loyalty_grants.add(_grant("g2", 0, days=60))
        uow.commit()
    cached = _summary(store)  # builds the cache
    assert sum(cached.values()) == 100

    with store.unit_of_work() as uow:  # rolled back: no commit
        g1 = uow.loyalty_grants.get("g1")
        uow.loyalty_grants.update(evolve(g1, remaining=40))
        uow.loyalty_grants.add(_grant("g3", 70, days=90))
        inside = uow.loyalty_grants.summary("p", "m")
        assert sum(r.remaining for r in inside) == 110
    assert _summary(store) == cached

    with store.unit_of_work() as uow:
        g1, g2 = uow.loyalty_grants.get("g1"), uow.loyalty_grants.get("g2")
        uow.loyalty_grants.update(evolve(g1, remaining=0))
        uow.loyalty_grants.update(evolve(g2, remaining=25))
        uow.loyalty_grants.update(evolve(g2, remaining=30, version=2, member_id="n"))
        uow.commit()
    assert _summary(store) == {}
    assert sum(_summary(store, "n").values()) == 30
    assert _summary(store) == _fresh(store)
    assert _summary(store, "n") == _fresh(store, "n")
    with store.unit_of_work() as uow:
        assert [g.id for g in uow.loyalty_grants.live("p", "n")] == ["g2"]
        assert list(uow.loyalty_grants.live("p", "m")) == []
