"""Queries read as of now in read-only units of work: the same answers as after ``expire``.

Confirmations, expiries and hold lapses are written lazily (next command or ``expire``);
the queries work them out without writing, so they take no write lock.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from _loyalty_support import T0, Kit

from omnicrm.channel import Channel
from omnicrm.errors import StorageBusyError
from omnicrm.loyalty import EntryKind
from omnicrm.loyalty._books import Books
from omnicrm.loyalty._views import counted_balance
from omnicrm.persistence.sqlite import SQLiteStore

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def _reads(kit: Kit, program: str) -> tuple[Any, ...]:
    svc = kit.service
    return (
        svc.balance("m1", program),
        svc.expiring_soon("m1", program, timedelta(days=800)),
        tuple(attrs.evolve(e, seq=0) for e in svc.statement("m1", program)),
        svc.settlement(program, T0 - timedelta(days=1), FAR),
    )


def _ledger_size(kit: Kit, program: str) -> int:
    with kit.store.unit_of_work(read_only=True) as uow:  # type: ignore[attr-defined]
        return len(uow.loyalty_ledger.for_member(program, "m1"))


def _same_before_and_after_expire(kit: Kit, program: str) -> tuple[Any, ...]:
    size = _ledger_size(kit, program)
    before = _reads(kit, program)
    assert _ledger_size(kit, program) == size  # reading wrote nothing
    kit.service.expire()
    assert _reads(kit, program) == before
    return before


def _hold(kit: Kit, points: int, program: str = "plain") -> None:
    kit.service.hold(
        "m1", program, points, company="acme", channel=Channel.EC, idempotency_key=kit.key()
    )


def test_lapsed_holds_and_expiries_read_as_written(kit: Kit) -> None:
    kit.enroll()
    kit.buy(10000)
    kit.advance(days=200)
    kit.buy(5000, order="later")
    kit.spend(10, order_id="later")
    _hold(kit, 30)
    kit.advance(hours=1)  # the hold lapses, unwritten
    balance, expiring, statement, _ = _same_before_and_after_expire(kit, "plain")
    assert (balance.available, balance.held) == (140, 0)
    assert sum(e.points for e in expiring) == 140
    assert [e.kind for e in statement].count(EntryKind.LAPSE) == 1
    _hold(kit, 20)
    kit.clock.set(datetime(2027, 1, 11, tzinfo=UTC))  # the first grant and the hold are gone
    balance, expiring, statement, _ = _same_before_and_after_expire(kit, "plain")
    assert balance.available == 50
    assert [e.kind for e in statement][-2:] == [EntryKind.LAPSE, EntryKind.EXPIRE]


def test_provisional_points_confirm_on_read(kit: Kit) -> None:
    kit.enroll(program="pending")
    kit.buy(10000, program="pending")
    balance, *_ = _same_before_and_after_expire(kit, "pending")
    assert (balance.available, balance.pending) == (0, 100)
    kit.clock.set(datetime(2026, 2, 2, tzinfo=UTC))
    balance, expiring, statement, _ = _same_before_and_after_expire(kit, "pending")
    assert (balance.available, balance.pending) == (100, 0)
    assert [e.points for e in expiring] == [100]
    assert statement[-1].kind == EntryKind.CONFIRM


def test_rolling_expiry_reads_as_written(kit: Kit) -> None:
    kit.enroll(program="rolling")
    kit.buy(10000, program="rolling")
    kit.advance(days=100)
    _same_before_and_after_expire(kit, "rolling")
    kit.advance(days=200)
    balance, expiring, statement, _ = _same_before_and_after_expire(kit, "rolling")
    assert (balance.available, expiring) == (0, ())
    assert statement[-1].kind == EntryKind.EXPIRE


def _summary(kit: Kit, program: str = "plain") -> Any:
    store: Any = kit.store
    with store.unit_of_work(read_only=True) as uow:
        return uow.loyalty_summaries.get(program, "m1")


def _counted(kit: Kit, program: str = "plain") -> Any:
    store: Any = kit.store
    with store.unit_of_work(read_only=True) as uow:
        account = uow.loyalty_accounts.get(program, "m1")
        return counted_balance(uow, kit.service.program(program), account, kit.clock.now())


def test_the_summary_is_the_counted_balance_until_something_is_due(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Books, "summary_from", 0)
    kit.enroll()
    kit.buy(10000)
    _hold(kit, 30)
    summary = _summary(kit)
    assert summary.valid_at(kit.clock.now(), "Asia/Tokyo")
    assert summary.valid_until == T0 + timedelta(minutes=30)  # the hold's timeout
    assert (summary.available, summary.held) == (70, 30)
    assert kit.service.balance("m1", "plain") == _counted(kit)
    kit.advance(minutes=30)  # no longer valid: counted from the grants
    assert not _summary(kit).valid_at(kit.clock.now(), "Asia/Tokyo")
    assert kit.service.balance("m1", "plain").available == 100


def test_a_summary_is_kept_only_while_a_member_has_many_grants(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Books, "summary_from", 3)
    kit.enroll()
    for n in range(2):
        kit.buy(1000 * (n + 1))
        assert _summary(kit) is None
    kit.advance(days=1)
    kit.buy(3000)  # three live grants: summarised
    assert (_summary(kit).available, _summary(kit).expiring[-1][1]) == (60, 30)
    assert kit.service.balance("m1", "plain") == _counted(kit)
    kit.spend(15)  # the first grant is used up: two left, the summary goes
    assert _summary(kit) is None
    assert kit.service.balance("m1", "plain") == _counted(kit)
    assert kit.available() == 45


def test_merges_move_summaries_with_the_grants(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Books, "summary_from", 2)
    kit.enroll("m1")
    kit.enroll("m2")
    for n in range(3):
        kit.buy(1000 * (n + 1), member="m2")
    kit.buy(5000, member="m1")
    store: Any = kit.store

    def summaries() -> tuple[Any, ...]:
        with store.unit_of_work(read_only=True) as uow:
            return tuple(uow.loyalty_summaries.get("plain", m) for m in ("m1", "m2"))

    assert summaries()[0] is None
    assert summaries()[1].available == 60
    kit.service.merge_members("m1", "m2", merge_id="mg", idempotency_key=kit.key())
    survivor, absorbed = summaries()
    assert (survivor.available, absorbed) == (110, None)
    assert kit.service.balance("m1", "plain") == _counted(kit)
    kit.service.unmerge_members("m1", "m2", merge_id="mg", idempotency_key=kit.key())
    survivor, absorbed = summaries()
    assert (survivor, absorbed.available) == (None, 60)
    assert kit.service.balance("m1", "plain") == _counted(kit)


def test_reads_take_no_write_lock(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db", busy_timeout=0.05, retries=0)
    kit = Kit(store)
    kit.enroll()
    kit.buy(10000)
    _hold(kit, 30)
    kit.advance(hours=1)
    blocker = sqlite3.connect(tmp_path / "r.db", isolation_level=None, timeout=0.05)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageBusyError):
            kit.spend(1)
        balance, _, statement, _ = _reads(kit, "plain")
        kit.service.books("plain")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert balance.available == 100
    assert statement[-1].kind == EntryKind.LAPSE
    store.close()
