"""Japanese-aware normalisers: pure functions giving one key per written value.

Each function is idempotent and raises a precise ``ValidationError`` for text it cannot
read; matching catches that and leaves the field unmatched for that record.
"""

from omnicrm.identity.normalize.address import PREFECTURES, Address, kanji_to_int, normalize_address
from omnicrm.identity.normalize.contact import normalize_email, normalize_postal_code
from omnicrm.identity.normalize.dates import ERAS, parse_date
from omnicrm.identity.normalize.phone import normalize_phone
from omnicrm.identity.normalize.text import (
    VARIANT_KANJI,
    nfkc,
    normalize_kana,
    normalize_name,
    to_katakana,
)

__all__ = [
    "ERAS",
    "PREFECTURES",
    "VARIANT_KANJI",
    "Address",
    "kanji_to_int",
    "nfkc",
    "normalize_address",
    "normalize_email",
    "normalize_kana",
    "normalize_name",
    "normalize_phone",
    "normalize_postal_code",
    "parse_date",
    "to_katakana",
]
