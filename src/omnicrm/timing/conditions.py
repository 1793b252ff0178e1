"""Conditions on an event's properties, a customer's profile and their segment.

A :class:`Condition` names a field as ``"event.<name>"``, ``"profile.<name>"`` or
``"segment"``, an operator and a value. Properties and profiles are plain text; a
condition whose value is a number compares numerically (``"27" < 30``), and one
whose value is a date string compares as ISO dates (which sort as text).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import attrs

from omnicrm.errors import InvalidTypeError
from omnicrm.timing.errors import JourneyDefinitionError

__all__ = ["OPERATORS", "Condition", "Facts", "all_match", "compile_all_of"]

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "missing")
"""The operators a :class:`Condition` understands."""

_SOURCES = ("event", "profile")

Scalar = str | int | float | bool


class Facts(NamedTuple):
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

        read: Callable[[Facts], str | None]
        if field == "segment":
            read = _read_segment
        elif source == "event":

            def read(facts: Facts) -> str | None:
                return facts[0].get(name)

        else:

            def read(facts: Facts) -> str | None:
                return facts[1].get(name)

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

    def expression(self, names: dict[str, Any]) -> str:
        """Return a Python expression over ``e``, ``p``, ``s`` equal to :meth:`compile`.

        Numbers are read with ``float()``; a ``ValueError`` (text where a number was
        expected) must be answered by falling back to :meth:`compile`'s predicate.
        Constants that are not literals are put in ``names``.
        """
        field, op, value = self.field, self.op, self.value
        source, _, name = field.partition(".")
        read = "s" if field == "segment" else f"{'e' if source == 'event' else 'p'}.get({name!r})"
        if op == "exists":
            return f"({read} is not None)"
        if op == "missing":
            return f"({read} is None)"
        if op in ("in", "not_in"):
            key = f"_c{len(names)}"
            names[key] = frozenset(str(v) for v in value)
            return f"({read} {'in' if op == 'in' else 'not in'} {key})"
        symbol = _SYMBOLS[op]
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number):
                literal = repr(number)
            else:  # inf and nan have no literal: pass the value by name
                literal = f"_c{len(names)}"
                names[literal] = number
            return f"((v := {read}) is not None and float(v) {symbol} {literal})"
        target = str(value).lower() if isinstance(value, bool) else value
        return f"((v := {read}) is not None and v {symbol} {target!r})"


_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def compile_all_of(conditions: tuple[Condition, ...]) -> Callable[[Facts], bool]:
    """Compile conditions (all must hold) into one generated function, with a safe fallback."""
    slow = tuple(c.compile() for c in conditions)
    if not conditions:
        return _always
    names: dict[str, Any] = {"_slow": slow, "ValueError": ValueError, "float": float}
    body = " and ".join(c.expression(names) for c in conditions)
    source = (
        "def _test(facts):\n"
        "    e, p, s = facts\n"
        "    try:\n"
        f"        return {body}\n"
        "    except ValueError:\n"
        "        return all(t(facts) for t in _slow)\n"
    )
    exec(compile(source, "<omnicrm condition>", "exec"), names)  # literals and names only
    test: Callable[[Facts], bool] = names["_test"]
    return test


def _always(_facts: Facts) -> bool:
    return True


def _read_segment(facts: Facts) -> str | None:
    return facts[2]


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
