"""``omnicrm journey simulate``: replay an event log through a journey file.

The engine and the journey loading live in :mod:`omnicrm.cli._simulation`, imported
when the job runs, so the ``omnicrm`` command starts quickly.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnicrm.cli._jobs import (
    JobError,
    add_common_options,
    finish,
    iso_argument,
    note,
    output_format,
    run_rows,
    write_rows,
)
from omnicrm.cli.batch import Row
from omnicrm.clock import zone

if TYPE_CHECKING:
    from omnicrm.timing import CustomerEvent

__all__ = ["DEFAULT_HORIZON", "add_parser", "run"]

DEFAULT_HORIZON = timedelta(days=30)
"""Without ``--end``, the replay runs this long after the last event (for pending waits)."""

EPILOG = """event columns:
  event_type    the event (plan_searched, booking_made, ...)
  customer_id   the customer
  occurred_at   ISO 8601 with an offset: 2026-04-01T10:15:00+09:00
  event_id      optional (default: FILE#N, the N-th row); a repeated id is applied once
  any other     event properties (text), e.g. departure_date; in JSON Lines also
                a "properties" object

customer columns (--customers, optional):
  customer_id, time_zone, segment, consents / reachable / preferred (channel
  names separated by spaces, commas or semicolons; "none"), and profile columns
  (age or profile.age) read by the journeys' conditions

A customer not in --customers (or without consents) lives in --tz and consents
to every channel the journeys name, so the replay shows what the journeys would do.

example:
  omnicrm journey simulate journeys.toml events.jsonl \\
      --start 2026-04-01T00:00:00+09:00 --end 2026-05-01T00:00:00+09:00 \\
      --tz Asia/Tokyo --quiet-hours 21:00-09:00 --customers customers.csv \\
      --output actions.csv
"""


def add_parser(commands: Any) -> None:
    """Add ``journey simulate`` to the ``omnicrm`` parser's subcommands."""
    journey = commands.add_parser(
        "journey",
        help="journey tools: simulate",
        description="Journey tools for integrators.",
        epilog="example:\n  omnicrm journey simulate journeys.toml events.jsonl --tz Asia/Tokyo\n"
        "  omnicrm journey simulate --help     # columns and options",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = journey.add_subparsers(dest="journey_command", required=True, metavar="COMMAND")
    parser = sub.add_parser(
        "simulate",
        help="replay an event log through a journey file and print every action",
        description=(
            "Load journeys (JSON or TOML), replay the events (CSV or JSON Lines) with a "
            "virtual clock, and print every action the engine decides and when."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("journeys", type=Path, metavar="JOURNEY_FILE", help=".json or .toml")
    parser.add_argument("input", type=Path, metavar="EVENTS_FILE", help="events, .csv or .jsonl")
    parser.add_argument("--start", metavar="ISO", help="first instant (default: first event)")
    parser.add_argument(
        "--end", metavar="ISO", help="last instant (default: 30 days after the last event)"
    )
    parser.add_argument(
        "--tz", default="UTC", metavar="ZONE", help="the customers' time zone (UTC)"
    )
    parser.add_argument(
        "--quiet-hours",
        metavar="HH:MM-HH:MM",
        help="no sends in this local span, e.g. 21:00-09:00 (deferred to its end)",
    )
    parser.add_argument(
        "--customers",
        type=Path,
        metavar="FILE",
        help="customers (.csv or .jsonl): customer_id, time_zone, segment, consents, "
        "reachable, preferred, profile columns",
    )
    add_common_options(parser, output_help="write every action decision here")


def run(args: argparse.Namespace) -> int:
    """Run ``omnicrm journey simulate``; return the exit code."""
    from omnicrm.cli._simulation import (
        OUTPUT_FIELDS,
        SimulationDirectory,
        action_row,
        channels_of,
        event_of,
        load_customers,
        load_journey_file,
        print_actions,
        quiet_hours,
    )
    from omnicrm.persistence.memory import MemoryStore
    from omnicrm.timing import Engine

    local = zone("--tz", args.tz)
    guards = quiet_hours(args.quiet_hours)
    start = iso_argument("--start", args.start)
    end = iso_argument("--end", args.end)
    if start is not None and end is not None and end < start:
        raise JobError("--end", args.end, "must not be before --start")
    output_format("--output", args.output)
    journeys = load_journey_file(args.journeys)
    channels = channels_of(journeys)
    customers = (
        []
        if args.customers is None
        else load_customers(
            args.customers, time_zone=args.tz, channels=channels, encoding=args.encoding
        )
    )
    engine = Engine(
        MemoryStore(),
        journeys,
        directory=SimulationDirectory(args.tz, channels, customers),
        guards=guards,
    )
    events: list[CustomerEvent] = []
    rows = 0

    def add(row: Row) -> None:
        nonlocal rows
        rows += 1
        events.append(event_of(row, f"{args.input.name}#{rows}", engine.event_types))

    report = run_rows(args, args.input, add, ("event_type", "customer_id", "occurred_at"))
    if events:
        first = min(e.occurred_at for e in events)
        last = max(e.occurred_at for e in events)
        start = start or first
        end = end or last + DEFAULT_HORIZON
        note(
            args, f"replaying {len(events):,} events from {start.isoformat()} to {end.isoformat()}"
        )
        outside = sum(1 for e in events if not start <= e.occurred_at <= end)
        if outside:
            print(f"events outside --start/--end, not replayed: {outside:,}")
        history = engine.replay_history(events, start, end).history
        actions = sorted(history.actions, key=lambda a: (a.due_at, a.action_id))
        print_actions(actions, local, args.tz)
        if args.output is not None:
            written = write_rows(args.output, (action_row(a) for a in actions), OUTPUT_FIELDS)
            print(f"wrote {written:,} actions to {args.output}")
    return finish(args, args.input, report)
