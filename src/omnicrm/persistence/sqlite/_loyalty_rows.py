"""Row layouts of the SQLite loyalty tables and their decoding into loyalty values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.loyalty.codec import allocations_from_json
from omnicrm.loyalty.model import Grant, Hold, LedgerEntry

__all__ = [
    "ENTRY_COLUMNS",
    "ENTRY_SELECT",
    "GRANT_COLUMNS",
    "GRANT_SELECT",
    "HOLD_COLUMNS",
    "HOLD_SELECT",
    "ORDER_COLUMNS",
    "at",
    "entry_row",
    "grant_row",
    "hold_row",
    "us",
]


def us(value: datetime | None) -> int | None:
    """Epoch microseconds, or ``None``."""
    return None if value is None else to_micros(value)


def at(value: int | None) -> datetime | None:
    """The instant of epoch microseconds, or ``None`` (recent conversions are remembered)."""
    return None if value is None else _instant(value)


_instant = lru_cache(maxsize=8192)(from_micros)


GRANT_COLUMNS = (
    "id",
    "program_id",
    "member_id",
    "company",
    "kind",
    "amount",
    "remaining",
    "granted_us",
    "expires_us",
    "pending",
    "confirm_us",
    "order_id",
    "merged_from",
    "merge_id",
    "version",
)

GRANT_SELECT = f"SELECT {', '.join(GRANT_COLUMNS)} FROM loyalty_grants"


def grant_row(row: Sequence[Any]) -> Grant:
    """A grant from a ``GRANT_SELECT`` row."""
    return Grant(
        id=row[0],
        program_id=row[1],
        member_id=row[2],
        company=row[3],
        kind=row[4],
        amount=row[5],
        remaining=row[6],
        granted_at=from_micros(row[7]),
        expires_at=at(row[8]),
        pending=bool(row[9]),
        confirm_at=at(row[10]),
        order_id=row[11],
        merged_from=row[12],
        merge_id=row[13],
        version=row[14],
    )


HOLD_COLUMNS = (
    "id",
    "program_id",
    "member_id",
    "company",
    "channel",
    "order_id",
    "points",
    "allocations",
    "created_us",
    "expires_us",
    "state",
    "captured",
    "version",
)

HOLD_SELECT = f"SELECT {', '.join(HOLD_COLUMNS)} FROM loyalty_holds"


def hold_row(row: Sequence[Any]) -> Hold:
    """A hold from a ``HOLD_SELECT`` row."""
    return Hold(
        id=row[0],
        program_id=row[1],
        member_id=row[2],
        company=row[3],
        channel=row[4],
        order_id=row[5],
        points=row[6],
        allocations=allocations_from_json(row[7]),
        created_at=from_micros(row[8]),
        expires_at=from_micros(row[9]),
        state=row[10],
        captured=row[11],
        version=row[12],
    )


ORDER_COLUMNS = (
    "program_id",
    "order_id",
    "member_id",
    "gross",
    "points_used",
    "earned",
    "spent",
    "returned",
    "earned_us",
    "version",
)

ENTRY_COLUMNS = (
    "seq",
    "program_id",
    "member_id",
    "company",
    "grant_id",
    "kind",
    "debit",
    "credit",
    "amount",
    "counterparty",
    "ref",
    "effective_us",
    "recorded_us",
)

ENTRY_SELECT = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM loyalty_entries"


def entry_row(row: Sequence[Any]) -> LedgerEntry:
    """A ledger entry from an ``ENTRY_SELECT`` row."""
    return LedgerEntry(
        seq=row[0],
        program_id=row[1],
        member_id=row[2],
        company=row[3],
        grant_id=row[4],
        kind=row[5],
        debit=row[6],
        credit=row[7],
        amount=row[8],
        counterparty=row[9],
        ref=row[10],
        effective_at=from_micros(row[11]),
        recorded_at=from_micros(row[12]),
    )
