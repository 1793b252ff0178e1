"""What settling an account would write, worked out without writing (for read-only queries).

Confirmations, expiries and hold lapses are written lazily: by the member's next command
or by ``expire``. A query reading "as of now" gets the entries settling would append
from :func:`due_entries`, inside a read-only unit of work.
"""

from __future__ import annotations

from datetime import datetime

from omnicrm.ids import IdGenerator
from omnicrm.loyalty._books import Books
from omnicrm.loyalty.model import Account, Grant, Hold, evolve
from omnicrm.loyalty.ports import LoyaltyUnitOfWork
from omnicrm.loyalty.program import Program

__all__ = ["settled"]


class _PreviewBooks(Books):
    """Books whose row writes stay in this command's view; nothing reaches the store."""

    def save_grant(self, grant: Grant) -> Grant:
        return self._track(evolve(grant, version=grant.version + 1))

    def save_account(self, account: Account) -> Account:
        stored = evolve(account, version=account.version + 1)
        self._accounts[account.member_id] = stored
        return stored

    def save_hold(self, hold: Hold) -> Hold:
        return self._track_hold(evolve(hold, version=hold.version + 1))

    def flush(self) -> None:
        """Nothing to write."""


def settled(
    uow: LoyaltyUnitOfWork, program: Program, member_id: str, at: datetime, ids: IdGenerator
) -> Books:
    """Books with the member's account settled up to ``at``, in view only.

    ``NotFoundError`` if the member has no account. Its ``entries`` are those settling
    would append (unnumbered); ``live(member_id)`` the member's grants as settled.
    """
    books = _PreviewBooks(uow, program, at, ids)
    books.account(member_id)
    books.settle(member_id, at)
    return books
