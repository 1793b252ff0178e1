"""The customers repository port: the profile store identity resolution builds on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from omnicrm.customers.model import Customer, IdentifierKey

__all__ = ["CustomerRepository"]


class CustomerRepository(Protocol):
    """Stores customer profiles.

    Implement it on your own table; prove it with
    :class:`omnicrm.testing.contracts.CustomerRepositoryContract`.

    Every method runs inside the unit of work that owns the repository; nothing is
    visible to other units of work until that one commits.
    """

    def add(self, customer: Customer) -> Customer:
        """Store a new profile and return it with ``version == 1``.

        Raises ``DuplicateError`` if the id exists.
        """
        ...

    def get(self, customer_id: str) -> Customer:
        """Return the profile, or raise ``NotFoundError``."""
        ...

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, Customer]:
        """Return the profiles that exist among ``customer_ids``, keyed by id."""
        ...

    def find_by_identifier(self, key: IdentifierKey) -> Sequence[Customer]:
        """Return every profile carrying ``key`` (family members may share a phone), by id."""
        ...

    def update(self, customer: Customer) -> Customer:
        """Replace the profile if its stored version equals ``customer.version``.

        Returns the profile with the version incremented. Raises ``ConcurrencyError`` on a
        stale version and ``NotFoundError`` if the profile does not exist.
        """
        ...

    def changed_since(
        self, since: datetime, *, after_id: str | None = None, limit: int | None = None
    ) -> Sequence[Customer]:
        """Return profiles with ``(updated_at, id) > (since, after_id)``, oldest change first.

        With ``after_id=None`` every profile whose ``updated_at >= since`` is included. Page
        through a large result by passing the last profile's ``updated_at`` and ``id``.
        """
        ...
