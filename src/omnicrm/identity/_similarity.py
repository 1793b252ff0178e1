"""The one module that imports ``rapidfuzz``: fast string similarity in C."""

from __future__ import annotations

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

__all__ = ["edit_distance", "jaro_winkler", "swap_distance", "word_similarity"]


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
