"""Conditions on an event's properties, a customer's profile and their segment.

A :class:`Condition` names a field as ``"event.<name>"``, ``"profile.<name>"`` or
``"segment"``, an operator and a value. Properties and profiles are plain text; a
condition whose value is a number compares numerically (``"27" < 30``), and one
whose value is a date string compares as ISO dates (which sort as text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from omnicrm.errors import InvalidTypeError
from omnicrm.timing.errors import JourneyDefinitionError

__all__ = ["OPERATORS", "Condition", "Facts", "all_match"]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "missing")
"""The operators a :class:`Condition` understands."""

_SOURCES = ("event", "profile")

Scalar = str | int | float | bool


@attrs.frozen
class Facts:
    """What a condition looks at: the event's properties, the profile and the segment."""

    event: Mapping[str, str]
    profile: Mapping[str, str]
    segment: str | None = None


def _check_field(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(attribute.name, value, "must be a str")
    if value == "segment":
        return
    source, _, name = value.partition(".")
    if source not in _SOURCES or not name:
        raise JourneyDefinitionError(
            attribute.name, value, "must be 'segment', 'event.<name>' or 'profile.<name>'"
        )


def _check_op(_instance: Any, attribute: Any, value: Any) -> None:
    if value not in OPERATORS:
        raise JourneyDefinitionError(attribute.name, value, f"must be one of {OPERATORS}")


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(value)
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@attrs.frozen
class Condition:
    """One test: ``field op value`` (``Condition("profile.age", "lt", 30)``)."""

    field: str = attrs.field(validator=_check_field)
    op: str = attrs.field(default="eq", validator=_check_op)
    value: Any = attrs.field(default=None, converter=_freeze)

    def __attrs_post_init__(self) -> None:
        if self.op in ("in", "not_in") and not isinstance(self.value, tuple):
            raise JourneyDefinitionError("value", self.value, f"op {self.op!r} needs a list")
        if self.op in ("lt", "le", "gt", "ge") and not isinstance(self.value, int | float | str):
            raise JourneyDefinitionError("value", self.value, "must be a number or text")

    def compile(self) -> Callable[[Facts], bool]:
        """Return a fast predicate over :class:`Facts`."""
        field, op, value = self.field, self.op, self.value
        source, _, name = field.partition(".")

        def read(facts: Facts) -> str | None:
            if field == "segment":
                return facts.segment
            table = facts.event if source == "event" else facts.profile
            return table.get(name)

        if op == "exists":
            return lambda f: read(f) is not None
        if op == "missing":
            return lambda f: read(f) is None
        if op in ("in", "not_in"):
            options = frozenset(str(v) for v in value)
            inside = op == "in"
            return lambda f: (read(f) in options) is inside
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        target: Any = (
            float(value) if numeric else str(value).lower() if isinstance(value, bool) else value
        )
        compare = _COMPARE[op]

        def test(facts: Facts) -> bool:
            found = read(facts)
            if found is None:
                return False
            if numeric:
                number = _number(found)
                return number is not None and compare(number, target)
            return compare(found, target)

        return test


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def all_match(tests: tuple[Callable[[Facts], bool], ...], facts: Facts) -> bool:
    """Return ``True`` when every compiled test accepts ``facts`` (``True`` for none)."""
    return all(test(facts) for test in tests)
