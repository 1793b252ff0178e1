"""The identity contract, run against the two shipped backends."""

import itertools
from pathlib import Path

import pytest

from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing.contracts import IdentityRepositoryContract, StoreFactory


class TestMemoryIdentity(IdentityRepositoryContract):
    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return MemoryStore


class TestSQLiteIdentity(IdentityRepositoryContract):
    @pytest.fixture
    def store_factory(self, tmp_path: Path) -> StoreFactory:
        counter = itertools.count()
        return lambda: SQLiteStore(tmp_path / f"id{next(counter)}.db")
