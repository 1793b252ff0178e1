"""``omnicrm demo``: a short scenario on a temporary SQLite file, told for a person."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.cli.table import render_table
from omnicrm.customers import CustomerService, IdentifierKey, Profile
from omnicrm.persistence import open_store
from omnicrm.testing.fakes import SequentialIds, SteppingClock

__all__ = ["DemoReport", "run_demo"]

START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


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


def _signups() -> list[tuple[Channel, Profile]]:
    return [
        (
            Channel.STORE,
            Profile(
                family_name="山田",
                given_name="花子",
                family_name_kana="ヤマダ",
                given_name_kana="ハナコ",
                phone="090-1234-5678",
                identifiers={
                    IdentifierKey.member_card("M-000123"),
                    IdentifierKey.phone("09012345678"),
                },
                attributes={"home_store": "shibuya"},
            ),
        ),
        (
            Channel.EC,
            Profile(
                family_name="山田",
                given_name="花子",
                email="hanako@example.jp",
                birth_date=date(1990, 4, 1),
                time_zone="Asia/Tokyo",
                identifiers={
                    IdentifierKey.email("hanako@example.jp"),
                    IdentifierKey.external(Channel.EC, "ec-88412"),
                },
            ),
        ),
        (
            Channel.APP,
            Profile(
                given_name_kana="ハナコ",
                phone="+81 90 1234 5678",
                identifiers={
                    IdentifierKey.external(Channel.APP, "app-5521"),
                    IdentifierKey.phone("09012345678"),
                },
            ),
        ),
    ]


def run_demo(workdir: Path | None = None) -> DemoReport:
    """Run the scenario on a SQLite file in ``workdir`` (a temporary one by default)."""
    with tempfile.TemporaryDirectory(prefix="omnicrm-demo-") as tmp:
        path = (workdir or Path(tmp)) / "demo.db"
        store = open_store(f"sqlite:///{path}")
        try:
            return _scenario(store, path)
        finally:
            store.close()


def _scenario(store: Any, path: Path) -> DemoReport:
    report = DemoReport()
    clock = SteppingClock(START, timedelta(minutes=7))
    customers = CustomerService(store, clock, SequentialIds())
    report.data["store"] = str(path.name)

    rows = []
    for n, (channel, profile) in enumerate(_signups(), start=1):
        result = customers.register(profile, channel=channel, idempotency_key=f"signup-{n}")
        c = result.customer
        rows.append(
            [
                channel.name,
                c.id,
                c.profile.display_name or (c.profile.given_name_kana or "-"),
                ", ".join(sorted(str(k) for k in c.identifiers)),
            ]
        )
    report.add("Customers signed up in three channels", ["channel", "id", "name", "keys"], rows)

    retry = customers.register(_signups()[0][1], channel=Channel.STORE, idempotency_key="signup-1")
    report.add(
        "A POS retry with the same idempotency key",
        ["replayed", "customer", "customers stored"],
        [[str(retry.replayed), retry.customer.id, str(len(rows))]],
    )

    lookups = [
        IdentifierKey.phone("09012345678"),
        IdentifierKey.email("hanako@example.jp"),
        IdentifierKey.member_card("M-000123"),
        IdentifierKey.external(Channel.APP, "app-5521"),
    ]
    found_rows = [
        [str(key), ", ".join(c.id for c in customers.find(key)) or "-"] for key in lookups
    ]
    report.add("Found by identifier", ["key", "customers"], found_rows)
    report.add(
        "Next",
        ["note"],
        [["The phone key points at two records: identity resolution will merge them."]],
    )
    return report
