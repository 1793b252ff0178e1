"""Contract suites a host subclasses to prove its own storage backend.

Each suite is a class pytest does not collect by itself. Subclass it in a class whose
name starts with ``Test`` and override the ``store_factory`` fixture; see
:class:`StoreContract` and the testing-kit guide.
"""

from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts.customers import CustomerRepositoryContract
from omnicrm.testing.contracts.customers_machine import CustomerStoreComparison
from omnicrm.testing.contracts.identity import IdentityRepositoryContract, IdentityStoreComparison
from omnicrm.testing.contracts.inventory import InventoryContract
from omnicrm.testing.contracts.inventory_machine import InventoryStoreComparison
from omnicrm.testing.contracts.loyalty import LoyaltyContract
from omnicrm.testing.contracts.loyalty_machine import LoyaltyStoreComparison
from omnicrm.testing.contracts.timing import TimingRepositoryContract
from omnicrm.testing.contracts.timing_machine import TimingStoreComparison

__all__ = [
    "CustomerRepositoryContract",
    "CustomerStoreComparison",
    "IdentityRepositoryContract",
    "IdentityStoreComparison",
    "InventoryContract",
    "InventoryStoreComparison",
    "LoyaltyContract",
    "LoyaltyStoreComparison",
    "StoreContract",
    "StoreFactory",
    "TimingRepositoryContract",
    "TimingStoreComparison",
]
