"""Shared helpers for the benchmark scripts: timing medians and the result table."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

__all__ = ["Row", "machine", "median_seconds", "print_rows"]

Row = tuple[str, str, float, float | None]
"""(measurement, data size, omnicrm seconds, baseline seconds or None)."""


def median_seconds(run: Callable[[], object], repeats: int = 5) -> float:
    """Return the median wall time of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    """One line describing this machine and Python."""
    import os

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_rows(title: str, rows: list[Row], baseline: str) -> None:
    """Print the results as a Markdown table (paste-ready for docs/benchmarks.md)."""
    print(f"\n### {title}\n\nmachine: {machine()}; baseline: {baseline}\n")
    print("| measurement | data size | omnicrm | baseline | ratio (baseline/omnicrm) |")
    print("| --- | --- | --- | --- | --- |")
    for name, size, ours, base in rows:
        ratio = "n/a" if base is None else f"{base / ours:.2f}"
        base_text = "n/a" if base is None else f"{base * 1e3:.2f} ms"
        print(f"| {name} | {size} | {ours * 1e3:.2f} ms | {base_text} | {ratio} |")
