"""Turn host columns (numpy arrays, lists, pandas or polars columns) into checked numpy arrays.

Every function here raises an :class:`~omnicrm.errors.OmniCRMError` subclass naming the
field and the value at fault, before any computation starts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from omnicrm.errors import ConfigurationError, InvalidTypeError, ValidationError
from omnicrm.validation import check_aware

__all__ = [
    "as_amounts",
    "as_ids",
    "as_instant",
    "as_instants",
    "as_log",
    "check_same_length",
    "resolve_tz",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NAT = int(np.iinfo(np.int64).min)
# The instants datetime can represent; outside them no calendar day can be computed.
_MIN_US = (datetime(1, 1, 2, tzinfo=UTC) - _EPOCH) // _US
_MAX_US = (datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH) // _US


def _array(field: str, values: object) -> NDArray[Any]:
    """``np.asarray(values)`` as a 1-D array, or a precise error."""
    if isinstance(values, str | bytes) or values is None:
        raise InvalidTypeError(field, values, "must be an array-like column, not a scalar")
    try:
        array = np.asarray(values)
    except Exception as exc:  # a column numpy cannot read
        raise InvalidTypeError(field, values, "cannot be read as a numpy array") from exc
    if array.ndim != 1:
        raise ValidationError(field, values, f"must be one-dimensional, not {array.ndim}-D")
    return array


def check_same_length(**columns: NDArray[Any]) -> int:
    """Return the common length of ``columns`` or raise naming the first that differs."""
    items = list(columns.items())
    first_name, first = items[0]
    for name, column in items[1:]:
        if len(column) != len(first):
            raise ValidationError(
                name,
                f"<{len(column)} values>",
                f"has {len(column)} values but {first_name} has {len(first)}",
            )
    return len(first)


def as_ids(field: str, values: object) -> NDArray[Any]:
    """Return ids as an ``int64`` array or a numpy unicode array; other kinds are refused.

    A Python list is read element by element, so ``["a", 2]`` is refused rather than
    silently turned into ``["a", "2"]``.
    """
    array = _array(field, values)
    if isinstance(values, list | tuple) and array.size:
        array = np.empty(len(values), dtype=object)
        array[:] = values
    kind = array.dtype.kind
    if kind in "iu":
        if kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise ValidationError(field, int(array.max()), "ids must fit in a signed 64-bit int")
        return array.astype(np.int64, copy=False)
    if kind == "U":
        return array
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if kind == "O":
        first = array[0]
        want: type | tuple[type, ...] = str if isinstance(first, str) else (int, np.integer)
        for i, value in enumerate(array):
            if isinstance(value, bool) or not isinstance(value, want):
                raise InvalidTypeError(f"{field}[{i}]", value, "ids must all be str or all be int")
        try:
            return array.astype(str if want is str else np.int64)
        except OverflowError as exc:
            raise ValidationError(field, values, "ids must fit in a signed 64-bit int") from exc
    raise InvalidTypeError(field, array.dtype, "ids must be integers or strings")


def as_amounts(field: str, values: object) -> NDArray[np.int64]:
    """Return amounts as ``int64`` minor units; floats (and NaN) are refused, never rounded."""
    array = _array(field, values)
    kind = array.dtype.kind
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if kind == "f":
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size:
            i = int(bad[0])
            raise InvalidTypeError(f"{field}[{i}]", array[i], "amounts must not be NaN or inf")
        raise InvalidTypeError(
            field, array.dtype, "amounts must be integer minor units, not floats"
        )
    if kind == "u":
        if int(array.max()) > np.iinfo(np.int64).max:
            raise ValidationError(field, int(array.max()), "must fit in a signed 64-bit int")
        return array.astype(np.int64)
    if kind == "i":
        return array.astype(np.int64, copy=False)
    if kind == "O":
        for i, value in enumerate(array):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidTypeError(
                    f"{field}[{i}]", value, "amounts must be integer minor units"
                )
        try:
            return array.astype(np.int64)
        except OverflowError as exc:
            raise ValidationError(field, values, "must fit in a signed 64-bit int") from exc
    raise InvalidTypeError(field, array.dtype, "amounts must be integer minor units")


def as_instants(field: str, values: object) -> NDArray[np.int64]:
    """Return instants as ``int64`` microseconds since the Unix epoch, UTC.

    ``datetime64`` values carry no zone and are taken as UTC instants. Python datetimes
    (and pandas Timestamps) must be timezone-aware; a naive one is refused.
    """
    array = _array(field, values)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind == "M":
        us = array.astype("datetime64[us]", copy=False).view(np.int64)
        if int(us.min()) == _NAT:  # NaT is the smallest int64: one pass finds both
            i = int(np.flatnonzero(us == _NAT)[0])
            raise ValidationError(f"{field}[{i}]", array[i], "must not be NaT")
    elif array.dtype.kind == "O":
        us = np.fromiter(
            (
                (check_aware(f"{field}[{i}]", value) - _EPOCH) // _US
                for i, value in enumerate(array)
            ),
            dtype=np.int64,
            count=array.size,
        )
    else:
        raise InvalidTypeError(
            field, array.dtype, "must be datetime64 values or timezone-aware datetimes"
        )
    low, high = int(us.min()), int(us.max())
    if low < _MIN_US or high > _MAX_US:
        bad = low if low < _MIN_US else high
        raise ValidationError(field, np.datetime64(bad, "us"), "is outside years 1..9999")
    return us


def as_instant(field: str, value: object) -> int:
    """Return one instant (aware datetime or ``datetime64``, taken as UTC) in microseconds."""
    if isinstance(value, np.datetime64):
        return int(as_instants(field, np.array([value]))[0])
    return (check_aware(field, value) - _EPOCH) // _US


def as_log(
    customer_ids: object, timestamps: object, amounts: object | None
) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.int64] | None]:
    """Read a transaction log's columns, checked and of one length (amounts may be absent)."""
    ids = as_ids("customer_ids", customer_ids)
    instants = as_instants("timestamps", timestamps)
    if amounts is None:
        check_same_length(customer_ids=ids, timestamps=instants)
        return ids, instants, None
    money = as_amounts("amounts", amounts)
    check_same_length(customer_ids=ids, timestamps=instants, amounts=money)
    return ids, instants, money


def resolve_tz(tz: object) -> tzinfo:
    """Return a ``tzinfo`` for an IANA zone name or a ``tzinfo``; anything else is refused."""
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError("tz", tz, "is not a known IANA time zone") from exc
    raise InvalidTypeError(
        "tz", tz, f"must be an IANA zone name or tzinfo, not {type(tz).__name__}"
    )
