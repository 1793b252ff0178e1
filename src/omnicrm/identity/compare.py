"""Field comparisons: each pair of values falls into one comparison level.

A level is a plain name (``"exact"``, ``"near"``, ``"transposed"``, ``"different"``,
``"missing"``, ...). Scoring turns each level into a weight; explanations show both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from omnicrm.identity._similarity import (
    edit_distance,
    jaro_winkler,
    swap_distance,
    word_similarity,
    words_held,
)
from omnicrm.identity.normalize import Address, normalize_kana
from omnicrm.identity.prepared import PreparedRecord

__all__ = [
    "COMPARATORS",
    "DIFFERENT",
    "EXACT",
    "MISSING",
    "NEAR",
    "address_levels",
    "compare_address",
    "compare_birth_date",
    "compare_email",
    "compare_keys",
    "compare_name_part",
    "compare_phone",
    "compare_postal_code",
    "compare_text",
]

EXACT = "exact"
NEAR = "near"
DIFFERENT = "different"
MISSING = "missing"

NEAR_SIMILARITY = 0.88
"""Jaro-Winkler similarity from which two names count as ``near`` (a typo)."""


def compare_text(a: str, b: str, *, near: float = NEAR_SIMILARITY) -> str:
    """``exact``, ``near`` (Jaro-Winkler ≥ ``near``, or one edit — two neighbouring
    letters swapped count as one — in a word of four or more characters, three for
    Latin letters), ``different`` or ``missing``."""  # noqa: D205, D209
    if not a or not b:
        return MISSING
    if a == b:
        return EXACT
    latin = a.isascii() and b.isascii()
    if jaro_winkler(a, b) >= near and not (latin and swap_distance(a, b, cutoff=2) > 2):
        return NEAR  # Latin names sharing a beginning (charles, charlotte) are not typos
    shortest = 3 if latin else 4  # a Latin name of three letters
    if min(len(a), len(b)) >= shortest and swap_distance(a, b, cutoff=1) <= 1:
        return NEAR
    return DIFFERENT


@lru_cache(maxsize=1 << 17)
def compare_name_part(name_a: str, kana_a: str, name_b: str, kana_b: str) -> str:
    """Compare one part of a name (family or given) using both its spelling and reading.

    ``exact``: same spelling (and no conflicting reading) or, when a spelling is
    missing, the same reading; ``reading``: same reading, different spelling (a kanji
    not in the variant table); ``near``: a typo in either; ``different``; ``missing``.
    """
    names = compare_text(name_a, name_b)
    if names == DIFFERENT and _has_kanji(name_a) != _has_kanji(name_b):
        names = MISSING  # kanji against kana or Latin: not comparable without a dictionary
    kana = compare_text(kana_a, kana_b)
    if names == EXACT:
        return NEAR if kana == DIFFERENT else EXACT
    if kana == EXACT:
        return EXACT if names == MISSING else "reading"
    if names == MISSING and kana == MISSING:
        # a name written in kana on one side, its reading on the other
        left, right = _reading(name_a, kana_a), _reading(name_b, kana_b)
        if not left or not right:
            return MISSING
        return compare_text(normalize_kana(left), normalize_kana(right))
    if NEAR in (names, kana):
        return NEAR
    return DIFFERENT


def _reading(name: str, kana: str) -> str:
    """The reading of a name part: its kana, or the name itself when it has no kanji."""
    return kana or ("" if _has_kanji(name) else name)


def _has_kanji(text: str) -> bool:
    if text.isascii():
        return False
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)


def compare_birth_date(a: date | None, b: date | None) -> str:
    """``exact``; ``transposed`` (day and month swapped); ``near`` (exactly one of year,
    month and day differs: a slip of the pen); ``different``; ``missing``."""  # noqa: D205, D209
    if a is None or b is None:
        return MISSING
    if a == b:
        return EXACT
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "transposed"
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    return NEAR if same == 2 else DIFFERENT


def compare_keys(a: str, b: str) -> str:
    """``exact``, ``different`` or ``missing`` for identifiers (member cards, genders)."""
    if not a or not b:
        return MISSING
    return EXACT if a == b else DIFFERENT


_MOBILE_PREFIXES = ("070", "080", "090", "+8170", "+8180", "+8190")


def compare_phone(a: str, b: str) -> str:
    """``mobile`` (the same Japanese mobile number: personal), ``exact`` (the same other
    number: a landline a household may share), ``near`` (one digit mistyped),
    ``other_mobile`` (two different mobile numbers: one person seldom has two, while a
    mobile against a landline is the same person's other phone as often as not),
    ``different`` or ``missing``."""  # noqa: D205, D209
    if not a or not b:
        return MISSING
    if a == b:
        return "mobile" if a.startswith(_MOBILE_PREFIXES) else EXACT
    if len(a) == len(b) and edit_distance(a, b, cutoff=1) <= 1:
        return NEAR
    if a.startswith(_MOBILE_PREFIXES) and b.startswith(_MOBILE_PREFIXES):
        return "other_mobile"
    return DIFFERENT


def compare_email(a: str, b: str) -> str:
    """``exact``, ``near`` (same domain, one edit in the local part), ``different``, ``missing``."""
    if not a or not b:
        return MISSING
    if a == b:
        return EXACT
    local_a, _, domain_a = a.rpartition("@")
    local_b, _, domain_b = b.rpartition("@")
    if domain_a == domain_b and edit_distance(local_a, local_b, cutoff=1) <= 1:
        return NEAR
    return DIFFERENT


def compare_postal_code(a: str, b: str) -> str:
    """``exact``, ``near`` (one character mistyped, or two neighbours swapped),
    ``different`` or ``missing``."""  # noqa: D205, D209
    if not a or not b:
        return MISSING
    if a == b:
        return EXACT
    if len(a) == len(b) and swap_distance(a, b, cutoff=1) <= 1:
        return NEAR
    return DIFFERENT


def compare_address(a: Address | None, b: Address | None) -> str:
    """Compare two split addresses.

    ``exact``: same locality and block (and no two different room numbers); ``near``:
    same block and a locality within a typo (or a prefecture written on one side only);
    ``locality``: same locality, other block or other room (a neighbour); ``different``;
    ``missing``. A Latin-script locality is a run
    of words (street, area, suburb), compared word by word so that words reordered,
    run together or left out on one side still agree; there a house number written on
    one side only counts as ``near`` too.
    """
    if a is None or b is None or not (a.locality or a.block) or not (b.locality or b.block):
        return MISSING
    if a.key == b.key:
        rooms = _room(a.building), _room(b.building)
        if rooms[0] and rooms[1] and rooms[0] != rooms[1]:
            return "locality"  # two flats of one building: neighbours
        return EXACT
    western = a.locality.isascii() and b.locality.isascii()
    similar = _similar_localities(a.locality, b.locality)
    if similar and (a.block == b.block or (western and not (a.block and b.block))):
        return NEAR
    if western and a.block and a.block == b.block and _street(a) == _street(b):
        return NEAR  # one house number on one street, the other words written differently
    if a.locality == b.locality:
        return "locality"
    if similar and a.block and b.block and edit_distance(a.block, b.block, cutoff=1) <= 1:
        return NEAR
    if western and a.block and b.block and (similar or _street(a) == _street(b)):
        return "locality"  # one Latin street (written differently), another house number
    return DIFFERENT


def address_levels(a: Address | None, b: Address | None) -> tuple[str, ...] | None:
    """The levels :func:`compare_address` can give these two addresses, told cheaply.

    ``("missing",)`` when one is missing; ``("locality", "different")`` when both have
    house (or block) numbers more than one edit apart, so neither ``exact`` nor ``near``
    can be reached; ``None`` (any level) otherwise.
    """
    if a is None or b is None or not (a.locality or a.block) or not (b.locality or b.block):
        return (MISSING,)
    if a.block and b.block and a.key != b.key and edit_distance(a.block, b.block, cutoff=1) > 1:
        return ("locality", DIFFERENT)
    return None


@lru_cache(maxsize=1 << 16)
def _similar_localities(a: str, b: str) -> bool:
    """Two localities agree: Latin ones word by word, others within a typo or two.

    Cached: the localities of one postal area recur across many pairs.
    """
    if a.isascii() and b.isascii():
        return word_similarity(a, b) >= _WORDS_SIMILAR or words_held(a, b, _WORDS_SIMILAR)
    return jaro_winkler(a, b) >= 0.9


def _street(address: Address) -> str:
    """The first word of a Latin-script locality: the street's name."""
    return address.locality.split(maxsplit=1)[0] if address.locality else ""


def _room(building: str) -> str:
    """The room number at the end of a building part (``"グランドメゾン 907号室"`` → ``"907"``)."""
    match = _ROOM.search(building)
    return match[1] if match else ""


_ROOM = re.compile(r"(\d+)\D{0,3}$")
_WORDS_SIMILAR = 0.9
"""Word similarity from which two Latin-script localities agree (typos, reordering)."""


def _family(a: PreparedRecord, b: PreparedRecord) -> str:
    return compare_name_part(a.family, a.family_kana, b.family, b.family_kana)


def _given(a: PreparedRecord, b: PreparedRecord) -> str:
    return compare_name_part(a.given, a.given_kana, b.given, b.given_kana)


COMPARATORS: dict[str, Callable[[PreparedRecord, PreparedRecord], str]] = {
    "family_name": _family,
    "given_name": _given,
    "birth_date": lambda a, b: compare_birth_date(a.birth_date, b.birth_date),
    "email": lambda a, b: compare_email(a.email, b.email),
    "phone": lambda a, b: compare_phone(a.phone, b.phone),
    "postal_code": lambda a, b: compare_postal_code(a.postal_code, b.postal_code),
    "address": lambda a, b: compare_address(a.address, b.address),
    "gender": lambda a, b: compare_keys(a.gender, b.gender),
    "member_card_no": lambda a, b: compare_keys(a.member_card, b.member_card),
}
"""The built-in comparator of each record field, by field name."""
