"""The work of ``omnicrm merge``: rows to records, resolution, the people printed."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from typing import Any

import attrs

from omnicrm.cli.batch import Row, parse_datetime
from omnicrm.cli.table import render_table
from omnicrm.errors import ValidationError
from omnicrm.identity import CustomerRecord, Decision, Explanation, Resolution, SourceRef

__all__ = [
    "EXPLAIN_PAIRS_UP_TO",
    "MATCHED_FIELDS",
    "SHOWN_CLUSTERS",
    "Export",
    "merged_pairs",
    "print_people",
    "record_of",
]

MATCHED_FIELDS = tuple(
    f.name for f in attrs.fields(CustomerRecord) if f.name not in ("source", "attributes")
)
"""Columns read as record fields; other columns are carried to the output unmatched."""

SHOWN_CLUSTERS = 50
"""How many merged people the printed table lists (``--output`` has them all)."""

EXPLAIN_PAIRS_UP_TO = 30
"""Clusters up to this size explain every merged pair; larger ones explain each record
against the person's first record."""

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _flag(row: Row, field: str) -> bool:
    value = row.get(field, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(field, value, "must be true or false")


def _source(row: Row) -> Any:
    if "source" in row:
        return row["source"]
    if "channel" in row and "id" in row:
        return f"{row['channel']}:{row['id']}"
    raise ValidationError("source", None, "is required (channel:id, or channel and id columns)")


def record_of(row: Row) -> CustomerRecord:
    """Build the record a row describes; raises a precise ``OmniCRMError`` naming the field."""
    data: dict[str, Any] = {k: row[k] for k in MATCHED_FIELDS if k in row}
    data["email_verified"] = _flag(row, "email_verified")
    if "observed_at" in row:
        data["observed_at"] = parse_datetime(row, "observed_at")
    given = row.get("attributes")
    attributes: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
    for key, value in row.items():
        if key.startswith("attributes."):
            attributes[key.removeprefix("attributes.")] = str(value)
    data["attributes"] = {str(k): str(v) for k, v in attributes.items()}
    for key, value in data.items():
        if key not in ("email_verified", "observed_at", "attributes") and not isinstance(
            value, str
        ):
            data[key] = str(value)
    return CustomerRecord.from_mapping({"source": _source(row), **data})


class Export:
    """The good rows of the export and their records, in input order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Row, CustomerRecord]] = []
        self.columns: dict[str, None] = {}
        self._seen: set[SourceRef] = set()

    def add(self, row: Row) -> None:
        """Take one row, or raise the precise error that rejects it."""
        record = record_of(row)
        if record.source in self._seen:
            raise ValidationError("source", str(record.source), "appears on an earlier row")
        self._seen.add(record.source)
        self.rows.append((row, record))
        self.columns.update(dict.fromkeys(row))


def merged_pairs(result: Resolution, cluster: frozenset[SourceRef]) -> Iterator[Explanation]:
    """Yield the explanations of the links that made ``cluster`` one person."""
    members = sorted(cluster)
    if len(members) > EXPLAIN_PAIRS_UP_TO:
        first = SourceRef.parse(result.customer_id(cluster))
        yield from (result.explain(first, m) for m in members if m != first)
        return
    for a, b in itertools.combinations(members, 2):
        explanation = result.explain(a, b)
        if explanation.decision == Decision.MERGE:
            yield explanation


def print_people(args: argparse.Namespace, result: Resolution) -> None:
    """Print the people with several records and, with ``--explain``, why."""
    merged = sorted(
        (c for c in result.clusters if len(c) > 1),
        key=lambda c: (-len(c), result.customer_id(c)),
    )
    records = sum(len(c) for c in result.clusters)
    print(
        f"{records:,} records, {len(result.clusters):,} people "
        f"({len(merged):,} with more than one record)"
    )
    if merged:
        rows = [
            [result.customer_id(c), str(len(c)), ", ".join(str(s) for s in sorted(c))]
            for c in merged[:SHOWN_CLUSTERS]
        ]
        print(render_table(["person_id", "records", "sources"], rows))
        if len(merged) > SHOWN_CLUSTERS:
            print(f"... and {len(merged) - SHOWN_CLUSTERS:,} more (see --output)")
    if args.explain:
        for cluster in merged:
            print(f"\n== {result.customer_id(cluster)} ==")
            for explanation in merged_pairs(result, cluster):
                print(explanation)
    if result.review:
        print(f"pairs for a person's review: {len(result.review):,} (scores between thresholds)")
        if args.explain:
            print("\n== review ==")
            for explanation in result.review[:SHOWN_CLUSTERS]:
                print(explanation)
