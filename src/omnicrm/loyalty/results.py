"""What the loyalty service returns: receipts, balances, expiring points, settlements."""

from __future__ import annotations

from datetime import date, datetime

import attrs

from omnicrm.events import DomainEvent
from omnicrm.loyalty.model import Allocation

__all__ = ["Balance", "CompanyBooks", "ExpiringPoints", "ExpiryReport", "Receipt", "Settlement"]


@attrs.frozen(kw_only=True)
class Receipt:
    """The outcome of one command.

    Attributes:
        command: the command's name ("earn", "spend", "hold", ...).
        program_id: the program.
        member_id: the member.
        points: the points the command moved (earned, spent, held, captured, ...).
        allocations: the grants created (earn) or drawn on (spend, hold, capture).
        hold_id: the hold, for hold, capture and release.
        details: further figures by name (``pending``, ``reversed``, ``restored``, ``debt``...).
        events: the domain events released by the commit (empty on a replay).
        replayed: True when an earlier run with the same idempotency key answered.

    """

    command: str
    program_id: str
    member_id: str
    points: int
    allocations: tuple[Allocation, ...] = ()
    hold_id: str | None = None
    details: tuple[tuple[str, int], ...] = ()
    events: tuple[DomainEvent, ...] = ()
    replayed: bool = False

    def detail(self, name: str) -> int:
        """Return the figure called ``name`` (0 when absent)."""
        return dict(self.details).get(name, 0)


@attrs.frozen(kw_only=True)
class Balance:
    """A member's points at one instant.

    Attributes:
        program_id: the program.
        member_id: the member.
        at: the instant.
        available: spendable points.
        pending: provisional points not yet confirmed.
        held: points reserved by active checkout holds.
        limited: the part of ``available`` that is limited-time.
        debt: points owed from returns, to be recovered from future earnings.
        expiring: available points by the local date they expire on, soonest first.

    """

    program_id: str
    member_id: str
    at: datetime
    available: int
    pending: int
    held: int
    limited: int
    debt: int
    expiring: tuple[tuple[date, int], ...]


@attrs.frozen(kw_only=True)
class ExpiringPoints:
    """Points of one grant that will expire soon.

    Attributes:
        grant_id: the grant.
        company: its issuer.
        points: the points that will lapse.
        expires_at: when.
        limited: whether they are limited-time points.

    """

    grant_id: str
    company: str
    points: int
    expires_at: datetime
    limited: bool


@attrs.frozen(kw_only=True)
class Settlement:
    """Points issued by one company and spent at another, over a period.

    Attributes:
        program_id: the program.
        start: first instant of the period (inclusive).
        end: end of the period (exclusive).
        matrix: ``(issuer, spender, points)`` net of restorations, for every non-zero pair.
        net: per company, what it receives (positive) or pays (negative) to the others.

    """

    program_id: str
    start: datetime
    end: datetime
    matrix: tuple[tuple[str, str, int], ...]
    net: tuple[tuple[str, int], ...]

    def owed(self, issuer: str, spender: str) -> int:
        """Points issued by ``issuer`` and spent at ``spender`` in the period."""
        return sum(p for i, s, p in self.matrix if (i, s) == (issuer, spender))


@attrs.frozen(kw_only=True)
class ExpiryReport:
    """What one :meth:`~omnicrm.loyalty.LoyaltyService.expire` run did.

    Attributes:
        members: members whose accounts were brought up to date.
        expired: points expired.
        confirmed: provisional points confirmed.
        lapsed: held points returned by lapsed holds.

    """

    members: int
    expired: int
    confirmed: int
    lapsed: int


@attrs.frozen(kw_only=True)
class CompanyBooks:
    """One company's points books at an instant, straight from the ledger.

    Attributes:
        company: the company.
        accounts: each account's balance, credits minus debits, by account name. Over
            all accounts they sum to zero: every entry is balanced within one company.
        liability: points the company owes its members (available + pending + held).
        receivable: points it is owed by the other companies for their points redeemed
            at it, minus what it owes them (negative: it pays).

    """

    company: str
    accounts: tuple[tuple[str, int], ...]
    liability: int
    receivable: int

    def balance(self, account: str) -> int:
        """Credits minus debits of ``account`` (0 when unused)."""
        return dict(self.accounts).get(account, 0)
