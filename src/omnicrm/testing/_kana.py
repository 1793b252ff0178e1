"""Kana conversions the strategies use to write one reading in several scripts."""

from __future__ import annotations

import unicodedata

__all__ = ["to_halfwidth_katakana", "to_hiragana", "to_katakana"]

_HALF_BASE = [chr(c) for c in range(0xFF66, 0xFF9E)]
_TO_HALF: dict[str, str] = {}
for _base in _HALF_BASE:
    for _mark in ("", "\uff9e", "\uff9f"):
        _full = unicodedata.normalize("NFKC", _base + _mark)
        if len(_full) == 1:
            _TO_HALF.setdefault(_full, _base + _mark)
_TO_HALF["ー"] = "\uff70"


def to_katakana(text: str) -> str:
    """Hiragana to full-width katakana; everything else unchanged."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def to_hiragana(text: str) -> str:
    """Full-width katakana to hiragana; everything else unchanged."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def to_halfwidth_katakana(text: str) -> str:
    """Full-width katakana (or hiragana) to half-width katakana (ﾀﾅｶ)."""
    return "".join(_TO_HALF.get(c, c) for c in to_katakana(text))
