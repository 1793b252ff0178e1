"""One generated function per event type that tests every trigger of that type at once.

Each field is read (and, where compared with a number, converted with ``float``) once
per event instead of once per rule; the rules are then plain comparisons of local
names in priority order. Text where a number was expected raises ``ValueError`` in
the conversion, and the event is then answered by the per-rule predicates, which
are the reference semantics (so the answer is always the same as rule by rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from omnicrm.timing.conditions import Condition, Facts

__all__ = ["Matcher", "compile_matcher"]

Matcher = Callable[[Facts], list[str]]
"""Returns the journey ids (in rule order, each once) whose trigger accepts the facts."""

_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_LITERALS = (str, int, float, bool, type(None))


class _Source:
    """The generated function's text: hoisted reads first, then one test per rule."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"float": float, "ValueError": ValueError}
        self.reads: dict[str, str] = {}
        self.numbers: dict[str, str] = {}
        self.lines: list[str] = []

    def constant(self, value: Any) -> str:
        if isinstance(value, _LITERALS) and not (
            isinstance(value, float) and not math.isfinite(value)
        ):
            return repr(value)
        key = f"_k{len(self.names)}"
        self.names[key] = value
        return key

    def read(self, field: str) -> str:
        if field == "segment":
            return "s"
        if field not in self.reads:
            source, _, name = field.partition(".")
            var = f"r{len(self.reads)}"
            self.reads[field] = var
            self.lines.append(f"        {var} = {'e' if source == 'event' else 'p'}.get({name!r})")
        return self.reads[field]

    def number(self, field: str) -> str:
        if field not in self.numbers:
            read = self.read(field)
            var = f"n{len(self.numbers)}"
            self.numbers[field] = var
            self.lines.append(f"        {var} = None if {read} is None else float({read})")
        return self.numbers[field]

    def test(self, condition: Condition) -> str:
        op, value = condition.op, condition.value
        read = self.read(condition.field)
        if op == "exists":
            return f"{read} is not None"
        if op == "missing":
            return f"{read} is None"
        if op in ("in", "not_in"):
            options = self.constant(frozenset(str(v) for v in value))
            return f"{read} {'in' if op == 'in' else 'not in'} {options}"
        symbol = _SYMBOLS[op]
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = self.number(condition.field)
            return f"({number} is not None and {number} {symbol} {self.constant(float(value))})"
        target = str(value).lower() if isinstance(value, bool) else value
        return f"({read} is not None and {read} {symbol} {self.constant(target)})"


def compile_matcher(
    rules: Sequence[tuple[str, tuple[Condition, ...]]],
    slow: Sequence[tuple[str, Callable[[Facts], bool]]],
) -> Matcher:
    """Compile ``rules`` (journey id, conditions) into one matcher; ``slow`` is the fallback.

    ``slow`` holds the same rules as per-rule predicates, in the same order.
    """
    src = _Source()
    tests: list[str] = []
    emitted: set[str] = set()
    for i, (journey_id, conditions) in enumerate(rules):
        parts = [src.test(c) for c in conditions]
        if journey_id in emitted:
            parts.insert(0, f"_j{i} not in out")
        emitted.add(journey_id)
        src.names[f"_j{i}"] = journey_id
        test = " and ".join(f"({p})" for p in parts) or "True"
        tests.append(f"        if {test}:\n            out.append(_j{i})")
    src.names["_slow"] = _slow_matcher(slow)
    source = (
        "def _match(facts):\n"
        "    e, p, s = facts\n"
        "    out = []\n"
        "    try:\n" + "".join(line + "\n" for line in src.lines) + "\n".join(tests) + "\n"
        "        pass\n"
        "    except ValueError:\n"
        "        return _slow(facts)\n"
        "    return out\n"
    )
    exec(compile(source, "<omnicrm matcher>", "exec"), src.names)  # literals and names only
    matcher: Matcher = src.names["_match"]
    return matcher


def _slow_matcher(rules: Sequence[tuple[str, Callable[[Facts], bool]]]) -> Matcher:
    def match(facts: Facts) -> list[str]:
        found: list[str] = []
        for journey_id, test in rules:
            if journey_id not in found and test(facts):
                found.append(journey_id)
        return found

    return match
