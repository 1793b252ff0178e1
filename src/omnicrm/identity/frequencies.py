"""Term-frequency adjustment: agreeing on a rare name says more than agreeing on 佐藤.

Fellegi–Sunter's ``u`` for an exact name match is really the chance that two random
records share *that* name. A batch knows every name's count, so the exact-match weight
is moved by ``log2(u_typical / u_name)``: down for the commonest names, up for rare ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import attrs

from omnicrm.identity.prepared import PreparedRecord

__all__ = ["NameFrequencies", "count_names"]

_LOWEST, _HIGHEST = -6.0, 3.0


def _reading(name: str, kana: str) -> str:
    return kana or name


@attrs.frozen
class NameFrequencies:
    """How often each family and given name (by reading) occurs in a batch.

    Attributes:
        family: counts of family-name readings.
        given: counts of given-name readings.

    """

    family: Counter[str]
    given: Counter[str]
    _typical: tuple[float, float] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_typical", (_typical(self.family), _typical(self.given)))

    def adjustment(self, part: str, p: PreparedRecord) -> float:
        """The weight to add to an exact ``part`` (``"family"``/``"given"``) match of ``p``."""
        if part == "family":
            counts, typical, key = self.family, self._typical[0], _reading(p.family, p.family_kana)
        else:
            counts, typical, key = self.given, self._typical[1], _reading(p.given, p.given_kana)
        seen = counts.get(key, 0)
        if not seen or not typical:
            return 0.0
        return max(_LOWEST, min(_HIGHEST, math.log2(typical / seen)))


def _typical(counts: Counter[str]) -> float:
    """The count of the name two random records most typically share: Σc² / Σc."""
    total = sum(counts.values())
    return sum(c * c for c in counts.values()) / total if total else 0.0


def count_names(records: Iterable[PreparedRecord]) -> NameFrequencies:
    """Count the family and given name readings of ``records``."""
    family: Counter[str] = Counter()
    given: Counter[str] = Counter()
    for p in records:
        if p.family or p.family_kana:
            family[_reading(p.family, p.family_kana)] += 1
        if p.given or p.given_kana:
            given[_reading(p.given, p.given_kana)] += 1
    return NameFrequencies(family, given)
