"""Hypothesis strategies for :mod:`omnicrm.identity` values, registered for ``st.from_type``.

``written_dates`` and ``name_variants`` write one underlying value in the ways people
type it, so a property test can check that every variant gives one key.
"""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.testing._kana import to_halfwidth_katakana, to_hiragana
from omnicrm.testing.strategies import (
    channels,
    emails,
    japanese_addresses,
    japanese_names,
    phone_numbers,
    postal_codes,
)

__all__ = [
    "customer_records",
    "kana_spellings",
    "source_refs",
    "variant_kanji_names",
    "written_dates",
]

_ERAS = (
    ("令和", "R", date(2019, 5, 1)),
    ("平成", "H", date(1989, 1, 8)),
    ("昭和", "S", date(1926, 12, 25)),
)
_VARIANT = {"高": "髙", "崎": "﨑", "辺": "邊", "斎": "齋", "沢": "澤"}


def source_refs() -> st.SearchStrategy[SourceRef]:
    """Record sources on assorted channels."""
    return st.builds(
        SourceRef, channels(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,11}", fullmatch=True)
    )


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def written_dates(
    min_value: date = date(1927, 1, 1), max_value: date = date(2024, 12, 31)
) -> st.SearchStrategy[tuple[date, str | date]]:
    """``(date, written)``: a date and one way of writing it (era, numeric, full-width)."""

    def forms(day: date) -> st.SearchStrategy[tuple[date, str | date]]:
        written: list[str | date] = [
            day,
            day.isoformat(),
            f"{day.year}/{day.month}/{day.day}",
            f"{day.year}年{day.month}月{day.day}日",
            day.strftime("%Y%m%d"),
            _fullwidth(day.isoformat()),
        ]
        for name, letter, start in _ERAS:
            if day >= start:
                year = day.year - start.year + 1
                shown = "元" if year == 1 else str(year)
                written.append(f"{name}{shown}年{day.month}月{day.day}日")
                written.append(f"{letter}{year}.{day.month}.{day.day}")
                break
        return st.sampled_from(written).map(lambda w: (day, w))

    return st.dates(min_value, max_value).flatmap(forms)


def kana_spellings(reading: str) -> st.SearchStrategy[str]:
    """One reading as hiragana, katakana or half-width katakana, maybe with spaces."""
    hira = to_hiragana(reading)
    kata = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in hira)
    return st.sampled_from([hira, kata, to_halfwidth_katakana(hira), f" {kata} "])


def variant_kanji_names(name: str) -> st.SearchStrategy[str]:
    """A kanji name as written, with variant kanji, or with a full-width space inside."""
    variant = "".join(_VARIANT.get(c, c) for c in name)
    spaced = name[:1] + "\u3000" + name[1:] if len(name) > 1 else name
    return st.sampled_from([name, variant, spaced])


def customer_records() -> st.SearchStrategy[CustomerRecord]:
    """Japanese customer records with every field in some written variant, or absent."""

    def build(names: tuple[str, str, str, str], **kw: object) -> CustomerRecord:
        return CustomerRecord(
            family_name=names[0],
            given_name=names[1],
            family_name_kana=names[2],
            given_name_kana=names[3],
            **kw,  # type: ignore[arg-type]
        )

    return st.builds(
        build,
        japanese_names(),
        source=source_refs(),
        email=st.none() | emails(),
        phone=st.none() | phone_numbers().map(lambda p: p[1]),
        birth_date=st.none() | written_dates().map(lambda d: d[1]),
        postal_code=st.none() | postal_codes().map(lambda p: p[1]),
        address=st.none() | japanese_addresses(),
        gender=st.none() | st.sampled_from(["男性", "女性", "M", "F"]),
    )


def _register() -> None:
    st.register_type_strategy(SourceRef, source_refs())
    st.register_type_strategy(CustomerRecord, customer_records())


_register()
