"""Errors specific to identity."""

from __future__ import annotations

from omnicrm.errors import RuleViolationError

__all__ = ["ErasedRecordError"]


class ErasedRecordError(RuleViolationError):
    """A record arrived from a source whose person was erased (a tombstone refuses it)."""
