"""Contract suites a host subclasses to prove its own storage backend.

Each suite is a class pytest does not collect by itself. Subclass it in a class whose
name starts with ``Test`` and override the ``store_factory`` fixture; see
:class:`StoreContract` and the testing-kit guide.
"""

from omnicrm.testing.contracts._base import StoreContract, StoreFactory
from omnicrm.testing.contracts.customers import CustomerRepositoryContract
from omnicrm.testing.contracts.customers_machine import CustomerStoreComparison
from omnicrm.testing.contracts.identity import IdentityRepositoryContract, IdentityStoreComparison

__all__ = [
    "CustomerRepositoryContract",
    "CustomerStoreComparison",
    "IdentityRepositoryContract",
    "IdentityStoreComparison",
    "StoreContract",
    "StoreFactory",
]
