"""Domain events of the loyalty capability."""

from __future__ import annotations

import attrs

from omnicrm.events import DomainEvent

__all__ = ["PointsEarned", "PointsExpired", "PointsReturned", "PointsSpent"]


@attrs.frozen(kw_only=True)
class PointsEarned(DomainEvent):
    """A member earned points on a purchase (or an adjustment).

    Attributes:
        program_id: the program.
        member_id: the member.
        points: points earned.
        pending: whether they are provisional.

    """

    program_id: str
    member_id: str
    points: int
    pending: bool


@attrs.frozen(kw_only=True)
class PointsSpent(DomainEvent):
    """A member spent points (directly or by capturing a hold).

    Attributes:
        program_id: the program.
        member_id: the member.
        points: points spent.
        company: where they were spent.

    """

    program_id: str
    member_id: str
    points: int
    company: str


@attrs.frozen(kw_only=True)
class PointsReturned(DomainEvent):
    """A return reversed earned points and gave back spent ones.

    Attributes:
        program_id: the program.
        member_id: the member.
        reversed: earned points taken back (including provisional ones cancelled).
        restored: spent points given back.
        debt: points the member now owes.

    """

    program_id: str
    member_id: str
    reversed: int
    restored: int
    debt: int


@attrs.frozen(kw_only=True)
class PointsExpired(DomainEvent):
    """Points of a member expired.

    Attributes:
        program_id: the program.
        member_id: the member.
        points: points expired.

    """

    program_id: str
    member_id: str
    points: int
