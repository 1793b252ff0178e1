"""``omnicrm rfm``: transactions in, per-customer RFM summary, scores and segment out."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omnicrm.cli._jobs import (
    add_common_options,
    finish,
    iso_argument,
    note,
    output_format,
    run_rows,
    write_rows,
)
from omnicrm.cli.batch import Row, parse_datetime, parse_int, require
from omnicrm.cli.table import render_table
from omnicrm.clock import from_micros, to_micros, zone
from omnicrm.errors import ValidationError

__all__ = ["OUTPUT_FIELDS", "add_parser", "run"]

OUTPUT_FIELDS = (
    "customer_id",
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_mean",
    "first_purchase",
    "last_purchase",
    "r",
    "f",
    "m",
    "segment",
)
"""The columns of ``--output``, one row per customer."""

MAX_AMOUNT = 10**15
"""The largest amount (minor units) a row may carry; sums stay exact in int64."""

EPILOG = """input columns:
  customer_id   the customer (any text)
  ordered_at    ISO 8601 with an offset: 2026-04-01T10:15:00+09:00
  amount        whole minor units (yen, cents); negative for a return

example:
  omnicrm rfm orders.csv --tz Asia/Tokyo --as-of 2026-04-01T00:00:00+09:00 \\
      --output rfm.csv --rejects bad-orders.csv
"""


def add_parser(commands: Any) -> None:
    """Add the ``rfm`` subcommand to the ``omnicrm`` parser's subcommands."""
    parser = commands.add_parser(
        "rfm",
        help="RFM summary, scores and segments of a transaction file",
        description=(
            "Read transactions (CSV or JSON Lines), print how many customers fall in each "
            "RFM segment, and write each customer's recency, frequency, monetary value, "
            "scores 1-5 and segment."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="transactions, .csv or .jsonl")
    parser.add_argument(
        "--as-of",
        metavar="ISO",
        help="measure recency up to this instant (default: the latest transaction); "
        "later rows are rejected",
    )
    parser.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="zone calendar days are counted in (UTC)"
    )
    add_common_options(parser, output_help="write one row per customer here")


class _Transactions:
    """The good rows, column by column."""

    def __init__(self, as_of_us: int | None) -> None:
        self.as_of_us = as_of_us
        self.ids: list[str] = []
        self.micros: list[int] = []
        self.amounts: list[int] = []

    def add(self, row: Row) -> None:
        customer = str(require(row, "customer_id")).strip()
        ordered_at = parse_datetime(row, "ordered_at")
        amount = parse_int(row, "amount")
        if abs(amount) > MAX_AMOUNT:
            raise ValidationError("amount", amount, f"must be within ±{MAX_AMOUNT:,}")
        micros = to_micros(ordered_at)
        if self.as_of_us is not None and micros > self.as_of_us:
            raise ValidationError("ordered_at", row["ordered_at"], "is after --as-of")
        self.ids.append(customer)
        self.micros.append(micros)
        self.amounts.append(amount)


def _customer_rows(summary: Any, scores: Any, labels: Any) -> Iterator[dict[str, Any]]:
    import numpy as np

    first = np.datetime_as_string(summary.first_purchase, unit="s", timezone="UTC")
    last = np.datetime_as_string(summary.last_purchase, unit="s", timezone="UTC")
    for i, customer in enumerate(summary.customer_ids.tolist()):
        yield {
            "customer_id": customer,
            "recency_days": int(summary.recency_days[i]),
            "frequency": int(summary.frequency[i]),
            "monetary_total": int(summary.monetary_total[i]),
            "monetary_mean": round(float(summary.monetary_mean[i]), 2),
            "first_purchase": first[i],
            "last_purchase": last[i],
            "r": int(scores.recency[i]),
            "f": int(scores.frequency[i]),
            "m": int(scores.monetary[i]),
            "segment": str(labels[i]),
        }


def run(args: argparse.Namespace) -> int:
    """Run ``omnicrm rfm``; return the exit code."""
    import numpy as np  # numpy and analytics load when the job runs: a quick ``omnicrm``

    from omnicrm.analytics import rfm_scores, rfm_segments, rfm_summary

    tz = zone("--tz", args.tz)
    as_of = iso_argument("--as-of", args.as_of)
    output_format("--output", args.output)
    data = _Transactions(None if as_of is None else to_micros(as_of))
    report = run_rows(args, args.input, data.add, ("customer_id", "ordered_at", "amount"))
    if data.ids:
        as_of = as_of or from_micros(max(data.micros))
        note(args, f"scoring {len(set(data.ids)):,} customers as of {as_of.isoformat()}")
        summary = rfm_summary(
            np.asarray(data.ids, dtype=str),
            np.asarray(data.micros, dtype=np.int64).view("datetime64[us]"),
            np.asarray(data.amounts, dtype=np.int64),
            as_of=as_of,
            tz=tz,
        )
        scores = rfm_scores(summary)
        segments = rfm_segments(scores)
        counts = segments.counts()
        total = max(len(segments), 1)
        print(
            render_table(
                ["segment", "customers", "share"],
                [
                    [name, f"{count:,}", f"{100 * count / total:.1f}%"]
                    for name, count in counts.items()
                ],
            )
        )
        print(f"{len(segments):,} customers as of {as_of.isoformat()} ({args.tz} days)")
        if args.output is not None:
            rows = _customer_rows(summary, scores, segments.labels())
            written = write_rows(args.output, rows, OUTPUT_FIELDS)
            print(f"wrote {written:,} customers to {args.output}")
    return finish(args, args.input, report)
