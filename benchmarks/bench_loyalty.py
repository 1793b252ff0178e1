"""Loyalty benchmarks: a command mix on memory and SQLite, and a balance over 1,000 grants.

Each figure sits beside a floor measured in the same run:

- command mix: the floor replays, with raw ``sqlite3`` on a copy of the database taken
  before the run, exactly the write statements (``INSERT``/``UPDATE``) omnicrm issued,
  grouped in the same transactions (``BEGIN IMMEDIATE`` ... ``COMMIT``);
- balance: the floor is one raw ``SELECT SUM(remaining)`` over the member's grant rows.

Run ``python benchmarks/bench_loyalty.py`` (``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnicrm.channel import Channel
from omnicrm.loyalty import LoyaltyService, Program, Purchase, PurchaseLine
from omnicrm.loyalty._calendar import fixed_expiry
from omnicrm.loyalty.model import Grant, GrantKind
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing import SequentialIds, SteppingClock

T0 = datetime(2026, 1, 10, 3, tzinfo=UTC)
PROGRAM = Program(id="group", companies={"acme", "beta"})
WRITES = ("INSERT", "UPDATE", "DELETE")


def _service(store: Any) -> LoyaltyService:
    clock = SteppingClock(T0, timedelta(milliseconds=1))
    return LoyaltyService(store, clock, [PROGRAM], SequentialIds())


def _setup(svc: LoyaltyService, members: int) -> None:
    for i in range(members):
        svc.enroll(f"m{i}", "group", idempotency_key=f"e{i}")
        svc.adjust(f"m{i}", "group", 5000, company="acme", reason="seed", idempotency_key=f"a{i}")


def _mix(svc: LoyaltyService, members: int, rounds: int, seed: int, tag: str) -> int:
    """earn, spend, hold, capture, return: five committed commands per round."""
    rng = random.Random(seed)
    count = 0
    for n in range(rounds):
        member = f"m{rng.randrange(members)}"
        order = f"{tag}o{n}"
        company = rng.choice(("acme", "beta"))
        svc.spend(
            member,
            "group",
            10,
            company=company,
            channel=Channel.EC,
            order_id=order,
            idempotency_key=f"{tag}s{n}",
        )
        hold = svc.hold(
            member, "group", 20, company=company, channel=Channel.EC, idempotency_key=f"{tag}h{n}"
        )
        svc.capture("group", hold.hold_id or "", 15, idempotency_key=f"{tag}c{n}")
        purchase = Purchase(
            order_id=order,
            company=company,
            channel=Channel.STORE,
            lines=(PurchaseLine("item", 1000 + rng.randrange(9000)),),
            points_used=10,
        )
        svc.earn(member, "group", purchase, idempotency_key=f"{tag}e{n}")
        svc.return_purchase(member, "group", order, 500, idempotency_key=f"{tag}r{n}")
        count += 5
    return count


def _replay(db: Path, transactions: list[list[str]]) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for statements in transactions:
        conn.execute("BEGIN IMMEDIATE")
        for sql in statements:
            conn.execute(sql)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def bench_mix(members: int, rounds: int, repeats: int) -> list[tuple[str, int, float, float]]:
    memory_rates, sqlite_rates, floor_rates = [], [], []
    for rep in range(repeats):
        svc = _service(MemoryStore())
        _setup(svc, members)
        start = time.perf_counter()
        count = _mix(svc, members, rounds, rep, "x")
        memory_rates.append(count / (time.perf_counter() - start))

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            store = SQLiteStore(path)
            svc = _service(store)
            _setup(svc, members)
            conn = store._connection()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            copy = Path(tmp) / "floor.db"
            shutil.copy(path, copy)
            transactions: list[list[str]] = []

            def trace(sql: str, transactions: list[list[str]] = transactions) -> None:
                head = sql.lstrip()[:6].upper()
                if head.startswith("BEGIN"):
                    transactions.append([])
                elif head in WRITES and transactions:
                    transactions[-1].append(sql)

            conn.set_trace_callback(trace)
            start = time.perf_counter()
            count = _mix(svc, members, rounds, rep, "x")
            sqlite_rates.append(count / (time.perf_counter() - start))
            conn.set_trace_callback(None)
            store.close()
            writing = [t for t in transactions if t]
            floor_rates.append(len(writing) / _replay(copy, writing))
    size = members
    floor = statistics.median(floor_rates)
    return [
        ("command mix, memory (commands/s)", size, statistics.median(memory_rates), floor),
        ("command mix, sqlite WAL (commands/s)", size, statistics.median(sqlite_rates), floor),
    ]


def _many_grants(store: Any, count: int, distinct: bool = False) -> None:
    """Give member ``big`` ``count`` grants earned an hour apart.

    Expiries follow the program's calendar (end of the local day a year later: about 42
    distinct days), or with ``distinct`` every grant expires on a day of its own (the
    worst case for grouping: 1,000 distinct days). The grant rows are written directly,
    then one ``adjust`` command debits a point (and writes the member's balance summary).
    """
    svc = _service(store)
    svc.enroll("big", "group", idempotency_key="e-big")
    with store.unit_of_work() as uow:
        for i in range(count):
            at = T0 + timedelta(hours=i)
            uow.loyalty_grants.add(
                Grant(
                    id=f"g{i:05d}",
                    program_id="group",
                    member_id="big",
                    company="acme" if i % 2 else "beta",
                    kind=GrantKind.LIMITED if i % 10 == 0 else GrantKind.STANDARD,
                    amount=100,
                    remaining=100 - i % 7,
                    granted_at=at,
                    expires_at=fixed_expiry(PROGRAM, T0 + timedelta(days=i) if distinct else at),
                )
            )
        uow.commit()
    # one command, as every real change is, so the member's balance summary is written
    svc.adjust("big", "group", -1, company="acme", reason="seed", idempotency_key="d-seed")


def _median_time(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _median_after_change(svc: LoyaltyService, repeats: int) -> float:
    """Median time of the first balance read after each of ``repeats`` one-point debits."""
    times = []
    for n in range(repeats):
        svc.adjust("big", "group", -1, company="acme", reason="bench", idempotency_key=f"d{n}")
        start = time.perf_counter()
        svc.balance("big", "group")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_balance(
    grants: int, repeats: int, distinct: bool = False
) -> list[tuple[str, int, float, float]]:
    rows = []
    label = ", a day per grant" if distinct else ""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bal.db"
        stores: list[tuple[str, Any]] = [("memory", MemoryStore()), ("sqlite", SQLiteStore(path))]
        raw = None
        for name, store in stores:
            _many_grants(store, grants, distinct)
            svc = _service(store)
            seconds = _median_time(lambda s=svc: s.balance("big", "group"), repeats)
            if raw is None:
                raw = sqlite3.connect(path)
            conn = raw
            floor = _median_time(
                lambda c=conn: c.execute(
                    "SELECT SUM(remaining) FROM loyalty_grants "
                    "WHERE program_id = ? AND member_id = ? AND remaining > 0",
                    ("group", "big"),
                ).fetchone(),
                repeats,
            )
            rows.append((f"balance, {name}{label} (ms)", grants, seconds * 1000, floor * 1000))
            changed = _median_after_change(svc, max(repeats // 4, 5))
            after = f"balance after a change, {name}{label} (ms)"
            rows.append((after, grants, changed * 1000, floor * 1000))
            store.close()
        if raw is not None:
            raw.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    args = parser.parse_args()
    members, rounds, repeats = (20, 40, 1) if args.quick else (200, 600, 3)
    grants, bal_repeats = (200, 20) if args.quick else (1000, 200)
    rows = bench_mix(members, rounds, repeats) + bench_balance(grants, bal_repeats)
    rows += bench_balance(grants, bal_repeats, distinct=True)
    print(f"{'measurement':<56} {'size':>6} {'omnicrm':>12} {'floor':>12} {'ratio':>7}")
    for name, size, ours, floor in rows:
        higher_is_better = "/s" in name
        ratio = floor / ours if higher_is_better else ours / floor
        print(f"{name:<56} {size:>6} {ours:>12.3f} {floor:>12.3f} {ratio:>6.1f}x")
    print("ratio: how many times slower omnicrm is than the floor")


if __name__ == "__main__":
    main()
