"""The SQLite loyalty repositories: conditional (version-checked) writes, append-only ledger."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError
from omnicrm.loyalty.codec import (
    allocations_to_json,
    dumps,
    parts_from_json,
    parts_to_json,
)
from omnicrm.loyalty.model import Account, Grant, GrantSummary, Hold, LedgerEntry, Order, evolve
from omnicrm.persistence._sql import (
    DRIVER_ERRORS,
    INTEGRITY_ERRORS,
    SQLConnection,
    translate_errors,
)
from omnicrm.persistence.sqlite._loyalty_rows import (
    ENTRY_COLUMNS,
    ENTRY_SELECT,
    GRANT_COLUMNS,
    GRANT_SELECT,
    HOLD_COLUMNS,
    HOLD_SELECT,
    ORDER_COLUMNS,
    at,
    entry_row,
    grant_row,
    hold_row,
    us,
)
from omnicrm.persistence.sqlite._loyalty_summaries import SQLiteSummaryRepository

__all__ = [
    "MIGRATION",
    "MIGRATION_V2",
    "SQLiteAccountRepository",
    "SQLiteGrantRepository",
    "SQLiteHoldRepository",
    "SQLiteLedgerRepository",
    "SQLiteLoyaltyRepositories",
    "SQLiteOrderRepository",
    "SQLiteSummaryRepository",
]


MIGRATION: tuple[str, ...] = (
    """CREATE TABLE loyalty_accounts (
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_us INTEGER NOT NULL,
            debt TEXT NOT NULL,
            rolling_us INTEGER,
            PRIMARY KEY (program_id, member_id)
        ) WITHOUT ROWID""",
    "CREATE INDEX loyalty_accounts_member ON loyalty_accounts (member_id)",
    "CREATE INDEX loyalty_accounts_rolling ON loyalty_accounts (program_id, rolling_us) "
    "WHERE rolling_us IS NOT NULL",
    """CREATE TABLE loyalty_grants (
            id TEXT PRIMARY KEY,
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            company TEXT NOT NULL,
            kind TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            remaining INTEGER NOT NULL CHECK (remaining >= 0),
            granted_us INTEGER NOT NULL,
            expires_us INTEGER,
            pending INTEGER NOT NULL,
            confirm_us INTEGER,
            order_id TEXT,
            merged_from TEXT,
            merge_id TEXT,
            version INTEGER NOT NULL
        )""",
    "CREATE INDEX loyalty_grants_live ON loyalty_grants "
    "(program_id, member_id, kind, pending, confirm_us, expires_us, remaining) "
    "WHERE remaining > 0",
    "CREATE INDEX loyalty_grants_expiry ON loyalty_grants (program_id, expires_us) "
    "WHERE remaining > 0",
    "CREATE INDEX loyalty_grants_confirm ON loyalty_grants (program_id, confirm_us) "
    "WHERE remaining > 0 AND pending = 1",
    """CREATE TABLE loyalty_holds (
            id TEXT PRIMARY KEY,
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            company TEXT NOT NULL,
            channel TEXT NOT NULL,
            order_id TEXT,
            points INTEGER NOT NULL CHECK (points > 0),
            allocations TEXT NOT NULL,
            created_us INTEGER NOT NULL,
            expires_us INTEGER NOT NULL,
            state TEXT NOT NULL,
            captured INTEGER NOT NULL,
            version INTEGER NOT NULL
        )""",
    "CREATE INDEX loyalty_holds_active ON loyalty_holds (program_id, member_id) "
    "WHERE state = 'active'",
    "CREATE INDEX loyalty_holds_due ON loyalty_holds (program_id, expires_us) "
    "WHERE state = 'active'",
    """CREATE TABLE loyalty_orders (
            program_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            gross INTEGER NOT NULL,
            points_used INTEGER NOT NULL,
            earned TEXT NOT NULL,
            spent TEXT NOT NULL,
            returned INTEGER NOT NULL,
            earned_us INTEGER,
            version INTEGER NOT NULL,
            PRIMARY KEY (program_id, order_id)
        ) WITHOUT ROWID""",
    """CREATE TABLE loyalty_entries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            company TEXT NOT NULL,
            grant_id TEXT,
            kind TEXT NOT NULL,
            debit TEXT NOT NULL,
            credit TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            counterparty TEXT,
            ref TEXT,
            effective_us INTEGER NOT NULL,
            recorded_us INTEGER NOT NULL
        )""",
    "CREATE INDEX loyalty_entries_member ON loyalty_entries (program_id, member_id, effective_us)",
    "CREATE INDEX loyalty_entries_effective ON loyalty_entries (program_id, effective_us)",
)
"""Version 1 of the ``loyalty`` schema component (listed in :mod:`.schema`)."""

_ENTRY_TABLE = """(
            seq INTEGER PRIMARY KEY,
            program_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            company TEXT NOT NULL,
            grant_id TEXT,
            kind TEXT NOT NULL,
            debit TEXT NOT NULL,
            credit TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount > 0),
            counterparty TEXT,
            ref TEXT,
            effective_us INTEGER NOT NULL,
            recorded_us INTEGER NOT NULL
        )"""

MIGRATION_V2: tuple[str, ...] = (
    # Fewer pages written per command. The expiry sweeps (``due``) scan the live-grant
    # and active-hold indexes instead of keeping indexes of their own up to date.
    "DROP INDEX loyalty_grants_expiry",
    "DROP INDEX loyalty_grants_confirm",
    "DROP INDEX loyalty_holds_due",
    # The ledger is append-only (never a delete), so a plain INTEGER PRIMARY KEY numbers
    # entries in order as AUTOINCREMENT did, without a sqlite_sequence write per command.
    f"CREATE TABLE loyalty_entries_v2 {_ENTRY_TABLE}",
    "INSERT INTO loyalty_entries_v2 SELECT * FROM loyalty_entries ORDER BY seq",
    "DROP TABLE loyalty_entries",
    "ALTER TABLE loyalty_entries_v2 RENAME TO loyalty_entries",
    "CREATE INDEX loyalty_entries_member ON loyalty_entries (program_id, member_id, effective_us)",
    "CREATE INDEX loyalty_entries_effective ON loyalty_entries (program_id, effective_us)",
)
"""Version 2 of the ``loyalty`` schema component: fewer index writes per command."""

_CHUNK = 500
_UPDATES: dict[tuple[str, ...], str] = {}
"""``UPDATE`` statements by table and columns, built once."""
_INSERTS: dict[tuple[str, ...], str] = {}
"""``INSERT`` statements by table and columns, built once."""


class _Repository:
    _table = ""
    _kind = ""
    _key: tuple[str, ...] = ()

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _all(self, sql: str, params: Sequence[object]) -> list[Any]:
        try:  # no context manager on the hot path: it costs more than the query
            return self._conn.execute(sql, params).fetchall()
        except DRIVER_ERRORS:
            with translate_errors(f"read {self._kind}s"):
                raise

    def _insert(self, columns: Sequence[str], values: Sequence[object], key: object) -> None:
        sql = _INSERTS.get((self._table, *columns))
        if sql is None:
            marks = ",".join("?" * len(columns))
            sql = f"INSERT INTO {self._table} ({','.join(columns)}) VALUES ({marks})"
            _INSERTS[(self._table, *columns)] = sql
        try:
            self._conn.execute(sql, values)
        except INTEGRITY_ERRORS as exc:
            raise DuplicateError(self._kind, key) from exc
        except DRIVER_ERRORS:
            with translate_errors(f"add a {self._kind}"):
                raise

    def _replace(
        self, columns: Sequence[str], values: Sequence[object], key: Sequence[object], version: int
    ) -> None:
        """``UPDATE ... WHERE key AND version = ?``: a conditional write, checked by rowcount."""
        where = " AND ".join(f"{k} = ?" for k in self._key)
        sql = _UPDATES.get((self._table, *columns))
        if sql is None:
            sets = ", ".join(f"{c} = ?" for c in columns)
            sql = f"UPDATE {self._table} SET {sets}, version = ? WHERE {where} AND version = ?"
            _UPDATES[(self._table, *columns)] = sql
        try:
            rowcount = self._conn.execute(sql, (*values, version + 1, *key, version)).rowcount
        except DRIVER_ERRORS:
            with translate_errors(f"update a {self._kind}"):
                raise
        if rowcount != 1:
            with translate_errors(f"update a {self._kind}"):
                row = self._conn.execute(
                    f"SELECT version FROM {self._table} WHERE {where}", tuple(key)
                ).fetchone()
                label = key[0] if len(key) == 1 else tuple(key)
                if row is None:
                    raise NotFoundError(self._kind, label)
                raise ConcurrencyError(self._kind, label, version, int(row[0]))


class SQLiteAccountRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.AccountRepository` on ``loyalty_accounts``."""

    _table, _kind, _key = "loyalty_accounts", "loyalty account", ("program_id", "member_id")

    @staticmethod
    def _row(row: Sequence[Any]) -> Account:
        program_id, member_id, version, created, debt, rolling = row
        return Account(
            program_id=program_id,
            member_id=member_id,
            version=version,
            created_at=from_micros(created),
            debt=tuple((c, a) for c, a in json.loads(debt)),
            rolling_expires_at=at(rolling),
        )

    def add(self, account: Account) -> Account:
        """Store a new account with version 1."""
        stored = evolve(account, version=1)
        self._insert(
            ("program_id", "member_id", "version", "created_us", "debt", "rolling_us"),
            (
                stored.program_id,
                stored.member_id,
                1,
                to_micros(stored.created_at),
                dumps([list(d) for d in stored.debt]),
                us(stored.rolling_expires_at),
            ),
            (stored.program_id, stored.member_id),
        )
        return stored

    def get(self, program_id: str, member_id: str) -> Account | None:
        """Return the account or ``None``."""
        rows = self._all(
            "SELECT program_id, member_id, version, created_us, debt, rolling_us "
            "FROM loyalty_accounts WHERE program_id = ? AND member_id = ?",
            (program_id, member_id),
        )
        return self._row(rows[0]) if rows else None

    def update(self, account: Account) -> Account:
        """Replace the account if the version matches."""
        self._replace(
            ("debt", "rolling_us"),
            (dumps([list(d) for d in account.debt]), us(account.rolling_expires_at)),
            (account.program_id, account.member_id),
            account.version,
        )
        return evolve(account, version=account.version + 1)

    def programs_of(self, member_id: str) -> Sequence[str]:
        """Programs the member has an account in."""
        rows = self._all(
            "SELECT program_id FROM loyalty_accounts WHERE member_id = ? ORDER BY program_id",
            (member_id,),
        )
        return [r[0] for r in rows]

    def rolling_due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members whose rolling expiry has come."""
        rows = self._all(
            "SELECT member_id FROM loyalty_accounts WHERE program_id = ? "
            "AND rolling_us IS NOT NULL AND rolling_us <= ? ORDER BY member_id",
            (program_id, to_micros(now)),
        )
        return [r[0] for r in rows]


class SQLiteGrantRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.GrantRepository` on ``loyalty_grants``."""

    _table, _kind, _key = "loyalty_grants", "grant", ("id",)

    def add(self, grant: Grant) -> Grant:
        """Store a new grant with version 1."""
        g = evolve(grant, version=1)
        self._insert(
            GRANT_COLUMNS,
            (
                g.id,
                g.program_id,
                g.member_id,
                g.company,
                g.kind,
                g.amount,
                g.remaining,
                to_micros(g.granted_at),
                us(g.expires_at),
                int(g.pending),
                us(g.confirm_at),
                g.order_id,
                g.merged_from,
                g.merge_id,
                1,
            ),
            g.id,
        )
        return g

    def get(self, grant_id: str) -> Grant:
        """Return the grant or raise ``NotFoundError``."""
        rows = self._all(f"{GRANT_SELECT} WHERE id = ?", (grant_id,))
        if not rows:
            raise NotFoundError("grant", grant_id)
        return grant_row(rows[0])

    def get_many(self, grant_ids: Iterable[str]) -> Mapping[str, Grant]:
        """Return the existing grants among ``grant_ids``."""
        ids = list(dict.fromkeys(grant_ids))
        found: dict[str, Grant] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._all(f"{GRANT_SELECT} WHERE id IN ({marks})", chunk):
                found[row[0]] = grant_row(row)
        return found

    def update(self, grant: Grant) -> Grant:
        """Replace the grant if the version matches (its remaining points never below 0)."""
        self._replace(
            ("member_id", "remaining", "pending", "merged_from", "merge_id"),
            (
                grant.member_id,
                grant.remaining,
                int(grant.pending),
                grant.merged_from,
                grant.merge_id,
            ),
            (grant.id,),
            grant.version,
        )
        return evolve(grant, version=grant.version + 1)

    def live(self, program_id: str, member_id: str) -> Sequence[Grant]:
        """The member's grants with points left, by id."""
        rows = self._all(
            f"{GRANT_SELECT} WHERE program_id = ? AND member_id = ? AND remaining > 0 ORDER BY id",
            (program_id, member_id),
        )
        return [grant_row(r) for r in rows]

    def summary(self, program_id: str, member_id: str) -> Sequence[GrantSummary]:
        """Remaining points grouped by kind, state and dates."""
        rows = self._all(
            "SELECT kind, pending, confirm_us, expires_us, CAST(SUM(remaining) AS BIGINT) "
            "FROM loyalty_grants "
            "WHERE program_id = ? AND member_id = ? AND remaining > 0 "
            "GROUP BY kind, pending, confirm_us, expires_us",
            (program_id, member_id),
        )
        return [
            GrantSummary(kind=k, pending=p == 1, confirm_at=at(c), expires_at=at(e), remaining=r)
            for k, p, c, e, r in rows
        ]

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members with a live grant confirming or expiring by ``now``."""
        micros = to_micros(now)
        rows = self._all(  # one pass over the live-grant index, in member order
            "SELECT DISTINCT member_id FROM loyalty_grants WHERE program_id = ? "
            "AND remaining > 0 AND (expires_us <= ? OR (pending = 1 AND confirm_us <= ?)) "
            "ORDER BY member_id",
            (program_id, micros, micros),
        )
        return [r[0] for r in rows]


class SQLiteHoldRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.HoldRepository` on ``loyalty_holds``."""

    _table, _kind, _key = "loyalty_holds", "hold", ("id",)

    def add(self, hold: Hold) -> Hold:
        """Store a new hold with version 1."""
        h = evolve(hold, version=1)
        self._insert(
            HOLD_COLUMNS,
            (
                h.id,
                h.program_id,
                h.member_id,
                h.company,
                h.channel,
                h.order_id,
                h.points,
                allocations_to_json(h.allocations),
                to_micros(h.created_at),
                to_micros(h.expires_at),
                h.state,
                h.captured,
                1,
            ),
            h.id,
        )
        return h

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        rows = self._all(f"{HOLD_SELECT} WHERE id = ?", (hold_id,))
        if not rows:
            raise NotFoundError("hold", hold_id)
        return hold_row(rows[0])

    def update(self, hold: Hold) -> Hold:
        """Replace the hold if the version matches."""
        self._replace(("state", "captured"), (hold.state, hold.captured), (hold.id,), hold.version)
        return evolve(hold, version=hold.version + 1)

    def active(self, program_id: str, member_id: str) -> Sequence[Hold]:
        """The member's active holds, by id."""
        rows = self._all(
            f"{HOLD_SELECT} WHERE program_id = ? AND member_id = ? AND state = 'active' "
            "ORDER BY id",
            (program_id, member_id),
        )
        return [hold_row(r) for r in rows]

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members with an active hold expiring by ``now``."""
        rows = self._all(
            "SELECT DISTINCT member_id FROM loyalty_holds WHERE program_id = ? "
            "AND state = 'active' AND expires_us <= ? ORDER BY member_id",
            (program_id, to_micros(now)),
        )
        return [r[0] for r in rows]


class SQLiteOrderRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.OrderRepository` on ``loyalty_orders``."""

    _table, _kind, _key = "loyalty_orders", "order", ("program_id", "order_id")

    @staticmethod
    def _values(o: Order) -> tuple[object, ...]:
        return (
            o.gross,
            o.points_used,
            parts_to_json(o.earned),
            parts_to_json(o.spent),
            o.returned,
            us(o.earned_at),
        )

    def add(self, order: Order) -> Order:
        """Store a new order with version 1."""
        o = evolve(order, version=1)
        self._insert(
            ORDER_COLUMNS,
            (o.program_id, o.order_id, o.member_id, *self._values(o), 1),
            (o.program_id, o.order_id),
        )
        return o

    def get(self, program_id: str, order_id: str) -> Order | None:
        """Return the order or ``None``."""
        rows = self._all(
            f"SELECT {', '.join(ORDER_COLUMNS)} FROM loyalty_orders "
            "WHERE program_id = ? AND order_id = ?",
            (program_id, order_id),
        )
        if not rows:
            return None
        p, o, m, gross, used, earned, spent, returned, earned_us, version = rows[0]
        return Order(
            program_id=p,
            order_id=o,
            member_id=m,
            gross=gross,
            points_used=used,
            earned=parts_from_json(earned),
            spent=parts_from_json(spent),
            returned=returned,
            earned_at=at(earned_us),
            version=version,
        )

    def update(self, order: Order) -> Order:
        """Replace the order if the version matches."""
        self._replace(
            ORDER_COLUMNS[3:9],
            self._values(order),
            (order.program_id, order.order_id),
            order.version,
        )
        return evolve(order, version=order.version + 1)


class SQLiteLedgerRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.LedgerRepository` on ``loyalty_entries`` (insert only)."""

    _table, _kind = "loyalty_entries", "ledger entry"

    def append(self, entries: Sequence[LedgerEntry]) -> None:
        """Append entries; SQLite numbers them in order."""
        marks = ",".join("?" * (len(ENTRY_COLUMNS) - 1))
        with translate_errors("append ledger entries"):
            self._conn.executemany(
                f"INSERT INTO loyalty_entries ({', '.join(ENTRY_COLUMNS[1:])}) VALUES ({marks})",
                [
                    (
                        e.program_id,
                        e.member_id,
                        e.company,
                        e.grant_id,
                        e.kind,
                        e.debit,
                        e.credit,
                        e.amount,
                        e.counterparty,
                        e.ref,
                        to_micros(e.effective_at),
                        to_micros(e.recorded_at),
                    )
                    for e in entries
                ],
            )

    def for_member(
        self, program_id: str, member_id: str, *, until: datetime | None = None
    ) -> Sequence[LedgerEntry]:
        """The member's entries, by effect then seq."""
        sql = f"{ENTRY_SELECT} WHERE program_id = ? AND member_id = ?"
        params: list[object] = [program_id, member_id]
        if until is not None:
            sql += " AND effective_us <= ?"
            params.append(to_micros(until))
        return [entry_row(r) for r in self._all(sql + " ORDER BY effective_us, seq", params)]

    def between(self, program_id: str, start: datetime, end: datetime) -> Sequence[LedgerEntry]:
        """Entries effective in ``[start, end)``, by effect then seq."""
        rows = self._all(
            f"{ENTRY_SELECT} WHERE program_id = ? AND effective_us >= ? AND effective_us < ? "
            "ORDER BY effective_us, seq",
            (program_id, to_micros(start), to_micros(end)),
        )
        return [entry_row(r) for r in rows]


class SQLiteLoyaltyRepositories:
    """The six loyalty repositories of one SQLite unit of work."""

    def __init__(self, conn: SQLConnection) -> None:
        self.accounts = SQLiteAccountRepository(conn)
        self.grants = SQLiteGrantRepository(conn)
        self.holds = SQLiteHoldRepository(conn)
        self.orders = SQLiteOrderRepository(conn)
        self.ledger = SQLiteLedgerRepository(conn)
        self.summaries = SQLiteSummaryRepository(conn)
