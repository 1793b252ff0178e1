"""Source records: what one channel knows about a person, before any matching."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar

import attrs

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError
from omnicrm.frozenmap import FrozenMap, to_frozen_map
from omnicrm.validation import check_aware, check_id, check_optional_text

__all__ = [
    "MAX_FIELD_LENGTH",
    "CustomerRecord",
    "SourceRef",
    "read_source",
    "stored_record",
    "stored_source",
    "stored_value",
]

T = TypeVar("T")

MAX_FIELD_LENGTH = 1_000
"""The longest text a record field may hold; longer values are refused precisely."""


def _check_channel(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Channel):
        raise InvalidTypeError(attribute.name, value, "must be a Channel")


def _to_channel(value: Any) -> Any:
    return _channel(value) if isinstance(value, str) else value


@lru_cache(maxsize=256)
def _channel(name: str) -> Channel:
    """A channel by name, built (and checked) once per name: channels are few."""
    return Channel(name)


@attrs.frozen(order=False)
class SourceRef:
    """Where a record comes from: a channel and that channel's own id for the person.

    Sources order by channel name, then id.

    Attributes:
        channel: the channel (``Channel.STORE``, ``Channel.EC``, ...); a name is accepted.
        id: the id the channel's system gives the person (member number, account id).

    """

    channel: Channel = attrs.field(converter=_to_channel, validator=_check_channel)
    id: str = attrs.field(validator=lambda _i, a, v: check_id(a.name, v))

    def __str__(self) -> str:
        return f"{self.channel.name}:{self.id}"

    def _key(self) -> tuple[str, str]:
        return (self.channel.name, self.id)

    def __lt__(self, other: SourceRef) -> bool:
        return self._key() < other._key()

    def __le__(self, other: SourceRef) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: SourceRef) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: SourceRef) -> bool:
        return self._key() >= other._key()

    @classmethod
    def parse(cls, text: str) -> SourceRef:
        """Read ``"channel:id"`` (the form ``str()`` writes) back into a ``SourceRef``."""
        channel, sep, ident = str(text).partition(":")
        if not sep:
            raise InvalidTypeError("source", text, "must be written 'channel:id'")
        return cls(_channel(channel), ident)


@lru_cache(maxsize=1 << 16)
def stored_source(text: str) -> SourceRef:
    """:meth:`SourceRef.parse` for a source read back from a store, kept for reuse.

    A placement reads dozens of sources from the match-key index and the record rows,
    the same ones again within one placement (a record shares several keys with a
    candidate) and, on a small store, across placements: each text is parsed once
    while it stays among the most recent ``65,536``. Like :func:`stored_record`, it
    trusts the id (checked when the source was built, before it was stored); the
    channel name is checked (once per name) and a text without ``":"`` is refused.
    """
    return read_source(text)


def read_source(text: str) -> SourceRef:
    """:func:`stored_source` building a new object each time (nothing kept)."""
    channel, sep, ident = text.partition(":")
    if not sep or not ident:
        return SourceRef.parse(text)  # raises the precise error
    source: SourceRef = object.__new__(SourceRef)
    object.__setattr__(source, "channel", _channel(channel))
    object.__setattr__(source, "id", ident)
    return source


def _check_source(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, SourceRef):
        raise InvalidTypeError(attribute.name, value, "must be a SourceRef")


def _optional_text(_instance: Any, attribute: Any, value: Any) -> None:
    check_optional_text(attribute.name, value, max_length=MAX_FIELD_LENGTH)


def _text() -> Any:
    return attrs.field(default=None, validator=_optional_text)


def _check_birth(_instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise InvalidTypeError(
            attribute.name, value, "must be a date or the date as written (a str)"
        )
    if isinstance(value, str):
        check_optional_text(attribute.name, value, max_length=60)


def _check_bool(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidTypeError(attribute.name, value, "must be a bool")


def _check_seen(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        check_aware(attribute.name, value)


@attrs.frozen(kw_only=True)
class CustomerRecord:
    """One channel's record of a person. Every field but ``source`` is optional.

    Values are kept exactly as written; :mod:`omnicrm.identity.normalize` reads them for
    matching, and a value that cannot be read (an unparseable phone) is left unmatched
    on that field rather than failing the record.

    Attributes:
        source: where the record comes from.
        family_name: family name (姓) as written (kanji, kana or Latin letters).
        given_name: given name (名) as written.
        family_name_kana: reading of the family name (セイ), any kana script.
        given_name_kana: reading of the given name (メイ).
        email: e-mail address.
        email_verified: ``True`` when the channel proved the person owns ``email``.
        phone: phone number in any written form.
        birth_date: a ``date``, or the date as written (``"昭和60年4月1日"``, ``"S60.4.1"``).
        gender: gender as the channel records it.
        postal_code: postal code in any written form (``"〒100-0005"``).
        address: postal address as written.
        member_card_no: loyalty card number.
        observed_at: when the channel first saw this record (aware); the earliest record
            of a person gives the person's id.
        attributes: further host fields, text to text (compared by configured comparators).

    """

    source: SourceRef = attrs.field(validator=_check_source)
    family_name: str | None = _text()
    given_name: str | None = _text()
    family_name_kana: str | None = _text()
    given_name_kana: str | None = _text()
    email: str | None = _text()
    email_verified: bool = attrs.field(default=False, validator=_check_bool)
    phone: str | None = _text()
    birth_date: date | str | None = attrs.field(default=None, validator=_check_birth)
    gender: str | None = _text()
    postal_code: str | None = _text()
    address: str | None = _text()
    member_card_no: str | None = _text()
    observed_at: datetime | None = attrs.field(default=None, validator=_check_seen)
    attributes: FrozenMap = attrs.field(factory=FrozenMap, converter=to_frozen_map)

    @classmethod
    def from_mapping(cls, row: Any) -> CustomerRecord:
        """Build a record from a plain mapping (a CSV row, a JSON object).

        ``source`` may be a :class:`SourceRef`, ``"channel:id"`` or a ``(channel, id)``
        pair. Raises a precise ``OmniCRMError`` for a row that cannot be a record.
        """
        if isinstance(row, CustomerRecord):
            return row
        if not hasattr(row, "items"):
            raise InvalidTypeError("record", row, "must be a CustomerRecord or a mapping")
        data = dict(row.items())
        source = data.pop("source", None)
        if source is None:
            raise InvalidTypeError("source", None, "a record needs a source (channel and id)")
        if isinstance(source, str):
            source = SourceRef.parse(source)
        elif isinstance(source, tuple | list) and len(source) == 2:
            source = SourceRef(source[0], source[1])
        try:
            return cls(source=source, **data)
        except TypeError as exc:
            if isinstance(exc, InvalidTypeError):
                raise
            raise InvalidTypeError("record", sorted(data), f"has unknown fields: {exc}") from exc


_TEXT_DEFAULTS: dict[str, Any] = {
    a.name: a.default
    for a in attrs.fields(CustomerRecord)
    if a.name not in ("source", "attributes")
}

_STORED_NAMES = frozenset(_TEXT_DEFAULTS) | {"attributes"}


def stored_record(source: SourceRef, fields: dict[str, Any]) -> CustomerRecord:
    """A record read back from a row a store wrote itself, built without re-checking it.

    Only for a store's read path: every stored record passed :class:`CustomerRecord`'s
    validators when it was built, and a store writes nothing else, so checking each
    candidate row again on every placement (a dozen text checks per row, a dozen rows
    per placement) would only repeat them. ``fields`` holds the fields that are set
    (plain values of the right types: texts, a ``date`` or text birth date, an aware
    ``observed_at``, an attributes mapping); an unknown name raises ``TypeError``.
    Anything from outside the store goes through ``CustomerRecord(...)``.
    """
    if not fields.keys() <= _STORED_NAMES:  # a subset test builds no set on the way
        unknown = fields.keys() - _STORED_NAMES
        raise TypeError(f"unknown record fields: {sorted(unknown)}")
    values = {**_TEXT_DEFAULTS, **fields, "source": source}
    attributes = fields.get("attributes")
    values["attributes"] = FrozenMap(attributes) if attributes else _NO_ATTRIBUTES
    return stored_value(CustomerRecord, values)


_PLAIN_FIELDS: dict[type, tuple[tuple[str, Any], ...] | None] = {}


def _plain_fields(cls: type) -> tuple[tuple[str, Any], ...] | None:
    """Each attrs field of ``cls`` with its slot's setter, if the slots hold only those."""
    if cls not in _PLAIN_FIELDS:
        names = tuple(a.name for a in attrs.fields(cls))
        slots = set(getattr(cls, "__slots__", ())) - {"__weakref__"}
        plain = slots == set(names)
        _PLAIN_FIELDS[cls] = tuple((n, getattr(cls, n).__set__) for n in names) if plain else None
    return _PLAIN_FIELDS[cls]


def stored_value(cls: type[T], values: dict[str, Any]) -> T:
    """An attrs value a store wrote, read back without running its validators again.

    ``values`` must give every field, already of the stored types. For a class with
    more than its fields in its slots (a cached hash), it is built the checked way.
    """
    fields = _plain_fields(cls)
    if fields is None:
        return cls(**values)
    value: T = object.__new__(cls)
    for name, set_slot in fields:  # the slot's own setter: a frozen class refuses setattr
        set_slot(value, values[name])
    return value


_NO_ATTRIBUTES = FrozenMap()
