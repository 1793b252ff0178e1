from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from omnicrm.channel import Channel
from omnicrm.clock import SystemClock, from_micros, to_micros, to_utc, zone
from omnicrm.errors import (
    ConcurrencyError,
    DuplicateError,
    IdempotencyConflictError,
    InvalidTypeError,
    NaiveDatetimeError,
    NotFoundError,
    OmniCRMError,
    RuleViolationError,
    ValidationError,
)
from omnicrm.events import DomainEvent
from omnicrm.ids import UuidIds
from omnicrm.validation import (
    check_aware,
    check_date,
    check_id,
    check_ids,
    check_int,
    check_text,
    check_tuple,
)


def test_errors_subclass_the_nearest_builtin() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(InvalidTypeError, TypeError)
    assert issubclass(NotFoundError, KeyError)
    assert issubclass(RuleViolationError, ValueError)
    for cls in (ConcurrencyError, DuplicateError, IdempotencyConflictError):
        assert issubclass(cls, OmniCRMError)


def test_error_messages_name_field_and_value() -> None:
    assert str(ValidationError("points", -3, "must be positive")) == "points=-3: must be positive"
    assert str(NotFoundError("customer", "c9")) == "customer 'c9' not found"
    long = ValidationError("name", "x" * 10_000_000, "too long")
    assert len(str(long)) < 200
    assert "length 10000002" in str(long)


def test_errors_pickle() -> None:
    import pickle

    for exc in (
        ValidationError("f", 1, "r"),
        NotFoundError("k", 1),
        ConcurrencyError("c", "1", 1, 2),
        DuplicateError("c", "1"),
        IdempotencyConflictError("s", "k"),
    ):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc)
        assert str(again) == str(exc)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError) as caught:
        check_aware("at", datetime(2026, 1, 1))
    assert caught.value.field == "at"
    with pytest.raises(InvalidTypeError):
        check_aware("at", "2026-01-01")
    aware = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
    assert to_utc("at", aware) == datetime(2026, 1, 1, tzinfo=UTC)


def test_checks() -> None:
    assert check_int("n", 3, minimum=0) == 3
    for bad in (True, 1.0, "1", None):
        with pytest.raises(InvalidTypeError):
            check_int("n", bad)
    with pytest.raises(ValidationError):
        check_int("n", -1, minimum=0)
    with pytest.raises(ValidationError):
        check_text("t", "   ")
    with pytest.raises(ValidationError):
        check_text("t", "a\x00b")
    with pytest.raises(ValidationError):
        check_id("id", " padded")
    with pytest.raises(ValidationError):
        check_id("id", "a\nb")
    with pytest.raises(InvalidTypeError):
        check_date("d", datetime(2026, 1, 1, tzinfo=UTC))
    assert check_date("d", date(2026, 1, 1)) == date(2026, 1, 1)


def test_zone_and_micros() -> None:
    assert str(zone("tz", "Asia/Tokyo")) == "Asia/Tokyo"
    with pytest.raises(ValidationError):
        zone("tz", "Mars/Olympus")
    with pytest.raises(ValidationError):
        zone("tz", "../../etc/passwd")
    at = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    assert from_micros(to_micros(at)) == at
    assert SystemClock().now().tzinfo is not None


def test_channels_are_an_open_set() -> None:
    assert Channel("ec") == Channel.EC
    assert str(Channel.CALL_CENTER) == "call_center"
    assert Channel("marketplace").name == "marketplace"
    assert len(Channel.predefined()) == 10
    for bad in ("EC", "", "e c", "1app", "x" * 41):
        with pytest.raises(ValidationError):
            Channel(bad)


def test_domain_event_base() -> None:
    event = DomainEvent(event_id="e1", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert event.event_type == "DomainEvent"
    with pytest.raises(NaiveDatetimeError):
        DomainEvent(event_id="e1", occurred_at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        DomainEvent(event_id="", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_uuid_ids_are_prefixed_and_unique() -> None:
    ids = UuidIds()
    made = {ids.new_id("cus") for _ in range(100)}
    assert len(made) == 100
    assert all(i.startswith("cus_") for i in made)


def test_sequences_of_values() -> None:
    assert check_tuple("xs", [1, 2], int, "an int") == (1, 2)
    assert check_ids("channels", ("email", "sms")) == ("email", "sms")
    for bad in (5, "email", b"x", None):
        with pytest.raises(InvalidTypeError, match="must be a sequence"):
            check_ids("channels", bad)
    with pytest.raises(InvalidTypeError, match="must be an int"):
        check_tuple("xs", [1, "2"], int, "an int")
    with pytest.raises(ValidationError):
        check_ids("channels", ["ok", " padded"])
