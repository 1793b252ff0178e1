"""Benchmarks of the timing engine, each beside a baseline measured in the same run.

    python benchmarks/bench_timing.py            # the sizes of the issue (minutes, GBs)
    python benchmarks/bench_timing.py --quick    # a seconds-long smoke run

Rows: name, data size, omnicrm median, baseline median, ratio (omnicrm / baseline for
throughput: >1 is faster; for memory, baseline / omnicrm).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from omnicrm.persistence.memory import MemoryStore
from omnicrm.timing import (
    Action,
    ChannelPolicy,
    Condition,
    CustomerContext,
    CustomerEvent,
    Engine,
    Exit,
    Facts,
    Journey,
    Reentry,
    Trigger,
    Wait,
    WaitForEvent,
)
from omnicrm.timing._compiled import compile_all

T0 = datetime(2026, 4, 1, tzinfo=UTC)
TYPES = [f"type{i}" for i in range(10)]
SEGMENTS = ["champions", "loyal", "at_risk", "new", "lost"]


CLOCK: list[Callable[[], float]] = [time.perf_counter]  # --cpu: time.process_time


def median_time(run: Callable[[], Any], repeat: int) -> float:
    times = []
    clock = CLOCK[0]
    for _ in range(repeat):
        gc.collect()
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def row(name: str, size: str, ours: float, base: float, unit: str, higher_better: bool) -> None:
    ratio = ours / base if higher_better else base / ours
    print(f"{name:<34} {size:<28} {ours:>14,.0f} {unit:<8} {base:>14,.0f} {unit:<8} {ratio:>7.2f}")


# -- 1. condition dispatch -------------------------------------------------------------
def dispatch_rules() -> tuple[list[Journey], dict[str, list[tuple[str, Callable[..., bool]]]]]:
    journeys: list[Journey] = []
    floor: dict[str, list[tuple[str, Callable[..., bool]]]] = {}
    for i in range(100):
        kind = TYPES[i % 10]
        amount, age, segment = 100 * (i % 7), 20 + i % 50, SEGMENTS[i % 5]
        journeys.append(
            Journey(
                id=f"j{i}",
                triggers=(
                    Trigger(
                        event_type=kind,
                        conditions=(
                            Condition("event.amount", "gt", amount),
                            Condition("profile.age", "lt", age),
                            Condition("segment", "ne", segment),
                        ),
                    ),
                ),
                start="a",
                steps=(Action(id="a", content="c"),),
            )
        )

        def hand(p: Any, pr: Any, s: Any, amount: int = amount, age: int = age,
                 segment: str = segment) -> bool:  # fmt: skip
            a = p.get("amount")
            g = pr.get("age")
            return (
                a is not None and float(a) > amount and g is not None and float(g) < age
                and s is not None and s != segment
            )  # fmt: skip

        floor.setdefault(kind, []).append((f"j{i}", hand))
    return journeys, floor


def dispatch_events(n: int) -> list[tuple[str, dict[str, str], dict[str, str], str]]:
    rnd = random.Random(7)
    return [
        (
            rnd.choice(TYPES),
            {"amount": str(rnd.randrange(0, 1000))},
            {"age": str(rnd.randrange(18, 80))},
            rnd.choice(SEGMENTS),
        )
        for _ in range(n)
    ]


def bench_dispatch(n: int, repeat: int, baselines: bool) -> None:
    journeys, floor = dispatch_rules()
    dispatch = compile_all(journeys)
    events = dispatch_events(n)

    def ours() -> int:
        hits = 0
        matching = dispatch.matching
        for kind, props, profile, segment in events:
            hits += len(matching(kind, Facts(props, profile, segment)))
        return hits

    def hand() -> int:
        hits = 0
        for kind, props, profile, segment in events:
            for _, test in floor.get(kind, ()):
                if test(props, profile, segment):
                    hits += 1
        return hits

    assert ours() == hand()
    ours_s, hand_s = median_time(ours, repeat), median_time(hand, repeat)
    row("dispatch: 100 rules, events/s", f"{n:,} events", n / ours_s, n / hand_s, "ev/s", True)
    if not baselines:
        return
    try:
        import rule_engine  # type: ignore[import-not-found]
    except ImportError:
        print("dispatch vs rule-engine: skipped (pip install rule-engine in a benchmark venv)")
    else:
        compiled: dict[str, list[Any]] = {}
        for i, journey in enumerate(journeys):
            kind = journey.triggers[0].event_type
            amount, age, segment = 100 * (i % 7), 20 + i % 50, SEGMENTS[i % 5]
            text = f"amount > {amount} and age < {age} and segment != '{segment}'"
            compiled.setdefault(kind, []).append(rule_engine.Rule(text))
        rows = [
            (k, {"amount": float(p["amount"]), "age": float(pr["age"]), "segment": s})
            for k, p, pr, s in events
        ]

        def engine_rules() -> int:
            hits = 0
            for kind, data in rows:
                for rule in compiled.get(kind, ()):
                    if rule.matches(data):
                        hits += 1
            return hits

        assert engine_rules() == hand()
        base_s = median_time(engine_rules, max(1, repeat // 2))
        row("dispatch vs rule-engine", f"{n:,} events", n / ours_s, n / base_s, "ev/s", True)
    try:
        from durable.lang import m, post, ruleset, when_all  # type: ignore[import-not-found]
    except ImportError:
        print("dispatch vs durable-rules: skipped (pip install durable-rules in a benchmark venv)")
        return
    fired = [0]
    with ruleset("omnicrm_bench"):
        for i in range(100):
            kind = TYPES[i % 10]
            amount, age, segment = 100 * (i % 7), 20 + i % 50, SEGMENTS[i % 5]

            def action(_c: Any) -> None:
                fired[0] += 1

            action.__name__ = f"rule{i}"
            when_all(
                (m.type == kind) & (m.amount > amount) & (m.age < age) & (m.segment != segment)
            )(action)
    facts_rows = [
        {"type": k, "amount": int(p["amount"]), "age": int(pr["age"]), "segment": s}
        for k, p, pr, s in events
    ]

    def durable_rules() -> None:
        for data in facts_rows:
            # durable-rules raises for an event no rule matched
            with contextlib.suppress(Exception):
                post("omnicrm_bench", data)

    base_s = median_time(durable_rules, 1)
    row("dispatch vs durable-rules", f"{n:,} events", n / ours_s, n / base_s, "ev/s", True)


# -- 2. the whole engine on memory -----------------------------------------------------
def engine_journeys(count: int, wait: relativedelta, action: bool) -> list[Journey]:
    out = []
    for i in range(count):
        steps: tuple[Any, ...]
        if action:
            steps = (
                WaitForEvent(id="w", event_type="booked", timeout=wait, on_event="end",
                             on_timeout="a"),
                Action(id="a", content=f"content{i}", next="end"),
                Exit(id="end"),
            )  # fmt: skip
        else:
            steps = (Wait(id="w", duration=wait, next="end"), Exit(id="end"))
        out.append(
            Journey(
                id=f"j{i}",
                triggers=(
                    Trigger(
                        event_type=f"type{i % 20}",
                        conditions=(Condition("event.amount", "gt", 100 * (i % 10)),),
                    ),
                ),
                exit_on=(Trigger(event_type="unsubscribed"),),
                start="w",
                reentry=Reentry.ALWAYS,
                steps=steps,
            )
        )
    return out


class Directory:
    """A host's directory: contexts built once per customer, then looked up."""

    def __init__(self) -> None:
        self.cache: dict[str, CustomerContext] = {}

    def context(self, customer_id: str) -> CustomerContext:
        found = self.cache.get(customer_id)
        if found is None:
            found = self.cache[customer_id] = CustomerContext(
                customer_id=customer_id, time_zone="Asia/Tokyo", consents={"push", "email"}
            )
        return found


