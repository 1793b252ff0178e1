"""The omnicrm pytest plugin (``pytest11`` entry point): ``omnicrm_``-prefixed fixtures.

Installed with omnicrm, it is loaded by pytest automatically. It registers the
hypothesis strategies for ``st.from_type`` when hypothesis is installed, and offers:

- ``omnicrm_clock``: a :class:`~omnicrm.testing.FixedClock` at 2026-01-01 00:00 UTC;
- ``omnicrm_ids``: :class:`~omnicrm.testing.SequentialIds`;
- ``omnicrm_event_bus``: a :class:`~omnicrm.testing.RecordingEventBus`;
- ``omnicrm_memory_store``: a new in-memory store;
- ``omnicrm_sqlite_store``: a new SQLite store in the test's temporary directory.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.testing.fakes import FixedClock, RecordingEventBus, SequentialIds

if importlib.util.find_spec("hypothesis") is not None:  # strategies need hypothesis
    # Importing a strategies module registers its st.from_type strategies.
    import omnicrm.testing.strategies
    import omnicrm.testing.strategies_identity
    import omnicrm.testing.strategies_inventory
    import omnicrm.testing.strategies_loyalty
    import omnicrm.testing.strategies_timing  # noqa: F401

__all__ = [
    "omnicrm_clock",
    "omnicrm_event_bus",
    "omnicrm_ids",
    "omnicrm_memory_store",
    "omnicrm_sqlite_store",
]

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def omnicrm_clock() -> FixedClock:
    """A fixed clock at 2026-01-01 00:00 UTC; move it with ``advance`` or ``set``."""
    return FixedClock(START)


@pytest.fixture
def omnicrm_ids() -> SequentialIds:
    """Sequential ids: ``cus_000001``, ``evt_000002``, ..."""
    return SequentialIds()


@pytest.fixture
def omnicrm_event_bus() -> RecordingEventBus:
    """An event bus that records what is published."""
    return RecordingEventBus()


@pytest.fixture
def omnicrm_memory_store() -> MemoryStore:
    """A new, empty in-memory store."""
    return MemoryStore()


@pytest.fixture
def omnicrm_sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A new, empty SQLite store in the test's temporary directory."""
    store = SQLiteStore(tmp_path / "omnicrm.db")
    try:
        yield store
    finally:
        store.close()
