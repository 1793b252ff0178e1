"""Customer profiles and the identifier keys they are found by."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import to_utc, zone
from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.frozenmap import FrozenMap, to_frozen_map
from omnicrm.validation import (
    check_date,
    check_int,
    check_optional_text,
    check_text,
    id_validator,
)

__all__ = ["Customer", "IdentifierKey", "Profile"]

_KINDS = ("email", "phone", "member_card")


def _check_kind(_instance: Any, attribute: Any, value: Any) -> None:
    check_text(attribute.name, value, max_length=60)
    if value not in _KINDS and not (
        value.startswith("external:") and Channel(value.removeprefix("external:"))
    ):
        raise ValidationError(
            attribute.name, value, f"must be one of {_KINDS} or 'external:<channel>'"
        )


def _check_key_value(_instance: Any, attribute: Any, value: Any) -> None:
    check_text(attribute.name, value, max_length=320)


@attrs.frozen(order=True)
class IdentifierKey:
    """A key a customer can be found by: an e-mail, a phone, a member card, a channel's id.

    Values are stored verbatim; normalise them first (``omnicrm.identity`` does) so that
    every written form of one phone number gives one key.

    Attributes:
        kind: ``"email"``, ``"phone"``, ``"member_card"`` or ``"external:<channel>"``.
        value: the identifier itself.

    """

    kind: str = attrs.field(validator=_check_kind)
    value: str = attrs.field(validator=_check_key_value)

    EMAIL: ClassVar[str] = "email"
    PHONE: ClassVar[str] = "phone"
    MEMBER_CARD: ClassVar[str] = "member_card"

    @classmethod
    def email(cls, value: str) -> IdentifierKey:
        """Key for an e-mail address."""
        return cls("email", value)

    @classmethod
    def phone(cls, value: str) -> IdentifierKey:
        """Key for a phone number."""
        return cls("phone", value)

    @classmethod
    def member_card(cls, value: str) -> IdentifierKey:
        """Key for a member card number."""
        return cls("member_card", value)

    @classmethod
    def external(cls, channel: Channel | str, value: str) -> IdentifierKey:
        """Key for the id a channel's own system gives the customer (EC account id, app id)."""
        name = channel.name if isinstance(channel, Channel) else Channel(channel).name
        return cls(f"external:{name}", value)

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


def _to_identifiers(value: Any) -> frozenset[IdentifierKey]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise InvalidTypeError("identifiers", value, "must be an iterable of IdentifierKey")
    keys = frozenset(value)
    for key in keys:
        if not isinstance(key, IdentifierKey):
            raise InvalidTypeError("identifiers", key, "must be an IdentifierKey")
    return keys


def _optional_text(_instance: Any, attribute: Any, value: Any) -> None:
    check_optional_text(attribute.name, value, max_length=1_000)


def _optional_date(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_date(attribute.name, value)


def _optional_zone(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        zone(attribute.name, value)


def _check_version(_instance: Any, attribute: Any, value: Any) -> None:
    check_int(attribute.name, value, minimum=0)


def _optional_text_field() -> Any:
    return attrs.field(default=None, validator=_optional_text)


@attrs.frozen(kw_only=True)
class Profile:
    """What is known about a customer: names, contact points, identifiers, attributes.

    Every field is optional. Values are kept as written; ``omnicrm.identity`` normalises
    them for matching.

    Attributes:
        identifiers: the keys this customer can be found by.
        family_name: family name (姓), as written.
        given_name: given name (名), as written.
        family_name_kana: reading of the family name (セイ).
        given_name_kana: reading of the given name (メイ).
        email: preferred e-mail address.
        phone: preferred phone number.
        birth_date: date of birth.
        gender: gender as the host records it.
        postal_code: postal code.
        address: postal address.
        time_zone: IANA zone for timing and quiet hours ("Asia/Tokyo").
        attributes: free host attributes (tier, age band, ...), text to text.

    """

    identifiers: frozenset[IdentifierKey] = attrs.field(
        factory=frozenset, converter=_to_identifiers
    )
    family_name: str | None = _optional_text_field()
    given_name: str | None = _optional_text_field()
    family_name_kana: str | None = _optional_text_field()
    given_name_kana: str | None = _optional_text_field()
    email: str | None = _optional_text_field()
    phone: str | None = _optional_text_field()
    birth_date: date | None = attrs.field(default=None, validator=_optional_date)
    gender: str | None = _optional_text_field()
    postal_code: str | None = _optional_text_field()
    address: str | None = _optional_text_field()
    time_zone: str | None = attrs.field(default=None, validator=_optional_zone)
    attributes: FrozenMap = attrs.field(factory=FrozenMap, converter=to_frozen_map)

    @property
    def display_name(self) -> str:
        """Family then given name, or an empty string when neither is known."""
        return " ".join(p for p in (self.family_name, self.given_name) if p)


def _check_profile(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Profile):
        raise InvalidTypeError(attribute.name, value, "must be a Profile")


def _created_utc(value: object) -> datetime:
    # Instants are kept in UTC: a local time in a DST fold or gap would otherwise
    # compare unequal to the same instant read back from storage.
    return to_utc("created_at", value)


def _updated_utc(value: object) -> datetime:
    return to_utc("updated_at", value)


@attrs.frozen(kw_only=True)
class Customer:
    """One stored customer: an id, a profile and the bookkeeping around it.

    ``version`` is 0 for a customer not yet stored; the repository sets 1 on ``add`` and
    increments it on each ``update``, which succeeds only if the stored version still
    equals the version the caller read (optimistic concurrency).

    Attributes:
        id: the customer id.
        created_at: when the customer was first stored (aware; kept in UTC).
        updated_at: when the profile last changed (aware; kept in UTC); drives
            ``changed_since``.
        version: the optimistic-concurrency version.
        profile: the profile.

    """

    id: str = attrs.field(validator=id_validator)
    created_at: datetime = attrs.field(converter=_created_utc)
    updated_at: datetime = attrs.field(converter=_updated_utc)
    version: int = attrs.field(default=0, validator=_check_version)
    profile: Profile = attrs.field(factory=Profile, validator=_check_profile)

    @property
    def identifiers(self) -> frozenset[IdentifierKey]:
        """The keys this customer can be found by (from the profile)."""
        return self.profile.identifiers
