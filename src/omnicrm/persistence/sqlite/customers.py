"""The SQLite customers repository."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from omnicrm.clock import to_micros
from omnicrm.customers.codec import customer_from_json, customer_to_json
from omnicrm.customers.model import Customer, IdentifierKey
from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError
from omnicrm.persistence._sql import INTEGRITY_ERRORS, SQLConnection, translate_errors
from omnicrm.persistence.paging import check_page
from omnicrm.validation import check_id

__all__ = ["MIGRATION", "SQLiteCustomerRepository"]


MIGRATION: tuple[str, ...] = (
    """CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
    "CREATE INDEX customers_updated ON customers (updated_us, id)",
    """CREATE TABLE customer_identifiers (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            PRIMARY KEY (kind, value, customer_id)
        ) WITHOUT ROWID""",
    "CREATE INDEX customer_identifiers_customer ON customer_identifiers (customer_id)",
)
"""Version 1 of the ``customers`` schema component (listed in :mod:`.schema`)."""

_CHUNK = 500  # stay well under SQLite's bound-parameter limit


class SQLiteCustomerRepository:
    """:class:`~omnicrm.customers.ports.CustomerRepository` on the ``customers`` tables."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[object]) -> list[Customer]:
        with translate_errors("read customers"):
            rows = self._conn.execute(sql, params).fetchall()
        return [customer_from_json(data, version) for data, version in rows]

    def _write_identifiers(self, customer_id: str, keys: Iterable[IdentifierKey]) -> None:
        self._conn.executemany(
            "INSERT INTO customer_identifiers (kind, value, customer_id) VALUES (?, ?, ?)",
            [(k.kind, k.value, customer_id) for k in keys],
        )

    def add(self, customer: Customer) -> Customer:
        """Store a new profile with version 1."""
        stored = attrs.evolve(customer, version=1)
        with translate_errors("add a customer"):
            try:
                self._conn.execute(
                    "INSERT INTO customers (id, version, updated_us, data) VALUES (?, 1, ?, ?)",
                    (stored.id, to_micros(stored.updated_at), customer_to_json(stored)),
                )
            except INTEGRITY_ERRORS as exc:
                raise DuplicateError("customer", customer.id) from exc
            self._write_identifiers(stored.id, stored.identifiers)
        return stored

    def get(self, customer_id: str) -> Customer:
        """Return the profile or raise ``NotFoundError``."""
        check_id("customer_id", customer_id)
        rows = self._rows("SELECT data, version FROM customers WHERE id = ?", (customer_id,))
        if not rows:
            raise NotFoundError("customer", customer_id)
        return rows[0]

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, Customer]:
        """Return the existing profiles among ``customer_ids``."""
        ids = [check_id("customer_ids", i) for i in customer_ids]
        found: dict[str, Customer] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._rows(
                f"SELECT data, version FROM customers WHERE id IN ({marks})",
                chunk,
            ):
                found[row.id] = row
        return {i: found[i] for i in ids if i in found}

    def find_by_identifier(self, key: IdentifierKey) -> Sequence[Customer]:
        """Return the profiles carrying ``key``, by id."""
        return tuple(
            self._rows(
                "SELECT c.data, c.version FROM customer_identifiers i "
                "JOIN customers c ON c.id = i.customer_id "
                "WHERE i.kind = ? AND i.value = ? ORDER BY c.id",
                (key.kind, key.value),
            )
        )

    def update(self, customer: Customer) -> Customer:
        """Replace the profile if the version matches; return it with the next version."""
        stored = attrs.evolve(customer, version=customer.version + 1)
        with translate_errors("update a customer"):
            cursor = self._conn.execute(
                "UPDATE customers SET version = ?, updated_us = ?, data = ? "
                "WHERE id = ? AND version = ?",
                (
                    stored.version,
                    to_micros(stored.updated_at),
                    customer_to_json(stored),
                    customer.id,
                    customer.version,
                ),
            )
            if cursor.rowcount != 1:
                row = self._conn.execute(
                    "SELECT version FROM customers WHERE id = ?", (customer.id,)
                ).fetchone()
                if row is None:
                    raise NotFoundError("customer", customer.id)
                raise ConcurrencyError("customer", customer.id, customer.version, int(row[0]))
            self._conn.execute(
                "DELETE FROM customer_identifiers WHERE customer_id = ?", (customer.id,)
            )
            self._write_identifiers(customer.id, stored.identifiers)
        return stored

    def changed_since(
        self, since: datetime, *, after_id: str | None = None, limit: int | None = None
    ) -> Sequence[Customer]:
        """Return profiles changed at or after ``since`` (after ``after_id`` on ties)."""
        since_utc, limit = check_page(since, after_id, limit)
        micros = to_micros(since_utc)
        params: list[object]
        if after_id is None:
            where, params = "updated_us >= ?", [micros]
        else:
            where = "(updated_us > ? OR (updated_us = ? AND id > ?))"
            params = [micros, micros, after_id]
        sql = f"SELECT data, version FROM customers WHERE {where} ORDER BY updated_us, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return tuple(self._rows(sql, params))
