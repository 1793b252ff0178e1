"""Errors specific to the timing engine (each an :class:`~omnicrm.errors.OmniCRMError`)."""

from __future__ import annotations

from omnicrm.errors import ConfigurationError, ValidationError

__all__ = ["JourneyDefinitionError", "UnknownEventTypeError"]


class JourneyDefinitionError(ConfigurationError):
    """A journey is not usable: an unknown or unreachable step, a cycle without a wait, ..."""


class UnknownEventTypeError(ValidationError):
    """An event's type is not one any journey, campaign or the engine's host declared."""
