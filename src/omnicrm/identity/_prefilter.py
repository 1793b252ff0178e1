"""A columnar bound on candidate pairs' scores: pairs that cannot reach review, unscored.

:func:`~omnicrm.identity.resolve` scores each candidate pair in Python
(:func:`~omnicrm.identity.scoring.quick_decision`, about 20 µs a pair); in a large
batch without households nine pairs in ten are strangers far below the review
threshold. :func:`reachable` looks at all candidate pairs at once (numpy arrays of the
records' normalised fields as integer codes, rapidfuzz's element-wise similarities in C)
and gives each pair an **upper bound** of the score it could get under the batch's
``config.weights``: for each field, the largest (adjusted) weight among the comparison
levels the two values could still fall into. A pair whose bound stays below the review
threshold can only be ``no_match`` (or ``cannot_link``), which a batch records nowhere,
so leaving it out changes no decision. Pairs that may match a deterministic rule (one
member card, e-mail or phone on both sides) are always kept.

The decisions themselves stay in :mod:`~omnicrm.identity.scoring`; this module only
knows *necessary conditions* of the comparison levels (two names are ``near`` only when
their Jaro-Winkler similarity reaches ``NEAR_SIMILARITY`` or they are one edit apart,
...). ``tests/identity/test_prefilter.py`` checks each condition against the
comparators and the whole filter against ``quick_decision``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from omnicrm.identity._households import RELAXED_WEIGHT
from omnicrm.identity.blocking import _coder, _unique, _unique_inverse
from omnicrm.identity.compare import (
    COMPARATORS,
    DIFFERENT,
    EXACT,
    MISSING,
    NEAR,
    NEAR_SIMILARITY,
    _has_kanji,
    _similar_localities,
    _street,
)
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.frequencies import NameFrequencies
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.scoring import FORGIVEN_WEIGHT

__all__ = ["RecordColumns", "reachable", "score_bounds"]

Codes = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

_READING = "reading"
_TOLERANCE = 1e-6
"""Bounds are sums of the same weights in another order: a rounding margin."""

# what a name part (spelling and reading) comparison can still give
_MISSING_ONLY, _EXACT_ONLY, _DIFFERENT_ONLY, _NEAR_OR_DIFFERENT, _ANY = range(5)


class RecordColumns:
    """The fields of a batch's prepared records as arrays: text as integer codes.

    Code 0 is the empty text; equal codes are equal texts. Built once per batch.
    """

    def __init__(
        self, records: Sequence[PreparedRecord], frequencies: NameFrequencies | None = None
    ) -> None:
        vocabulary: dict[str, int] = {"": 0}
        column = _coder(vocabulary)
        self.family = column(p.family for p in records)
        self.family_kana = column(p.family_kana for p in records)
        self.given = column(p.given for p in records)
        self.given_kana = column(p.given_kana for p in records)
        self.email = column(p.email for p in records)
        self.phone = column(p.phone for p in records)
        self.member_card = column(p.member_card for p in records)
        self.postal_code = column(p.postal_code for p in records)
        self.gender = column(p.gender for p in records)
        addresses = [p.address if _has_address(p) else None for p in records]
        self.address = column(a.key if a else "" for a in addresses)
        self.block = column(a.block if a else "" for a in addresses)
        self.locality = column(a.locality if a else "" for a in addresses)
        self.street = column(_street(a) if a else "" for a in addresses)
        births = [p.birth_date for p in records]
        self.year, self.month, self.day = (
            np.fromiter((getattr(b, part) if b else 0 for b in births), dtype=np.int32)
            for part in ("year", "month", "day")
        )
        self.words = list(vocabulary)
        self._texts = np.array(self.words, dtype=object)
        typed = _unique(
            np.concatenate(
                (self.family, self.given, self.family_kana, self.given_kana, self.postal_code)
            )
        )
        typed_texts = self.texts(typed)
        self.kanji = np.zeros(len(self.words), dtype=np.bool_)  # of the names: the rest unread
        self.kanji[typed] = np.fromiter(map(_has_kanji, typed_texts), np.bool_, len(typed))
        self._row = np.full(len(self.words), -1, dtype=np.int64)
        self._row[typed] = np.arange(len(typed))
        self._letters, self._lengths = _letter_counts(typed_texts)
        self.family_adjustment = self._adjustments(records, frequencies, "family")
        self.given_adjustment = self._adjustments(records, frequencies, "given")

    def texts(self, codes: Codes) -> list[str]:
        """The texts of ``codes``."""
        found: list[str] = self._texts[codes].tolist()
        return found

    def may_be_close(self, a: Codes, b: Codes) -> Flags:
        """Whether the texts (names, readings, postal codes) could be within a typo: a
        cheap screen on the letters they share before :func:`_typo_close`.

        Jaro-Winkler ≥ ``NEAR_SIMILARITY`` needs a Jaro similarity ≥ ``(near - 0.4) / 0.6``
        (the prefix bonus adds at most 0.4 of what is left), and Jaro is at most
        ``(m / |a| + m / |b| + 1) / 3`` for ``m`` letters shared; one edit leaves all
        letters but one of the longer text shared.
        """  # noqa: D205
        rows_a, rows_b = self._row[a], self._row[b]
        shared = np.minimum(self._letters[rows_a], self._letters[rows_b]).sum(axis=1)
        size_a, size_b = self._lengths[rows_a], self._lengths[rows_b]
        one_edit: Flags = shared >= np.maximum(size_a, size_b) - 1
        jaro = (NEAR_SIMILARITY - 0.4) / 0.6
        similar: Flags = shared / size_a + shared / size_b >= 3 * jaro - 1 - 1e-9
        return np.asarray(one_edit | similar, dtype=np.bool_)

    def _adjustments(
        self, records: Sequence[PreparedRecord], frequencies: NameFrequencies | None, part: str
    ) -> Floats:
        """Each record's term-frequency adjustment of an exact ``part`` match (0 without),
        asked once per distinct spelling and reading."""  # noqa: D205, D209
        if frequencies is None:
            return np.zeros(len(records))
        names, kana = (
            (self.family, self.family_kana) if part == "family" else (self.given, self.given_kana)
        )
        distinct, inverse = _unique_inverse(names * len(self.words) + kana)
        first = np.full(len(distinct), len(records), dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(len(records)))
        found = [frequencies.adjustment(part, records[i]) for i in first.tolist()]
        return np.asarray(found, dtype=np.float64)[inverse]


_KINDS = 37
"""Letters a-z, digits 0-9 and any other character: the classes letters are counted in."""


def _letter_counts(texts: list[str]) -> tuple[npt.NDArray[np.int16], Codes]:
    """Each text's count of each letter, digit and other character, and its length."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    kinds = np.full(len(points), _KINDS - 1, dtype=np.int64)
    letters, digits = (points >= 97) & (points <= 122), (points >= 48) & (points <= 57)
    kinds[letters], kinds[digits] = points[letters] - 97, points[digits] - 48 + 26
    owners = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    counts = np.bincount(owners * _KINDS + kinds, minlength=len(texts) * _KINDS)
    return counts.reshape(len(texts), _KINDS).astype(np.int16), lengths


