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

:class:`LifetimesPartial` makes this mergeable over chunks: per customer the first and last
active day, the first day's total and the grand total, plus the distinct (customer, day)
pairs, so a day split across two chunks is still counted once.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics._group import INT64_MAX, INT64_MIN, concat_ids, slots, sorted_unique
from omnicrm.analytics._input import as_instant, as_log, resolve_tz
from omnicrm.analytics._time import local_days
from omnicrm.errors import ConfigurationError, InvalidTypeError, ValidationError

__all__ = ["LifetimesPartial", "LifetimesSummary", "lifetimes_summary"]


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


@attrs.frozen(eq=False)
class LifetimesPartial:
    """Mergeable partial of :func:`lifetimes_summary` for one chunk of rows.

    ``as_of`` and ``tz`` are fixed when a chunk is read (rows on later days are dropped
    there), so every partial to be merged must use the same ones. A chunk whose rows all
    fall after ``as_of`` gives an empty partial; only :meth:`summary` of a whole with rows
    but no customers raises.

    Attributes:
        customer_ids: sorted distinct customer ids.
        first_day, last_day: first and last active local day (days since 1970-01-01).
        first_day_total: exact amount total of the first active day.
        total: exact amount total of every active day.
        pair_customer: index into ``customer_ids`` of each distinct active (customer, day).
        pair_day: the day of each such pair.
        end_day: the local day of ``as_of``.
        tz: the zone days are counted in.
        has_amounts: whether amounts were given (otherwise totals are zero).
        rows_seen: input rows read, including those after ``as_of``.

    """

    customer_ids: NDArray[Any]
    first_day: NDArray[np.int64]
    last_day: NDArray[np.int64]
    first_day_total: NDArray[np.int64]
    total: NDArray[np.int64]
    pair_customer: NDArray[np.intp]
    pair_day: NDArray[np.int64]
    end_day: int
    tz: tzinfo
    has_amounts: bool
    rows_seen: int

    @classmethod
    def from_transactions(
        cls,
        customer_ids: object,
        timestamps: object,
        amounts: object | None = None,
        *,
        as_of: datetime | np.datetime64,
        tz: str | tzinfo,
    ) -> LifetimesPartial:
        """Read one chunk of rows; see :func:`lifetimes_summary` for the arguments."""
        zone = resolve_tz(tz)
        as_of_us = as_instant("as_of", as_of)
        ids, instants, given = as_log(customer_ids, timestamps, amounts)
        money = np.zeros(ids.size, dtype=np.int64) if given is None else given
        days = local_days(instants, zone)
        end_day = int(local_days(np.array([as_of_us], dtype=np.int64), zone)[0])
        if days.size and int(days.max()) > end_day:
            keep = days <= end_day
            ids, days, money = ids[keep], days[keep], money[keep]
        # Each row is a one-day partial of its own; the merge below groups them.
        return cls._combine(
            ids, days, days, money, money, None, days,
            end_day, zone, amounts is not None, int(instants.size),
        )  # fmt: skip

    @classmethod
    def _combine(
        cls,
        ids: NDArray[Any],
        first: NDArray[np.int64],
        last: NDArray[np.int64],
        first_total: NDArray[np.int64],
        total: NDArray[np.int64],
        pair_owner: NDArray[np.intp] | None,
        pair_day: NDArray[np.int64],
        end_day: int,
        tz: tzinfo,
        has_amounts: bool,
        rows_seen: int,
    ) -> LifetimesPartial:
        """Group entries by id; ``pair_owner`` maps pairs to entries (``None``: one each)."""
        keys, codes = slots(ids)
        k = keys.size
        first_m = np.full(k, INT64_MAX, dtype=np.int64)
        np.minimum.at(first_m, codes, first)
        last_m = np.full(k, INT64_MIN, dtype=np.int64)
        np.maximum.at(last_m, codes, last)
        total_m = np.zeros(k, dtype=np.int64)
        np.add.at(total_m, codes, total)
        on_first = first == first_m[codes]
        first_total_m = np.zeros(k, dtype=np.int64)
        np.add.at(first_total_m, codes[on_first], first_total[on_first])
        owner = codes if pair_owner is None else codes[pair_owner]
        # Distinct (customer, day) pairs: one sort of a combined int64 key.
        low = int(pair_day.min()) if pair_day.size else end_day
        span = end_day - low + 1
        pairs = sorted_unique(owner * span + (pair_day - low))
        used = first_m != INT64_MAX
        renumber = np.cumsum(used) - 1
        return cls(
            customer_ids=keys[used],
            first_day=first_m[used],
            last_day=last_m[used],
            first_day_total=first_total_m[used],
            total=total_m[used],
            pair_customer=renumber[pairs // span].astype(np.intp),
            pair_day=pairs % span + low,
            end_day=end_day,
            tz=tz,
            has_amounts=has_amounts,
            rows_seen=rows_seen,
        )

    def merge(self, *others: LifetimesPartial) -> LifetimesPartial:
        """Return the partial of all the chunks together (exact; order does not matter)."""
        parts = [self, *others]
        for i, other in enumerate(others):
            if not isinstance(other, LifetimesPartial):
                raise InvalidTypeError(f"others[{i}]", other, "must be a LifetimesPartial")
            for field in ("end_day", "tz", "has_amounts"):
                if getattr(other, field) != getattr(self, field):
                    raise ConfigurationError(
                        field, getattr(other, field), "partials must share as_of, tz and amounts"
                    )
        offsets = np.cumsum([0, *(p.customer_ids.size for p in parts[:-1])])
        return self._combine(
            concat_ids("customer_ids", [p.customer_ids for p in parts]),
            np.concatenate([p.first_day for p in parts]),
            np.concatenate([p.last_day for p in parts]),
            np.concatenate([p.first_day_total for p in parts]),
            np.concatenate([p.total for p in parts]),
            np.concatenate([p.pair_customer + o for p, o in zip(parts, offsets, strict=True)]),
            np.concatenate([p.pair_day for p in parts]),
            self.end_day,
            self.tz,
            self.has_amounts,
            sum(p.rows_seen for p in parts),
        )

    def summary(self, *, include_first_transaction: bool = False) -> LifetimesSummary:
        """Finish: frequency, recency, T and monetary value per customer.

        Raises:
            ValidationError: rows were read but every one is after ``as_of``.

        """
        if self.rows_seen and not self.customer_ids.size:
            raise ValidationError(
                "as_of", np.datetime64(self.end_day, "D"), "is before every transaction"
            )
        active = np.bincount(self.pair_customer, minlength=self.customer_ids.size)
        frequency = active if include_first_transaction else active - 1
        monetary: NDArray[np.float64] | None = None
        if self.has_amounts:
            total = self.total if include_first_transaction else self.total - self.first_day_total
            monetary = np.where(frequency > 0, total / np.maximum(frequency, 1), 0.0)
        return LifetimesSummary(
            customer_ids=self.customer_ids,
            frequency=frequency.astype(np.int64),
            recency=self.last_day - self.first_day,
            T=self.end_day - self.first_day,
            monetary_value=monetary,
        )


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
    partial = LifetimesPartial.from_transactions(
        customer_ids, timestamps, amounts, as_of=as_of, tz=tz
    )
    return partial.summary(include_first_transaction=include_first_transaction)
