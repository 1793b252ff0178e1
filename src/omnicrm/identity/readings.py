"""Name readings learnt from the data: a kanji name's kana, where records show both.

A call centre writes names in kana, an app in kanji; they cannot be compared without
knowing how the kanji are read. Records that carry both teach it: when one reading
clearly dominates for a spelling, records with only the spelling are given it.
Nothing is hand-labelled and no dictionary ships; ambiguous names stay unread.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

import attrs

from omnicrm.identity.prepared import PreparedRecord

__all__ = ["Readings", "learn_readings"]

_DOMINANT = 0.8


@attrs.frozen
class Readings:
    """Learnt readings: normalised spelling to normalised kana, per name part.

    Attributes:
        family: family-name spellings and their reading.
        given: given-name spellings and their reading.

    """

    family: Mapping[str, str]
    given: Mapping[str, str]

    def fill(self, p: PreparedRecord) -> PreparedRecord:
        """Return ``p`` with a missing reading filled in from the learnt ones."""
        family_kana = p.family_kana or self.family.get(p.family, "")
        given_kana = p.given_kana or self.given.get(p.given, "")
        if (family_kana, given_kana) == (p.family_kana, p.given_kana):
            return p
        return attrs.evolve(p, family_kana=family_kana, given_kana=given_kana)


def _dominant(counts: Mapping[str, Counter[str]]) -> dict[str, str]:
    out = {}
    for spelling, readings in counts.items():
        reading, seen = readings.most_common(1)[0]
        if seen >= _DOMINANT * sum(readings.values()):
            out[spelling] = reading
    return out


def learn_readings(records: Iterable[PreparedRecord]) -> Readings:
    """Learn each spelling's dominant reading from records carrying both."""
    family: dict[str, Counter[str]] = defaultdict(Counter)
    given: dict[str, Counter[str]] = defaultdict(Counter)
    for p in records:
        if p.family and p.family_kana and p.family != p.family_kana:
            family[p.family][p.family_kana] += 1
        if p.given and p.given_kana and p.given != p.given_kana:
            given[p.given][p.given_kana] += 1
    return Readings(_dominant(family), _dominant(given))
