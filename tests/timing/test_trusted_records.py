"""The engine's fast record builder makes exactly what the attrs constructor makes."""

from datetime import UTC, datetime

import attrs
import pytest

from omnicrm.frozenmap import FrozenMap
from omnicrm.timing import Enrollment
from omnicrm.timing.records import trusted_enrollment

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_trusted_enrollment_equals_the_constructor() -> None:
    fields = {
        "customer_id": "c1", "journey_id": "j1", "run": 2, "step_id": "w", "active": True,
        "entered_at": T0, "due_at": T0, "wait_event": "booked",
        "facts": FrozenMap({"a": "1"}), "deferrals": 1, "holdout": True, "version": 3,
    }  # fmt: skip
    built = Enrollment(**fields)
    fast = trusted_enrollment(*(fields[a.name] for a in attrs.fields(Enrollment)))
    assert fast == built
    assert hash(fast) == hash(built)
    assert repr(fast) == repr(built)
    assert fast.with_version(4) == attrs.evolve(built, version=4)
    assert fast.ended() == attrs.evolve(
        built, active=False, due_at=None, wait_event=None, deferrals=0
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.version = 9  # type: ignore[misc]


def test_trusted_entry_equals_the_constructor() -> None:
    from omnicrm.timing import EntryRecord
    from omnicrm.timing.records import trusted_entry

    built = EntryRecord(customer_id="c1", journey_id="j1", run=2, at=T0, holdout=True)
    fast = trusted_entry("c1", "j1", 2, T0, True)
    assert (fast, hash(fast), repr(fast)) == (built, hash(built), repr(built))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.run = 9  # type: ignore[misc]
