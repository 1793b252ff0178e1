"""The error hierarchy of omnicrm.

Every error omnicrm raises on purpose is an :class:`OmniCRMError`. Each one also
subclasses the nearest builtin exception, so a host that already catches
``ValueError`` or ``KeyError`` keeps working. Errors about input name the field
and the value at fault, and are raised before anything is written.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConcurrencyError",
    "ConfigurationError",
    "ConflictError",
    "CurrencyMismatchError",
    "DuplicateError",
    "FieldError",
    "IdempotencyConflictError",
    "InvalidTypeError",
    "NaiveDatetimeError",
    "NotFoundError",
    "OmniCRMError",
    "RuleViolationError",
    "StateError",
    "StorageBusyError",
    "StorageError",
    "UnknownCurrencyError",
    "ValidationError",
]

_MAX_REPR = 80


def short_repr(value: object) -> str:
    """Return ``repr(value)`` cut to a readable length (a 10 MB name stays short)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > _MAX_REPR:
        text = f"{text[: _MAX_REPR - 20]}...{text[-12:]} (length {len(text)})"
    return text


class OmniCRMError(Exception):
    """Base class of every error omnicrm raises deliberately."""


class FieldError(OmniCRMError):
    """An error about one field's value: names the field, the value and the reason.

    Attributes:
        field: the name of the field or argument at fault.
        value: the value that was rejected.
        reason: why it was rejected, in plain words.

    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={short_repr(value)}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.field, self.value, self.reason))


class ValidationError(FieldError, ValueError):
    """A value given to omnicrm is not acceptable (see :class:`FieldError`)."""


class InvalidTypeError(ValidationError, TypeError):
    """A value has the wrong type (a float where an int is required, say)."""


class NaiveDatetimeError(ValidationError):
    """A datetime without a time zone was given where an aware one is required."""


class UnknownCurrencyError(ValidationError):
    """A currency code that is not in the ISO 4217 table."""


class CurrencyMismatchError(ValidationError):
    """Two amounts in different currencies were combined."""


class ConfigurationError(ValidationError):
    """A configuration value (a store URL, a journey, a program) is not usable."""


class RuleViolationError(FieldError, ValueError):
    """A well-formed command the domain's rules refuse (spending more than the balance).

    ``field`` and ``value`` name what breaks the rule; ``reason`` states the rule.
    """


class NotFoundError(OmniCRMError, KeyError):
    """Something looked up by key does not exist.

    Attributes:
        kind: what was looked for ("customer", "location", ...).
        key: the key that was not found.

    """

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(kind, key)

    def __str__(self) -> str:
        return f"{self.kind} {short_repr(self.key)} not found"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key))


class ConflictError(OmniCRMError, RuntimeError):
    """A command conflicts with the current state of the store."""


class DuplicateError(ConflictError):
    """Something was added under a key that already exists."""

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {short_repr(key)} already exists")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key))


class ConcurrencyError(ConflictError):
    """An optimistic version check failed: someone else changed the row first.

    Attributes:
        kind: what was being written.
        key: its key.
        expected: the version the writer read.
        actual: the version found in the store (``None`` if unknown).

    """

    def __init__(self, kind: str, key: Any, expected: int, actual: int | None) -> None:
        self.kind = kind
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{kind} {short_repr(key)} was changed concurrently: "
            f"expected version {expected}, found {actual}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.key, self.expected, self.actual))


class IdempotencyConflictError(ConflictError):
    """An idempotency key was reused with a different payload."""

    def __init__(self, scope: str, key: str) -> None:
        self.scope = scope
        self.key = key
        super().__init__(
            f"idempotency_key={short_repr(key)}: already used for a different {scope} command"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.scope, self.key))


class StateError(OmniCRMError, RuntimeError):
    """An object was used in a state that does not allow the call (a closed unit of work)."""


class StorageError(OmniCRMError, RuntimeError):
    """The storage backend failed; the driver's error is chained as ``__cause__``."""


class StorageBusyError(StorageError):
    """The store stayed locked by another writer after every retry."""
