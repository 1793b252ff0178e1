"""The one module that imports ``rapidfuzz``: fast string similarity in C."""

from __future__ import annotations

import itertools

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

__all__ = ["edit_distance", "jaro_winkler", "swap_distance", "word_containment", "word_similarity"]


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity in ``[0, 1]`` (1 for equal strings)."""
    return float(JaroWinkler.similarity(a, b))


def edit_distance(a: str, b: str, cutoff: int | None = None) -> int:
    """Levenshtein distance; with ``cutoff`` any larger distance reads as ``cutoff + 1``."""
    return int(Levenshtein.distance(a, b, score_cutoff=cutoff))


def swap_distance(a: str, b: str, cutoff: int | None = None) -> int:
    """Edit distance counting a swap of two neighbouring characters as one edit."""
    return int(OSA.distance(a, b, score_cutoff=cutoff))


def word_similarity(a: str, b: str) -> float:
    """Similarity in ``[0, 1]`` of two texts made of words, robust to how they were cut.

    The better of the token-set ratio (words reordered, a word left out on one side)
    and the ratio of the texts with the spaces removed (``"winston hills"`` against
    ``"winstonhills"``).
    """
    joined = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    return max(float(fuzz.token_set_ratio(a, b)), float(joined)) / 100.0


def word_containment(a: str, b: str) -> float:
    """The share of the words of the text with fewer words (at least two) that the other
    text holds too: equal, one edit apart (a neighbouring swap counting as one) when of
    four letters or more, or run together with a neighbouring word on either side
    (``"de lungra"`` against ``"delungra"``). A locality written in full on one side
    and in part, with typos, on the other. 0 when a text has fewer than two words."""  # noqa: D205, D209
    left, right = a.split(), b.split()
    shorter, longer = (left, right) if len(left) <= len(right) else (right, left)
    if len(shorter) < 2:
        return 0.0
    longer += [first + second for first, second in itertools.pairwise(longer)]
    held = [_held(word, longer) for word in shorter]
    for x in range(len(shorter) - 1):
        if not (held[x] and held[x + 1]) and _held(shorter[x] + shorter[x + 1], longer):
            held[x] = held[x + 1] = True
    return sum(held) / len(shorter)


def _held(word: str, words: list[str]) -> bool:
    if word in words:
        return True
    return len(word) >= 4 and any(OSA.distance(word, other, score_cutoff=1) <= 1 for other in words)
