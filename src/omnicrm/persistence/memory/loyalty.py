"""The in-memory loyalty repositories (the reference implementation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError
from omnicrm.loyalty.model import (
    Account,
    BalanceSummary,
    Grant,
    GrantSummary,
    Hold,
    HoldState,
    LedgerEntry,
    Order,
    evolve,
)
from omnicrm.persistence.memory._tables import Journal, Table

__all__ = [
    "LoyaltyTables",
    "MemoryAccountRepository",
    "MemoryGrantRepository",
    "MemoryHoldRepository",
    "MemoryLedgerRepository",
    "MemoryLoyaltyRepositories",
    "MemoryOrderRepository",
    "MemorySummaryRepository",
]

K = TypeVar("K")
R = TypeVar("R", Account, Grant, Hold, Order)
Member = tuple[str, str]
SummaryKey = tuple[str, bool, datetime | None, datetime | None]


class _Log:
    """An append-only list whose appends a journal can undo (newest first)."""

    def __init__(self) -> None:
        self.rows: list[LedgerEntry] = []
        self.by_member: dict[Member, list[int]] = {}

    def append(self, journal: Journal, entry: LedgerEntry) -> None:
        rows = self.rows
        index = self.by_member.setdefault((entry.program_id, entry.member_id), [])
        rows.append(entry)
        index.append(len(rows) - 1)

        def undo() -> None:
            rows.pop()
            index.pop()

        journal.record(undo)


class LoyaltyTables:
    """The committed loyalty state."""

    def __init__(self) -> None:
        self.accounts: Table[Member, Account] = Table()
        self.grants: Table[str, Grant] = Table()
        self.live_by_member: Table[Member, tuple[str, ...]] = Table()
        """Each member's grants with points left (``remaining > 0``)."""
        self.holds: Table[str, Hold] = Table()
        self.active_holds: Table[Member, frozenset[str]] = Table()
        self.orders: Table[Member, Order] = Table()
        self.ledger = _Log()
        self.summaries: dict[Member, dict[SummaryKey, GrantSummary]] = {}
        """Each member's grouped live grants, built on first read, then kept up to date."""
        self.balances: Table[Member, BalanceSummary] = Table()
        """Each member's balance summary, written by the commands."""


def _add(table: Table[K, R], journal: Journal, key: K, row: R, kind: str) -> R:
    if key in table:
        raise DuplicateError(kind, key)
    stored = evolve(row, version=1)
    table.put(journal, key, stored)
    return stored


def _update(table: Table[K, R], journal: Journal, key: K, row: R, kind: str) -> R:
    current = table.get(key)
    if current is None:
        raise NotFoundError(kind, key)
    if current.version != row.version:
        raise ConcurrencyError(kind, key, row.version, current.version)
    stored = evolve(row, version=row.version + 1)
    table.put(journal, key, stored)
    return stored


class _Repository:
    def __init__(self, tables: LoyaltyTables, journal: Journal) -> None:
        self._t = tables
        self._journal = journal


class MemoryAccountRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.AccountRepository` over journaled dicts."""

    def add(self, account: Account) -> Account:
        """Store a new account with version 1."""
        key = (account.program_id, account.member_id)
        return _add(self._t.accounts, self._journal, key, account, "loyalty account")

    def get(self, program_id: str, member_id: str) -> Account | None:
        """Return the account or ``None``."""
        return self._t.accounts.get((program_id, member_id))

    def update(self, account: Account) -> Account:
        """Replace the account if the version matches."""
        key = (account.program_id, account.member_id)
        return _update(self._t.accounts, self._journal, key, account, "loyalty account")

    def programs_of(self, member_id: str) -> Sequence[str]:
        """Programs the member has an account in."""
        return sorted(p for p, m in (k for k, _ in self._t.accounts.items()) if m == member_id)

    def rolling_due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members whose rolling expiry has come."""
        return sorted(
            a.member_id
            for a in self._t.accounts.values()
            if a.program_id == program_id
            and a.rolling_expires_at is not None
            and a.rolling_expires_at <= now
        )


class MemoryGrantRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.GrantRepository` over journaled dicts."""

    def _shift(self, member: Member, grant: Grant, sign: int) -> None:
        """Add (``sign`` 1) or remove (-1) a live grant in the member's cached summary.

        The summary is kept up to date rather than dropped, and each change is journaled,
        so a rollback restores it exactly.
        """
        cache = self._t.summaries.get(member)
        if cache is None or grant.remaining <= 0:
            return
        key = (grant.kind, grant.pending, grant.confirm_at, grant.expires_at)
        old = cache.get(key)
        total = (0 if old is None else old.remaining) + sign * grant.remaining
        if total:
            cache[key] = GrantSummary(
                kind=grant.kind,
                pending=grant.pending,
                confirm_at=grant.confirm_at,
                expires_at=grant.expires_at,
                remaining=total,
            )
        else:
            del cache[key]
        summaries = self._t.summaries

        def undo() -> None:
            if summaries.get(member) is cache:
                if old is None:
                    cache.pop(key, None)
                else:
                    cache[key] = old

        self._journal.record(undo)

    def _index(self, member: Member, grant_id: str, *, remove: bool = False) -> None:
        """Add or remove a grant id in the member's live-grant index."""
        ids = self._t.live_by_member.get(member) or ()
        ids = tuple(i for i in ids if i != grant_id) if remove else (*ids, grant_id)
        self._t.live_by_member.put(self._journal, member, ids)

    def add(self, grant: Grant) -> Grant:
        """Store a new grant with version 1."""
        stored = _add(self._t.grants, self._journal, grant.id, grant, "grant")
        if stored.remaining > 0:
            member = (grant.program_id, grant.member_id)
            self._index(member, grant.id)
            self._shift(member, stored, 1)
        return stored

    def get(self, grant_id: str) -> Grant:
        """Return the grant or raise ``NotFoundError``."""
        found = self._t.grants.get(grant_id)
        if found is None:
            raise NotFoundError("grant", grant_id)
        return found

    def get_many(self, grant_ids: Iterable[str]) -> Mapping[str, Grant]:
        """Return the existing grants among ``grant_ids``."""
        rows = self._t.grants
        return {i: g for i in grant_ids if (g := rows.get(i)) is not None}

    def update(self, grant: Grant) -> Grant:
        """Replace the grant if the version matches (its member may change: a merge)."""
        before = self._t.grants.get(grant.id)
        stored = _update(self._t.grants, self._journal, grant.id, grant, "grant")
        assert before is not None  # _update found it
        old, new = (before.program_id, before.member_id), (grant.program_id, grant.member_id)
        was_live, is_live = before.remaining > 0, stored.remaining > 0
        if was_live and (old != new or not is_live):
            self._index(old, grant.id, remove=True)
        if is_live and (old != new or not was_live):
            self._index(new, grant.id)
        self._shift(old, before, -1)
        self._shift(new, stored, 1)
        return stored

    def live(self, program_id: str, member_id: str) -> Sequence[Grant]:
        """The member's grants with points left, by id."""
        rows = self._t.grants
        ids = self._t.live_by_member.get((program_id, member_id)) or ()
        return [g for i in sorted(ids) if (g := rows.get(i)) is not None]

    def summary(self, program_id: str, member_id: str) -> Sequence[GrantSummary]:
        """Remaining points grouped by kind, state and dates (cached, kept up to date)."""
        member = (program_id, member_id)
        cached = self._t.summaries.get(member)
        if cached is not None:
            return list(cached.values())
        groups: dict[SummaryKey, int] = {}
        rows = self._t.grants
        for grant_id in self._t.live_by_member.get(member) or ():
            g = rows.get(grant_id)
            if g is None:
                continue
            key = (g.kind, g.pending, g.confirm_at, g.expires_at)
            groups[key] = groups.get(key, 0) + g.remaining
        found = {
            (k, p, c, e): GrantSummary(kind=k, pending=p, confirm_at=c, expires_at=e, remaining=r)
            for (k, p, c, e), r in groups.items()
        }
        if self._journal.clean:  # nothing written yet: this is committed state
            self._t.summaries[member] = found
        return list(found.values())

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members with a live grant confirming or expiring by ``now``."""
        return sorted(
            {
                g.member_id
                for g in self._t.grants.values()
                if g.program_id == program_id
                and g.remaining > 0
                and (
                    (g.pending and g.confirm_at is not None and g.confirm_at <= now)
                    or (g.expires_at is not None and g.expires_at <= now)
                )
            }
        )


class MemoryHoldRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.HoldRepository` over journaled dicts."""

    def _index(self, hold: Hold) -> None:
        member = (hold.program_id, hold.member_id)
        ids = self._t.active_holds.get(member) or frozenset()
        ids = ids | {hold.id} if hold.state == HoldState.ACTIVE else ids - {hold.id}
        self._t.active_holds.put(self._journal, member, ids)

    def add(self, hold: Hold) -> Hold:
        """Store a new hold with version 1."""
        stored = _add(self._t.holds, self._journal, hold.id, hold, "hold")
        self._index(stored)
        return stored

    def get(self, hold_id: str) -> Hold:
        """Return the hold or raise ``NotFoundError``."""
        found = self._t.holds.get(hold_id)
        if found is None:
            raise NotFoundError("hold", hold_id)
        return found

    def update(self, hold: Hold) -> Hold:
        """Replace the hold if the version matches."""
        stored = _update(self._t.holds, self._journal, hold.id, hold, "hold")
        self._index(stored)
        return stored

    def active(self, program_id: str, member_id: str) -> Sequence[Hold]:
        """The member's active holds, by id."""
        ids = self._t.active_holds.get((program_id, member_id)) or frozenset()
        return [self._t.holds.get(i) for i in sorted(ids)]  # type: ignore[misc]

    def due(self, program_id: str, now: datetime) -> Sequence[str]:
        """Members with an active hold expiring by ``now``."""
        members = set()
        for (program, member), ids in self._t.active_holds.items():
            if program == program_id:
                for hold_id in ids:
                    hold = self._t.holds.get(hold_id)
                    if hold is not None and hold.expires_at <= now:
                        members.add(member)
        return sorted(members)


class MemoryOrderRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.OrderRepository` over journaled dicts."""

    def add(self, order: Order) -> Order:
        """Store a new order with version 1."""
        key = (order.program_id, order.order_id)
        return _add(self._t.orders, self._journal, key, order, "order")

    def get(self, program_id: str, order_id: str) -> Order | None:
        """Return the order or ``None``."""
        return self._t.orders.get((program_id, order_id))

    def update(self, order: Order) -> Order:
        """Replace the order if the version matches."""
        key = (order.program_id, order.order_id)
        return _update(self._t.orders, self._journal, key, order, "order")


class MemorySummaryRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.SummaryRepository` over a journaled dict."""

    def get(self, program_id: str, member_id: str) -> BalanceSummary | None:
        """Return the member's summary or ``None``."""
        return self._t.balances.get((program_id, member_id))

    def put(self, summary: BalanceSummary) -> None:
        """Store the member's summary, replacing the one stored."""
        self._t.balances.put(self._journal, (summary.program_id, summary.member_id), summary)

    def drop(self, program_id: str, member_id: str) -> None:
        """Remove the member's summary if there is one."""
        self._t.balances.delete(self._journal, (program_id, member_id))


class MemoryLedgerRepository(_Repository):
    """:class:`~omnicrm.loyalty.ports.LedgerRepository` over a journaled list."""

    def append(self, entries: Sequence[LedgerEntry]) -> None:
        """Append entries with the next sequence numbers."""
        log = self._t.ledger
        for entry in entries:
            log.append(self._journal, evolve(entry, seq=len(log.rows) + 1))

    def for_member(
        self, program_id: str, member_id: str, *, until: datetime | None = None
    ) -> Sequence[LedgerEntry]:
        """The member's entries, by effect then seq."""
        rows = self._t.ledger.rows
        found = [rows[i] for i in self._t.ledger.by_member.get((program_id, member_id), ())]
        if until is not None:
            found = [e for e in found if e.effective_at <= until]
        return sorted(found, key=lambda e: (e.effective_at, e.seq))

    def between(self, program_id: str, start: datetime, end: datetime) -> Sequence[LedgerEntry]:
        """Entries effective in ``[start, end)``, by effect then seq."""
        found = [
            e
            for e in self._t.ledger.rows
            if e.program_id == program_id and start <= e.effective_at < end
        ]
        return sorted(found, key=lambda e: (e.effective_at, e.seq))


class MemoryLoyaltyRepositories:
    """The six loyalty repositories of one memory unit of work."""

    def __init__(self, tables: LoyaltyTables, journal: Journal) -> None:
        self.accounts = MemoryAccountRepository(tables, journal)
        self.grants = MemoryGrantRepository(tables, journal)
        self.holds = MemoryHoldRepository(tables, journal)
        self.orders = MemoryOrderRepository(tables, journal)
        self.ledger = MemoryLedgerRepository(tables, journal)
        self.summaries = MemorySummaryRepository(tables, journal)
