"""The SQLite purchase log and watch list of the composition root."""

from __future__ import annotations

from collections.abc import Sequence

from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import DuplicateError
from omnicrm.omni.model import PurchaseRecord, Watch
from omnicrm.persistence._sql import SQLConnection, translate_errors

__all__ = ["MIGRATION", "SQLitePurchaseLog", "SQLiteWatchList"]

MIGRATION: tuple[str, ...] = (
    """CREATE TABLE omni_purchases (
            order_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            amount INTEGER NOT NULL,
            at_us INTEGER NOT NULL,
            merged_from TEXT
        )""",
    "CREATE INDEX omni_purchases_customer ON omni_purchases (customer_id)",
    """CREATE TABLE omni_watches (
            customer_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            since_us INTEGER NOT NULL,
            PRIMARY KEY (customer_id, sku)
        ) WITHOUT ROWID""",
    "CREATE INDEX omni_watches_sku ON omni_watches (sku)",
)
"""Version 1 of the ``omni`` schema component (listed in :mod:`.schema`)."""


class SQLitePurchaseLog:
    """:class:`~omnicrm.omni.ports.PurchaseLog` on the ``omni_purchases`` table."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, record: PurchaseRecord) -> PurchaseRecord:
        """Store a purchase; ``DuplicateError`` if its order id is stored."""
        with translate_errors("add a purchase"):
            cursor = self._conn.execute(
                "INSERT INTO omni_purchases (order_id, customer_id, channel, amount, at_us, "
                "merged_from) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
                (
                    record.order_id,
                    record.customer_id,
                    record.channel,
                    record.amount,
                    to_micros(record.at),
                    record.merged_from,
                ),
            )
        if cursor.rowcount == 0:
            raise DuplicateError("purchase", record.order_id)
        return record

    def all(self) -> Sequence[PurchaseRecord]:
        """Every purchase, in ``(at, order_id)`` order."""
        with translate_errors("read purchases"):
            rows = self._conn.execute(
                "SELECT order_id, customer_id, channel, amount, at_us, merged_from "
                "FROM omni_purchases ORDER BY at_us, order_id"
            ).fetchall()
        return [
            PurchaseRecord(
                order_id=o, customer_id=c, channel=ch, amount=a, at=from_micros(t), merged_from=m
            )
            for o, c, ch, a, t, m in rows
        ]

    def _update(self, sql: str, params: tuple[object, ...]) -> int:
        with translate_errors("update purchases"):
            return int(self._conn.execute(sql, params).rowcount)

    def move(self, source: str, target: str) -> int:
        """Merge: give ``source``'s purchases to ``target``, marked as merged from it."""
        return self._update(
            "UPDATE omni_purchases SET customer_id = ?, merged_from = ? WHERE customer_id = ?",
            (target, source, source),
        )

    def restore(self, survivor: str, restored: str) -> int:
        """Unmerge: give back the purchases merged from ``restored`` into ``survivor``."""
        return self._update(
            "UPDATE omni_purchases SET customer_id = ?, merged_from = NULL "
            "WHERE customer_id = ? AND merged_from = ?",
            (restored, survivor, restored),
        )

    def erase(self, customer_id: str) -> int:
        """Delete a person's purchases; return how many."""
        return self._update("DELETE FROM omni_purchases WHERE customer_id = ?", (customer_id,))


class SQLiteWatchList:
    """:class:`~omnicrm.omni.ports.WatchList` on the ``omni_watches`` table."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def put(self, watch: Watch) -> None:
        """Add or replace a watch."""
        with translate_errors("save a watch"):
            self._conn.execute(
                "INSERT INTO omni_watches (customer_id, sku, since_us) VALUES (?, ?, ?) "
                "ON CONFLICT (customer_id, sku) DO UPDATE SET since_us = excluded.since_us",
                (watch.customer_id, watch.sku, to_micros(watch.since)),
            )

    def watchers(self, sku: str) -> Sequence[Watch]:
        """The watches of ``sku``, by customer id."""
        with translate_errors("read watches"):
            rows = self._conn.execute(
                "SELECT customer_id, since_us FROM omni_watches WHERE sku = ? ORDER BY customer_id",
                (sku,),
            ).fetchall()
        return [Watch(customer_id=c, sku=sku, since=from_micros(s)) for c, s in rows]

    def remove(self, customer_id: str, sku: str) -> None:
        """Remove a watch (nothing if absent)."""
        with translate_errors("remove a watch"):
            self._conn.execute(
                "DELETE FROM omni_watches WHERE customer_id = ? AND sku = ?", (customer_id, sku)
            )

    def erase(self, customer_id: str) -> int:
        """Delete a person's watches; return how many."""
        with translate_errors("erase watches"):
            cursor = self._conn.execute(
                "DELETE FROM omni_watches WHERE customer_id = ?", (customer_id,)
            )
        return int(cursor.rowcount)
