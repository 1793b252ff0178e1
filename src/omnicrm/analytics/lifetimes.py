"""The summary of ``lifetimes.utils.summary_data_from_transaction_data``, on numpy.

For hosts moving from ``lifetimes`` or PyMC-Marketing (BG/NBD, Pareto/NBD, Gamma-Gamma
models): the same four numbers, computed the same way, with calendar days in a stated zone.

* Each transaction is truncated to its local calendar day in ``tz``; rows on days after
  the ``as_of`` day are dropped (as lifetimes does with ``observation_period_end``).
* A customer's **active days** are the distinct days with at least one row (any amount:
  lifetimes counts returns as activity too; filter them out first if you want otherwise).
* **frequency** = active days - 1 (repeat days); with ``include_first_transaction`` = active days.
* **recency** = last active day - first active day (the age at the last purchase), in days.
* **T** = ``as_of`` day - first active day (the customer's age), in days.
* **monetary_value** = mean of the per-day amount totals of the repeat days (all days with
  ``include_first_transaction``), 0 for a customer without repeat days. The day totals are
  exact integer sums; only the final mean is a float.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics._group import INT64_MAX, INT64_MIN, slots, sorted_unique
from omnicrm.analytics._input import (
    as_amounts,
    as_ids,
    as_instant,
    as_instants,
    check_same_length,
    resolve_tz,
)
from omnicrm.analytics._time import local_days
from omnicrm.errors import ValidationError

__all__ = ["LifetimesSummary", "lifetimes_summary"]


@attrs.frozen(eq=False)
class LifetimesSummary:
    """One row per customer with a row on or before the ``as_of`` day, sorted by id.

    Attributes:
        customer_ids: the customer ids (int64 or str), sorted ascending.
        frequency: repeat active days (int64).
        recency: days from the first to the last active day (int64).
        T: days from the first active day to the ``as_of`` day (int64).
        monetary_value: mean day total of the repeat days (float64), or ``None`` when no
            amounts were given.

    """

    customer_ids: NDArray[Any]
    frequency: NDArray[np.int64]
    recency: NDArray[np.int64]
    T: NDArray[np.int64]
    monetary_value: NDArray[np.float64] | None

    def __len__(self) -> int:
        return int(self.customer_ids.size)


def lifetimes_summary(
    customer_ids: object,
    timestamps: object,
    amounts: object | None = None,
    *,
    as_of: datetime | np.datetime64,
    tz: str | tzinfo,
    include_first_transaction: bool = False,
) -> LifetimesSummary:
    """Return lifetimes' frequency / recency / T / monetary_value summary (``freq="D"``).

    Args:
        customer_ids: one id per row, ints or strings.
        timestamps: ``datetime64`` (taken as UTC instants) or timezone-aware datetimes.
        amounts: optional integer minor units; without them ``monetary_value`` is ``None``.
        as_of: the end of the observation period (lifetimes' ``observation_period_end``);
            rows on later local days are ignored, but it may not precede every row.
        tz: IANA zone name or tzinfo in which calendar days are counted.
        include_first_transaction: count the first active day too (as lifetimes does).

    Raises:
        ValidationError: columns of different lengths, ``as_of`` before every row.
        InvalidTypeError: float amounts, mixed id types.
        NaiveDatetimeError: a naive datetime in ``timestamps`` or ``as_of``.

    """
    zone = resolve_tz(tz)
    as_of_us = as_instant("as_of", as_of)
    ids = as_ids("customer_ids", customer_ids)
    instants = as_instants("timestamps", timestamps)
    money = None if amounts is None else as_amounts("amounts", amounts)
    if money is None:
        check_same_length(customer_ids=ids, timestamps=instants)
    else:
        check_same_length(customer_ids=ids, timestamps=instants, amounts=money)
    if instants.size and int(instants.min()) > as_of_us:
        raise ValidationError("as_of", as_of, "is before every transaction")
    days = local_days(instants, zone)
    end_day = int(local_days(np.array([as_of_us], dtype=np.int64), zone)[0])
    if instants.size and int(days.max()) > end_day:
        keep = days <= end_day
        ids, days = ids[keep], days[keep]
        money = None if money is None else money[keep]

    keys, codes = slots(ids)
    k = keys.size
    first = np.full(k, INT64_MAX, dtype=np.int64)
    np.minimum.at(first, codes, days)
    last = np.full(k, INT64_MIN, dtype=np.int64)
    np.maximum.at(last, codes, days)
    # Distinct (customer, day) pairs: one sort of a combined int64 key.
    low = int(days.min()) if days.size else 0
    span = end_day - low + 1
    pairs = sorted_unique(codes * span + (days - low))
    active = np.bincount(pairs // span, minlength=k).astype(np.int64)
    frequency = active if include_first_transaction else active - 1

    monetary: NDArray[np.float64] | None = None
    if money is not None:
        total = np.zeros(k, dtype=np.int64)
        np.add.at(total, codes, money)
        if not include_first_transaction:
            on_first = days == first[codes]
            first_total = np.zeros(k, dtype=np.int64)
            np.add.at(first_total, codes[on_first], money[on_first])
            total -= first_total
        monetary = np.where(frequency > 0, total / np.maximum(frequency, 1), 0.0)
    used = active > 0
    return LifetimesSummary(
        customer_ids=keys[used],
        frequency=frequency[used],
        recency=(last - first)[used],
        T=(end_day - first)[used],
        monetary_value=None if monetary is None else monetary[used],
    )
