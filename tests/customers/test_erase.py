"""Erasing a customer's personal data: an empty tombstone, redacted retries, one event."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnicrm.channel import Channel
from omnicrm.customers import CustomerProfileErased, CustomerService, IdentifierKey, Profile
from omnicrm.errors import DuplicateError, NotFoundError, RuleViolationError, ValidationError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.unit_of_work import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EMAIL = IdentifierKey.email("hanako@example.jp")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "c.db")


def test_erase_leaves_an_empty_profile_and_redacts_the_first_result(store: Store) -> None:
    service = CustomerService(store, FixedClock(T0), SequentialIds())
    profile = Profile(family_name="山田", given_name="花子", identifiers={EMAIL})
    registered = service.register(profile, channel=Channel.EC, idempotency_key="signup")
    customer_id = registered.customer.id
    erased = service.erase(customer_id, idempotency_key="erase")
    assert erased.customer.profile == Profile()
    assert erased.customer.version == 2
    assert [type(e) for e in erased.events] == [CustomerProfileErased]
    assert service.get(customer_id).profile == Profile()
    assert service.find(EMAIL) == ()
    with pytest.raises(RuleViolationError) as raised:  # the retry cannot re-create the person
        service.register(profile, channel=Channel.EC, idempotency_key="signup")
    assert raised.value.field == "idempotency_key"
    assert service.erase(customer_id, idempotency_key="erase").replayed
    store.close()


def test_register_under_a_given_id_and_refuse_a_taken_one(store: Store) -> None:
    service = CustomerService(store, FixedClock(T0), SequentialIds())
    made = service.register(
        Profile(given_name="A"), channel=Channel.APP, idempotency_key="k1", customer_id="per_1"
    )
    assert made.customer.id == "per_1"
    with pytest.raises(DuplicateError):
        service.register(
            Profile(given_name="B"), channel=Channel.APP, idempotency_key="k2", customer_id="per_1"
        )
    with pytest.raises(ValidationError):
        service.register(Profile(), channel=Channel.APP, idempotency_key="k3", customer_id="")
    with pytest.raises(NotFoundError):
        service.erase("nobody", idempotency_key="e")
    assert service.get("per_1").profile.given_name == "A"
    store.close()
