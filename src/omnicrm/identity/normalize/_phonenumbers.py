"""The one module that imports ``phonenumbers``: foreign numbers to E.164."""

from __future__ import annotations

import phonenumbers

__all__ = ["parse_international"]


def parse_international(text: str, region: str) -> tuple[int, str] | None:
    """Return ``(country_code, national_number)`` of a valid-looking number, or ``None``."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or number.country_code is None:
        return None
    return number.country_code, str(number.national_number)
