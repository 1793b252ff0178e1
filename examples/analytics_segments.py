"""RFM segments, a targeted sale notice, "also bought" and the lifetimes summary, on generated data.

Run: ``python examples/analytics_segments.py`` (a few seconds, no arguments).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from omnicrm.analytics import (
    CoPurchase,
    RFMPartial,
    consented,
    exclude,
    in_segment,
    lifetimes_summary,
    min_scores,
    not_contacted_since,
    reachable,
    rfm_scores,
    rfm_segments,
    rfm_summary,
    select,
)

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = datetime(2025, 4, 1, 9, 0, tzinfo=TOKYO)


def generate(n: int = 200_000, customers: int = 20_000, items: int = 300, seed: int = 7):
    """A year of orders from store, EC and app: order, customer, item, instant, amount (yen)."""
    rng = np.random.default_rng(seed)
    customer = (rng.pareto(1.3, n) * customers / 6).astype(np.int64) % customers
    start = np.datetime64("2024-04-01T00:00", "us")
    stamps = start + rng.integers(0, 365 * 86_400, n) * np.timedelta64(1, "s")
    order = np.arange(n) // 3  # about three lines per order
    item = rng.choice(items, n, p=(w := 1 / np.arange(1, items + 1)) / w.sum())
    amount = rng.integers(5, 300, n) * 100
    amount[rng.random(n) < 0.02] *= -1  # 2 % of lines are returns
    return order, customer, item, stamps, amount


def main() -> None:
    order, customer, item, stamps, amount = generate()

    # 1. RFM summary, in Tokyo calendar days, returns netted; and the same over 4 chunks.
    summary = rfm_summary(customer, stamps, amount, as_of=AS_OF, tz="Asia/Tokyo")
    chunks = np.array_split(np.arange(customer.size), 4)
    partials = [RFMPartial.from_transactions(customer[c], stamps[c], amount[c]) for c in chunks]
    merged = partials[0].merge(*partials[1:]).summary(as_of=AS_OF, tz="Asia/Tokyo")
    assert np.array_equal(merged.monetary_total, summary.monetary_total)
    print(f"{len(summary):,} customers summarised from {customer.size:,} lines (4 chunks agree)")

    # 2. Scores and segments.
    scores = rfm_scores(summary)
    segments = rfm_segments(scores)
    print("\nsegment sizes:")
    for name, count in segments.counts().items():
        print(f"  {name:<20} {count:>6,}")

    # 3. A spring sale notice by e-mail to champions and loyal customers who spend well,
    #    consented and reachable, not staff, not e-mailed in the last 7 days.
    ids = summary.customer_ids
    email_consent = ids[ids % 4 != 0]  # the host's consent table
    email_address = ids[ids % 10 != 0]  # customers with a verified address
    contacted = ids[::7]
    contact_time = np.full(contacted.size, np.datetime64("2025-03-28T01:00", "us"))
    campaign = select(
        ids,
        in_segment(segments, "champions", "loyal"),
        min_scores(scores, monetary=3),
        consented("email", email_consent),
        reachable("email", email_address),
        exclude("staff", [1, 2, 3]),
        not_contacted_since(datetime(2025, 3, 25, tzinfo=TOKYO), contacted, contact_time),
    )
    print("\nspring sale notice:")
    for step, left in campaign.counts:
        print(f"  {step:<45} {left:>6,}")
    print(f"  -> send to {len(campaign):,} customers, e.g. {campaign.customer_ids[:5].tolist()}")

    # 4. "Customers who bought item 0 also bought", and recommendations for one customer
    #    from their purchases in every channel.
    model = CoPurchase.fit(order, item)
    also = model.also_bought(0, k=5)
    print("\nalso bought with item 0:")
    for other, confidence in zip(also.items.tolist(), also.scores.tolist(), strict=True):
        print(f"  item {other:<4} confidence {confidence:.3f}")
    someone = int(campaign.customer_ids[0]) if len(campaign) else int(ids[0])
    history = item[customer == someone]
    picks = model.recommend(history, k=5)
    print(f"\nrecommended for customer {someone} (owns {np.unique(history).size} items):")
    print(f"  {picks.items.tolist()}")
    top_rules = model.rules(min_support=0.002)
    print(f"\n{len(top_rules):,} rules with support >= 0.2 %")

    # 5. The BTYD input (lifetimes / PyMC-Marketing): frequency, recency, T, monetary value.
    btyd = lifetimes_summary(customer, stamps, amount, as_of=AS_OF, tz="Asia/Tokyo")
    print("\nlifetimes summary (first 3 customers):")
    for i in range(3):
        print(
            f"  customer {btyd.customer_ids[i]}: frequency {btyd.frequency[i]}, "
            f"recency {btyd.recency[i]}, T {btyd.T[i]}, monetary {btyd.monetary_value[i]:.0f}"
        )


if __name__ == "__main__":
    main()
