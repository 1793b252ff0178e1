"""Validators shared by every value type: precise errors, raised before anything is written.

Each ``check_*`` function returns the value (possibly normalised) or raises a
:class:`~omnicrm.errors.ValidationError` subclass naming the field and the value.
The ``*_validator`` helpers adapt them to ``attrs`` field validators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from omnicrm.errors import InvalidTypeError, NaiveDatetimeError, ValidationError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "aware_validator",
    "check_aware",
    "check_date",
    "check_id",
    "check_ids",
    "check_int",
    "check_optional_id",
    "check_optional_text",
    "check_text",
    "check_tuple",
    "field_validator",
    "id_validator",
    "optional_id_validator",
]

T = TypeVar("T")

MAX_ID_LENGTH = 200
"""The longest id omnicrm accepts, in characters."""

MAX_TEXT_LENGTH = 10_000
"""The longest free-text field omnicrm accepts, in characters."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_int(
    field: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` if it is an ``int`` (not a bool, not a float) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(field, value, f"must be an int, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValidationError(field, value, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValidationError(field, value, f"must be <= {maximum}")
    return value


def check_text(field: str, value: object, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Return ``value`` if it is a non-blank ``str`` of at most ``max_length`` characters.

    The text is kept verbatim: quotes, SQL keywords and markup are data, not code.
    """
    if not isinstance(value, str):
        raise InvalidTypeError(field, value, f"must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, value, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(field, value, f"must be at most {max_length} characters")
    if "\x00" in value:
        raise ValidationError(field, value, "must not contain NUL characters")
    return value


def check_optional_text(
    field: str, value: object, *, max_length: int = MAX_TEXT_LENGTH
) -> str | None:
    """Like :func:`check_text`, but ``None`` is allowed and passes through."""
    return None if value is None else check_text(field, value, max_length=max_length)


def check_id(field: str, value: object) -> str:
    """Return ``value`` if it is a usable id: non-empty text, no control characters."""
    text = check_text(field, value, max_length=MAX_ID_LENGTH)
    if _CONTROL.search(text) or text != text.strip():
        raise ValidationError(
            field, value, "must not contain control characters or surrounding spaces"
        )
    return text


def check_optional_id(field: str, value: object) -> str | None:
    """Like :func:`check_id`, but ``None`` is allowed and passes through."""
    return None if value is None else check_id(field, value)


def check_aware(field: str, value: object) -> datetime:
    """Return ``value`` if it is a timezone-aware ``datetime``; naive ones are refused."""
    if not isinstance(value, datetime):
        raise InvalidTypeError(field, value, f"must be a datetime, not {type(value).__name__}")
    offset: timedelta | None
    try:
        offset = value.utcoffset()
    except Exception as exc:  # a broken tzinfo
        raise NaiveDatetimeError(field, value, "its tzinfo cannot give a UTC offset") from exc
    if offset is None:
        raise NaiveDatetimeError(
            field, value, "must be timezone-aware (attach a tzinfo, e.g. datetime.UTC)"
        )
    return value


def check_date(field: str, value: object) -> date:
    """Return ``value`` if it is a calendar ``date`` (a ``datetime`` is refused)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidTypeError(field, value, f"must be a date, not {type(value).__name__}")
    return value


def field_validator(check: Callable[[str, Any], object]) -> Callable[[Any, Any, Any], None]:
    """Adapt a ``check_*(field, value)`` function into an ``attrs`` validator."""

    def validate(_instance: Any, attribute: Any, value: Any) -> None:
        check(attribute.name, value)

    return validate


id_validator = field_validator(check_id)
"""An ``attrs`` validator for id fields (see :func:`check_id`)."""

optional_id_validator = field_validator(check_optional_id)
"""An ``attrs`` validator for optional id fields (see :func:`check_optional_id`)."""

aware_validator = field_validator(check_aware)
"""An ``attrs`` validator for aware-datetime fields (see :func:`check_aware`)."""


def check_tuple(
    field: str, value: object, kind: type[Any] | tuple[type[Any], ...], what: str
) -> tuple[Any, ...]:
    """Return ``value`` as a tuple if it is an iterable (not text) of ``kind`` items.

    ``what`` names one item for the error message ("a Condition").
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidTypeError(field, value, f"must be a sequence, each item {what}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise InvalidTypeError(field, item, f"must be {what}")
    return items


def check_ids(field: str, value: object) -> tuple[str, ...]:
    """Return ``value`` as a tuple of ids (a sequence of text, each a valid id)."""
    items = check_tuple(field, value, str, "an id")
    for item in items:
        check_id(field, item)
    return items
