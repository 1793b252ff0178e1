"""Inventory benchmarks: product-page availability, listing pages, sourcing, sqlite holds.

Each row: name, data size, omnicrm median, baseline median (measured in the same run),
and the ratio baseline / omnicrm (above 1 means omnicrm is faster).

    PYTHONPATH=src python benchmarks/bench_inventory.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

from omnicrm.channel import Channel
from omnicrm.inventory import (
    ChannelLocation,
    ChannelRoute,
    GeoPoint,
    HoldKind,
    HoldLine,
    InventoryService,
    Item,
    Location,
    LocationCapability,
    LocationKind,
    OpeningHours,
    OrderLine,
    SourcingRequest,
)
from omnicrm.money import Money
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing import FixedClock

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
SHOPPER = GeoPoint(35.6595, 139.7005)
CAPS = (
    LocationCapability.PICK_UP,
    LocationCapability.TRY_ON,
    LocationCapability.SHIP_FROM_STORE,
    LocationCapability.RECEIVE_TRANSFERS,
)


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches the way a running server would have them
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def build(store: object, n_stores: int, n_skus: int, seed: int = 7) -> InventoryService:
    rng = random.Random(seed)
    service = InventoryService(store, FixedClock(T0))  # type: ignore[arg-type]
    hours = OpeningHours.every_day(clock_time(10), clock_time(20))
    locations = [
        Location(
            id="wh-0",
            name="DC",
            kind=LocationKind.WAREHOUSE,
            position=GeoPoint(35.6, 140.1),
            time_zone="Asia/Tokyo",
            region="kanto",
            capabilities={LocationCapability.SHIP_TO_HOME},
        )
    ]
    for i in range(n_stores):
        locations.append(
            Location(
                id=f"st-{i:04d}",
                name=f"Store {i}",
                kind=LocationKind.STORE,
                position=GeoPoint(rng.uniform(31, 43), rng.uniform(130, 145)),
                time_zone="Asia/Tokyo",
                region=rng.choice(["kanto", "kansai", "kyushu", "tohoku"]),
                hours=hours,
                capabilities=CAPS,
            )
        )
    for loc in locations:
        service.save_location(loc, idempotency_key=f"l-{loc.id}")
    entries = [ChannelLocation(loc.id, 0 if loc.id == "wh-0" else 1) for loc in locations]
    service.route_channel(ChannelRoute(Channel.EC, entries), idempotency_key="route")
    for s in range(n_skus):
        service.define_item(Item(sku=f"sku-{s:03d}"), idempotency_key=f"i{s}")
    with store.unit_of_work() as uow:  # type: ignore[attr-defined]
        # bulk load through the repositories (one unit of work), as an import would
        from omnicrm.inventory import Movement, MovementReason

        n = 0
        for s in range(n_skus):
            for loc in locations:
                qty = rng.randint(0, 4)
                if qty:
                    n += 1
                    uow.stock.apply(
                        Movement(
                            id=f"m{n}",
                            sku=f"sku-{s:03d}",
                            location_id=loc.id,
                            reason=MovementReason.RECEIVE,
                            on_hand=qty,
                            idempotency_key="load",
                            occurred_at=T0,
                        )
                    )
        uow.commit()
    return service


def naive_availability(store: MemoryStore, sku: str) -> list[tuple[float, str, int]]:
    """The obvious loop: every location of the route, its level, haversine, sort."""
    rows = []
    with store.unit_of_work() as uow:
        route = uow.channel_routes.get(Channel.EC)
        for entry in route.locations:
            loc = uow.locations.get(entry.location_id)
            level = uow.stock.get(sku, loc.id)
            qty = level.available(entry.buffer)
            if qty <= 0:
                continue
            lat1, lat2 = math.radians(SHOPPER.latitude), math.radians(loc.position.latitude)
            dlon = math.radians(loc.position.longitude - SHOPPER.longitude)
            h = (
                math.sin((lat2 - lat1) / 2) ** 2
                + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
            )
            distance = 2 * 6371.0088 * math.asin(math.sqrt(h))
            loc.pickup_ready_today(T0)
            rows.append((distance, loc.id, qty))
    rows.sort()
    return rows


def naive_source(store: MemoryStore, lines: list[OrderLine]) -> list[str]:
    """Nearest location having every line, else greedy nearest-first per line."""
    destination = GeoPoint(35.68, 139.76)
    with store.unit_of_work() as uow:
        route = uow.channel_routes.get(Channel.EC)
        cands = []
        for entry in route.locations:
            loc = uow.locations.get(entry.location_id)
            stock = {ln.sku: uow.stock.get(ln.sku, loc.id).available(entry.buffer) for ln in lines}
            lat1, lat2 = math.radians(destination.latitude), math.radians(loc.position.latitude)
            dlon = math.radians(loc.position.longitude - destination.longitude)
            h = (
                math.sin((lat2 - lat1) / 2) ** 2
                + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
            )
            cands.append((2 * 6371.0088 * math.asin(math.sqrt(h)), loc.id, stock))
    cands.sort()
    for _, loc_id, stock in cands:
        if all(stock[ln.sku] >= ln.quantity for ln in lines):
            return [loc_id]
    return [next((c[1] for c in cands if c[2][ln.sku] >= ln.quantity), "none") for ln in lines]


def _raw_setup(path: Path, n: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE lv (sku TEXT, loc TEXT, on_hand INT, held INT, PRIMARY KEY (sku, loc))"
    )
    conn.execute("CREATE TABLE h (id TEXT PRIMARY KEY, sku TEXT, loc TEXT, q INT)")
    conn.execute("INSERT INTO lv VALUES ('s', 'l', ?, 0)", (n * 2,))
    conn.close()


_RAW_HOLD = "UPDATE lv SET held = held + 1 WHERE sku = 's' AND loc = 'l' AND on_hand - held >= 1"


def naive_sqlite_holds(path: Path, n: int, threads: int = 1) -> float:
    """Raw sqlite3: BEGIN IMMEDIATE / conditional UPDATE / INSERT / COMMIT per hold."""
    _raw_setup(path, n)

    def work(t: int) -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA synchronous=NORMAL")
        for i in range(n // threads):
            conn.execute("BEGIN IMMEDIATE")
            assert conn.execute(_RAW_HOLD).rowcount == 1
            conn.execute("INSERT INTO h VALUES (?, 's', 'l', 1)", (f"h{t}-{i}",))
            conn.execute("COMMIT")
        conn.close()

    return _timed_threads(work, threads, n)


def _timed_threads(work: Callable[[int], None], threads: int, n: int) -> float:
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return (n // threads * threads) / (time.perf_counter() - start)


def omnicrm_sqlite_holds(path: Path, n: int, threads: int = 1) -> float:
    """Committed one-unit cart holds per second through ``InventoryService.hold``."""
    store = SQLiteStore(path)
    build(store, 10, 1).receive("sku-000", "st-0001", n * 2, idempotency_key="bulk")
    line = [HoldLine("sku-000", "st-0001", 1)]

    def work(t: int) -> None:
        service = InventoryService(store, FixedClock(T0))
        for i in range(n // threads):
            service.hold(line, kind=HoldKind.CART, channel=Channel.EC, idempotency_key=f"h{t}-{i}")

    rate = _timed_threads(work, threads, n)
    store.close()
    return rate


def row(name: str, size: str, ours: float, base: float, unit: str = "ms") -> None:
    scale = 1000.0 if unit == "ms" else 1.0
    ratio = base / ours if unit == "ms" else ours / base
    figures = f"{ours * scale:>10.3f} {base * scale:>10.3f} {unit:<7} {ratio:>6.2f}x"
    print(f"{name:<40} {size:<26} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    stores, skus, repeat, holds = (200, 20, 5, 300) if args.quick else (1000, 100, 25, 3000)
    print(f"{'measurement':<40} {'data size':<26} {'omnicrm':>10} {'baseline':>10} unit    ratio")

    memory = MemoryStore()
    service = build(memory, stores, skus)
    size = f"1 SKU x {stores} stores"
    for limit in (20, None):
        ours = median_seconds(
            lambda lim=limit: service.availability(
                "sku-000", channel=Channel.EC, near=SHOPPER, limit=lim
            ),
            repeat,
        )
        base = median_seconds(lambda: naive_availability(memory, "sku-000"), max(3, repeat // 5))
        row(f"availability, nearest first, limit={limit}", size, ours, base)

    names = [f"sku-{s:03d}" for s in range(skus)]
    size = f"{skus} SKUs x {stores} stores"
    for limit in (5, None):
        ours = median_seconds(
            lambda lim=limit: service.availability_many(
                names, channel=Channel.EC, near=SHOPPER, limit=lim
            ),
            max(3, repeat // 2),
        )
        base = median_seconds(
            lambda: [naive_availability(memory, s) for s in names], 1 if not args.quick else 3
        )
        row(f"listing page, limit={limit}", size, ours, base)

    src_memory = MemoryStore()
    src = build(src_memory, 199, 20, seed=11)
    price = Money(3000, "JPY")
    order = [OrderLine(f"sku-{s:03d}", 1, price) for s in (1, 3, 5, 7, 9)]
    request = SourcingRequest(
        lines=order, channel=Channel.EC, destination=GeoPoint(35.68, 139.76), region="kanto"
    )
    ours = median_seconds(lambda: src.source(request), repeat)
    base = median_seconds(lambda: naive_source(src_memory, order), repeat)
    row("sourcing a 5-line order", "5 lines x 200 locations", ours, base)

    rounds = 1 if args.quick else 3  # disk flushes make single rounds noisy: take medians
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 4):
            ours_rates, base_rates = [], []
            for r in range(rounds):  # alternate, so both see the same disk and load
                ours_rates.append(
                    omnicrm_sqlite_holds(Path(tmp) / f"o{threads}-{r}.db", holds, threads)
                )
                base_rates.append(
                    naive_sqlite_holds(Path(tmp) / f"b{threads}-{r}.db", holds, threads)
                )
            name = f"committed holds, sqlite, {threads} thread{'s' if threads > 1 else ''}"
            size = f"{holds} holds x {rounds} rounds"
            ours_rate, base_rate = statistics.median(ours_rates), statistics.median(base_rates)
            row(name, size, ours_rate, base_rate, "holds/s")


if __name__ == "__main__":
    main()
