"""Batch input for the CLI jobs: CSV and JSON Lines rows, rejects, progress.

A batch job reads rows, handles each one, and never stops on a bad row: the row goes
to a reject file with the reason, an error naming the file, line and field is
reported, and the good rows still go through.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs
from dateutil import parser as date_parser

from omnicrm.errors import ConfigurationError, FieldError, OmniCRMError, ValidationError
from omnicrm.validation import check_aware

__all__ = [
    "BatchReport",
    "Progress",
    "RejectWriter",
    "RowError",
    "csv_header",
    "parse_datetime",
    "parse_int",
    "read_rows",
    "require",
    "run_batch",
]

T = TypeVar("T")
Row = dict[str, Any]

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@attrs.frozen
class RowError:
    """One rejected input row.

    Attributes:
        file: the input file's name.
        line: the line the row starts on (1-based; the CSV header is line 1).
        field: the field at fault, when one is.
        message: what is wrong.
    """

    file: str
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigurationError("input", str(path), f"must end in one of {sorted(_FORMATS)}")
    return fmt


@contextmanager
def _open_text(path: Path, encoding: str) -> Iterator[IO[str]]:
    """Open ``path`` for reading; undecodable text or an unknown encoding is a clear error."""
    if not path.is_file():
        raise ConfigurationError("input", str(path), "no such file")
    try:
        with path.open(encoding=encoding, newline="") as handle:
            yield handle
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            "encoding", encoding, f"{path.name} is not {encoding} text ({exc.reason})"
        ) from exc
    except LookupError as exc:
        raise ConfigurationError("encoding", encoding, "is not a known text encoding") from exc


def read_rows(path: Path, *, encoding: str = "utf-8-sig") -> Iterator[tuple[int, Row | RowError]]:
    """Yield ``(line, row)`` for each record of a CSV or JSON Lines file.

    A record that cannot be read (bad JSON, not an object, a CSV row with too many
    cells) comes out as a :class:`RowError` in place of the row. CSV files may start
    with a byte-order mark (as Excel writes them); ``encoding="cp932"`` reads the
    Shift_JIS files of Japanese Excel. Text that is not in ``encoding`` raises
    ``ConfigurationError`` (field ``encoding``).
    """
    name = path.name
    with _open_text(path, encoding) as handle:
        if _format_of(path) == "csv":
            reader = csv.DictReader(handle)
            for record in reader:
                line = reader.line_num
                if None in record:
                    yield line, RowError(name, line, None, "more cells than header columns")
                else:
                    yield line, {k: v for k, v in record.items() if v not in (None, "")}
        else:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield line, RowError(name, line, None, f"not valid JSON: {exc.msg}")
                    continue
                if isinstance(value, dict):
                    yield line, value
                else:
                    yield line, RowError(name, line, None, "each line must be a JSON object")


def csv_header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """Return the column names on the first line of a CSV file (none if it is empty)."""
    with _open_text(path, encoding) as handle:
        return next(csv.reader(handle), [])


def require(row: Mapping[str, Any], field: str) -> Any:
    """Return ``row[field]``, or raise ``ValidationError`` naming the missing field."""
    value = row.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, value, "is required")
    return value


def parse_int(row: Mapping[str, Any], field: str) -> int:
    """Return the integer in ``row[field]`` (text such as ``"1980"`` is accepted)."""
    value = require(row, field)
    if isinstance(value, bool | float):
        raise ValidationError(field, value, "must be a whole number")
    if isinstance(value, int):
        return value
    text = str(value).strip().replace(",", "")
    if not text.lstrip("-").isdigit():
        raise ValidationError(field, value, "must be a whole number")
    return int(text)


def parse_datetime(row: Mapping[str, Any], field: str) -> datetime:
    """Return the aware datetime in ``row[field]`` (ISO 8601 with an offset or zone)."""
    value = require(row, field)
    try:
        parsed = date_parser.isoparse(str(value))
    except (ValueError, OverflowError) as exc:
        raise ValidationError(field, value, "is not an ISO 8601 date-time") from exc
    return check_aware(field, parsed)


class RejectWriter:
    """Writes rejected rows, each with an ``_error`` field, in the input's own format.

    ``columns`` are the input's CSV header: every rejected row is written under all of
    them (a row's empty cells are not in the row, so its keys alone would lose columns).
    """

    def __init__(self, path: Path | None, fmt: str, columns: Sequence[str] = ()) -> None:
        self.path = path
        self._fmt = fmt
        self._columns = tuple(columns)
        self._handle: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self.count = 0

    def write(self, row: Row | None, error: RowError) -> None:
        """Record one rejected row (``None`` when the row could not even be read)."""
        self.count += 1
        if self.path is None:
            return
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8", newline="")
        record = {**(row or {}), "_line": error.line, "_error": str(error)}
        if self._fmt == "jsonl":
            self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            return
        if self._csv is None:
            fields = list(dict.fromkeys([*self._columns, *record]))
            self._csv = csv.DictWriter(self._handle, fieldnames=fields, extrasaction="ignore")
            self._csv.writeheader()
        self._csv.writerow(record)

    def close(self) -> None:
        """Flush and close the reject file, if one was opened."""
        if self._handle is not None:
            self._handle.close()


class Progress:
    """Reports progress on long inputs to a stream (standard error by default)."""

    def __init__(self, *, every: int = 10_000, stream: IO[str] | None = None) -> None:
        self._every = every
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = every > 0

    def update(self, done: int, rejected: int) -> None:
        """Print a line every ``every`` rows."""
        if self._enabled and done % self._every == 0:
            print(f"... {done:,} rows ({rejected:,} rejected)", file=self._stream, flush=True)


@attrs.frozen
class BatchReport:
    """What a batch run did.

    Attributes:
        processed: rows handled successfully.
        rejected: rows rejected.
        errors: the first rejected rows' errors (at most ``max_errors``).
    """

    processed: int
    rejected: int
    errors: tuple[RowError, ...]


def run_batch(
    path: Path,
    handle: Callable[[Row], None],
    *,
    reject_path: Path | None = None,
    progress: Progress | None = None,
    max_errors: int = 20,
    encoding: str = "utf-8-sig",
) -> BatchReport:
    """Feed every readable row of ``path`` to ``handle``; reject the rest, keep going.

    ``handle`` raises an ``OmniCRMError`` for a bad row; the row is written to
    ``reject_path`` with the error, and the run continues.
    """
    fmt = _format_of(path)
    header = csv_header(path, encoding) if fmt == "csv" else ()
    rejects = RejectWriter(reject_path, fmt, header)
    errors: list[RowError] = []
    done = 0
    try:
        for line, row in read_rows(path, encoding=encoding):
            error: RowError | None = row if isinstance(row, RowError) else None
            if isinstance(row, dict):
                try:
                    handle(row)
                except OmniCRMError as exc:
                    field = exc.field if isinstance(exc, FieldError) else None
                    message = exc.reason if isinstance(exc, FieldError) else str(exc)
                    error = RowError(path.name, line, field, message)
            if error is not None:
                rejects.write(row if isinstance(row, dict) else None, error)
                if len(errors) < max_errors:
                    errors.append(error)
            else:
                done += 1
            if progress is not None:
                progress.update(done + rejects.count, rejects.count)
    finally:
        rejects.close()
    return BatchReport(processed=done, rejected=rejects.count, errors=tuple(errors))
