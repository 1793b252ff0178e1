"""The SQLite balance summaries: one row per member, read by balances instead of grants."""

from __future__ import annotations

import sys
from array import array
from datetime import date
from functools import lru_cache

from omnicrm.clock import to_micros
from omnicrm.loyalty.model import BalanceSummary
from omnicrm.persistence._sql import DRIVER_ERRORS, SQLConnection, translate_errors
from omnicrm.persistence.sqlite._loyalty_rows import at, us

__all__ = ["MIGRATION_V3", "SQLiteSummaryRepository"]

MIGRATION_V3: tuple[str, ...] = (
    # A member's balance in one row (expiry dates as little-endian 64-bit integers:
    # day ordinal, points, day ordinal, points, ...),
    # rewritten by every command that changes a member with many live grants; none for
    # members with few (balances then count from the grants).
    """CREATE TABLE loyalty_summaries (
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            computed_us INTEGER NOT NULL,
            valid_us INTEGER,
            time_zone TEXT NOT NULL,
            available INTEGER NOT NULL CHECK (available >= 0),
            pending INTEGER NOT NULL CHECK (pending >= 0),
            held INTEGER NOT NULL CHECK (held >= 0),
            limited INTEGER NOT NULL CHECK (limited >= 0),
            expiring BLOB NOT NULL,
            PRIMARY KEY (program_id, member_id)
        ) WITHOUT ROWID""",
)
"""Version 3 of the ``loyalty`` schema component: balance summaries."""

_COLUMNS = (
    "computed_us",
    "valid_us",
    "time_zone",
    "available",
    "pending",
    "held",
    "limited",
    "expiring",
)
_PUT = (
    f"INSERT INTO loyalty_summaries (program_id, member_id, {', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))}) "
    "ON CONFLICT (program_id, member_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
)
_GET = f"SELECT {', '.join(_COLUMNS)} FROM loyalty_summaries WHERE program_id = ? AND member_id = ?"
_SWAP = sys.byteorder != "little"


class _Days(dict[int, date]):
    """Dates by ordinal, made once each."""

    def __missing__(self, ordinal: int) -> date:
        if len(self) > 100_000:
            self.clear()
        day = self[ordinal] = date.fromordinal(ordinal)
        return day


_DAYS = _Days()


def _encode(expiring: tuple[tuple[date, int], ...]) -> bytes:
    flat = array("q", [n for day, points in expiring for n in (day.toordinal(), points)])
    if _SWAP:
        flat.byteswap()
    return flat.tobytes()


@lru_cache(maxsize=64)
def _decode(blob: bytes) -> tuple[tuple[date, int], ...]:
    """Expiry dates from their bytes (repeated reads of an unchanged row are remembered)."""
    flat = array("q")
    flat.frombytes(blob)
    if _SWAP:
        flat.byteswap()
    return tuple(zip(map(_DAYS.__getitem__, flat[0::2]), flat[1::2], strict=True))


class SQLiteSummaryRepository:
    """:class:`~omnicrm.loyalty.ports.SummaryRepository` on ``loyalty_summaries``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def get(self, program_id: str, member_id: str) -> BalanceSummary | None:
        """Return the member's summary or ``None``."""
        try:
            row = self._conn.execute(_GET, (program_id, member_id)).fetchone()
        except DRIVER_ERRORS:
            with translate_errors("read a balance summary"):
                raise
        if row is None:
            return None
        computed, valid, zone, available, pending, held, limited, expiring = row
        return BalanceSummary(
            program_id=program_id,
            member_id=member_id,
            computed_at=at(computed),  # type: ignore[arg-type]
            valid_until=at(valid),
            time_zone=zone,
            available=available,
            pending=pending,
            held=held,
            limited=limited,
            expiring=_decode(expiring),
        )

    def put(self, summary: BalanceSummary) -> None:
        """Store the member's summary, replacing the one stored."""
        s = summary
        try:
            self._conn.execute(
                _PUT,
                (
                    s.program_id,
                    s.member_id,
                    to_micros(s.computed_at),
                    us(s.valid_until),
                    s.time_zone,
                    s.available,
                    s.pending,
                    s.held,
                    s.limited,
                    _encode(s.expiring),
                ),
            )
        except DRIVER_ERRORS:
            with translate_errors("write a balance summary"):
                raise

    def drop(self, program_id: str, member_id: str) -> None:
        """Remove the member's summary if there is one."""
        with translate_errors("drop a balance summary"):
            self._conn.execute(
                "DELETE FROM loyalty_summaries WHERE program_id = ? AND member_id = ?",
                (program_id, member_id),
            )
