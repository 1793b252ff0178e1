"""Idempotent commands: the record of a command's first result, and the check on retry.

Every mutating command carries an idempotency key. The first run stores a record
(scope, key, a fingerprint of the payload, the encoded result) in the same unit of
work as the command's writes, so both commit or neither does. A retry with the same
key and payload returns the stored result; the same key with another payload raises
:class:`~omnicrm.errors.IdempotencyConflictError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, TypeVar

import attrs

from omnicrm.errors import (
    DuplicateError,
    IdempotencyConflictError,
    RuleViolationError,
    StorageBusyError,
)
from omnicrm.validation import (
    aware_validator,
    check_id,
    check_text,
    id_validator,
    optional_id_validator,
)

T = TypeVar("T")

__all__ = [
    "REDACTED",
    "HasIdempotency",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "fingerprint",
    "replay_or_none",
    "run_once",
]


REDACTED = "<erased>"
"""The result and fingerprint a record keeps once its subject was erased."""


def _check_scope(_instance: Any, attribute: Any, value: Any) -> None:
    check_text(attribute.name, value, max_length=100)


@attrs.frozen(kw_only=True)
class IdempotencyRecord:
    """What a command stored the first time it ran under an idempotency key.

    Attributes:
        scope: the command's name ("customers.register", "loyalty.spend").
        key: the caller's idempotency key.
        fingerprint: a hash of the command's payload (see :func:`fingerprint`).
        result: the command's result, encoded as text by the service.
        created_at: when the command first ran.
        subject: the customer the result is about (``None``: nobody in particular), so
            that erasing them can redact the result (:meth:`IdempotencyRepository.redact`).

    """

    scope: str = attrs.field(validator=_check_scope)
    key: str = attrs.field(validator=id_validator)
    fingerprint: str = attrs.field(validator=_check_scope)
    result: str
    created_at: datetime = attrs.field(validator=aware_validator)
    subject: str | None = attrs.field(default=None, validator=optional_id_validator)

    @property
    def redacted(self) -> bool:
        """Whether the result was erased with its subject (:data:`REDACTED`)."""
        return self.fingerprint == REDACTED


class IdempotencyRepository(Protocol):
    """Stores :class:`IdempotencyRecord` rows, unique by ``(scope, key)``."""

    def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """Return the record for ``(scope, key)``, or ``None``."""
        ...

    def add(self, record: IdempotencyRecord) -> None:
        """Store a new record; raises ``DuplicateError`` if ``(scope, key)`` exists."""
        ...

    def redact(self, subject: str) -> int:
        """Erase the result and fingerprint of every record about ``subject``; count them.

        The records stay, with :data:`REDACTED` for both, so a retry of one of those
        commands is refused rather than run again.
        """
        ...


def _plain(value: Any) -> Any:
    if attrs.has(type(value)):
        return {"__type__": type(value).__name__, **attrs.asdict(value, recurse=False)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | Enum):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


def fingerprint(payload: Mapping[str, Any]) -> str:
    """Return a stable SHA-256 hex digest of a command's payload.

    The payload is rendered as canonical JSON (sorted keys); datetimes, attrs values,
    sets and mappings are rendered deterministically.
    """
    text = json.dumps(payload, sort_keys=True, default=_plain, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def replay_or_none(
    repository: IdempotencyRepository, scope: str, key: str, payload_fingerprint: str
) -> str | None:
    """Return the stored result of an earlier run of this command, or ``None`` if new.

    Raises ``IdempotencyConflictError`` when ``key`` was used with another payload and
    ``RuleViolationError`` when the first run's result was redacted by an erasure.
    """
    record = repository.get(scope, key)
    if record is None:
        return None
    if record.redacted:
        raise RuleViolationError(
            "idempotency_key", key, f"the first {scope} was about a customer since erased"
        )
    if record.fingerprint != payload_fingerprint:
        raise IdempotencyConflictError(scope, key)
    return record.result


class HasIdempotency(Protocol):
    """Anything exposing an idempotency repository: every unit of work does."""

    @property
    def idempotency(self) -> IdempotencyRepository:
        """The idempotency-record repository."""
        ...


def run_once(
    uow: HasIdempotency,
    *,
    scope: str,
    key: str,
    payload: Mapping[str, Any],
    now: datetime,
    command: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T],
    subject: Callable[[T], str | None] | None = None,
) -> tuple[T, bool]:
    """Run ``command`` once per idempotency key, inside an open unit of work.

    Returns ``(result, replayed)``: on a retry with the same key and payload, the first
    run's result decoded from its record and ``True``; otherwise the command's result,
    recorded (in the same unit of work, so both commit or neither does), and ``False``.
    Raises ``IdempotencyConflictError`` for the same key with another payload.
    ``subject`` names the customer a result is about, for erasure to redact it.
    """
    check_id("idempotency_key", key)
    digest = fingerprint(payload)
    earlier = replay_or_none(uow.idempotency, scope, key, digest)
    if earlier is not None:
        return decode(earlier), True
    result = command()
    record = IdempotencyRecord(
        scope=scope,
        key=key,
        fingerprint=digest,
        result=encode(result),
        created_at=now,
        subject=None if subject is None else subject(result),
    )
    try:
        uow.idempotency.add(record)
    except DuplicateError:
        # Another unit of work committed this key after our check: possible only on a
        # store running units of work with different locks side by side. Ours must not
        # commit; the caller's unit of work rolls back on the error.
        replay_or_none(uow.idempotency, scope, key, digest)  # a conflict names itself
        raise StorageBusyError(
            f"idempotency_key={key!r}: a concurrent {scope} with this key committed "
            "first; run the command again to get its result"
        ) from None
    return result, False
