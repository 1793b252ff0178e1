"""Merged and unmerged members: live grants move with expiry and issuer intact."""

from __future__ import annotations

from collections.abc import Callable

from omnicrm.loyalty._books import AVAILABLE, PENDING, TRANSFER, Books
from omnicrm.loyalty.model import Account, EntryKind, Grant, HoldState, evolve

__all__ = ["move_grants"]


def _later(a: Account, b: Account) -> Account:
    dates = [d for d in (a.rolling_expires_at, b.rolling_expires_at) if d is not None]
    return evolve(a, rolling_expires_at=max(dates) if dates else None)


def move_grants(
    books: Books,
    source: str,
    target: str,
    select: Callable[[Grant], bool],
    mark: Callable[[Grant], Grant],
) -> int:
    """Move the selected live grants of ``source`` onto ``target``; return points moved.

    ``source``'s active holds are released first, so held points move too.
    """
    at = books.now
    books.settle(source, at)
    books.ensure_account(target)
    books.settle(target, at)
    for hold in books.active_holds(source):
        books.release(hold, [(a, a.points) for a in hold.allocations], EntryKind.RELEASE, at)
        books.save_hold(evolve(hold, state=HoldState.RELEASED))
    moved = 0
    for grant in sorted(books.live(source), key=lambda g: g.id):
        if not select(grant):
            continue
        state = PENDING if grant.pending else AVAILABLE
        common = {"company": grant.company, "amount": grant.remaining, "at": at}
        books.post(
            EntryKind.MERGE_OUT,
            member_id=source,
            grant_id=grant.id,
            counterparty=None,
            ref=target,
            accounts=(state, TRANSFER),
            **common,  # type: ignore[arg-type]
        )
        books.post(
            EntryKind.MERGE_IN,
            member_id=target,
            grant_id=grant.id,
            ref=source,
            accounts=(TRANSFER, state),
            **common,  # type: ignore[arg-type]
        )
        books.save_grant(mark(evolve(grant, member_id=target)))
        moved += grant.remaining
    if books.program.rolling:
        books.save_account(_later(books.account(target), books.account(source)))
    return moved
