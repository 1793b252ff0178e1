"""Dates of birth as people write them: Japanese eras (昭和60年4月1日, S60.4.1) and numbers."""

from __future__ import annotations

import re
from datetime import date, datetime

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.identity.normalize.text import nfkc

__all__ = ["ERAS", "parse_date"]

ERAS: dict[str, tuple[int, date]] = {
    "明治": (1868, date(1868, 1, 25)),
    "大正": (1912, date(1912, 7, 30)),
    "昭和": (1926, date(1926, 12, 25)),
    "平成": (1989, date(1989, 1, 8)),
    "令和": (2019, date(2019, 5, 1)),
}
"""Each era's first Gregorian year and first day (year 1 = 元年)."""

_ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_ERA = re.compile(
    r"^(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*"
    r"(\d{1,2})\s*日?$"
)
_YMD = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_DMY = re.compile(r"^(\d{1,2})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _make(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValidationError("birth_date", text, f"is not a calendar date: {exc}") from exc


def parse_date(value: str | date, *, day_first: bool = True) -> date:
    """Read a date written in a Japanese era or in the usual numeric forms.

    Accepts ``date`` objects, ``昭和60年4月1日``, ``S60.4.1``, ``平成元年1月8日``,
    ``1985-04-01``, ``1985/4/1``, ``1985年4月1日``, ``19850401`` and ``1/4/1985``
    (read day first unless ``day_first=False``, or unless the first number exceeds 12
    or the second does). Full-width digits are fine. Raises ``ValidationError`` for
    anything else, and for an era year before the era began (``昭和1年1月1日``).
    """
    if isinstance(value, datetime):
        raise InvalidTypeError("birth_date", value, "must be a date or a str, not a datetime")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidTypeError("birth_date", value, f"must be a str, not {type(value).__name__}")
    text = nfkc(value).strip().upper() if len(value) <= 60 else ""
    if match := _ERA.match(text):
        era = _ERA_LETTERS.get(match[1], match[1])
        first_year, first_day = ERAS[era]
        offset = 1 if match[2] == "元" else int(match[2])
        result = _make(value, first_year + offset - 1, int(match[3]), int(match[4]))
        if offset < 1 or result < first_day:
            raise ValidationError("birth_date", value, f"falls before the {era} era began")
        return result
    if match := _YMD.match(text) or _COMPACT.match(text):
        return _make(value, int(match[1]), int(match[2]), int(match[3]))
    if match := _DMY.match(text):
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if (day_first and second <= 12) or first > 12:
            return _make(value, year, second, first)
        return _make(value, year, first, second)
    raise ValidationError("birth_date", value, "is not a date omnicrm can read")
