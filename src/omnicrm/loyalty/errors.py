"""Loyalty-specific errors: rule violations with the field and value at fault."""

from __future__ import annotations

from omnicrm.errors import RuleViolationError

__all__ = ["ExceedsHoldError", "HoldNotActiveError", "InsufficientPointsError"]


class InsufficientPointsError(RuleViolationError):
    """A spend, hold or debit asked for more points than the member has available."""


class ExceedsHoldError(RuleViolationError):
    """A capture asked for more points than the hold reserved."""


class HoldNotActiveError(RuleViolationError):
    """A capture or release named a hold that is already captured, released or lapsed."""