def _has_address(p: PreparedRecord) -> bool:
    """Whether ``compare_address`` reads the record's address as present."""
    return p.address is not None and bool(p.address.locality or p.address.block)


Measure = Callable[["RecordColumns", Codes, Codes], Flags]
"""A test of pairs of texts given by their codes (each pair once)."""


def _per_distinct(columns: RecordColumns, left: Codes, right: Codes, measure: Measure) -> Flags:
    """``measure`` of the texts ``left[k]``, ``right[k]`` (codes), computed once per
    distinct pair of texts."""  # noqa: D205, D209
    if not len(left):
        return np.zeros(0, dtype=np.bool_)
    size = len(columns.words)
    distinct, inverse = _unique_inverse(left * size + right)
    return np.asarray(measure(columns, distinct // size, distinct % size)[inverse], dtype=np.bool_)


def _typo_close(lefts: list[str], rights: list[str]) -> Flags:
    """Texts ``compare_text`` could call ``near``: Jaro-Winkler ≥ ``NEAR_SIMILARITY`` or
    at most one edit (a neighbouring swap counting as one) apart."""  # noqa: D205, D209
    similar = cpdist(lefts, rights, scorer=JaroWinkler.similarity) >= NEAR_SIMILARITY - 1e-9
    edits = cpdist(lefts, rights, scorer=OSA.distance, score_cutoff=1)
    return np.asarray(similar | (edits <= 1), dtype=np.bool_)


def _typo_close_codes(columns: RecordColumns, a: Codes, b: Codes) -> Flags:
    """:func:`_typo_close` of the texts that pass :meth:`RecordColumns.may_be_close`."""
    found = columns.may_be_close(a, b)
    maybe = np.nonzero(found)[0]
    found[maybe] = _typo_close(columns.texts(a[maybe]), columns.texts(b[maybe]))
    return found


def _far_apart(columns: RecordColumns, a: Codes, b: Codes) -> Flags:
    """Texts more than one edit apart (house numbers: ``address_levels``)."""
    lefts, rights = columns.texts(a), columns.texts(b)
    return np.asarray(cpdist(lefts, rights, scorer=Levenshtein.distance, score_cutoff=1) > 1)


def _close(columns: RecordColumns, a: Codes, b: Codes, *, precise: bool) -> Flags:
    """Both texts present and equal or within a typo (:func:`_typo_close`); not
    ``precise``: both present (no similarity computed)."""  # noqa: D205, D209
    close: Flags = (a != 0) & (b != 0)
    if precise:
        differ = np.nonzero(close & (a != b))[0]
        close[differ] = _per_distinct(columns, a[differ], b[differ], _typo_close_codes)
    return close


def _name_class(
    columns: RecordColumns,
    name_a: Codes,
    kana_a: Codes,
    name_b: Codes,
    kana_b: Codes,
    *,
    precise: bool = True,
) -> npt.NDArray[np.int8]:
    """What ``compare_name_part(name_a, kana_a, name_b, kana_b)`` can still give.

    ``exact`` only when spelling and reading are the same; ``missing`` only when one
    side has neither; ``different`` only when neither spellings nor readings are within
    a typo and the fallback on readings (no spelling comparable, no reading on a side)
    cannot be taken; ``near`` or ``different`` when both spellings, in one script, differ
    and the readings are not the same; anything otherwise.
    """
    found = np.full(len(name_a), _ANY, dtype=np.int8)
    spelt = (name_a != 0) & (name_b != 0)
    scripts_differ = columns.kanji[name_a] != columns.kanji[name_b]
    same_reading = (kana_a != 0) & (kana_a == kana_b)
    found[spelt & (name_a != name_b) & ~scripts_differ & ~same_reading] = _NEAR_OR_DIFFERENT
    fallback = (~spelt | scripts_differ) & ((kana_a == 0) | (kana_b == 0))
    close_names = _close(columns, name_a, name_b, precise=precise)
    apart = ~close_names & ~_close(columns, kana_a, kana_b, precise=precise) & ~fallback
    found[apart] = _DIFFERENT_ONLY
    found[(name_a == name_b) & (kana_a == kana_b)] = _EXACT_ONLY
    found[((name_a == 0) & (kana_a == 0)) | ((name_b == 0) & (kana_b == 0))] = _MISSING_ONLY
    return found


class _Weights:
    """One field's weights as the bound reads them (``different`` relaxed or forgiven)."""

    def __init__(self, levels: Mapping[str, float], config: MatchConfig) -> None:
        self.levels = levels
        different = levels.get(DIFFERENT, 0.0)
        if config.households is False:
            different = max(different, RELAXED_WEIGHT)
        if config.forgive_one_difference:
            different = max(different, FORGIVEN_WEIGHT)
        self.different = different

    def of(self, level: str) -> float:
        """The weight of ``level`` (``different`` as relaxed; 0 when unlisted)."""
        return self.different if level == DIFFERENT else self.levels.get(level, 0.0)

    def most(self, *, but: Iterable[str] = ()) -> float:
        """The most any level but ``but`` weighs (an unlisted level weighs 0)."""
        left_out = set(but)
        found = [0.0, *(self.of(lvl) for lvl in self.levels if lvl not in left_out)]
        if DIFFERENT not in left_out:
            found.append(self.different)
        return max(found)


_NO = -math.inf


def _name_values(
    weights: _Weights, exact: Floats, classes: npt.NDArray[np.int8], *, agreeing: bool = False
) -> Floats:
    """The most a name part of each class weighs (only its agreeing levels with
    ``agreeing``: ``-inf`` when it cannot agree); ``exact`` per pair, adjusted."""  # noqa: D205, D209
    near = weights.of(NEAR)
    if agreeing:
        table = [_NO, _NO, _NO, near, max(near, weights.of(_READING))]
    else:
        table = [
            weights.of(MISSING),
            _NO,
            weights.different,
            max(near, weights.different),
            max(weights.most(but=(EXACT,)), near, weights.of(_READING)),
        ]
    found = np.asarray(table, dtype=np.float64)[classes]
    exact_possible = (classes == _EXACT_ONLY) | (classes == _ANY)
    return np.where(exact_possible, np.maximum(found, exact), found)


def _names(
    columns: RecordColumns,
    left: Codes,
    right: Codes,
    config: MatchConfig,
    *,
    precise: bool = True,
) -> Floats:
    """The most the family and given names can weigh, either way round."""
    c = columns
    weights = config.weights
    total = np.zeros(len(left))
    parts = {
        "family_name": (c.family, c.family_kana, c.family_adjustment),
        "given_name": (c.given, c.given_kana, c.given_adjustment),
    }
    present = [f for f in parts if f in weights]
    values: dict[str, tuple[_Weights, Floats, npt.NDArray[np.int8]]] = {}
    for field in present:
        names, kana, adjustment = parts[field]
        w = _Weights(weights[field], config)
        exact = w.of(EXACT) + adjustment[left]
        classes = _name_class(
            c, names[left], kana[left], names[right], kana[right], precise=precise
        )
        values[field] = (w, exact, classes)
        total += _name_values(w, exact, classes)
    if len(present) < 2:
        return total
    (wf, ef, cf), (wg, eg, cg) = values["family_name"], values["given_name"]
    swappable = np.nonzero((cf >= _DIFFERENT_ONLY) & (cg >= _DIFFERENT_ONLY))[0]
    a, b = left[swappable], right[swappable]
    family = _name_class(
        c, c.family[a], c.family_kana[a], c.given[b], c.given_kana[b], precise=precise
    )
    given = _name_class(
        c, c.given[a], c.given_kana[a], c.family[b], c.family_kana[b], precise=precise
    )
    as_family = _name_values(wf, ef[swappable], family, agreeing=True)
    as_given = _name_values(wg, eg[swappable], given, agreeing=True)
    one = np.maximum(as_family, _name_values(wf, ef[swappable], given, agreeing=True))
    swapped = np.maximum(as_family + as_given, one + wg.different)
    total[swappable] = np.maximum(total[swappable], swapped)
    return total


def _birth_dates(columns: RecordColumns, left: Codes, right: Codes, w: _Weights) -> Floats:
    """``exact`` when equal; ``transposed`` or ``near`` only when two of year, month
    and day agree or day and month are swapped; else ``different``."""  # noqa: D205, D209
    c = columns
    year = c.year[left] == c.year[right]
    month, day = c.month[left], c.day[left]
    other_month, other_day = c.month[right], c.day[right]
    agree = year.astype(np.int8) + (month == other_month) + (day == other_day)
    swapped = (month == other_day) & (day == other_month)
    found = np.where((agree >= 2) | swapped, w.most(but=(EXACT,)), w.different)
    found[agree == 3] = w.of(EXACT)
    found[(c.year[left] == 0) | (c.year[right] == 0)] = w.of(MISSING)
    return found


def _keyed(
    codes: Codes,
    left: Codes,
    right: Codes,
    w: _Weights,
    *,
    equal: Iterable[str] = (EXACT,),
    apart: Callable[[Codes, Codes], Flags] | None = None,
) -> Floats:
    """A field compared as a whole value: ``missing`` when one is empty, one of
    ``equal`` when equal; otherwise any other level — ``different`` only where ``apart``
    says the values are too far apart for anything else."""  # noqa: D205, D209
    a, b = codes[left], codes[right]
    equal = tuple(equal)
    found = np.full(len(a), w.most(but=equal))
    if apart is not None:
        differ = np.nonzero((a != b) & (a != 0) & (b != 0))[0]
        found[differ[apart(a[differ], b[differ])]] = w.different
    found[a == b] = max(w.of(level) for level in equal)
    found[(a == 0) | (b == 0)] = w.of(MISSING)
    return found


def _addresses(
    columns: RecordColumns, left: Codes, right: Codes, w: _Weights, *, precision: int
) -> Floats:
    """``exact`` or ``locality`` for one key; with ``precision`` 1 ``locality`` or
    ``different`` for house numbers more than one edit apart (``address_levels``); with
    2 ``different`` for localities that are not similar (asked of ``compare_address``'s
    own test), on other streets; else anything but ``exact``."""  # noqa: D205, D209
    c = columns
    a, b = c.address[left], c.address[right]
    found = np.full(len(a), w.most(but=(EXACT,)))
    if precision >= 1:
        block_a, block_b = c.block[left], c.block[right]
        both = np.nonzero((block_a != 0) & (block_b != 0) & (block_a != block_b) & (a != b))[0]
        far = _per_distinct(c, block_a[both], block_b[both], _far_apart)
        found[both[far]] = max(w.of("locality"), w.different)
    if precision >= 2:  # neither near nor neighbours: localities not similar, streets other
        loose = np.nonzero((found > w.different) & (a != b) & (a != 0) & (b != 0))[0]
        loose = loose[(c.street[left[loose]] != c.street[right[loose]])]
        loose = loose[c.locality[left[loose]] != c.locality[right[loose]]]
        similar = _per_distinct(c, c.locality[left[loose]], c.locality[right[loose]], _similar)
        found[loose[~similar]] = w.different
    found[a == b] = max(w.of(EXACT), w.of("locality"))
    found[(a == 0) | (b == 0)] = w.of(MISSING)
    return found


def _similar(columns: RecordColumns, a: Codes, b: Codes) -> Flags:
    """``compare_address``'s own test of two localities (cached there)."""
    tests = map(_similar_localities, columns.texts(a), columns.texts(b))
    return np.fromiter(tests, dtype=np.bool_, count=len(a))


def _never_close(a: Codes, b: Codes) -> Flags:
    return np.ones(len(a), dtype=np.bool_)


Part = Callable[[RecordColumns, Codes, Codes, MatchConfig, int], Floats]
"""A part of the bound: ``(columns, left, right, config, precision)`` → each pair's most."""


def _field_part(field: str, levels: Mapping[str, float]) -> Part:
    """The bound of one field besides the names, as a function of the pairs."""

    def part(
        c: RecordColumns, left: Codes, right: Codes, config: MatchConfig, precision: int
    ) -> Floats:
        w = _Weights(levels, config)
        if field == "birth_date":
            return _birth_dates(c, left, right, w)
        if field == "address":
            return _addresses(c, left, right, w, precision=precision)
        if field == "postal_code":
            apart = (lambda a, b: ~_close(c, a, b, precise=True)) if precision else None
            return _keyed(c.postal_code, left, right, w, apart=apart)
        if field == "gender":
            return _keyed(c.gender, left, right, w, apart=_never_close)
        if field == "phone":
            return _keyed(c.phone, left, right, w, equal=(EXACT, "mobile"))
        if field == "email":
            return _keyed(c.email, left, right, w)
        if field == "member_card_no":
            return _keyed(c.member_card, left, right, w)
        return np.full(len(left), w.most())  # a comparator this bound does not know

    return part


def _names_part(
    c: RecordColumns, left: Codes, right: Codes, config: MatchConfig, precision: int
) -> Floats:
    return _names(c, left, right, config, precise=precision > 0)


_FULL = 2
_REFINEMENTS = (("address", 1), ("postal_code", 1), ("names", 1), ("address", 2))
_REFINED = frozenset(name for name, _ in _REFINEMENTS)
"""The parts whose precise bounds cost more, refined in this order (cheapest per pair
closed first) on the pairs still open."""


def score_bounds(
    columns: RecordColumns,
    left: Codes,
    right: Codes,
    config: MatchConfig,
    *,
    floor: float | None = None,
) -> Floats:
    """An upper bound of each pair's score (``left[k]``, ``right[k]``) under ``config``;
    ``inf`` for a pair that may match a deterministic rule.

    With ``floor``: every field is first bounded cheaply (equal values, missing ones),
    then the texts are compared (names, postal codes, addresses) only for the pairs
    whose bound still reaches ``floor``; the others keep a looser bound below it.
    """  # noqa: D205
    parts: dict[str, Part] = {"names": _names_part}
    for field, levels in config.weights.items():
        if field in COMPARATORS and field not in _NAME_FIELDS:
            parts[field] = _field_part(field, levels)
    precision = _FULL if floor is None else 0
    total = np.zeros(len(left))
    refined: dict[str, Floats] = {}  # the loose bounds to be refined, kept
    for name, part in parts.items():
        found = part(columns, left, right, config, precision)
        total += found
        if floor is not None and name in _REFINED:
            refined[name] = found
    for comparator in config.attribute_comparators.values():
        total += max(0.0, comparator.exact, comparator.near, comparator.different)
    for codes in (columns.email, columns.phone, columns.member_card):
        total[(codes[left] != 0) & (codes[left] == codes[right])] = math.inf
    if floor is None:
        return total
    open_ = np.nonzero(np.isfinite(total) & (total >= floor))[0]
    refined = {name: found[open_] for name, found in refined.items()}  # aligned with open_
    for name, level in _REFINEMENTS:
        if name in refined:
            tighter = parts[name](columns, left[open_], right[open_], config, level)
            total[open_] += tighter - refined[name]
            refined[name] = tighter
            still = total[open_] >= floor
            open_ = open_[still]
            refined = {n: found[still] for n, found in refined.items()}
    return total


_NAME_FIELDS = ("family_name", "given_name")


def reachable(columns: RecordColumns, left: Codes, right: Codes, config: MatchConfig) -> Flags:
    """Whether each pair could reach ``config.review_threshold`` (or a rule)."""
    floor = config.review_threshold - _TOLERANCE
    return score_bounds(columns, left, right, config, floor=floor) >= floor
