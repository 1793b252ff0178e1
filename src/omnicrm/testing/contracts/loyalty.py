"""The loyalty repositories contract: what every backend must do with the points ledger."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from omnicrm.channel import Channel
from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError
from omnicrm.ids import UuidIds
from omnicrm.loyalty.model import (
    Account,
    Allocation,
    BalanceSummary,
    EntryKind,
    Grant,
    GrantKind,
    Hold,
    HoldState,
    LedgerEntry,
    Order,
    OrderPart,
)
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts._loyalty_kit import T0, funded, purchase, service, spend_worker
from omnicrm.testing.contracts.loyalty_audit import audit_ledger
from omnicrm.testing.contracts.loyalty_machine import LoyaltyStoreComparison
from omnicrm.unit_of_work import Capability

__all__ = ["LoyaltyContract"]

MEMBERS, FUND = 50, 100


def _grant(grant_id: str, member: str = "m1", remaining: int = 10, **kw: Any) -> Grant:
    fields: dict[str, Any] = {
        "id": grant_id,
        "program_id": "p",
        "member_id": member,
        "company": "acme",
        "kind": GrantKind.STANDARD,
        "amount": 10,
        "remaining": remaining,
        "granted_at": T0,
        "expires_at": T0 + timedelta(days=30),
    }
    fields.update(kw)
    return Grant(**fields)


def _entry(member: str, amount: int, days: int = 0, kind: str = EntryKind.EARN) -> LedgerEntry:
    return LedgerEntry(
        program_id="p",
        member_id=member,
        company="acme",
        grant_id="g1",
        kind=kind,
        debit="company.issued",
        credit="member.available",
        amount=amount,
        effective_at=T0 + timedelta(days=days),
        recorded_at=T0,
    )


def _in_process(target: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    out.put(target(*args))


def _two_threads(store: LoyaltyStore, name: str, seed: int) -> list[Any]:
    """Run two spending threads in this process; return both threads' results."""
    found: list[Any] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        done = spend_worker(store, f"{name}t{n}", MEMBERS, 25, seed * 10 + n)
        with lock:
            found.extend(done)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return found


def _crash_writer(store: LoyaltyStore, progress: Any, first: int) -> None:  # pragma: no cover
    svc = service(store, ids=UuidIds())
    n = first
    while True:
        n += 1
        key = f"w{n}"
        svc.earn(f"m{n % 5:02d}", "group", purchase(key, 1000 + n), idempotency_key=key)
        svc.spend(
            f"m{n % 5:02d}",
            "group",
            1 + n % 7,
            company="beta",
            channel=Channel.EC,
            order_id=f"s{n}",
            idempotency_key=f"s{n}",
        )
        progress.put(n)


def _guarded_writer(store: LoyaltyStore, progress: Any, first: int) -> None:  # pragma: no cover
    try:
        _crash_writer(store, progress, first)
    except BaseException as exc:
        progress.put(repr(exc))
        raise


