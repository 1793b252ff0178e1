"""What the batch jobs share: common options, output files, the closing summary."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from omnicrm.cli.batch import BatchReport, Progress, Row, csv_header, parse_datetime, run_batch
from omnicrm.errors import ConfigurationError, ValidationError

__all__ = [
    "JobError",
    "add_common_options",
    "check_header",
    "finish",
    "iso_argument",
    "output_format",
    "run_rows",
    "write_rows",
]

PROGRESS_EVERY = 10_000
"""Rows between two progress lines on standard error."""


class JobError(ConfigurationError):
    """An unusable argument or file: the job stops before reading any row (exit 2)."""


def add_common_options(parser: argparse.ArgumentParser, *, output_help: str) -> None:
    """Add ``--output``, ``--rejects``, ``--encoding`` and ``--quiet`` to a job's parser."""
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help=f"{output_help} (.csv or .jsonl)"
    )
    parser.add_argument(
        "--rejects",
        type=Path,
        metavar="FILE",
        help="write bad rows here, each with its _line and _error (same format as INPUT)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8-sig",
        metavar="NAME",
        help="the input's text encoding (UTF-8; cp932 for Shift_JIS from Japanese Excel)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on standard error")


def output_format(option: str, path: Path | None) -> str | None:
    """Return ``"csv"`` or ``"jsonl"`` for an output path, refusing other suffixes."""
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise JobError(option, str(path), "must end in .csv or .jsonl")


def iso_argument(option: str, text: str | None) -> datetime | None:
    """Read an ISO 8601 date-time argument with an offset (``2026-04-01T00:00+09:00``)."""
    if text is None:
        return None
    try:
        return parse_datetime({option: text}, option)
    except ValidationError as exc:
        raise JobError(option, text, exc.reason) from exc


def progress_for(args: argparse.Namespace, stream: IO[str] | None = None) -> Progress | None:
    """Return the progress reporter the options ask for (``None`` with ``--quiet``)."""
    return None if args.quiet else Progress(every=PROGRESS_EVERY, stream=stream)


def check_header(path: Path, encoding: str, *alternatives: Sequence[str]) -> None:
    """Refuse a CSV file whose header lacks the columns of every one of ``alternatives``.

    A JSON Lines file has no header: its rows are checked one by one.
    """
    if path.suffix.lower() != ".csv" or not path.is_file():
        return
    header = set(csv_header(path, encoding))
    if not any(header.issuperset(columns) for columns in alternatives):
        wanted = " or ".join(", ".join(columns) for columns in alternatives)
        raise JobError("INPUT", str(path), f"needs the columns {wanted} in its header")


def run_rows(
    args: argparse.Namespace,
    path: Path,
    handle: Callable[[Row], None],
    *columns: Sequence[str],
) -> BatchReport:
    """Run ``handle`` on every row of ``path`` with the job's rejects and progress options.

    ``columns``: the required CSV columns (alternatives); see :func:`check_header`.
    """
    if args.rejects is not None and args.rejects.resolve() == path.resolve():
        raise JobError("--rejects", str(args.rejects), "must not be the input file")
    if columns:
        check_header(path, args.encoding, *columns)
    return run_batch(
        path,
        handle,
        reject_path=args.rejects,
        progress=progress_for(args),
        encoding=args.encoding,
    )


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> int:
    """Write ``rows`` to ``path`` as CSV (``fields`` as header) or JSON Lines; return the count."""
    fmt = output_format("--output", path)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=list(fields), extrasaction="ignore")
            writer.writeheader()
        for row in rows:
            if writer is not None:
                writer.writerow(row)
            else:
                handle.write(json.dumps(dict(row), ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def finish(args: argparse.Namespace, input_path: Path, report: BatchReport) -> int:
    """Print the rejected rows' errors and the summary line; return the exit code.

    The exit code is 0 when at least one row went through (or the input had none), 1
    when every row was rejected.
    """
    for error in report.errors:
        print(f"omnicrm: rejected: {error}", file=sys.stderr)
    if report.rejected > len(report.errors):
        more = report.rejected - len(report.errors)
        print(f"omnicrm: ... and {more:,} more rejected rows", file=sys.stderr)
    if report.rejected == 0:
        where = ""
    elif args.rejects is not None:
        where = f" (see {args.rejects})"
    else:
        where = " (rerun with --rejects FILE to keep them)"
    print(
        f"{report.processed:,} rows processed, {report.rejected:,} rejected{where}",
        file=sys.stderr,
    )
    if report.processed == 0 and report.rejected > 0:
        print(f"omnicrm: error: no usable row in {input_path}", file=sys.stderr)
        return 1
    return 0


def note(args: argparse.Namespace, message: str) -> None:
    """Print a progress note on standard error unless ``--quiet``."""
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)
