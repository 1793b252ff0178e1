"""Names and kana: one written form per name, whatever script or width it was typed in."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from omnicrm.errors import InvalidTypeError

__all__ = ["VARIANT_KANJI", "nfkc", "normalize_kana", "normalize_name", "to_katakana"]

VARIANT_KANJI: dict[str, str] = {
    "髙": "高",
    "﨑": "崎",
    "嵜": "崎",
    "邊": "辺",
    "邉": "辺",
    "齋": "斎",
    "齊": "斎",
    "斉": "斎",
    "澤": "沢",
    "濱": "浜",
    "濵": "浜",
    "廣": "広",
    "國": "国",
    "櫻": "桜",
    "藏": "蔵",
    "龍": "竜",
    "實": "実",
    "惠": "恵",
    "榮": "栄",
    "與": "与",
    "眞": "真",
    "壽": "寿",
    "德": "徳",
    "戶": "戸",
    "瀨": "瀬",
    "曾": "曽",
    "槇": "槙",
    "塚": "塚",
    "冨": "富",
    "嶋": "島",
    "嶌": "島",
    "峯": "峰",
    "祐": "祐",
    "淺": "浅",
    "澁": "渋",
    "圓": "円",
    "驛": "駅",
    "縣": "県",
    "條": "条",
    "萬": "万",
    "彌": "弥",
    "禮": "礼",
    "廳": "庁",
    "黑": "黒",
    "增": "増",
    "靑": "青",
    "淸": "清",
    "桒": "桑",
    "舘": "館",
    "籠": "篭",
}
"""Old and variant kanji read as their common form (髙→高, 﨑→崎, 邊/邉→辺, 齋/齊→斎, 澤→沢)."""

_VARIANTS = str.maketrans(VARIANT_KANJI)
# spaces, middle dots, and the punctuation people put inside names
_SEPARATORS = re.compile(r"[\s・･·‧•\u30fb\u2027\-‐‑–—―'’`\".,_]+")
_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_OLD_KANA = str.maketrans({"ヰ": "イ", "ヱ": "エ", "ヲ": "オ", "ヂ": "ジ", "ヅ": "ズ", "ヴ": "ブ"})
_VOWEL_ROWS = {
    "ア": "アカガサザタダナハバパマヤラワ",
    "イ": "イキギシジチヂニヒビピミリ",
    "ウ": "ウクグスズツヅヌフブプムユル",
    "エ": "エケゲセゼテデネヘベペメレ",
    "オ": "オコゴソゾトドノホボポモヨロ",
}
_VOWEL_OF = {c: v for v, row in _VOWEL_ROWS.items() for c in row}


def nfkc(text: str) -> str:
    """NFKC: full-width letters and digits to ASCII, half-width kana to full-width."""
    if not isinstance(text, str):
        raise InvalidTypeError("text", text, f"must be a str, not {type(text).__name__}")
    return unicodedata.normalize("NFKC", text)


def _strip_accents(text: str) -> str:
    """Drop accents (combining marks) but keep kana voicing marks (が stays が)."""
    if text.isascii():
        return text
    split = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in split if not unicodedata.combining(c) or c in "\u3099\u309a")
    return unicodedata.normalize("NFC", kept)


_HIRAGANA_TO_KATAKANA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}


def to_katakana(text: str) -> str:
    """Hiragana to katakana; every other character unchanged."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def _name_once(text: str) -> str:
    folded = _SEPARATORS.sub("", to_katakana(nfkc(text)).casefold())
    return _strip_accents(nfkc(folded)).translate(_VARIANTS)


def _fixpoint(step: Callable[[str], str], text: str) -> str:
    """Apply ``step`` until the text stops changing (NFKC, case folding and accent
    stripping can each expose work for another on odd input)."""  # noqa: D205, D209
    current = step(text)
    for _ in range(4):
        following = step(current)
        if following == current:
            break
        current = following
    return current


def normalize_name(text: str) -> str:
    """Return the matching form of a personal name (kanji, kana or Latin letters).

    NFKC (full-/half-width), variant kanji to their common form, kana to katakana,
    spaces, middle dots, hyphens and apostrophes removed, Latin letters lower-cased
    without accents. Idempotent: ``normalize_name(normalize_name(x)) == normalize_name(x)``.
    """
    return _fixpoint(_name_once, text)


def normalize_kana(text: str) -> str:
    """Return the matching form of a kana reading.

    Hiragana, katakana and half-width katakana give one katakana form; small kana read
    as large (ッ→ツ), old kana as modern (ヲ→オ, ヅ→ズ), and a long-vowel mark as the
    vowel it lengthens (ユーコ→ユウコ), so every way of typing one reading gives one key.
    """
    return _fixpoint(_kana_once, text)


def _kana_once(text: str) -> str:
    folded = _SEPARATORS.sub("", _strip_accents(to_katakana(nfkc(text)).casefold()))
    folded = folded.translate(_SMALL).translate(_OLD_KANA)
    out: list[str] = []
    for char in folded:
        if char in "ー〜~" and out:
            out.append(_VOWEL_OF.get(out[-1], out[-1]))
        elif char not in "ー〜~":
            out.append(char)
    return "".join(out)