def engine_events(n: int, customers: int, kinds: int = 20) -> list[CustomerEvent]:
    rnd = random.Random(11)
    return [
        CustomerEvent(
            event_id=f"e{i}",
            event_type=f"type{rnd.randrange(kinds)}",
            customer_id=f"cust{rnd.randrange(customers)}",
            occurred_at=T0 + timedelta(milliseconds=i),
            properties={"amount": str(rnd.randrange(1000))},
        )
        for i in range(n)
    ]


def hand_engine(events: list[CustomerEvent], journeys: list[Journey]) -> int:
    """The floor: the same entering logic with plain dicts, no storage, no guards."""
    import heapq

    by_type: dict[str, list[tuple[str, float]]] = {}
    for i, j in enumerate(journeys):
        by_type.setdefault(j.triggers[0].event_type, []).append((j.id, 100.0 * (i % 10)))
    seen: set[str] = set()
    active: dict[tuple[str, str], datetime] = {}
    heap: list[tuple[datetime, str, str]] = []
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        amount = float(e.properties["amount"])
        for jid, threshold in by_type.get(e.event_type, ()):
            if amount > threshold and (e.customer_id, jid) not in active:
                due = e.occurred_at + timedelta(days=2)
                active[(e.customer_id, jid)] = due
                heapq.heappush(heap, (due, e.customer_id, jid))
    return len(active)


