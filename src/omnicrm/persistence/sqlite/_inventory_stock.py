"""The SQLite stock and hold repositories: levels changed by conditional UPDATEs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import DuplicateError, NotFoundError
from omnicrm.inventory.codec import hold_from_data, hold_json
from omnicrm.inventory.columns import StockColumns
from omnicrm.inventory.holds import Hold, HoldStatus
from omnicrm.inventory.stock import Movement, MovementReason, StockLevel
from omnicrm.persistence._sql import INTEGRITY_ERRORS, SQLConnection, translate_errors
from omnicrm.validation import check_id

__all__ = ["SQLiteHoldRepository", "SQLiteStockRepository"]

_CHUNK = 500

_LEVEL_COLUMNS = "on_hand, held, committed, incoming, safety_stock, expected_on"


def _level(sku: str, location_id: str, row: Sequence[Any]) -> StockLevel:
    return StockLevel(
        sku=sku,
        location_id=location_id,
        on_hand=row[0],
        held=row[1],
        committed=row[2],
        incoming=row[3],
        safety_stock=row[4],
        expected_on=None if row[5] is None else date.fromisoformat(row[5]),
    )


class SQLiteStockRepository:
    """:class:`~omnicrm.inventory.ports.StockRepository` on levels and movements tables."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def get(self, sku: str, location_id: str) -> StockLevel:
        """Return the level (zeros if none)."""
        with translate_errors("read a stock level"):
            row = self._conn.execute(
                f"SELECT {_LEVEL_COLUMNS} FROM inventory_levels WHERE sku = ? AND location_id = ?",
                (sku, location_id),
            ).fetchone()
        if row is None:
            return StockLevel(sku=sku, location_id=location_id)
        return _level(sku, location_id, row)

    def apply(self, movement: Movement, *, guard: int | None = None) -> StockLevel | None:
        """Apply the movement with one conditional UPDATE (or INSERT for a new level)."""
        m = movement
        expected = None if m.expected_on is None else m.expected_on.isoformat()
        with translate_errors("apply a stock movement"):
            row = self._conn.execute(
                "UPDATE inventory_levels SET on_hand = on_hand + :oh, held = held + :h, "
                "committed = committed + :c, incoming = incoming + :i, "
                "safety_stock = safety_stock + :s, expected_on = CASE WHEN incoming + :i = 0 "
                "THEN NULL ELSE COALESCE(:exp, expected_on) END "
                "WHERE sku = :sku AND location_id = :loc AND on_hand + :oh >= 0 "
                "AND held + :h >= 0 AND committed + :c >= 0 AND incoming + :i >= 0 "
                "AND safety_stock + :s >= 0 AND (CAST(:guard AS BIGINT) IS NULL OR "
                "(on_hand + :oh) - (committed + :c) - (held + :h) - (safety_stock + :s) "
                f">= :guard) RETURNING {_LEVEL_COLUMNS}",
                {
                    "oh": m.on_hand,
                    "h": m.held,
                    "c": m.committed,
                    "i": m.incoming,
                    "s": m.safety_stock,
                    "exp": expected,
                    "sku": m.sku,
                    "loc": m.location_id,
                    "guard": guard,
                },
            ).fetchone()
            if row is not None:
                after = _level(m.sku, m.location_id, row)
            else:
                after_new = self._insert(m, guard)
                if after_new is None:
                    return None
                after = after_new
            self._conn.execute(
                "INSERT INTO inventory_movements (id, sku, location_id, reason, on_hand, held, "
                "committed, incoming, safety_stock, expected_on, reference, idempotency_key, "
                "occurred_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    m.id,
                    m.sku,
                    m.location_id,
                    m.reason.value,
                    m.on_hand,
                    m.held,
                    m.committed,
                    m.incoming,
                    m.safety_stock,
                    expected,
                    m.reference,
                    m.idempotency_key,
                    to_micros(m.occurred_at),
                ),
            )
        return after

    def _insert(self, m: Movement, guard: int | None) -> StockLevel | None:
        """Create the level of a first movement, if it is valid from zero."""
        exists = self._conn.execute(
            "SELECT 1 FROM inventory_levels WHERE sku = ? AND location_id = ?",
            (m.sku, m.location_id),
        ).fetchone()
        zero = StockLevel(sku=m.sku, location_id=m.location_id)
        if exists is not None or not zero.can_apply(m):
            return None
        after = zero.apply(m)
        if guard is not None and (
            after.on_hand - after.committed - after.held - after.safety_stock < guard
        ):
            return None
        self._conn.execute(
            f"INSERT INTO inventory_levels (sku, location_id, {_LEVEL_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.sku,
                m.location_id,
                after.on_hand,
                after.held,
                after.committed,
                after.incoming,
                after.safety_stock,
                None if after.expected_on is None else after.expected_on.isoformat(),
            ),
        )
        return after

    def columns(self, skus: Iterable[str]) -> Mapping[str, StockColumns]:
        """Return column-wise levels per SKU."""
        wanted = list(dict.fromkeys(skus))
        rows: dict[str, list[tuple[str, int, int]]] = {s: [] for s in wanted}
        with translate_errors("read stock levels"):
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for sku, loc, free, on_hand in self._conn.execute(
                    "SELECT sku, location_id, on_hand - held - committed - safety_stock, "
                    f"on_hand FROM inventory_levels WHERE sku IN ({marks}) "
                    "ORDER BY sku, location_id",
                    chunk,
                ):
                    rows[sku].append((loc, free, on_hand))
        return {s: StockColumns.from_rows(s, r) for s, r in rows.items()}

    def movements(
        self, *, sku: str | None = None, location_id: str | None = None
    ) -> Sequence[Movement]:
        """Return the movement log, oldest first, optionally filtered."""
        where, params = ["1 = 1"], []
        if sku is not None:
            where.append("sku = ?")
            params.append(sku)
        if location_id is not None:
            where.append("location_id = ?")
            params.append(location_id)
        with translate_errors("read movements"):
            rows = self._conn.execute(
                "SELECT seq, id, sku, location_id, reason, on_hand, held, committed, incoming, "
                "safety_stock, expected_on, reference, idempotency_key, occurred_us "
                f"FROM inventory_movements WHERE {' AND '.join(where)} ORDER BY seq",
                params,
            ).fetchall()
        return tuple(
            Movement(
                sequence=r[0],
                id=r[1],
                sku=r[2],
                location_id=r[3],
                reason=MovementReason(r[4]),
                on_hand=r[5],
                held=r[6],
                committed=r[7],
                incoming=r[8],
                safety_stock=r[9],
                expected_on=None if r[10] is None else date.fromisoformat(r[10]),
                reference=r[11],
                idempotency_key=r[12],
                occurred_at=from_micros(r[13]),
            )
            for r in rows
        )

    def levels(self) -> Sequence[StockLevel]:
        """Every stored level, by SKU then location."""
        with translate_errors("read stock levels"):
            rows = self._conn.execute(
                f"SELECT sku, location_id, {_LEVEL_COLUMNS} FROM inventory_levels "
                "ORDER BY sku, location_id"
            ).fetchall()
        return tuple(_level(r[0], r[1], r[2:]) for r in rows)


