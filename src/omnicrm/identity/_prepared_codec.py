"""A stored form of :class:`~omnicrm.identity.prepared.PreparedRecord`, kept beside its record.

A store that keeps each record's prepared form saves the resolver normalising every
candidate it reads (most of a placement's work at a large store, where candidates are
seldom in any cache). The form is only valid for the settings ``prepare`` read and the
normalisation code that ran, so each stored form starts with a *fingerprint* of both:

- the :class:`~omnicrm.identity.config.MatchConfig` parts ``prepare`` depends on
  (phone region, e-mail provider rules, day-first dates);
- the normalisation code itself: the source text of ``prepared.py`` and of the
  ``normalize`` package, the ``phonenumbers`` version and the Unicode database version
  (NFKC). Any change to them, even a comment, changes the fingerprint, so a form written
  by other code is never read as current: it is prepared again instead (a mismatch
  costs only time, never a different decision).

A form holds its record too (so a candidate is read from its form alone, one text
decoded instead of two), written by :func:`~omnicrm.identity.codec.record_to_dict` like
the row's own record text, so it needs no fingerprint of its own: that codec must read
every record it ever wrote anyway. A prepared field equal to the record's own field is
stored as ``0`` instead of the text.

Between the fingerprint and the JSON stands the prepared date of birth, ten characters
(ISO, or dashes when there is none): a placement reads it without decoding the rest
(:meth:`PreparedForm.born`), and a candidate born apart from the new record (a
cannot-link guard) is not decoded at all.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import attrs
import phonenumbers

from omnicrm.identity.codec import record_from_json, record_to_dict
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.normalize import Address
from omnicrm.identity.prepared import PreparedRecord
from omnicrm.identity.records import SourceRef, stored_value

__all__ = ["PreparedForm", "prepared_form"]

_FORM_VERSION = 3  # 2: the record inside the form; 3: the date of birth before it
_FINGERPRINT_CHARS = 16
_SAME = 0  # "equal to the record's field"
_NO_BIRTH = "-" * 10  # the birth date slot of a form without one (an ISO date is ten long)

# prepared text field -> the record field it usually equals (its raw, written form)
_TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("family", "family_name"),
    ("given", "given_name"),
    ("family_kana", "family_name_kana"),
    ("given_kana", "given_name_kana"),
    ("email", "email"),
    ("phone", "phone"),
    ("postal_code", "postal_code"),
    ("gender", "gender"),
    ("member_card", "member_card_no"),
)

_ADDRESS = ("prefecture", "locality", "block", "building")


def _covers_every_field() -> bool:
    """Whether this form holds every field of ``PreparedRecord`` and ``Address``.

    A field added to either (by a change to ``prepare``) and not to this codec would be
    lost on a round trip; then no form is stored or read until the codec learns it.
    """
    prepared = {a.name for a in attrs.fields(PreparedRecord)}
    known = {"record", "birth_date", "address", "unreadable"} | {n for n, _ in _TEXT_FIELDS}
    return prepared == known and {a.name for a in attrs.fields(Address)} == set(_ADDRESS)


@cache
def _code_digest() -> str:
    """A digest of the code ``prepare`` runs (``""`` when its source cannot be read)."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        package = resources.files("omnicrm.identity")
        sources = [package / "prepared.py"]
        sources += sorted(
            (p for p in (package / "normalize").iterdir() if p.name.endswith(".py")),
            key=lambda p: p.name,
        )
        for path in sources:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    except (OSError, TypeError):  # no readable source (a frozen build): no stored forms
        return ""
    digest.update(f"{phonenumbers.__version__}|{unicodedata.unidata_version}".encode())
    return digest.hexdigest()


@attrs.frozen
class PreparedForm:
    """Encodes and decodes prepared records for one fingerprint.

    Attributes:
        fingerprint: identifies the settings and the normalisation code; a stored form
            with another fingerprint is not decoded.

    """

    fingerprint: str

    def encode(self, p: PreparedRecord) -> str:
        """The stored text of ``p``: its record (but the source, the row's key) and form."""
        r = p.record
        record = record_to_dict(r)
        del record["source"]
        fields: list[Any] = [record]
        fields += [
            _SAME if getattr(p, name) == getattr(r, raw) else getattr(p, name)
            for name, raw in _TEXT_FIELDS
        ]
        fields.append(None if p.birth_date is None else p.birth_date.isoformat())
        a = p.address
        fields.append(None if a is None else [getattr(a, name) for name in _ADDRESS])
        fields.append(list(p.unreadable))
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        return self.fingerprint + _born_text(p.birth_date) + text

    def current(self, text: str | None) -> bool:
        """Whether ``text`` is a form of this fingerprint (written by these settings)."""
        return text is not None and text.startswith(self.fingerprint)

    def decode(self, text: str, source: SourceRef) -> PreparedRecord | None:
        """The prepared form, with its record, of ``source`` stored as ``text``.

        ``None`` if the text is not current, or is of this fingerprint but cannot be
        read (a damaged row): a stored form is only a shortcut, the row's record is then
        read and prepared again.
        """
        if not self.current(text):
            return None
        start = len(self.fingerprint) + len(_NO_BIRTH)
        try:
            prepared = _decoded(json.loads(text[start:]), source)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if text[len(self.fingerprint) : start] != _born_text(prepared.birth_date):
            return None  # the date in front disagrees with the form: damaged
        return prepared

    def born(self, text: str) -> date | None:
        """The prepared date of birth a current form states, read without decoding it.

        ``None`` when the form has none, or is not current, or the date is unreadable.
        """
        if not self.current(text):
            return None
        start = len(self.fingerprint)
        written = text[start : start + len(_NO_BIRTH)]
        if written == _NO_BIRTH or len(written) != len(_NO_BIRTH):
            return None
        try:
            return date.fromisoformat(written)
        except ValueError:
            return None


def _born_text(birth: date | None) -> str:
    """The ten characters of a form standing for its date of birth."""
    return _NO_BIRTH if birth is None else birth.isoformat()


def _decoded(fields: list[Any], source: SourceRef) -> PreparedRecord:
    if len(fields) != len(_TEXT_FIELDS) + 4 or not isinstance(fields[0], dict):
        raise ValueError("not a prepared form")
    record = record_from_json(fields[0], stored=True, source=source)
    values: dict[str, Any] = {"record": record}
    for (name, raw), value in zip(_TEXT_FIELDS, fields[1:], strict=False):
        values[name] = getattr(record, raw) if value == _SAME else value
    birth, address, unreadable = fields[len(_TEXT_FIELDS) + 1 :]
    values["birth_date"] = None if birth is None else date.fromisoformat(birth)
    if address is not None:
        address = stored_value(Address, dict(zip(_ADDRESS, address, strict=True)))
    values["address"] = address
    values["unreadable"] = tuple(unreadable)
    return stored_value(PreparedRecord, values)


def prepared_form(config: MatchConfig) -> PreparedForm | None:
    """The stored form for ``config``; ``None`` when no form can be trusted.

    That is when the normalisation code's source cannot be read, or ``PreparedRecord``
    has a field this codec does not store.
    """
    code = _code_digest()
    if not code or not _covers_every_field():
        return None
    parts = [_FORM_VERSION, config.phone_region, config.email_provider_rules, config.day_first]
    digest = hashlib.blake2b(f"{json.dumps(parts)}|{code}".encode(), digest_size=8)
    return PreparedForm(digest.hexdigest()[:_FINGERPRINT_CHARS])
