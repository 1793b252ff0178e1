"""Customer profiles: the values, the repository port, the service and its events."""

from omnicrm.customers.events import CustomerRegistered, CustomerUpdated
from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.customers.ports import CustomerRepository
from omnicrm.customers.service import CommandResult, CustomerService

__all__ = [
    "CommandResult",
    "Customer",
    "CustomerRegistered",
    "CustomerRepository",
    "CustomerService",
    "CustomerUpdated",
    "IdentifierKey",
    "Profile",
]
