"""A record read for matching: every field normalised once, unreadable fields noted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TypeVar

import attrs

from omnicrm.errors import OmniCRMError
from omnicrm.identity.normalize import (
    Address,
    normalize_address,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    parse_date,
)
from omnicrm.identity.records import CustomerRecord

__all__ = ["PreparedRecord", "normalize_gender", "prepare"]

T = TypeVar("T")

_GENDERS = {
    "m": "m", "male": "m", "man": "m", "男": "m", "男性": "m", "1": "m",
    "f": "f", "female": "f", "woman": "f", "女": "f", "女性": "f", "2": "f",
}  # fmt: skip


_normalize_name = lru_cache(maxsize=1 << 16)(normalize_name)
_normalize_kana = lru_cache(maxsize=1 << 16)(normalize_kana)
_normalize_address = lru_cache(maxsize=1 << 14)(normalize_address)
_normalize_postal_code = lru_cache(maxsize=1 << 14)(normalize_postal_code)
_parse_date = lru_cache(maxsize=1 << 16)(parse_date)  # birth dates recur in a batch


def normalize_gender(text: str) -> str:
    """Return ``"m"``, ``"f"`` or the lower-cased text for another value."""
    folded = text.strip().casefold()
    return _GENDERS.get(folded, folded)


@attrs.frozen
class PreparedRecord:
    """The normalised, comparable form of a :class:`CustomerRecord`.

    Attributes:
        record: the record as given.
        family, given: normalised names (``""`` when absent).
        family_kana, given_kana: normalised readings (``""`` when absent).
        email, phone, postal_code, gender, member_card: normalised keys (``""`` if absent).
        birth_date: the parsed date of birth, or ``None``.
        address: the split address, or ``None``.
        unreadable: the fields whose values could not be read (left unmatched).

    """

    record: CustomerRecord
    family: str
    given: str
    family_kana: str
    given_kana: str
    email: str
    phone: str
    postal_code: str
    gender: str
    member_card: str
    birth_date: date | None
    address: Address | None
    unreadable: tuple[str, ...]

    @property
    def email_verified(self) -> bool:
        """Whether the channel verified the e-mail address."""
        return bool(self.email) and self.record.email_verified


def _read(
    field: str, value: T | None, reader: Callable[[T], object], bad: list[str]
) -> object | None:
    if value is None:
        return None
    try:
        return reader(value)
    except OmniCRMError:
        bad.append(field)
        return None


def _text(field: str, value: str | None, reader: Callable[[str], str], bad: list[str]) -> str:
    if value is None:  # most fields of most records: no call into the reader at all
        return ""
    try:
        found = reader(value)
    except OmniCRMError:
        bad.append(field)
        return ""
    return found if isinstance(found, str) else ""


def prepare(
    record: CustomerRecord,
    *,
    phone_region: str = "JP",
    email_provider_rules: bool = False,
    day_first: bool = True,
) -> PreparedRecord:
    """Normalise every field of ``record`` once; a field that cannot be read is noted."""
    bad: list[str] = []
    family, given = record.family_name, record.given_name
    if family and not given and len(family.split()) == 2:  # "山田 太郎" in one field
        family, given = family.split()
    family_kana, given_kana = record.family_name_kana, record.given_name_kana
    if family_kana and not given_kana and len(family_kana.split()) == 2:
        family_kana, given_kana = family_kana.split()
    birth: date | None = None
    if record.birth_date is not None:
        try:
            birth = _parse_date(record.birth_date, day_first=day_first)
        except OmniCRMError:
            bad.append("birth_date")
    address = _read("address", record.address, _normalize_address, bad)
    return PreparedRecord(
        record=record,
        family=_text("family_name", family, _normalize_name, bad),
        given=_text("given_name", given, _normalize_name, bad),
        family_kana=_text("family_name_kana", family_kana, _normalize_kana, bad),
        given_kana=_text("given_name_kana", given_kana, _normalize_kana, bad),
        email=_text(
            "email",
            record.email,
            lambda v: normalize_email(v, provider_rules=email_provider_rules),
            bad,
        ),
        phone=_text("phone", record.phone, lambda v: normalize_phone(v, region=phone_region), bad),
        postal_code=_text("postal_code", record.postal_code, _normalize_postal_code, bad),
        gender=_text("gender", record.gender, normalize_gender, bad),
        member_card=_text("member_card_no", record.member_card_no, normalize_name, bad),
        birth_date=birth,
        address=address if isinstance(address, Address) else None,
        unreadable=tuple(bad),
    )
