"""Counting a member's balance from grants and holds, and the summary commands keep.

:class:`Tally` is the one place that decides which remaining points are available,
pending or gone at an instant; the balance read from grant groups, the balance replayed
from the ledger and the :class:`~omnicrm.loyalty.model.BalanceSummary` every command
writes all count through it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty.model import Account, BalanceSummary, Grant, GrantKind, Hold
from omnicrm.loyalty.program import Program
from omnicrm.loyalty.results import Balance

__all__ = ["Tally", "balance_from_summary", "summarize"]


class Tally:
    """Points of one member at one instant, added up group by group.

    Args:
        program: the program.
        member_id: the member.
        at: the instant.

    """

    def __init__(self, program: Program, member_id: str, at: datetime) -> None:
        self.program, self.member_id, self.at = program, member_id, at
        self.available = self.pending = self.held = self.limited = 0
        self.by_date: dict[date, int] = {}
        self.changes_at: datetime | None = None
        """The first instant after ``at`` at which the tally changes by time alone."""
        self._day = cal.expiry_days(program)

    def add(
        self,
        points: int,
        kind: str,
        pending: bool,
        confirm_at: datetime | None,
        expiry: datetime | None,
    ) -> None:
        """Count ``points`` of one grant (group) with its state and dates."""
        at = self.at
        if points <= 0 or expiry is None or expiry <= at:
            return
        if self.changes_at is None or expiry < self.changes_at:
            self.changes_at = expiry
        if pending and (confirm_at is None or confirm_at > at):
            self.pending += points
            if confirm_at is not None and confirm_at < self.changes_at:
                self.changes_at = confirm_at
            return
        self.available += points
        if kind == GrantKind.LIMITED:
            self.limited += points
        day = self._day(expiry)
        self.by_date[day] = self.by_date.get(day, 0) + points

    def hold(self, points: int, expires_at: datetime) -> None:
        """Count the points of an active hold that has not lapsed at ``at``."""
        self.held += points
        if expires_at > self.at and (self.changes_at is None or expires_at < self.changes_at):
            self.changes_at = expires_at

    def balance(self, debt: int) -> Balance:
        """The balance counted so far."""
        return Balance(
            program_id=self.program.id,
            member_id=self.member_id,
            at=self.at,
            available=self.available,
            pending=self.pending,
            held=self.held,
            limited=self.limited,
            debt=debt,
            expiring=tuple(sorted(self.by_date.items())),
        )


def summarize(
    program: Program,
    account: Account,
    at: datetime,
    grants: Iterable[Grant],
    holds: Iterable[Hold],
) -> BalanceSummary:
    """The summary of a member's balance from their live grants and active holds.

    An active hold already past its timeout (not lapsed yet) would give its points back
    to grants the summary does not see: the summary is then valid nowhere, and readers
    count the balance from the grants instead.
    """
    tally = Tally(program, account.member_id, at)
    rolling = account.rolling_expires_at
    add, rolling_kind = tally.add, GrantKind.ROLLING
    for g in grants:
        expiry = rolling if g.kind == rolling_kind else g.expires_at
        add(g.remaining, g.kind, g.pending, g.confirm_at, expiry)
    valid = True
    for hold in holds:
        if hold.expires_at > at:
            tally.hold(hold.points, hold.expires_at)
        else:
            valid = False
    return BalanceSummary(
        program_id=program.id,
        member_id=account.member_id,
        computed_at=at,
        valid_until=tally.changes_at if valid else at,
        time_zone=program.time_zone,
        available=tally.available,
        pending=tally.pending,
        held=tally.held,
        limited=tally.limited,
        expiring=tuple(sorted(tally.by_date.items())),
    )


def balance_from_summary(summary: BalanceSummary, at: datetime, debt: int) -> Balance:
    """The balance at ``at`` (within the summary's validity) with the account's debt."""
    return Balance(
        program_id=summary.program_id,
        member_id=summary.member_id,
        at=at,
        available=summary.available,
        pending=summary.pending,
        held=summary.held,
        limited=summary.limited,
        debt=debt,
        expiring=summary.expiring,
    )
