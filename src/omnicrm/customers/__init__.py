"""Customer profiles: the values, the repository port, the service and its events."""

from omnicrm.customers.events import CustomerProfileErased, CustomerRegistered, CustomerUpdated
from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.customers.ports import CustomerRepository
from omnicrm.customers.service import CommandResult, CustomerService

__all__ = [
    "CommandResult",
    "Customer",
    "CustomerProfileErased",
    "CustomerRegistered",
    "CustomerRepository",
    "CustomerService",
    "CustomerUpdated",
    "IdentifierKey",
    "Profile",
]
