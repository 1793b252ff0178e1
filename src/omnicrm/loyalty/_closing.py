"""Closing a member's account: holds released, every point left forfeited by entries.

Used when a person leaves the programme or asks for their personal data to be erased.
The ledger keeps its entries (the group's books and settlements must still add up); they
carry only the member id, an opaque key that no longer leads to a person once the
identity store has erased them.
"""

from __future__ import annotations

from omnicrm.loyalty._books import Books
from omnicrm.loyalty.model import EntryKind, HoldState, evolve

__all__ = ["forfeit_all", "release_holds"]


def release_holds(books: Books, member_id: str) -> None:
    """Release every active hold of ``member_id`` back onto its grants."""
    at = books.now
    for hold in books.active_holds(member_id):
        books.release(hold, [(a, a.points) for a in hold.allocations], EntryKind.RELEASE, at)
        books.save_hold(evolve(hold, state=HoldState.RELEASED))


def forfeit_all(books: Books, member_id: str, reason: str) -> int:
    """Forfeit every point ``member_id`` has left: return how many points were forfeited.

    Confirmed points are expired now and provisional points cancelled, each by an entry
    whose ``ref`` is ``reason``; grants keep their history, with nothing left on them.
    """
    at = books.now
    books.settle(member_id, at)
    release_holds(books, member_id)
    forfeited = 0
    for grant in sorted(books.live(member_id), key=lambda g: g.id):
        if grant.remaining <= 0:
            continue
        forfeited += grant.remaining
        kind = EntryKind.CANCEL if grant.pending else EntryKind.EXPIRE
        books.write_off(grant, kind, at, ref=reason)
    return forfeited
