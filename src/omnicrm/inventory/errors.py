"""Errors of the inventory capability: rule violations a well-formed command can meet."""

from __future__ import annotations

from omnicrm.errors import RuleViolationError

__all__ = ["HoldExpiredError", "HoldStateError", "InsufficientStockError"]


class InsufficientStockError(RuleViolationError):
    """Fewer units are available to promise than the command needs (no oversell)."""


class HoldStateError(RuleViolationError):
    """The hold is in a state that does not allow the command (confirming a released hold)."""


class HoldExpiredError(RuleViolationError):
    """The hold lapsed before the command (confirm after expiry, a hold already expired)."""
