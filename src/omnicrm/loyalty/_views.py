"""Read-only views of the ledger: balances (now and as of any instant), settlements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty._books import ACTIVITY, AVAILABLE, DEBT, HELD, PENDING, REDEEMED
from omnicrm.loyalty._summary import Tally, balance_from_summary
from omnicrm.loyalty.model import Account, Allocation, GrantKind, LedgerEntry
from omnicrm.loyalty.ports import LoyaltyUnitOfWork
from omnicrm.loyalty.program import Program
from omnicrm.loyalty.results import Balance, CompanyBooks, Settlement

__all__ = [
    "balance_as_of",
    "balance_now",
    "company_books",
    "counted_balance",
    "settlement",
]


def balance_now(
    uow: LoyaltyUnitOfWork, program: Program, account: Account, at: datetime
) -> Balance:
    """The balance at ``at``: the member's summary row while valid, else counted from grants."""
    summary = uow.loyalty_summaries.get(program.id, account.member_id)
    if summary is not None and summary.valid_at(at, program.time_zone):
        return balance_from_summary(summary, at, account.total_debt)
    return counted_balance(uow, program, account, at)


def counted_balance(
    uow: LoyaltyUnitOfWork, program: Program, account: Account, at: datetime
) -> Balance:
    """The balance at ``at`` from the grant projection (grouped remaining points)."""
    tally = Tally(program, account.member_id, at)
    rolling = account.rolling_expires_at
    add = tally.add
    for row in uow.loyalty_grants.summary(program.id, account.member_id):
        kind = row.kind
        expiry = rolling if kind == GrantKind.ROLLING else row.expires_at
        add(row.remaining, kind, row.pending, row.confirm_at, expiry)
    lapsed: list[Allocation] = []
    for hold in uow.loyalty_holds.active(program.id, account.member_id):
        if hold.expires_at > at:
            tally.hold(hold.points, hold.expires_at)
        else:
            lapsed.extend(hold.allocations)
    if lapsed:
        grants = uow.loyalty_grants.get_many(a.grant_id for a in lapsed)
        for allocation in lapsed:
            grant = grants[allocation.grant_id]
            tally.add(
                allocation.points,
                kind=grant.kind,
                pending=False,
                confirm_at=None,
                expiry=rolling if grant.kind == GrantKind.ROLLING else grant.expires_at,
            )
    return tally.balance(account.total_debt)


def _signed(entry: LedgerEntry, account: str) -> int:
    if entry.credit == account:
        return entry.amount
    if entry.debit == account:
        return -entry.amount
    return 0


def balance_as_of(
    uow: LoyaltyUnitOfWork, program: Program, account: Account, at: datetime
) -> Balance:
    """The balance at a past instant, replayed from the member's ledger entries."""
    entries = uow.loyalty_ledger.for_member(program.id, account.member_id, until=at)
    per_grant: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    held: dict[tuple[str, str], int] = defaultdict(int)
    debt = 0
    last_activity: datetime | None = None
    for entry in entries:
        debt -= _signed(entry, DEBT)
        if entry.kind in ACTIVITY:
            last_activity = max(last_activity or entry.effective_at, entry.effective_at)
        if entry.grant_id is None:
            continue
        sums = per_grant[entry.grant_id]
        sums[0] += _signed(entry, AVAILABLE)
        sums[1] += _signed(entry, PENDING)
        if HELD in (entry.debit, entry.credit) and entry.ref is not None:
            held[(entry.ref, entry.grant_id)] += _signed(entry, HELD)
    rolling = None if last_activity is None else cal.fixed_expiry(program, last_activity)
    grants = uow.loyalty_grants.get_many(per_grant)
    tally = Tally(program, account.member_id, at)
    for grant_id, (available, pending) in per_grant.items():
        grant = grants[grant_id]
        expiry = rolling if grant.kind == GrantKind.ROLLING else grant.expires_at
        common = {"kind": grant.kind, "expiry": expiry}
        tally.add(available, pending=False, confirm_at=None, **common)  # type: ignore[arg-type]
        tally.add(pending, pending=True, confirm_at=grant.confirm_at, **common)  # type: ignore[arg-type]
    for (hold_id, grant_id), points in held.items():
        if points <= 0:
            continue
        hold = uow.loyalty_holds.get(hold_id)
        if hold.expires_at > at:
            tally.hold(points, hold.expires_at)
        else:
            grant = grants[grant_id]
            expiry = rolling if grant.kind == GrantKind.ROLLING else grant.expires_at
            tally.add(points, kind=grant.kind, pending=False, confirm_at=None, expiry=expiry)
    return tally.balance(debt)


def settlement(
    program: Program, entries: Iterable[LedgerEntry], start: datetime, end: datetime
) -> Settlement:
    """The issuer x spender matrix of points redeemed in ``[start, end)``, and net positions."""
    matrix: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        points = _signed(entry, REDEEMED)
        if points and entry.counterparty is not None:
            matrix[(entry.company, entry.counterparty)] += points
    net: dict[str, int] = dict.fromkeys(sorted(program.companies), 0)
    for (issuer, spender), points in matrix.items():
        if issuer != spender:
            net[spender] = net.get(spender, 0) + points
            net[issuer] = net.get(issuer, 0) - points
    return Settlement(
        program_id=program.id,
        start=start,
        end=end,
        matrix=tuple(sorted((i, s, p) for (i, s), p in matrix.items() if p)),
        net=tuple(sorted(net.items())),
    )


def company_books(
    program: Program, entries: Iterable[LedgerEntry], start: datetime, end: datetime
) -> tuple[CompanyBooks, ...]:
    """Every company's account balances and positions from ``entries``."""
    entries = list(entries)
    balances: dict[str, dict[str, int]] = {c: defaultdict(int) for c in program.companies}
    for entry in entries:
        books = balances.setdefault(entry.company, defaultdict(int))
        books[entry.credit] += entry.amount
        books[entry.debit] -= entry.amount
    net = dict(settlement(program, entries, start, end).net)
    return tuple(
        CompanyBooks(
            company=company,
            accounts=tuple(sorted((a, b) for a, b in accounts.items() if b)),
            liability=sum(accounts.get(a, 0) for a in (AVAILABLE, PENDING, HELD)),
            receivable=net.get(company, 0),
        )
        for company, accounts in sorted(balances.items())
    )