class SQLiteHoldRepository:
    """:class:`~omnicrm.inventory.ports.HoldRepository` on ``inventory_holds``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, hold: Hold) -> None:
        """Store a new hold."""
        with translate_errors("add a hold"):
            try:
                self._conn.execute(
                    "INSERT INTO inventory_holds (id, status, expires_us, data) "
                    "VALUES (?, ?, ?, ?)",
                    (hold.id, hold.status.value, to_micros(hold.expires_at), hold_json(hold)),
                )
            except INTEGRITY_ERRORS as exc:
                raise DuplicateError("hold", hold.id) from exc

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        check_id("hold_id", hold_id)
        with translate_errors("read a hold"):
            row = self._conn.execute(
                "SELECT data FROM inventory_holds WHERE id = ?", (hold_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError("hold", hold_id)
        return hold_from_data(json.loads(row[0]))

    def transition(self, hold: Hold, expected: HoldStatus) -> bool:
        """Replace the hold if its stored status is still ``expected``."""
        with translate_errors("update a hold"):
            cursor = self._conn.execute(
                "UPDATE inventory_holds SET status = ?, expires_us = ?, data = ? "
                "WHERE id = ? AND status = ?",
                (
                    hold.status.value,
                    to_micros(hold.expires_at),
                    hold_json(hold),
                    hold.id,
                    expected.value,
                ),
            )
        return cursor.rowcount == 1

    def due(self, now: datetime, limit: int) -> Sequence[Hold]:
        """Active holds lapsed at ``now``, soonest first."""
        with translate_errors("read due holds"):
            rows = self._conn.execute(
                "SELECT data FROM inventory_holds WHERE status = 'active' AND expires_us <= ? "
                "ORDER BY expires_us, id LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
        return tuple(hold_from_data(json.loads(data)) for (data,) in rows)
