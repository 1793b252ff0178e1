"""The one module that imports ``rapidfuzz``: fast string similarity in C."""

from __future__ import annotations

import itertools
import math

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

__all__ = ["edit_distance", "jaro_winkler", "swap_distance", "word_similarity", "words_held"]


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


def words_held(a: str, b: str, share: float) -> bool:
    """Whether at least ``share`` of the words of the text with fewer words (at least
    two) are held by the other text: equal, one edit apart (a neighbouring swap counting
    as one) when of four letters or more, or run together with the next word, or held
    run together with a neighbour on the other side (``"de lungra"`` / ``"delungra"``).
    A locality written in full on one side and in part, with typos, on the other."""  # noqa: D205, D209
    left, right = a.split(), b.split()
    shorter, longer = (left, right) if len(left) <= len(right) else (right, left)
    if len(shorter) < 2:
        return False
    words = set(longer) | {first + second for first, second in itertools.pairwise(longer)}
    choices = list(words)
    allowed = len(shorter) - math.ceil(share * len(shorter) - 1e-9)
    missed, x = 0, 0
    while x < len(shorter):
        if _held(shorter[x], words, choices):
            x += 1
        elif x + 1 < len(shorter) and _held(shorter[x] + shorter[x + 1], words, choices):
            x += 2
        else:
            missed, x = missed + 1, x + 1
            if missed > allowed:
                return False
    return True


def _held(word: str, words: set[str], choices: list[str]) -> bool:
    if word in words:
        return True
    if len(word) < 4:
        return False
    return process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=1) is not None
