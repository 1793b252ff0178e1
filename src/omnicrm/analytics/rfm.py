"""Classic RFM: recency, frequency and monetary value per customer, exact and mergeable.

Definitions (the docs page repeats them):

* **purchase**: a transaction row whose amount is ``>= 0`` (a zero amount, a free sample,
  is still a purchase). A row with a negative amount is a **return**.
* **frequency**: the number of purchase rows of the customer.
* **monetary total**: the exact integer sum of the customer's amounts in minor units. With
  ``returns="net"`` (the default) returns are subtracted; with ``"exclude"`` they are
  dropped; ``"reject"`` refuses any negative amount.
* **monetary mean**: monetary total / frequency (a float, for display and scoring only).
* **first / last purchase**: the earliest / latest purchase instant (UTC, ``datetime64[us]``).
  Returns never move them.
* **recency (days)**: the local calendar day of ``as_of`` minus the local calendar day of the
  last purchase, both in ``tz``. Bought today -> 0.

A customer with no purchase in the data (only returns) is left out of the summary.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from omnicrm.analytics._group import INT64_MAX, INT64_MIN, concat_ids, slots
from omnicrm.analytics._input import as_instant, as_log, resolve_tz
from omnicrm.analytics._time import local_days
from omnicrm.errors import ConfigurationError, InvalidTypeError, ValidationError

__all__ = ["RFMPartial", "RFMSummary", "Returns", "rfm_summary"]

Returns = Literal["net", "exclude", "reject"]
"""How negative amounts (returns) are treated; see the module docstring."""

_RETURNS = ("net", "exclude", "reject")


@attrs.frozen(eq=False)
class RFMSummary:
    """One row per customer who made at least one purchase, sorted by customer id.

    Attributes:
        customer_ids: the customer ids (int64 or str), sorted ascending.
        recency_days: local days from the last purchase to ``as_of`` (int64, >= 0).
        frequency: number of purchase rows (int64, >= 1).
        monetary_total: exact sum of amounts in minor units, net of returns (int64).
        monetary_mean: ``monetary_total / frequency`` (float64; display and scoring only).
        first_purchase: earliest purchase instant, UTC (``datetime64[us]``).
        last_purchase: latest purchase instant, UTC (``datetime64[us]``).

    """

    customer_ids: NDArray[Any]
    recency_days: NDArray[np.int64]
    frequency: NDArray[np.int64]
    monetary_total: NDArray[np.int64]
    monetary_mean: NDArray[np.float64]
    first_purchase: NDArray[np.datetime64]
    last_purchase: NDArray[np.datetime64]

    def __len__(self) -> int:
        return int(self.customer_ids.size)


@attrs.frozen(eq=False)
class RFMPartial:
    """Per-customer partial aggregates of one chunk of transactions; merge them exactly.

    Build one per chunk (a Dask or Spark partition, a day's file) with
    :meth:`from_transactions`, combine with :meth:`merge` in any order and grouping, and
    finish with :meth:`summary`. The result equals :func:`rfm_summary` over all rows.

    Attributes:
        customer_ids: sorted distinct customer ids of the chunk.
        purchases: purchase rows per customer.
        total: exact amount sum per customer (minor units, net of returns if ``"net"``).
        first_us: earliest purchase instant (µs since epoch, UTC); int64 max if none.
        last_us: latest purchase instant; int64 min if none.
        latest_us: the latest instant of any counted row (checked against ``as_of``).
        returns: the returns policy the chunk was built with.

    """

    customer_ids: NDArray[Any]
    purchases: NDArray[np.int64]
    total: NDArray[np.int64]
    first_us: NDArray[np.int64]
    last_us: NDArray[np.int64]
    latest_us: int
    returns: Returns

    @classmethod
    def from_transactions(
        cls,
        customer_ids: object,
        timestamps: object,
        amounts: object,
        *,
        returns: Returns = "net",
    ) -> RFMPartial:
        """Aggregate one chunk of rows ``(customer id, timestamp, amount in minor units)``.

        Timestamps are ``datetime64`` (taken as UTC instants) or timezone-aware datetimes.
        """
        if returns not in _RETURNS:
            raise ConfigurationError("returns", returns, f"must be one of {_RETURNS}")
        ids, instants, money = as_log(customer_ids, timestamps, amounts)
        if money is None:
            raise InvalidTypeError("amounts", amounts, "classic RFM needs amounts")
        negative = money < 0
        has_returns = bool(negative.any())
        if has_returns and returns == "reject":
            i = int(np.flatnonzero(negative)[0])
            raise ValidationError(f"amounts[{i}]", int(money[i]), "returns are rejected")
        if has_returns and returns == "exclude":
            keep = ~negative
            ids, instants, money = ids[keep], instants[keep], money[keep]
            has_returns = False
        latest = int(instants.max()) if instants.size else INT64_MIN
        if not has_returns:
            return cls._reduce(ids, None, money, instants, instants, latest, returns)
        purchase = ~negative
        return cls._reduce(
            ids,
            purchase.astype(np.int64),
            money,
            np.where(purchase, instants, INT64_MAX),
            np.where(purchase, instants, INT64_MIN),
            latest,
            returns,
        )

    @classmethod
    def _reduce(
        cls,
        ids: NDArray[Any],
        purchases: NDArray[np.int64] | None,
        total: NDArray[np.int64],
        first_us: NDArray[np.int64],
        last_us: NDArray[np.int64],
        latest_us: int,
        returns: Returns,
    ) -> RFMPartial:
        """Group rows by id; ``purchases=None`` means every row counts as one purchase."""
        keys, codes = slots(ids)
        k = keys.size
        rows = np.bincount(codes, minlength=k)
        if purchases is None:
            counts = rows.astype(np.int64)
        else:
            counts = np.zeros(k, dtype=np.int64)
            np.add.at(counts, codes, purchases)
        sums = np.zeros(k, dtype=np.int64)
        np.add.at(sums, codes, total)
        firsts = np.full(k, INT64_MAX, dtype=np.int64)
        np.minimum.at(firsts, codes, first_us)
        lasts = np.full(k, INT64_MIN, dtype=np.int64)
        np.maximum.at(lasts, codes, last_us)
        used = rows > 0
        if used.all():
            return cls(keys, counts, sums, firsts, lasts, latest_us, returns)
        return cls(
            keys[used], counts[used], sums[used], firsts[used], lasts[used], latest_us, returns
        )

    def merge(self, *others: RFMPartial) -> RFMPartial:
        """Return the partial of all the chunks together (exact; order does not matter)."""
        parts = [self, *others]
        for i, other in enumerate(others):
            if not isinstance(other, RFMPartial):
                raise InvalidTypeError(f"others[{i}]", other, "must be an RFMPartial")
            if other.returns != self.returns:
                raise ConfigurationError(
                    "returns", other.returns, f"cannot merge with a {self.returns!r} partial"
                )
        return self._reduce(
            concat_ids("customer_ids", [p.customer_ids for p in parts]),
            np.concatenate([p.purchases for p in parts]),
            np.concatenate([p.total for p in parts]),
            np.concatenate([p.first_us for p in parts]),
            np.concatenate([p.last_us for p in parts]),
            max(p.latest_us for p in parts),
            self.returns,
        )

    def summary(self, *, as_of: datetime | np.datetime64, tz: str | tzinfo) -> RFMSummary:
        """Finish: recency in local days of ``tz`` up to ``as_of``; drops return-only customers."""
        zone = resolve_tz(tz)
        as_of_us = as_instant("as_of", as_of)
        if self.latest_us > as_of_us:
            raise ValidationError(
                "as_of",
                as_of,
                f"is before the latest transaction ({np.datetime64(self.latest_us, 'us')} UTC)",
            )
        keep = self.purchases > 0
        last = self.last_us[keep]
        days = local_days(np.concatenate([last, np.array([as_of_us])]), zone)
        frequency = self.purchases[keep]
        total = self.total[keep]
        return RFMSummary(
            customer_ids=self.customer_ids[keep],
            recency_days=days[-1] - days[:-1],
            frequency=frequency,
            monetary_total=total,
            monetary_mean=total / np.maximum(frequency, 1),
            first_purchase=self.first_us[keep].view("datetime64[us]"),
            last_purchase=last.view("datetime64[us]"),
        )


def rfm_summary(
    customer_ids: object,
    timestamps: object,
    amounts: object,
    *,
    as_of: datetime | np.datetime64,
    tz: str | tzinfo,
    returns: Returns = "net",
) -> RFMSummary:
    """Return the classic RFM summary of a transaction log, one row per customer.

    Args:
        customer_ids: one id per row, ints or strings (numpy array, list, pandas/polars column).
        timestamps: ``datetime64`` (taken as UTC instants) or timezone-aware datetimes.
        amounts: integer minor units (int64); floats and NaN are refused, never rounded.
        as_of: the instant recency is measured to; no row may be later.
        tz: IANA zone name or tzinfo in which calendar days are counted.
        returns: ``"net"`` (default), ``"exclude"`` or ``"reject"`` negative amounts.

    Raises:
        ValidationError: columns of different lengths, NaT, ``as_of`` before the data,
            a return under ``returns="reject"``.
        InvalidTypeError: float amounts, mixed id types.
        NaiveDatetimeError: a naive datetime in ``timestamps`` or ``as_of``.
        ConfigurationError: an unknown zone or returns policy.

    """
    resolve_tz(tz)
    as_instant("as_of", as_of)
    partial = RFMPartial.from_transactions(customer_ids, timestamps, amounts, returns=returns)
    return partial.summary(as_of=as_of, tz=tz)