def bench_engine(n: int, customers: int, repeat: int) -> None:
    journeys = engine_journeys(100, relativedelta(days=2), action=True)
    events = engine_events(n, customers)
    directory = Directory()
    for e in events:
        directory.context(e.customer_id)

    def ours() -> None:
        engine = Engine(MemoryStore(), journeys, directory=directory,
                        channels=ChannelPolicy(default_channels=("push", "email")),
                        event_types=("booked",))  # fmt: skip
        handle = engine.handle
        for e in events:
            handle(e)

    def ours_batched() -> None:  # the same events, 100 to a unit of work
        engine = Engine(MemoryStore(), journeys, directory=directory,
                        channels=ChannelPolicy(default_channels=("push", "email")),
                        event_types=("booked",))  # fmt: skip
        handle_many = engine.handle_many
        for i in range(0, len(events), 100):
            handle_many(events[i : i + 100])

    ours_s = median_time(ours, repeat)
    base_s = median_time(lambda: hand_engine(events, journeys), repeat)
    size = f"{n:,} ev, {customers:,} cust"
    row("engine.handle on memory, events/s", size, n / ours_s, n / base_s, "ev/s", True)
    many_s = median_time(ours_batched, repeat)
    row("engine.handle_many (100/batch)", size, n / many_s, n / base_s, "ev/s", True)


def bench_engine_sqlite(n: int) -> None:
    """The same engine on a SQLite file (one write transaction per event), for scale."""
    import tempfile
    from pathlib import Path

    from omnicrm.persistence.sqlite import SQLiteStore

    journeys = engine_journeys(100, relativedelta(days=2), action=True)
    events = engine_events(n, 1_000_000)
    directory = Directory()
    for e in events:
        directory.context(e.customer_id)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.db")
        engine = Engine(store, journeys, directory=directory, event_types=("booked",),
                        channels=ChannelPolicy(default_channels=("push", "email")))  # fmt: skip
        start = CLOCK[0]()
        for e in events:
            engine.handle(e)
        ours_s = CLOCK[0]() - start
        store.close()
    base_s = median_time(lambda: hand_engine(events, journeys), 3)
    row("engine.handle on sqlite, events/s", f"{n:,} events", n / ours_s, n / base_s, "ev/s", True)


