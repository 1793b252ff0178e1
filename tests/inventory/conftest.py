from datetime import UTC, datetime

import pytest

from omnicrm.inventory import InventoryService
from omnicrm.persistence.memory import MemoryStore
from omnicrm.testing import FixedClock, SequentialIds
from omnicrm.testing.strategies_inventory import tokyo_items, tokyo_network

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Monday 12:00 in Tokyo


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(store: MemoryStore, clock: FixedClock) -> InventoryService:
    svc = InventoryService(store, clock, SequentialIds())
    locations, routes = tokyo_network()
    for location in locations:
        svc.save_location(location, idempotency_key=f"l-{location.id}")
    for route in routes:
        svc.route_channel(route, idempotency_key=f"r-{route.channel}")
    for item in tokyo_items():
        svc.define_item(item, idempotency_key=f"i-{item.sku}")
    return svc
