"""Benchmark omnicrm.analytics against pandas, lifetimes and mlxtend, measured in the same run.

    PYTHONPATH=src python benchmarks/bench_analytics.py               # 10M transactions
    PYTHONPATH=src python benchmarks/bench_analytics.py --quick       # seconds, smoke test

Each row: name, data size, omnicrm median seconds, baseline median seconds, ratio
(baseline / omnicrm); the two are run alternately so both see the same machine load.
Baselines are imported lazily and skipped (with a note) if missing.
Peak memory is measured in a forked child as the growth of its resident set (VmHWM - VmRSS
at the start), so the data shared with the parent is not counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from omnicrm.analytics import (
    CoPurchase,
    lifetimes_summary,
    rfm_scores,
    rfm_segments,
    rfm_summary,
)

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
ROWS: list[tuple[str, str, float, float | None, str]] = []


def paired(
    ours_fn: Callable[[], Any],
    base_fn: Callable[[], Any] | None,
    repeats: int,
    base_repeats: int,
) -> tuple[float, Any, float | None, Any]:
    """Median times of ours and the baseline, run alternately so both see the same load."""
    ours_times, base_times, ours, base = [], [], None, None
    for i in range(repeats):
        start = time.perf_counter()
        ours = ours_fn()
        ours_times.append(time.perf_counter() - start)
        if base_fn is not None and i < base_repeats:
            start = time.perf_counter()
            base = base_fn()
            base_times.append(time.perf_counter() - start)
    base_median = statistics.median(base_times) if base_times else None
    return statistics.median(ours_times), ours, base_median, base


def peak_mb(fn: Callable[[], Any]) -> float:
    """Peak resident-set growth (MB) while running ``fn`` in a forked child (Linux only)."""

    def status(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
        return 0

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read)
        start = status("VmRSS:")
        fn()
        os.write(write, str(status("VmHWM:") - start).encode())
        os._exit(0)
    os.close(write)
    data = os.read(read, 64)
    os.waitpid(pid, 0)
    return int(data or b"0") / 1024


def row(name: str, size: str, ours: float, base: float | None, note: str = "") -> None:
    ROWS.append((name, size, ours, base, note))
    ratio = f"{base / ours:8.1f}x" if base else "     n/a"
    base_text = f"{base:10.3f}" if base is not None else "   skipped"
    print(f"{name:<34} {size:<28} {ours:10.3f} {base_text} {ratio}  {note}", flush=True)


def optional(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except Exception as exc:
        print(f"# baseline {module} unavailable ({exc!r}); its comparison is skipped")
        return None


def make_transactions(n: int, customers: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Skewed activity: some customers buy much more often than others.
    ids = (rng.pareto(1.5, n) * customers / 8).astype(np.int64) % customers
    start = np.datetime64("2022-01-01T00:00:00", "us").astype(np.int64)
    span = 3 * 365 * 86_400 * 1_000_000
    stamps = (start + rng.integers(0, span, n)).view("datetime64[us]")
    amounts = rng.integers(100, 50_000, n, dtype=np.int64)
    return {"ids": ids, "stamps": stamps, "amounts": amounts}


def bench_rfm(tx: dict[str, np.ndarray], pd: Any, repeats: int, size: str) -> Any:
    def ours_fn() -> Any:
        return rfm_summary(tx["ids"], tx["stamps"], tx["amounts"], as_of=AS_OF, tz="Asia/Tokyo")

    pandas_rfm = None
    if pd is not None:
        frame = pd.DataFrame({"customer": tx["ids"], "ts": tx["stamps"], "amount": tx["amounts"]})
        as_of = pd.Timestamp(AS_OF).tz_localize(None)

        def pandas_rfm() -> Any:
            g = frame.groupby("customer").agg(
                last=("ts", "max"), frequency=("ts", "size"), monetary=("amount", "sum")
            )
            g["recency"] = (as_of - g["last"]).dt.days
            return g

    ours, summary, base, frame_result = paired(ours_fn, pandas_rfm, repeats, repeats)
    if frame_result is not None:
        assert np.array_equal(frame_result["frequency"].to_numpy(), summary.frequency)
        assert np.array_equal(frame_result["monetary"].to_numpy(), summary.monetary_total)
    row("rfm_summary vs pandas groupby", size, ours, base, "(pandas: UTC days; ours: Asia/Tokyo)")
    return summary


def bench_lifetimes(tx: dict[str, np.ndarray], pd: Any, lt: Any, repeats: int, size: str) -> None:
    def ours_fn() -> Any:
        return lifetimes_summary(tx["ids"], tx["stamps"], tx["amounts"], as_of=AS_OF, tz="UTC")

    if lt is None or pd is None:
        row("lifetimes_summary vs lifetimes", size, paired(ours_fn, None, repeats, 0)[0], None)
        return
    frame = pd.DataFrame({"customer": tx["ids"], "ts": tx["stamps"], "amount": tx["amounts"]})
    end = pd.Timestamp(AS_OF).tz_localize(None)

    def base_fn() -> Any:
        return lt.utils.summary_data_from_transaction_data(
            frame, "customer", "ts", monetary_value_col="amount", observation_period_end=end
        )

    ours, got, base, expected = paired(ours_fn, base_fn, repeats, max(1, repeats // 2))
    same = compare_lifetimes(got, expected, 1)
    row("lifetimes_summary vs lifetimes", size, ours, base, f"identical={same}")
    ours_mb, base_mb = peak_mb(ours_fn), peak_mb(base_fn)
    print(
        f"{'  peak memory (MB)':<34} {size:<28} {ours_mb:10.0f} {base_mb:10.0f} "
        f"{base_mb / max(ours_mb, 1e-9):8.1f}x  (ours / lifetimes = {ours_mb / base_mb:.2f})"
    )


def compare_lifetimes(got: Any, expected: Any, scale: float) -> bool:
    expected = expected.sort_index()
    ids = np.asarray(expected.index)
    return (
        np.array_equal(got.customer_ids.astype(ids.dtype), ids)
        and np.array_equal(got.frequency, expected["frequency"].to_numpy())
        and np.array_equal(got.recency, expected["recency"].to_numpy())
        and np.array_equal(got.T, expected["T"].to_numpy())
        and np.allclose(got.monetary_value / scale, expected["monetary_value"], rtol=1e-12)
    )


def bench_cdnow(pd: Any, lt: Any) -> None:
    if pd is None or lt is None:
        return
    path = Path(lt.__file__).parent / "datasets" / "CDNOW_master.txt"
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=0,
        names=["customer", "date", "cds", "dollars"],
        dtype={"customer": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    cents = np.round(raw["dollars"].to_numpy() * 100).astype(np.int64)
    end = datetime(1998, 6, 30, tzinfo=UTC)
    stamps = raw["date"].to_numpy().astype("datetime64[us]")
    raw["cents"] = cents
    ids = raw["customer"].to_numpy()
    ours, got, base, expected = paired(
        lambda: lifetimes_summary(ids, stamps, cents, as_of=end, tz="UTC"),
        lambda: lt.utils.summary_data_from_transaction_data(
            raw,
            "customer",
            "date",
            monetary_value_col="cents",
            observation_period_end=pd.Timestamp("1998-06-30"),
        ),
        5,
        5,
    )
    same = compare_lifetimes(got, expected, 1)
    row("lifetimes_summary on CDNOW", f"{len(raw):,} rows", ours, base, f"identical={same}")


def bench_scores(summary: Any, pd: Any, repeats: int) -> None:
    size = f"{len(summary):,} customers"
    pandas_recipe = None
    if pd is not None:
        frame = pd.DataFrame(
            {
                "recency": summary.recency_days,
                "frequency": summary.frequency,
                "monetary": summary.monetary_total,
            }
        )
        seg_map = {
            r"[1-2][1-2]": "hibernating",
            r"[1-2][3-4]": "at risk",
            r"[1-2]5": "can't lose",
            r"3[1-2]": "about to sleep",
            r"33": "need attention",
            r"[3-4][4-5]": "loyal",
            r"41": "promising",
            r"51": "new",
            r"[4-5][2-3]": "potential loyalists",
            r"5[4-5]": "champions",
        }

        def pandas_recipe() -> Any:
            out = frame.copy()
            out["R"] = pd.qcut(out["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
            out["F"] = pd.qcut(out["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
            out["M"] = pd.qcut(out["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
            out["segment"] = (out["R"].astype(str) + out["F"].astype(str)).replace(
                seg_map, regex=True
            )
            return out

    ours, _, base, _ = paired(
        lambda: rfm_segments(rfm_scores(summary)), pandas_recipe, repeats, repeats
    )
    row("rfm_scores+rfm_segments vs pandas", size, ours, base, "(qcut + regex grid)")


def make_baskets(n_baskets: int, n_items: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(3.0, n_baskets) + 1
    orders = np.repeat(np.arange(n_baskets), sizes)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, orders.size, p=popularity / popularity.sum())
    return orders, items


def bench_copurchase(n_baskets: int, n_items: int, pd: Any, mlx: Any, repeats: int) -> None:
    orders, items = make_baskets(n_baskets, n_items)
    min_support = 0.001
    size = f"{n_baskets:,} baskets x {n_items:,} items"

    def ours_fn() -> Any:
        return CoPurchase.fit(orders, items).rules(min_support=min_support)

    if pd is None or mlx is None:
        row("CoPurchase vs mlxtend", size, paired(ours_fn, None, repeats, 0)[0], None)
        return
    from mlxtend.frequent_patterns import apriori, association_rules

    onehot = np.zeros((n_baskets, n_items), dtype=bool)
    onehot[orders, items] = True
    onehot = onehot[:, onehot.any(axis=0)]
    present = np.unique(items)
    frame = pd.DataFrame(onehot, columns=present)

    def base_fn() -> Any:
        itemsets = apriori(
            frame, min_support=min_support, use_colnames=True, max_len=2, low_memory=True
        )
        return association_rules(
            itemsets, num_itemsets=n_baskets, metric="confidence", min_threshold=0.0
        )

    ours, rules, base, expected = paired(ours_fn, base_fn, repeats, max(1, repeats // 2))
    theirs = {
        (next(iter(a)), next(iter(c))): (s, conf, lift)
        for a, c, s, conf, lift in zip(
            expected["antecedents"],
            expected["consequents"],
            expected["support"],
            expected["confidence"],
            expected["lift"],
            strict=True,
        )
    }
    mine = {
        (a, c): (s, conf, lift)
        for a, c, s, conf, lift in zip(
            rules.antecedents.tolist(),
            rules.consequents.tolist(),
            rules.support,
            rules.confidence,
            rules.lift,
            strict=True,
        )
    }
    same = theirs.keys() == mine.keys() and all(
        np.allclose(theirs[key], mine[key], rtol=1e-9) for key in mine
    )
    row(
        "CoPurchase fit+rules vs mlxtend",
        size,
        ours,
        base,
        f"rules={len(mine)} same_rules={same} (apriori low_memory, max_len=2)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 20_000 if args.quick else args.transactions
    customers = max(n // 10, 10)
    baskets, items = (2_000, 100) if args.quick else (100_000, 1_000)
    repeats = 1 if args.quick else args.repeats

    pd = optional("pandas")
    lt = optional("lifetimes.utils") and optional("lifetimes")
    mlx = optional("mlxtend")
    print(f"# python {sys.version.split()[0]}, numpy {np.__version__}, nproc {os.cpu_count()}")
    print(f"{'measurement':<34} {'size':<28} {'omnicrm s':>10} {'baseline s':>10} {'ratio':>9}")
    tx = make_transactions(n, customers)
    size = f"{n:,} tx, {customers:,} cust"
    summary = bench_rfm(tx, pd, repeats, size)
    bench_scores(summary, pd, repeats)
    bench_lifetimes(tx, pd, lt, repeats, size)
    if not args.quick:
        bench_cdnow(pd, lt)
    bench_copurchase(baskets, items, pd, mlx, repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