# -- 3. pending waits: memory and tick ---------------------------------------------------
def bench_waits(waits: int, repeat: int) -> None:
    journeys = engine_journeys(1, relativedelta(days=1), action=False)
    events = [
        CustomerEvent(
            event_id=f"e{i}", event_type="type0", customer_id=f"cust{i}",
            occurred_at=T0 + timedelta(seconds=i % 86_400), properties={"amount": "500"},
        )
        for i in range(waits)
    ]  # fmt: skip
    directory = Directory()
    for e in events:
        directory.context(e.customer_id)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = MemoryStore()
    engine = Engine(store, journeys, directory=directory)
    for e in events:
        engine.handle(e)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    positions = store._timing.positions
    tracemalloc.stop()
    assert engine.active_positions() == waits
    ours_bytes = (after - before) / waits

    import heapq

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    floor_heap: list[tuple[int, str, str]] = []
    floor_rows: dict[tuple[str, str], int] = {}
    for i in range(waits):
        due = 1_000_000 * i
        floor_rows[(f"cust{i}", "j0")] = due
        heapq.heappush(floor_heap, (due, f"cust{i}", "j0"))
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    floor_bytes = (after - before) / waits
    row("pending waits, bytes per wait", f"{waits:,} waits", ours_bytes, floor_bytes, "B", False)
    del positions, floor_heap, floor_rows

    def ours_tick() -> int:
        fresh = Engine(MemoryStore(), journeys, directory=directory)
        for e in events:
            fresh.handle(e)
        gc.collect()
        start = CLOCK[0]()
        fresh.tick(T0 + timedelta(days=3))
        elapsed = CLOCK[0]() - start
        assert fresh.active_positions() == 0
        timings.append(elapsed)
        return 0

    timings: list[float] = []
    for _ in range(repeat):
        ours_tick()
    tick_s = statistics.median(timings)

    def floor_tick() -> None:
        heap = [(1_000_000 * i, f"cust{i}", "j0") for i in range(waits)]
        rows = {(c, j): d for d, c, j in heap}
        start = CLOCK[0]()
        while heap:
            due, c, j = heapq.heappop(heap)
            if rows.get((c, j)) == due:
                del rows[(c, j)]
        floor_timings.append(CLOCK[0]() - start)

    floor_timings: list[float] = []
    for _ in range(repeat):
        floor_tick()
    base_s = statistics.median(floor_timings)
    row("tick, due waits/s", f"{waits:,} waits", waits / tick_s, waits / base_s, "w/s", True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--no-baselines", action="store_true", help="skip third-party baselines")
    parser.add_argument(
        "--cpu", action="store_true", help="time with CPU time (process_time), not wall clock"
    )
    parser.add_argument(
        "--only", choices=("dispatch", "engine", "sqlite", "waits"), action="append",
        help="run only these measurements (repeatable)",
    )  # fmt: skip
    parser.add_argument("--waits", type=int, help="pending waits for the waits rows")
    args = parser.parse_args()
    if args.cpu:
        CLOCK[0] = time.process_time
    if args.quick:
        sizes = {
            "dispatch": 20_000, "engine": 5_000, "customers": 1_000_000, "waits": 5_000,
            "sqlite": 500,
        }  # fmt: skip
        repeat = 3
    else:
        sizes = {"dispatch": 100_000, "engine": 100_000, "customers": 1_000_000,
                 "waits": 1_000_000, "sqlite": 10_000}  # fmt: skip
        repeat = 3
    if args.waits:
        sizes["waits"] = args.waits
    print(
        f"{'name':<34} {'size':<28} {'omnicrm':>14} {'':<8} {'baseline':>14} {'':<8} {'ratio':>7}"
    )
    only = set(args.only or ("dispatch", "engine", "sqlite", "waits"))
    if "dispatch" in only:
        bench_dispatch(sizes["dispatch"], repeat, not args.no_baselines)
    if "engine" in only:
        bench_engine(sizes["engine"], sizes["customers"], repeat)
    if "sqlite" in only:
        bench_engine_sqlite(sizes["sqlite"])
    if "waits" in only:
        bench_waits(sizes["waits"], 1 if not args.quick else repeat)


if __name__ == "__main__":
    main()
