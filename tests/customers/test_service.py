from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from omnicrm.channel import Channel
from omnicrm.customers import (
    CustomerRegistered,
    CustomerService,
    CustomerUpdated,
    IdentifierKey,
    Profile,
)
from omnicrm.customers.codec import customer_from_json, customer_to_json
from omnicrm.errors import (
    ConcurrencyError,
    IdempotencyConflictError,
    InvalidTypeError,
    NotFoundError,
    ValidationError,
)
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.strategies import customers

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def service() -> CustomerService:
    return CustomerService(MemoryStore(), FixedClock(T0), SequentialIds())


def test_register_stores_and_announces(service: CustomerService) -> None:
    result = service.register(
        Profile(family_name="山田", identifiers={IdentifierKey.email("h@example.jp")}),
        channel=Channel.EC,
        idempotency_key="k1",
    )
    assert result.customer.id == "cus_000001"
    assert result.customer.version == 1
    (event,) = result.events
    assert isinstance(event, CustomerRegistered)
    assert event.channel == "ec"
    assert service.get("cus_000001") == result.customer
    assert service.find(IdentifierKey.email("h@example.jp")) == (result.customer,)


def test_retry_replays_and_other_payload_conflicts(service: CustomerService) -> None:
    first = service.register(Profile(given_name="A"), channel=Channel.APP, idempotency_key="k")
    again = service.register(Profile(given_name="A"), channel=Channel.APP, idempotency_key="k")
    assert again.replayed
    assert again.customer == first.customer
    assert again.events == ()
    with pytest.raises(IdempotencyConflictError):
        service.register(Profile(given_name="B"), channel=Channel.APP, idempotency_key="k")
    with pytest.raises(IdempotencyConflictError):
        service.register(Profile(given_name="A"), channel=Channel.EC, idempotency_key="k")


def test_update_checks_the_version(service: CustomerService) -> None:
    cid = service.register(Profile(), channel=Channel.STORE, idempotency_key="r").customer.id
    updated = service.update(cid, Profile(given_name="B"), expected_version=1, idempotency_key="u1")
    assert updated.customer.version == 2
    assert isinstance(updated.events[0], CustomerUpdated)
    with pytest.raises(ConcurrencyError):
        service.update(cid, Profile(given_name="C"), expected_version=1, idempotency_key="u2")
    with pytest.raises(NotFoundError):
        service.update("nobody", Profile(), expected_version=1, idempotency_key="u3")
    assert service.get(cid).profile.given_name == "B"


def test_bad_commands_write_nothing(service: CustomerService) -> None:
    with pytest.raises(InvalidTypeError):
        service.register("not a profile", channel=Channel.EC, idempotency_key="k")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        service.register(Profile(), channel="ec", idempotency_key="k")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        service.register(Profile(), channel=Channel.EC, idempotency_key="")
    with pytest.raises(ValidationError):
        service.update("c", Profile(), expected_version=0, idempotency_key="k")
    first = service.register(Profile(), channel=Channel.EC, idempotency_key="k")
    assert first.customer.id == "cus_000001"


def test_profile_field_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Profile(time_zone="Nowhere/Land")
    assert caught.value.field == "time_zone"
    with pytest.raises(InvalidTypeError) as caught_date:
        Profile(birth_date="1990-01-01")  # type: ignore[arg-type]
    assert caught_date.value.field == "birth_date"
    with pytest.raises(InvalidTypeError):
        Profile(attributes={"tier": 3})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        IdentifierKey("passport", "X")
    assert IdentifierKey.external("ec", "1").kind == "external:ec"
    assert Profile(birth_date=date(1990, 1, 1)).display_name == ""


def test_instants_are_kept_in_utc() -> None:
    from zoneinfo import ZoneInfo

    from omnicrm.customers import Customer

    gap = datetime(2030, 3, 31, 1, 30, tzinfo=ZoneInfo("Europe/London"))  # does not exist
    customer = Customer(id="c", created_at=gap, updated_at=gap)
    assert customer.created_at.tzinfo is UTC
    assert customer_from_json(customer_to_json(customer)) == customer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers())
def test_json_codec_round_trips(customer) -> None:  # type: ignore[no-untyped-def]
    assert customer_from_json(customer_to_json(customer)) == customer
