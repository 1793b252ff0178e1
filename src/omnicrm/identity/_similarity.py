"""The one module that imports ``rapidfuzz``: fast string similarity in C."""

from __future__ import annotations

from rapidfuzz.distance import JaroWinkler, Levenshtein

__all__ = ["edit_distance", "jaro_winkler"]


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity in ``[0, 1]`` (1 for equal strings)."""
    return float(JaroWinkler.similarity(a, b))


def edit_distance(a: str, b: str, cutoff: int | None = None) -> int:
    """Levenshtein distance; with ``cutoff`` any larger distance reads as ``cutoff + 1``."""
    return int(Levenshtein.distance(a, b, score_cutoff=cutoff))
