"""PostgreSQL load test: several processes on one database, beside SQLite on the same machine.

Three workloads, each a list of idempotent commands where **every command is delivered
twice, by two different processes at about the same time** (a retried webhook, a
double-clicked button, two consumers of one queue):

- ``spend``: loyalty spends of 1-40 points from a few funded members (demand exceeds
  the funds, so many are refused);
- ``hold``: one-unit inventory holds of the last units of one SKU (twice as many
  commands as units);
- ``event``: timing-engine events, each starting a journey whose first step is a send.

After each run it checks, from the database: no member below zero and each balance equal
to its funds minus the spends applied (zero overdrafts); units held equal to the holds
won and never more than the stock (zero oversells); exactly one action per event and no
command applied twice (zero duplicates). A failed check exits non-zero.

Throughput is commands per second over all processes (replays and refusals count: they
are work the database does), the median of ``--repeat`` runs, PostgreSQL beside SQLite
(WAL file) measured in the same invocation. PostgreSQL is named by ``--url`` or
``OMNICRM_POSTGRES_URL``; without one (or without psycopg) the run says so and exits 0.

Run ``python benchmarks/bench_postgres.py`` (``--quick`` for a seconds-long smoke run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnicrm.channel import Channel
from omnicrm.errors import RuleViolationError
from omnicrm.inventory import HoldKind, HoldLine, InventoryService
from omnicrm.loyalty import LoyaltyService, Program
from omnicrm.loyalty.model import EntryKind
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing import FixedClock, SequentialIds, SteppingClock
from omnicrm.testing.inventory_sample import tokyo_items, tokyo_network
from omnicrm.timing import (
    Action,
    CustomerContext,
    CustomerEvent,
    Engine,
    Journey,
    StaticDirectory,
    Trigger,
)
from omnicrm.unit_of_work import Store

T0 = datetime(2026, 1, 10, 3, tzinfo=UTC)
PROGRAM = Program(id="group", companies={"acme"})
Spec = tuple[str, str, str | None]
"""(backend, URL or path, schema): how a process opens its own store."""
SYNCHRONOUS_COMMIT = True


def _open(spec: Spec) -> Store:
    backend, where, schema = spec
    if backend == "sqlite":
        return SQLiteStore(where)
    from omnicrm.persistence.postgres import PostgresStore

    return PostgresStore(where, schema=schema, synchronous_commit=SYNCHRONOUS_COMMIT)


# --- the workloads: prepare(store, size) -> commands; run(store, commands) -> results ---


def _spend_prepare(store: Store, size: int) -> list[Any]:
    svc = LoyaltyService(store, FixedClock(T0), [PROGRAM], SequentialIds())
    members = max(2, size // 20)
    for i in range(members):
        svc.enroll(f"m{i}", "group", idempotency_key=f"enroll-{i}")
        svc.adjust(f"m{i}", "group", 200, company="acme", reason="fund", idempotency_key=f"f{i}")
    rng = random.Random(7)
    return [(f"s{n}", f"m{rng.randrange(members)}", rng.randint(1, 40)) for n in range(size)]


def _spend_run(store: Store, commands: list[Any]) -> list[Any]:
    svc = LoyaltyService(
        store, SteppingClock(T0, timedelta(microseconds=1)), [PROGRAM], SequentialIds()
    )
    out = []
    for key, member, points in commands:
        try:
            receipt = svc.spend(
                member,
                "group",
                points,
                company="acme",
                channel=Channel.EC,
                order_id=key,
                idempotency_key=key,
            )
        except RuleViolationError:
            out.append((key, "refused"))
            continue
        out.append((key, "replayed" if receipt.replayed else "applied"))
    return out


def _spend_check(store: Store, commands: list[Any], results: list[Any]) -> str:
    applied = _applied_once(results)
    svc = LoyaltyService(store, FixedClock(T0 + timedelta(days=1)), [PROGRAM], SequentialIds())
    points = {key: (member, p) for key, member, p in commands}
    members = sorted({member for _, member, _ in commands})
    spent = dict.fromkeys(members, 0)
    for key in applied:
        member, p = points[key]
        spent[member] += p
    for member in members:
        balance = svc.balance(member, "group").available
        entries = svc.statement(member, "group")
        ledger = sum(e.amount for e in entries if e.kind == EntryKind.SPEND)
        if balance < 0 or balance != 200 - spent[member] or ledger != spent[member]:
            raise SystemExit(f"OVERDRAFT or lost spend: {member} balance {balance} {spent}")
    return f"{len(applied)} spends applied once, 0 overdrafts"


def _hold_prepare(store: Store, size: int) -> list[Any]:
    svc = InventoryService(store, FixedClock(T0))
    locations, routes = tokyo_network()
    for location in locations:
        svc.save_location(location, idempotency_key=f"seed-{location.id}")
    for route in routes:
        svc.route_channel(route, idempotency_key=f"seed-{route.channel}")
    for item in tokyo_items():
        svc.define_item(item, idempotency_key=f"seed-{item.sku}")
    svc.receive("shirt", "st-shibuya", size // 2, idempotency_key="seed-stock")
    return [f"h{n}" for n in range(size)]


def _hold_run(store: Store, commands: list[Any]) -> list[Any]:
    svc = InventoryService(store, FixedClock(T0))
    out = []
    for key in commands:
        try:
            result = svc.hold(
                [HoldLine("shirt", "st-shibuya", 1)],
                kind=HoldKind.CART,
                channel=Channel.APP,
                idempotency_key=key,
            )
        except RuleViolationError:
            out.append((key, "refused"))
            continue
        out.append((key, "replayed" if result.replayed else "applied"))
    return out


def _hold_check(store: Store, commands: list[Any], results: list[Any]) -> str:
    won = _applied_once(results)
    level = InventoryService(store, FixedClock(T0)).level("shirt", "st-shibuya")
    units = len(commands) // 2
    if level.held != len(won) or len(won) != units or level.available() < 0:
        raise SystemExit(f"OVERSELL or lost hold: held {level.held}, won {len(won)} of {units}")
    return f"{len(won)} holds of {units} units, 0 oversells"


_JOURNEY = Journey(
    id="welcome",
    triggers=(Trigger(event_type="signed_up"),),
    start="hello",
    steps=(Action(id="hello", content="welcome", channels=("email",)),),
)


def _engine(store: Store, customers: int) -> Engine:
    directory = StaticDirectory(
        [
            CustomerContext(customer_id=f"c{i}", time_zone="Asia/Tokyo", consents={"email"})
            for i in range(customers)
        ]
    )
    return Engine(store, [_JOURNEY], directory=directory)


def _event_prepare(store: Store, size: int) -> list[Any]:
    return [(f"e{n}", f"c{n}") for n in range(size)]


def _event_run(store: Store, commands: list[Any]) -> list[Any]:
    engine = _engine(store, max(int(c[1:]) for _, c in commands) + 1)
    out = []
    for event_id, customer in commands:
        event = CustomerEvent(
            event_id=event_id, event_type="signed_up", customer_id=customer, occurred_at=T0
        )
        actions = engine.handle(event)
        out.append((event_id, "applied" if actions else "replayed"))
    return out


def _event_check(store: Store, commands: list[Any], results: list[Any]) -> str:
    applied = _applied_once(results)
    actions = _engine(store, len(commands)).history().actions
    if len(actions) != len(commands) or len({a.action_id for a in actions}) != len(actions):
        raise SystemExit(f"DUPLICATE or lost action: {len(actions)} for {len(commands)} events")
    if len(applied) != len(commands):
        raise SystemExit(f"{len(applied)} events handled for {len(commands)}")
    return f"{len(actions)} actions for {len(commands)} events, 0 duplicates"


def _applied_once(results: list[Any]) -> set[str]:
    applied: list[str] = [key for key, outcome in results if outcome == "applied"]
    if len(applied) != len(set(applied)):
        raise SystemExit("a command was applied twice")
    return set(applied)


WORKLOADS: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., str]]] = {
    "spend": (_spend_prepare, _spend_run, _spend_check),
    "hold": (_hold_prepare, _hold_run, _hold_check),
    "event": (_event_prepare, _event_run, _event_check),
}


# --- running one workload on one backend with several processes ---


def _worker(name: str, spec: Spec, commands: list[Any], barrier: Any, out: Any) -> None:
    store = _open(spec)
    try:
        barrier.wait(timeout=120)
        start = time.perf_counter()
        results = WORKLOADS[name][1](store, commands)
        out.put((start, time.perf_counter(), results))
    except BaseException as exc:
        out.put((0.0, 0.0, [("error", repr(exc))]))
    finally:
        store.close()


def _run_once(name: str, spec: Spec, size: int, processes: int) -> tuple[float, str]:
    prepare, _, check = WORKLOADS[name]
    store = _open(spec)
    try:
        commands = prepare(store, size)
        # every command goes to two processes: p's share and its neighbour's
        shares = [
            [c for i, c in enumerate(commands) if i % processes in (p, (p + 1) % processes)]
            for p in range(processes)
        ]
        ctx = multiprocessing.get_context("fork")
        barrier, out = ctx.Barrier(processes), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(name, spec, share, barrier, out)) for share in shares
        ]
        for proc in procs:
            proc.start()
        done = [out.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        results = [r for _, _, rs in done for r in rs]
        errors = [r for r in results if r[0] == "error"]
        if errors:
            raise SystemExit(f"{name} on {spec[0]} failed: {errors[0][1]}")
        elapsed = max(end for _, end, _ in done) - min(start for start, _, _ in done)
        return len(results) / elapsed, check(store, commands, results)
    finally:
        store.close()


def _postgres_url(given: str | None) -> str | None:
    url = given or os.environ.get("OMNICRM_POSTGRES_URL")
    if not url:
        print("skipped: no PostgreSQL (set OMNICRM_POSTGRES_URL or pass --url)")
        return None
    try:
        import psycopg
    except ImportError:
        print("skipped: psycopg is not installed (pip install 'omnicrm[postgres]')")
        return None
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"skipped: PostgreSQL at {url} is unreachable: {str(exc).strip()}")
        return None
    return url


def _drop(url: str, schemas: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--url", help="PostgreSQL URL (default: $OMNICRM_POSTGRES_URL)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--size", type=int, default=400, help="commands per workload")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--relaxed",
        action="store_true",
        help="PostgresStore(synchronous_commit=False): SQLite WAL's durability",
    )
    args = parser.parse_args()
    global SYNCHRONOUS_COMMIT
    SYNCHRONOUS_COMMIT = not args.relaxed
    size, repeat, processes = args.size, args.repeat, args.processes
    if args.quick:
        size, repeat, processes = 40, 1, 2
    url = _postgres_url(args.url)
    if url is None:
        return 0
    print(
        f"{processes} processes, each command delivered twice; median of {repeat} runs; "
        f"postgres synchronous_commit {'off' if args.relaxed else 'on'}"
    )
    print(f"{'workload':<8} {'size':>5} {'postgres cmd/s':>15} {'sqlite cmd/s':>13} {'ratio':>6}")
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in WORKLOADS:
                rates: dict[str, list[float]] = {"postgres": [], "sqlite": []}
                verdict = ""
                for n in range(repeat):
                    schemas.append(f"bench_{uuid.uuid4().hex[:12]}")
                    specs: dict[str, Spec] = {
                        "postgres": ("postgres", url, schemas[-1]),
                        "sqlite": ("sqlite", str(Path(tmp) / f"{name}{n}.db"), None),
                    }
                    for backend, spec in specs.items():
                        rate, verdict = _run_once(name, spec, size, processes)
                        rates[backend].append(rate)
                pg, lite = statistics.median(rates["postgres"]), statistics.median(rates["sqlite"])
                print(f"{name:<8} {size:>5} {pg:>15.0f} {lite:>13.0f} {pg / lite:>6.2f}  {verdict}")
    finally:
        _drop(url, schemas)
    return 0


if __name__ == "__main__":
    sys.exit(main())
