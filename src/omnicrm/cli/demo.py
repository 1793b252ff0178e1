"""``omnicrm demo``: a retailer's day on one OmniCRM over a SQLite file, told for a person.

Three stores, an EC site and an app: a store member and an EC account merge, store points
are spent online, the EC page shows store stock, a try-on hold and a ship-from-store
order, RFM segments pick a sale's audience, an abandoned-search journey waits out the
quiet hours, and every touchpoint is judged. The story is in :mod:`._demo_retail`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import attrs

from omnicrm.cli._demo_retail import START, customers, tell
from omnicrm.cli.table import render_table
from omnicrm.persistence import open_store
from omnicrm.testing.fakes import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.unit_of_work import Store

__all__ = ["DemoReport", "run_demo"]


@attrs.define
class DemoReport:
    """What the demo did: sections of (heading, headers, rows), and the data as JSON."""

    sections: list[tuple[str, list[str], list[list[str]]]] = attrs.field(factory=list)
    data: dict[str, Any] = attrs.field(factory=dict)

    def add(self, heading: str, headers: list[str], rows: list[list[str]]) -> None:
        """Append a section and mirror it into ``data``."""
        self.sections.append((heading, headers, rows))
        self.data[heading] = [dict(zip(headers, row, strict=True)) for row in rows]

    def render(self) -> str:
        """Return the report as text for a person."""
        parts = []
        for heading, headers, rows in self.sections:
            parts.append(f"\n== {heading} ==\n{render_table(headers, rows)}")
        return "\n".join(parts).lstrip("\n")


def run_demo(workdir: Path | None = None) -> DemoReport:
    """Run the scenario on a SQLite file in ``workdir`` (a temporary one by default)."""
    with tempfile.TemporaryDirectory(prefix="omnicrm-demo-") as tmp:
        path = (workdir or Path(tmp)) / "demo.db"
        store = open_store(f"sqlite:///{path}")
        try:
            return _scenario(store, path)
        finally:
            store.close()


def _scenario(store: Store, path: Path) -> DemoReport:
    report = DemoReport()
    report.data["store"] = str(path.name)
    clock = FixedClock(START)
    crm = retail_crm(store, clock, SequentialIds(), customers=customers())
    tell(crm, clock, report.add)
    return report
