"""The host proves its backend with omnicrm's contract suite: one fixture to override."""

import pytest
from dict_store import DictStore

from omnicrm.testing.contracts import CustomerRepositoryContract, StoreFactory


class TestDictStore(CustomerRepositoryContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return DictStore
