"""Every public constructor, driven with arbitrary input, succeeds or raises OmniCRMError."""

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.customers import Customer, IdentifierKey, Profile
from omnicrm.errors import OmniCRMError
from omnicrm.events import DomainEvent
from omnicrm.idempotency import IdempotencyRecord
from omnicrm.money import Money
from omnicrm.testing import FixedClock, SequentialIds, SteppingClock

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(),
    st.text(min_size=1).map(lambda s: s * 1000),
    st.binary(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3) | st.integers(), max_size=3),
    st.just("Robert'); DROP TABLE customers;--"),
    st.just(object()),
)

CONSTRUCTORS: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
    "Money": (Money, ("amount", "currency")),
    "Money.from_major": (Money.from_major, ("value", "currency")),
    "Channel": (Channel, ("name",)),
    "IdentifierKey": (IdentifierKey, ("kind", "value")),
    "Profile": (
        Profile,
        ("identifiers", "family_name", "email", "birth_date", "time_zone", "attributes"),
    ),
    "Customer": (Customer, ("id", "created_at", "updated_at", "version", "profile")),
    "DomainEvent": (DomainEvent, ("event_id", "occurred_at")),
    "IdempotencyRecord": (
        IdempotencyRecord,
        ("scope", "key", "fingerprint", "result", "created_at"),
    ),
    "FixedClock": (FixedClock, ("at",)),
    "SteppingClock": (SteppingClock, ("start", "step")),
    "SequentialIds.new_id": (SequentialIds().new_id, ("prefix",)),
}
KEYWORD_ONLY = {"Profile", "Customer", "DomainEvent", "IdempotencyRecord"}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_constructor_accepts_or_raises_omnicrm_error(name: str, data: st.DataObject) -> None:
    build, params = CONSTRUCTORS[name]
    values = {p: data.draw(ANYTHING, label=p) for p in params}
    try:
        if name in KEYWORD_ONLY:
            build(**values)
        else:
            build(*values.values())
    except OmniCRMError:
        pass
