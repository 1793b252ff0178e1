"""Household evidence: does a batch hold families, or only one person's records?

Twins and parent/child pairs are what make a different given name, or a different date
of birth, next to one surname and one address mean *two people*. That is a household
phenomenon, and a batch shows how much of it it holds without any labels: among pairs
of records with one family name at one address (one postal code and the same or a
nearly the same street address), family members differ in **both** the given name and
the date of birth, while two records of one person differ in both only when two
independent errors hit the same pair. A Japanese customer base (parents and children
at one address) shows this in well over half of such pairs; a set of one person's
records with typos and replaced values, in about one in a hundred.

When a batch shows households (or is too small to tell) the twin penalty and the
birth-date guard stay as they are. When it shows none, a different given name or a
different date of birth next to otherwise agreeing fields is read as a data error: it
weighs :data:`RELAXED_WEIGHT` instead (the weight of a changed family name) and no
guard holds. This is an estimate from the unlabelled batch, like
:func:`~omnicrm.identity.estimate_weights`; the figure is reported in
``Resolution.households`` and in every explanation it changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import attrs

from omnicrm.identity.compare import (
    DIFFERENT,
    EXACT,
    MISSING,
    NEAR,
    compare_address,
    compare_birth_date,
    compare_name_part,
)
from omnicrm.identity.prepared import PreparedRecord

__all__ = [
    "HOUSEHOLD_SHARE",
    "MIN_HOUSEHOLD_PAIRS",
    "RELAXED_WEIGHT",
    "HouseholdEstimate",
    "estimate_households",
]

HOUSEHOLD_SHARE = 0.05
"""The share of same-surname, same-address pairs differing in both given name and date
of birth from which a batch shows households (family members, not errors): one in twenty,
several times what two independent errors produce and a tenth of what a customer base
with families shows."""

MIN_HOUSEHOLD_PAIRS = 20
"""Fewer same-surname, same-address pairs than this cannot tell: households are assumed."""

RELAXED_WEIGHT = -4.0
"""The weight of a different given name, or date of birth, in a batch without households."""

_MAX_GROUP = 30
"""At most this many records of one surname and postal code are paired (a common name)."""
_ADDRESS_AGREES = frozenset({EXACT, NEAR})


@attrs.frozen
class HouseholdEstimate:
    """How much household structure a batch shows.

    Attributes:
        pairs: pairs of records with one family name, one postal code and the same (or
            nearly the same) address whose given names and dates of birth are both known.
        family_pairs: those of them differing in both the given name and the birth date.
        fitted: whether the batch's weights were then fitted by EM on its own pairs.

    """

    pairs: int
    family_pairs: int
    fitted: bool = False

    @property
    def share(self) -> float:
        """``family_pairs / pairs`` (0 when there are no pairs)."""
        return self.family_pairs / self.pairs if self.pairs else 0.0

    @property
    def shows_households(self) -> bool:
        """True unless enough pairs were seen and few of them look like family members."""
        return self.pairs < MIN_HOUSEHOLD_PAIRS or self.share >= HOUSEHOLD_SHARE

    def describe(self) -> str:
        """The measured figure, as an explanation quotes it."""
        return (
            f"{self.family_pairs} of {self.pairs} same-surname, same-address pairs differ "
            f"in both given name and birth date ({self.share:.1%})"
        )


ASSUMED = HouseholdEstimate(0, 0)
"""The estimate used where nothing was measured: households assumed (guards kept)."""


def _reading(name: str, kana: str) -> str:
    return kana or name


def estimate_households(records: Sequence[PreparedRecord]) -> HouseholdEstimate:
    """Measure the household structure of ``records`` (see the module docstring)."""
    groups: dict[tuple[str, str], list[PreparedRecord]] = defaultdict(list)
    for p in records:
        family = _reading(p.family, p.family_kana)
        if family and p.postal_code and p.address and p.birth_date and (p.given or p.given_kana):
            group = groups[family, p.postal_code]
            if len(group) < _MAX_GROUP:
                group.append(p)
    pairs = family_pairs = 0
    for group in groups.values():
        for x, a in enumerate(group):
            for b in group[x + 1 :]:
                if compare_address(a.address, b.address) not in _ADDRESS_AGREES:
                    continue
                given = compare_name_part(a.given, a.given_kana, b.given, b.given_kana)
                if given == MISSING:
                    continue
                pairs += 1
                if (
                    given == DIFFERENT
                    and compare_birth_date(a.birth_date, b.birth_date) == DIFFERENT
                ):
                    family_pairs += 1
    return HouseholdEstimate(pairs, family_pairs)
