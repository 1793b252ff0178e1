from __future__ import annotations

import pytest
from _loyalty_support import Kit

from omnicrm.persistence.memory import MemoryStore


@pytest.fixture
def kit() -> Kit:
    return Kit(MemoryStore())
