"""``omnicrm merge``: deduplicate a customer export, each row tagged with its person.

The matching lives in :mod:`omnicrm.cli._merge`, imported when the job runs, so the
``omnicrm`` command starts quickly.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from omnicrm.cli._jobs import add_common_options, finish, note, output_format, run_rows, write_rows
from omnicrm.cli.batch import csv_header

__all__ = ["add_parser", "run"]

EPILOG = """input columns (any subset but the source; other columns are kept, not matched):
  source            channel:id, e.g. store:M000123 (or two columns: channel and id)
  family_name, given_name, family_name_kana, given_name_kana, email,
  email_verified (true/false), phone, birth_date, gender, postal_code, address,
  member_card_no, observed_at (ISO 8601 with an offset), attributes.NAME

example:
  omnicrm merge customers.csv --output people.csv --rejects bad-customers.csv --explain
"""


def add_parser(commands: Any) -> None:
    """Add the ``merge`` subcommand to the ``omnicrm`` parser's subcommands."""
    parser = commands.add_parser(
        "merge",
        help="deduplicate a customer export into people, with explanations",
        description=(
            "Read customer records (CSV or JSON Lines), find the records that are one "
            "person, print the merged people and write every input row with its person_id."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="customer records")
    parser.add_argument(
        "--explain", action="store_true", help="print why each merged pair is one person"
    )
    add_common_options(parser, output_help="write every input row with its person_id here")


def run(args: argparse.Namespace) -> int:
    """Run ``omnicrm merge``; return the exit code."""
    from omnicrm.cli._merge import Export, print_people
    from omnicrm.identity import resolve

    output_format("--output", args.output)
    export = Export()
    report = run_rows(args, args.input, export.add, ("source",), ("channel", "id"))
    if export.rows:
        note(args, f"matching {len(export.rows):,} records")
        result = resolve(record for _, record in export.rows)
        print_people(args, result)
        if args.output is not None:
            rows = (
                {"person_id": result.customer_id(record.source), **row}
                for row, record in export.rows
            )
            header = (
                csv_header(args.input, args.encoding) if args.input.suffix.lower() == ".csv" else []
            )
            columns = dict.fromkeys(["person_id", *header, *export.columns])
            written = write_rows(args.output, rows, list(columns))
            print(f"wrote {written:,} rows to {args.output}")
    return finish(args, args.input, report)
