"""Postal addresses: prefecture optional, block numbers in one notation, building split off."""

from __future__ import annotations

import re

import attrs

from omnicrm.errors import InvalidTypeError
from omnicrm.identity.normalize.text import VARIANT_KANJI, nfkc

__all__ = ["PREFECTURES", "Address", "kanji_to_int", "normalize_address"]

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県",  "沖縄県",
)  # fmt: skip
"""The 47 prefectures of Japan."""

_KANJI_DIGIT = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番|号|の|-|$)")
_DASHES = re.compile(r"[‐‑–—―−ーｰ－]")
_BLOCK_WORDS = re.compile(r"(丁目|番地|番|号|(?<=\d)の(?=\d))")
_SPACES = re.compile(r"\s+")
_BLOCK = re.compile(r"(\d+(?:-\d+)*)")
_WESTERN_WORDS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue",
    "dr": "drive", "ln": "lane", "ct": "court", "pl": "place", "cres": "crescent",
    "cl": "close", "tce": "terrace", "hwy": "highway", "pde": "parade", "blvd": "boulevard",
    "sq": "square", "mt": "mount", "n": "north", "s": "south", "e": "east", "w": "west",
    "apt": "unit", "flat": "unit", "u": "unit",
}  # fmt: skip
_VARIANTS = str.maketrans(VARIANT_KANJI)


@attrs.frozen
class Address:
    """A normalised address, split into the parts matching compares.

    Attributes:
        prefecture: the prefecture if written (``"東京都"``), else ``""``.
        locality: city, ward, town and district without the prefecture (or, for a
            Western address, the street name and suburb words).
        block: the block numbers as hyphen-joined digits (``"1-2-3"``), or ``""``.
        building: the building name and room, or ``""``.

    """

    prefecture: str
    locality: str
    block: str
    building: str

    @property
    def key(self) -> str:
        """Locality and block: the part that identifies the dwelling's plot."""
        return f"{self.locality}|{self.block}"


def kanji_to_int(text: str) -> int:
    """Read a kanji numeral (``"二十三"`` → 23, ``"一〇五"`` → 105) as an int."""
    if all(c in _KANJI_DIGIT for c in text):
        return int("".join(str(_KANJI_DIGIT[c]) for c in text))
    total, current = 0, 0
    for char in text:
        if char in _KANJI_DIGIT:
            current = _KANJI_DIGIT[char]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[char]
            total += (current or 1) * unit
            current = 0
    return total + current


def _japanese(text: str) -> Address:
    prefecture = ""
    for name in PREFECTURES:
        if text.startswith(name):
            prefecture, text = name, text[len(name) :]
            break
    text = _KANJI_NUMBER.sub(lambda m: str(kanji_to_int(m[0])), text)
    text = _BLOCK_WORDS.sub("-", text)
    match = _BLOCK.search(text)
    if match is None:
        return Address(prefecture, text.strip(" -"), "", "")
    locality = text[: match.start()].strip(" -")
    building = text[match.end() :].strip(" -")
    return Address(prefecture, locality, match[1], building)


def _western(text: str) -> Address:
    """An ASCII address: words with a digit are the house number, the others the locality."""
    words = _NOT_WORD.sub(" ", text.casefold()).replace("/", " ").split()
    numbers: list[str] = []
    names: list[str] = []
    for word in words:
        if _ASCII_DIGIT.search(word):
            numbers.append(word)
        else:
            names.append(_WESTERN_WORDS.get(word, word))
    return Address("", " ".join(names), "-".join(numbers), "")


_NOT_WORD = re.compile(r"[^\w\s/-]")
_ASCII_DIGIT = re.compile("[0-9]")  # the text is ASCII: the digits str.isdigit finds


def normalize_address(text: str) -> Address:
    """Split an address into prefecture, locality, block and building, in one notation.

    ``東京都千代田区丸の内1丁目2番3号 丸の内ビル305``, ``千代田区丸の内一丁目2-3`` and
    ``千代田区丸の内１－２－３`` give the same ``locality`` (``千代田区丸の内``) and
    ``block`` (``1-2-3``). Latin-letter addresses are lower-cased, punctuation dropped,
    and common abbreviations spelled out (``St`` → ``street``).
    """
    if not isinstance(text, str):
        raise InvalidTypeError("address", text, f"must be a str, not {type(text).__name__}")
    folded = _SPACES.sub(" ", _DASHES.sub("-", nfkc(text)).translate(_VARIANTS)).strip()
    if folded.isascii():
        return _western(folded)
    return _japanese(folded.replace(" ", " "))
