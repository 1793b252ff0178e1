"""Naive per-customer Python references the vectorised code is checked against."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import strategies as st

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1).toordinal()


def local_day(us: int, zone: str) -> int:
    moment = (EPOCH + timedelta(microseconds=us)).astimezone(ZoneInfo(zone))
    return moment.date().toordinal() - EPOCH_DAY


def rfm(ids, instants, amounts, as_of_us, zone, returns="net"):
    rows = defaultdict(list)
    for cid, t, a in zip(ids, instants, amounts, strict=True):
        if a < 0 and returns == "exclude":
            continue
        rows[cid].append((int(t), int(a)))
    out = {}
    for cid, items in rows.items():
        buys = [t for t, a in items if a >= 0]
        if not buys:
            continue
        total = sum(a for _, a in items)
        out[cid] = {
            "recency": local_day(as_of_us, zone) - local_day(max(buys), zone),
            "frequency": len(buys),
            "total": total,
            "first": min(buys),
            "last": max(buys),
        }
    return out


def lifetimes(ids, instants, amounts, as_of_us, zone, include_first=False):
    end = local_day(as_of_us, zone)
    per_day = defaultdict(lambda: defaultdict(int))
    for cid, t, a in zip(ids, instants, amounts, strict=True):
        day = local_day(int(t), zone)
        if day <= end:
            per_day[cid][day] += int(a)
    out = {}
    for cid, days in per_day.items():
        ordered = sorted(days)
        counted = ordered if include_first else ordered[1:]
        out[cid] = {
            "frequency": len(counted),
            "recency": ordered[-1] - ordered[0],
            "T": end - ordered[0],
            "monetary": sum(days[d] for d in counted) / len(counted) if counted else 0.0,
        }
    return out


def pair_counts(orders, items):
    baskets = defaultdict(set)
    for o, i in zip(orders, items, strict=True):
        baskets[o].add(i)
    single = defaultdict(int)
    pairs = defaultdict(int)
    for basket in baskets.values():
        for a in basket:
            single[a] += 1
            for b in basket:
                if a != b:
                    pairs[(a, b)] += 1
    return len(baskets), single, pairs


# Instants around DST changes: New York (spring 2024-03-10), Berlin (autumn 2024-10-27),
# Lord Howe (half-hour DST, 2024-04-07), Tokyo (no DST) and UTC.
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"]
PIVOTS = [
    datetime(2024, 3, 10, 7, tzinfo=UTC),
    datetime(2024, 10, 27, 1, tzinfo=UTC),
    datetime(2024, 4, 6, 15, tzinfo=UTC),
]
US = 1_000_000


@st.composite
def transactions(draw, *, max_rows=40, str_ids=False, returns=True):
    pivot = draw(st.sampled_from(PIVOTS))
    base = (pivot - EPOCH).days * 86_400 * US + (pivot - EPOCH).seconds * US
    n = draw(st.integers(0, max_rows))
    n_customers = draw(st.integers(1, 8))
    ids = draw(st.lists(st.integers(0, n_customers), min_size=n, max_size=n))
    # Seconds within three days of the pivot, with many same-day repeats.
    offsets = draw(st.lists(st.integers(-3 * 86_400, 3 * 86_400), min_size=n, max_size=n))
    low = -500 if returns else 0
    amounts = draw(st.lists(st.integers(low, 10**12), min_size=n, max_size=n))
    instants = np.array([base + o * US for o in offsets], dtype=np.int64)
    id_array = np.array([f"c{i}" for i in ids]) if str_ids else np.array(ids, dtype=np.int64)
    if not n:
        id_array = np.zeros(0, dtype=np.int64)
    zone = draw(st.sampled_from(ZONES))
    as_of_us = base + 3 * 86_400 * US + draw(st.integers(0, 5 * 86_400)) * US
    return id_array, instants, np.array(amounts, dtype=np.int64), as_of_us, zone
