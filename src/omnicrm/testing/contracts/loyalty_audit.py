"""A ledger audit for tests: the grant projection, holds and debts agree with the ledger.

:func:`audit_ledger` raises ``AssertionError`` naming the first disagreement. It reads
everything, so use it on small test stores. :func:`audit_summaries` checks that each
member's balance summary equals the balance counted from their grants and holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from omnicrm.loyalty._summary import balance_from_summary
from omnicrm.loyalty._views import counted_balance
from omnicrm.loyalty.model import EntryKind, HoldState, LedgerEntry
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.loyalty.program import Program

__all__ = ["audit_ledger", "audit_summaries"]

_MEMBER = ("member.available", "member.pending", "member.held")
_FAR = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def _signed(entry: LedgerEntry, account: str) -> int:
    return (entry.amount if entry.credit == account else 0) - (
        entry.amount if entry.debit == account else 0
    )


def audit_ledger(store: LoyaltyStore, program_ids: Iterable[str]) -> None:
    """Check every invariant of the loyalty books of ``program_ids`` in ``store``.

    - every entry moves a positive amount between two different accounts;
    - each grant's remaining points equal its available plus pending ledger balance, >= 0,
      all of it on the account of the member holding the grant (none left elsewhere);
    - each hold's held ledger balance equals its points while active, else 0;
    - each company's liability (member accounts) equals its grants' remaining points plus
      its points in active holds;
    - each member's debt equals the ledger's debt balance;
    - every spend, capture, hold and expiry names a grant issued by the entry's company.
    """
    with store.unit_of_work() as uow:
        for program_id in program_ids:
            entries = uow.loyalty_ledger.between(program_id, *_FAR)
            per_grant: dict[str, int] = defaultdict(int)
            per_holder: dict[tuple[str, str], int] = defaultdict(int)
            per_hold: dict[str, int] = defaultdict(int)
            liability: dict[str, int] = defaultdict(int)
            debt: dict[str, int] = defaultdict(int)
            for e in entries:
                assert e.amount > 0, e
                assert e.debit != e.credit, e
                if e.grant_id is not None:
                    moved = _signed(e, "member.available") + _signed(e, "member.pending")
                    per_grant[e.grant_id] += moved
                    per_holder[(e.grant_id, e.member_id)] += moved
                if "member.held" in (e.debit, e.credit):
                    assert e.ref is not None, e
                    per_hold[e.ref] += _signed(e, "member.held")
                for account in _MEMBER:
                    liability[e.company] += _signed(e, account)
                debt[e.member_id] -= _signed(e, "member.debt")
                if e.kind in (EntryKind.SPEND, EntryKind.CAPTURE, EntryKind.HOLD):
                    assert e.grant_id is not None, e
            grants = uow.loyalty_grants.get_many(per_grant)
            projected: dict[str, int] = defaultdict(int)
            for grant_id, balance in per_grant.items():
                grant = grants[grant_id]
                assert grant.remaining >= 0, grant
                assert grant.remaining == balance, (grant, balance)
                projected[grant.company] += grant.remaining
            for (grant_id, member_id), balance in per_holder.items():
                grant = grants[grant_id]
                expected = grant.remaining if member_id == grant.member_id else 0
                assert balance == expected, (grant, member_id, balance)
            for e in entries:
                if e.grant_id is not None:
                    assert grants[e.grant_id].company == e.company, e
            for hold_id, held in per_hold.items():
                hold = uow.loyalty_holds.get(hold_id)
                expected = hold.points if hold.state == HoldState.ACTIVE else 0
                assert held == expected, (hold, held)
                if hold.state == HoldState.ACTIVE:
                    for allocation in hold.allocations:
                        projected[allocation.company] += allocation.points
            for company in set(liability) | set(projected):
                assert liability[company] == projected[company], (
                    company,
                    liability[company],
                    projected[company],
                )
            for member_id, owed in debt.items():
                found = uow.loyalty_accounts.get(program_id, member_id)
                assert found is not None, member_id
                assert found.total_debt == owed >= 0, (found, owed)


def audit_summaries(
    store: LoyaltyStore, programs: Iterable[Program], members: Iterable[str], at: datetime
) -> int:
    """Check each member's stored balance summary against the balance counted at ``at``.

    A summary valid at ``at`` must equal the balance counted from the member's live
    grants and active holds. Returns how many summaries were valid (and so checked).
    """
    checked = 0
    members = list(members)
    with store.unit_of_work(read_only=True) as uow:
        for program in programs:
            for member_id in members:
                account = uow.loyalty_accounts.get(program.id, member_id)
                summary = uow.loyalty_summaries.get(program.id, member_id)
                if account is None or summary is None:
                    continue
                assert (summary.program_id, summary.member_id) == (program.id, member_id)
                if not summary.valid_at(at, program.time_zone):
                    continue
                counted = counted_balance(uow, program, account, at)
                assert balance_from_summary(summary, at, account.total_debt) == counted, (
                    summary,
                    counted,
                )
                checked += 1
    return checked
