"""Argument parsing and dispatch for the ``omnicrm`` command: ``demo`` and the batch jobs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from omnicrm import __version__
from omnicrm.cli import jobs_journey, jobs_merge, jobs_rfm
from omnicrm.errors import OmniCRMError

__all__ = ["build_parser", "main"]

_DEMO_EPILOG = """example:
  omnicrm demo            # the scenario, as tables for a person
  omnicrm demo --json     # the same, as JSON for machines
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``omnicrm`` command."""
    parser = argparse.ArgumentParser(
        prog="omnicrm", description="Omnichannel CRM logic, from the command line."
    )
    parser.add_argument("--version", action="version", version=f"omnicrm {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a short scenario on a temporary SQLite file",
        description="Run a short retail scenario on a temporary SQLite file and report it.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--json", action="store_true", help="print JSON instead of tables")
    jobs_rfm.add_parser(commands)
    jobs_merge.add_parser(commands)
    jobs_journey.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from omnicrm.cli.demo import run_demo

            report = run_demo()
            if args.json:
                print(json.dumps(report.data, ensure_ascii=False, indent=2))
            else:
                print(report.render())
        elif args.command == "rfm":
            return jobs_rfm.run(args)
        elif args.command == "merge":
            return jobs_merge.run(args)
        elif args.command == "journey":
            return jobs_journey.run(args)
    except OmniCRMError as exc:
        print(f"omnicrm: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output file that cannot be written, a directory as input
        print(f"omnicrm: error: {exc}", file=sys.stderr)
        return 2
    return 0