class LoyaltyContract(StoreContract):
    """Every behaviour of the loyalty repositories, and the service's guarantees on them."""

    # -- repositories -------------------------------------------------------------------

    def test_accounts_add_get_update_and_conflict(self, store: LoyaltyStore) -> None:
        with store.unit_of_work() as uow:
            stored = uow.loyalty_accounts.add(
                Account(program_id="p", member_id="m1", created_at=T0)
            )
            uow.commit()
        assert stored.version == 1
        with pytest.raises(DuplicateError), store.unit_of_work() as uow:
            uow.loyalty_accounts.add(Account(program_id="p", member_id="m1", created_at=T0))
        changed = attrs.evolve(stored, debt=(("acme", 5),), rolling_expires_at=T0)
        with store.unit_of_work() as uow:
            assert uow.loyalty_accounts.update(changed).version == 2
            uow.commit()
        with pytest.raises(ConcurrencyError), store.unit_of_work() as uow:
            uow.loyalty_accounts.update(changed)
        with store.unit_of_work() as uow:
            got = uow.loyalty_accounts.get("p", "m1")
            assert got == attrs.evolve(changed, version=2)
            assert uow.loyalty_accounts.get("p", "m2") is None
            assert uow.loyalty_accounts.programs_of("m1") == ["p"]
            assert uow.loyalty_accounts.rolling_due("p", T0) == ["m1"]
            assert uow.loyalty_accounts.rolling_due("p", T0 - timedelta(1)) == []

    def test_grants_round_trip_and_queries(self, store: LoyaltyStore) -> None:
        pending = _grant("g2", pending=True, confirm_at=T0 + timedelta(days=3), order_id="o")
        with store.unit_of_work() as uow:
            repo = uow.loyalty_grants
            for grant in (_grant("g1"), pending, _grant("g3", remaining=0), _grant("g4", "m2")):
                repo.add(grant)
            uow.commit()
        with store.unit_of_work() as uow:
            repo = uow.loyalty_grants
            assert repo.get("g2") == attrs.evolve(pending, version=1)
            assert [g.id for g in repo.live("p", "m1")] == ["g1", "g2"]
            assert sorted(repo.get_many(["g1", "zz", "g4"])) == ["g1", "g4"]
            summary = sorted(repo.summary("p", "m1"), key=lambda s: s.pending)
            assert [(s.pending, s.remaining) for s in summary] == [(False, 10), (True, 10)]
            assert repo.due("p", T0 + timedelta(days=3)) == ["m1"]
            assert repo.due("p", T0 + timedelta(days=30)) == ["m1", "m2"]
            assert repo.due("p", T0) == []
            with pytest.raises(NotFoundError):
                repo.get("nope")
            with pytest.raises(DuplicateError):
                repo.add(_grant("g1"))

    def test_summary_follows_writes_and_rollbacks(self, store: LoyaltyStore) -> None:
        with store.unit_of_work() as uow:
            uow.loyalty_grants.add(_grant("g1"))
            uow.commit()
        with store.unit_of_work() as uow:
            repo = uow.loyalty_grants
            assert [s.remaining for s in repo.summary("p", "m1")] == [10]
            repo.update(attrs.evolve(repo.get("g1"), remaining=3))
            assert [s.remaining for s in repo.summary("p", "m1")] == [3]
            repo.add(_grant("g2", expires_at=T0 + timedelta(days=99)))
            assert sorted(s.remaining for s in repo.summary("p", "m1")) == [3, 10]
        with store.unit_of_work() as uow:
            assert [s.remaining for s in uow.loyalty_grants.summary("p", "m1")] == [10]

    def test_grant_update_is_version_checked(self, store: LoyaltyStore) -> None:
        with store.unit_of_work() as uow:
            first = uow.loyalty_grants.add(_grant("g1"))
            uow.commit()
        with store.unit_of_work() as uow:
            uow.loyalty_grants.update(attrs.evolve(first, remaining=4))
            uow.commit()
        with pytest.raises(ConcurrencyError) as caught, store.unit_of_work() as uow:
            uow.loyalty_grants.update(attrs.evolve(first, remaining=0))
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        with store.unit_of_work() as uow:
            moved = uow.loyalty_grants.update(
                attrs.evolve(uow.loyalty_grants.get("g1"), member_id="m9", merge_id="x")
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_grants.live("p", "m1") == []
            assert uow.loyalty_grants.live("p", "m9") == [moved]

    def test_holds_round_trip_and_queries(self, store: LoyaltyStore) -> None:
        hold = Hold(
            id="h1",
            program_id="p",
            member_id="m1",
            company="beta",
            channel="ec",
            order_id=None,
            points=7,
            allocations=(Allocation("g1", "acme", 7, T0 + timedelta(days=9)),),
            created_at=T0,
            expires_at=T0 + timedelta(minutes=30),
        )
        with store.unit_of_work() as uow:
            uow.loyalty_holds.add(hold)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_holds.get("h1") == attrs.evolve(hold, version=1)
            assert [h.id for h in uow.loyalty_holds.active("p", "m1")] == ["h1"]
            assert uow.loyalty_holds.due("p", T0 + timedelta(minutes=30)) == ["m1"]
            assert uow.loyalty_holds.due("p", T0) == []
            done = uow.loyalty_holds.update(
                attrs.evolve(hold, version=1, state=HoldState.CAPTURED, captured=7)
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_holds.active("p", "m1") == []
            assert uow.loyalty_holds.get("h1") == done
            with pytest.raises(ConcurrencyError):
                uow.loyalty_holds.update(attrs.evolve(hold, version=1))
            with pytest.raises(NotFoundError):
                uow.loyalty_holds.get("h2")

    def test_orders_round_trip(self, store: LoyaltyStore) -> None:
        order = Order(
            program_id="p",
            order_id="o1",
            member_id="m1",
            gross=1000,
            earned=(OrderPart("g1", "acme", 10),),
            spent=(OrderPart("g0", "beta", 3, 1, "acme"),),
            earned_at=T0,
        )
        with store.unit_of_work() as uow:
            stored = uow.loyalty_orders.add(order)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_orders.get("p", "o1") == stored
            assert uow.loyalty_orders.get("p", "o2") is None
            updated = uow.loyalty_orders.update(attrs.evolve(stored, returned=500))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_orders.get("p", "o1") == updated
            with pytest.raises(ConcurrencyError):
                uow.loyalty_orders.update(stored)
            with pytest.raises(DuplicateError):
                uow.loyalty_orders.add(order)

    def test_ledger_appends_in_order_and_filters(self, store: LoyaltyStore) -> None:
        with store.unit_of_work() as uow:
            uow.loyalty_ledger.append([_entry("m1", 5, 2), _entry("m1", 3, 1), _entry("m2", 1)])
            uow.commit()
        with store.unit_of_work() as uow:
            ledger = uow.loyalty_ledger
            mine = ledger.for_member("p", "m1")
            assert [(e.seq, e.amount) for e in mine] == [(2, 3), (1, 5)]
            assert [e.amount for e in ledger.for_member("p", "m1", until=T0 + timedelta(1))] == [3]
            assert [e.amount for e in ledger.between("p", T0, T0 + timedelta(2))] == [1, 3]
            assert mine[1] == attrs.evolve(_entry("m1", 5, 2), seq=1)

    def test_balance_summaries_round_trip_replace_and_drop(self, store: LoyaltyStore) -> None:
        days = tuple((date(2026, 1, 1) + timedelta(days=n), n * 7 + 1) for n in range(300))
        full = BalanceSummary(
            program_id="p",
            member_id="m1",
            computed_at=T0,
            valid_until=T0 + timedelta(hours=1),
            time_zone="Asia/Tokyo",
            available=sum(p for _, p in days),
            pending=5,
            held=3,
            limited=2,
            expiring=days,
        )
        empty = BalanceSummary(
            program_id="p", member_id="m2", computed_at=T0, valid_until=None, time_zone="UTC"
        )
        with store.unit_of_work() as uow:
            summaries = uow.loyalty_summaries
            summaries.put(full)
            summaries.put(empty)
            summaries.drop("p", "nobody")  # nothing to drop: no error
            uow.commit()
        with store.unit_of_work(read_only=True) as uow:
            assert uow.loyalty_summaries.get("p", "m1") == full
            assert uow.loyalty_summaries.get("p", "m2") == empty
            assert uow.loyalty_summaries.get("q", "m1") is None
        changed = attrs.evolve(full, available=1, expiring=((date(2026, 5, 1), 1),))
        with store.unit_of_work() as uow:
            uow.loyalty_summaries.put(changed)
            uow.loyalty_summaries.drop("p", "m2")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.loyalty_summaries.get("p", "m1") == changed
            assert uow.loyalty_summaries.get("p", "m2") is None
            uow.loyalty_summaries.put(empty)  # rolled back
        with store.unit_of_work(read_only=True) as uow:
            assert uow.loyalty_summaries.get("p", "m2") is None

    def test_rollback_leaves_nothing(self, store: LoyaltyStore) -> None:
        with store.unit_of_work() as uow:
            uow.loyalty_grants.add(_grant("g1"))
            uow.loyalty_ledger.append([_entry("m1", 5)])
            uow.loyalty_accounts.add(Account(program_id="p", member_id="m1", created_at=T0))
        with store.unit_of_work() as uow:
            assert uow.loyalty_grants.get_many(["g1"]) == {}
            assert uow.loyalty_ledger.for_member("p", "m1") == []
            assert uow.loyalty_accounts.get("p", "m1") is None

    def test_committed_ledger_survives_reopening(self, store: LoyaltyStore) -> None:
        self.require(store, Capability.DURABLE)
        svc = funded(store, 2, 50)
        before = svc.balance("m01", "group")
        reopen: Callable[[], LoyaltyStore] | None = getattr(store, "reopen", None)
        if reopen is None:
            pytest.skip("the store offers no reopen() to test durability with")
        again = reopen()
        try:
            assert service(again).balance("m01", "group") == before
            audit_ledger(again, ["group"])
        finally:
            again.close()

    # -- the service's guarantees on this backend ---------------------------------------

    def _check_spends(self, store: LoyaltyStore, svc: Any, done: list[Any]) -> None:
        errors = [d for d in done if d[0] == "error"]
        assert errors == []
        assert all(points == replayed for _, _, points, replayed in done), "retry not idempotent"
        spent: dict[str, int] = {}
        for _, member, points, _ in done:
            spent[member] = spent.get(member, 0) + points
        for i in range(MEMBERS):
            member = f"m{i:02d}"
            balance = svc.balance(member, "group")
            assert balance.available >= 0
            assert balance.available == FUND - spent.get(member, 0), member
            entries = svc.statement(member, "group")
            assert sum(e.amount for e in entries if e.kind == EntryKind.SPEND) == spent.get(
                member, 0
            )
        audit_ledger(store, ["group"])

    def test_threads_spending_never_overdraw(self, store: LoyaltyStore) -> None:
        self.require(store, Capability.THREADS)
        svc = funded(store, MEMBERS, FUND)
        results: list[Any] = []
        lock = threading.Lock()

        def run(n: int) -> None:
            found = spend_worker(store, f"t{n}", MEMBERS, 40, seed=n)
            with lock:
                results.extend(found)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self._check_spends(store, svc, results)

    def test_processes_spending_never_overdraw(self, store: LoyaltyStore) -> None:
        self.require(store, Capability.PROCESSES)
        svc = funded(store, MEMBERS, FUND)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [
            ctx.Process(
                target=_in_process,
                args=(spend_worker, (store, f"p{n}", MEMBERS, 40, 100 + n), out),
            )
            for n in range(4)
        ]
        for p in procs:
            p.start()
        results: list[Any] = []
        for _ in procs:
            results.extend(out.get(timeout=120))
        for p in procs:
            p.join(timeout=60)
        self._check_spends(store, svc, results)

    def test_eight_threads_in_four_processes_never_overdraw(self, store: LoyaltyStore) -> None:
        self.require(store, Capability.PROCESSES)
        self.require(store, Capability.THREADS)
        svc = funded(store, MEMBERS, FUND)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_in_process, args=(_two_threads, (store, f"q{n}", n), out))
            for n in range(4)
        ]
        for p in procs:
            p.start()
        results: list[Any] = []
        for _ in procs:
            results.extend(out.get(timeout=120))
        for p in procs:
            p.join(timeout=60)
        assert len({key for key, *_ in results}) == len(results)
        self._check_spends(store, svc, results)

    def test_killed_writer_leaves_whole_commands(self, store: LoyaltyStore) -> None:
        self.require(store, Capability.PROCESSES)
        self.require(store, Capability.DURABLE)
        reopen: Callable[[], LoyaltyStore] | None = getattr(store, "reopen", None)
        if reopen is None:
            pytest.skip("the store offers no reopen()")
        funded(store, 5, 10_000)
        ctx = multiprocessing.get_context("fork")
        for round_ in range(3):  # kill a writer three times, at different points
            progress = ctx.Queue()
            first = round_ * 1000
            writer = ctx.Process(target=_guarded_writer, args=(store, progress, first))
            writer.start()
            for _ in range(4 + 7 * round_):
                step = progress.get(timeout=120)
                assert isinstance(step, int), step
            os.kill(writer.pid or 0, signal.SIGKILL)
            writer.join(timeout=60)
            again = reopen()
            try:
                audit_ledger(again, ["group"])
                with again.unit_of_work() as uow:
                    for n in range(first + 1, first + 200):
                        record = uow.idempotency.get("loyalty.spend", f"s{n}")
                        order = uow.loyalty_orders.get("group", f"s{n}")
                        assert (record is None) == (order is None), n
                        earned = uow.loyalty_orders.get("group", f"w{n}")
                        assert (uow.idempotency.get("loyalty.earn", f"w{n}") is None) == (
                            earned is None
                        ), n
            finally:
                again.close()

    def test_agrees_with_the_reference_under_any_sequence(
        self, store_factory: StoreFactory
    ) -> None:
        run_state_machine_as_test(
            lambda: LoyaltyStoreComparison(store_factory()),  # type: ignore[arg-type]
            settings=settings(
                max_examples=12,
                stateful_step_count=15,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
