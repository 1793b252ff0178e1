from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnicrm.omni import OmniCRM
from omnicrm.persistence import open_store
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.retail_sample import retail_crm
from omnicrm.unit_of_work import Store

NOON_TOKYO = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":  # a fresh schema on the test server (see postgres_fixtures)
        yield request.getfixturevalue("pg_factory")()
        return
    url = "memory:" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOON_TOKYO)


@pytest.fixture
def crm(store: Store, clock: FixedClock) -> OmniCRM:
    return retail_crm(store, clock, SequentialIds(), customers=["store:M1", "ec:u1"])
