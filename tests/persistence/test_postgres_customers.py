"""The customers contract on PostgreSQL (needs OMNICRM_POSTGRES_URL; see conftest)."""

from collections.abc import Callable

import pytest

from omnicrm.testing.contracts import CustomerRepositoryContract, StoreFactory
from omnicrm.unit_of_work import Store


class TestPostgresCustomerRepository(CustomerRepositoryContract):
    @pytest.fixture
    def store_factory(self, pg_factory: Callable[[], Store]) -> StoreFactory:
        return pg_factory
