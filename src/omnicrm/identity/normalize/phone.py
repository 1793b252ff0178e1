"""Phone numbers: every written form of one number gives one canonical key."""

from __future__ import annotations

import re

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.identity.normalize._phonenumbers import parse_international
from omnicrm.identity.normalize.text import nfkc

__all__ = ["normalize_phone"]

_JUNK = re.compile(r"[\s\-‐‑–—―ー()（）.\u3000/]")
_JP_NATIONAL = re.compile(r"0\d{9,10}")


def normalize_phone(text: str, *, region: str = "JP") -> str:
    """Return a phone number's canonical form.

    A Japanese number becomes its national digits (``090-1234-5678``,
    ``０９０１２３４５６７８``, ``+81 90 1234 5678`` and ``(090)1234-5678`` all give
    ``09012345678``); any other country's number becomes E.164 (``+14155550123``).
    ``region`` is the country assumed for a number written without ``+`` and country
    code. Raises ``ValidationError`` for text that is not a possible phone number.
    """
    if not isinstance(text, str):
        raise InvalidTypeError("phone", text, f"must be a str, not {type(text).__name__}")
    if len(text) > 60:
        raise ValidationError("phone", text, "is too long to be a phone number")
    compact = _JUNK.sub("", nfkc(text))
    if compact.startswith("+81"):
        compact = "0" + compact[3:].removeprefix("0")
    elif compact.startswith("81") and len(compact) in (11, 12) and region == "JP":
        compact = "0" + compact[2:]
    if region == "JP" and _JP_NATIONAL.fullmatch(compact):
        return compact
    parsed = parse_international(compact, region)
    if parsed is None:
        raise ValidationError("phone", text, "is not a phone number omnicrm can read")
    country, national = parsed
    if country == 81:
        return "0" + national
    return f"+{country}{national}"
