from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _loyalty_support import Kit

from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore


@pytest.fixture(params=["memory", "sqlite"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kit]:
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    yield Kit(store)
    store.close()
