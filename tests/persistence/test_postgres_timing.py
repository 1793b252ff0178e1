"""The timing contract on PostgreSQL (needs OMNICRM_POSTGRES_URL; see conftest)."""

from collections.abc import Callable

import pytest

from omnicrm.testing.contracts import StoreFactory, TimingRepositoryContract
from omnicrm.unit_of_work import Store


class TestPostgresTimingRepository(TimingRepositoryContract):
    @pytest.fixture
    def store_factory(self, pg_factory: Callable[[], Store]) -> StoreFactory:
        return pg_factory
