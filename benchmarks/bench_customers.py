"""Customer writes and lookups on memory and SQLite, beside raw sqlite3 doing the same rows.

Each write is one committed unit of work adding one customer with two identifiers; the
raw floor does the same INSERTs in one transaction per customer on a file with the
same tables, indexes and pragmas. Lookups find a customer by identifier key.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from _harness import Row, median_seconds, print_rows

from omnicrm.clock import to_micros
from omnicrm.customers import Customer, IdentifierKey, Profile
from omnicrm.customers.codec import customer_to_json
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.persistence.sqlite.schema import MIGRATIONS
from omnicrm.unit_of_work import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_customers(n: int) -> list[Customer]:
    return [
        Customer(
            id=f"c{i:07d}",
            created_at=T0,
            updated_at=T0,
            profile=Profile(
                family_name="山田",
                identifiers={
                    IdentifierKey.email(f"u{i}@example.jp"),
                    IdentifierKey.phone(f"090{i:08d}"),
                },
            ),
        )
        for i in range(n)
    ]


def omnicrm_writes(store: Store, customers: list[Customer]) -> None:
    for customer in customers:
        with store.unit_of_work() as uow:
            uow.customers.add(customer)
            uow.commit()


def omnicrm_lookups(store: Store, keys: list[IdentifierKey]) -> None:
    for key in keys:
        with store.unit_of_work() as uow:
            uow.customers.find_by_identifier(key)


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    for version in MIGRATIONS["customers"]:  # the very same tables and indexes
        for statement in version:
            conn.execute(statement)
    return conn


def raw_writes(conn: sqlite3.Connection, customers: list[Customer]) -> None:
    for customer in customers:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO customers (id, version, updated_us, data) VALUES (?, 1, ?, ?)",
            (customer.id, to_micros(customer.updated_at), customer_to_json(customer)),
        )
        conn.executemany(
            "INSERT INTO customer_identifiers (kind, value, customer_id) VALUES (?, ?, ?)",
            [(k.kind, k.value, customer.id) for k in customer.identifiers],
        )
        conn.execute("COMMIT")


def raw_lookups(conn: sqlite3.Connection, keys: list[IdentifierKey]) -> None:
    for key in keys:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "SELECT c.data, c.version FROM customer_identifiers i "
            "JOIN customers c ON c.id = i.customer_id "
            "WHERE i.kind = ? AND i.value = ? ORDER BY c.id",
            (key.kind, key.value),
        ).fetchall()
        conn.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    args = parser.parse_args()
    n = 200 if args.quick else args.customers
    repeats = 1 if args.quick else 5
    customers = make_customers(n)
    keys = [IdentifierKey.phone(f"090{i:08d}") for i in range(0, n, 3)]
    rows: list[Row] = []

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def fresh_sqlite() -> SQLiteStore:
            return SQLiteStore(Path(tmp) / f"s{next(counter)}.db")

        def fresh_raw() -> sqlite3.Connection:
            return raw_connection(Path(tmp) / f"r{next(counter)}.db")

        raw_w = median_seconds(lambda: raw_writes(fresh_raw(), customers), repeats)
        mem_w = median_seconds(lambda: omnicrm_writes(MemoryStore(), customers), repeats)
        sql_w = median_seconds(lambda: omnicrm_writes(fresh_sqlite(), customers), repeats)
        rows.append(("writes, memory (1 customer per commit)", f"{n} customers", mem_w, raw_w))
        rows.append(("writes, sqlite (1 customer per commit)", f"{n} customers", sql_w, raw_w))

        memory = MemoryStore()
        omnicrm_writes(memory, customers)
        sqlite_store = fresh_sqlite()
        omnicrm_writes(sqlite_store, customers)
        raw = fresh_raw()
        raw_writes(raw, customers)
        raw_l = median_seconds(lambda: raw_lookups(raw, keys), repeats)
        mem_l = median_seconds(lambda: omnicrm_lookups(memory, keys), repeats)
        sql_l = median_seconds(lambda: omnicrm_lookups(sqlite_store, keys), repeats)
        rows.append(("lookups by phone, memory", f"{len(keys)} of {n}", mem_l, raw_l))
        rows.append(("lookups by phone, sqlite", f"{len(keys)} of {n}", sql_l, raw_l))
        sqlite_store.close()

    print_rows("Customers: writes and lookups", rows, "raw sqlite3, same rows, same pragmas")
    print(
        f"\nthroughput: sqlite writes {n / sql_w:,.0f}/s (raw {n / raw_w:,.0f}/s); "
        f"memory writes {n / mem_w:,.0f}/s; sqlite lookups {len(keys) / sql_l:,.0f}/s"
    )


if __name__ == "__main__":
    main()
