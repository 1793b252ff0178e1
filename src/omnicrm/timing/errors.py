"""Errors specific to the timing engine (each an :class:`~omnicrm.errors.OmniCRMError`)."""

from __future__ import annotations

from omnicrm.errors import ConfigurationError, RuleViolationError, ValidationError

__all__ = ["JourneyDefinitionError", "UnknownEventTypeError", "UnmergeConflictError"]


class JourneyDefinitionError(ConfigurationError):
    """A journey is not usable: an unknown or unreachable step, a cycle without a wait, ..."""


class UnknownEventTypeError(ValidationError):
    """An event's type is not one any journey, campaign or the engine's host declared."""


class UnmergeConflictError(RuleViolationError):
    """An unmerge found journey state under the absorbed id made after the merge."""
