"""The contract-suite mechanism: a base class a host's test class inherits from."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from omnicrm.unit_of_work import Store

__all__ = ["StoreContract", "StoreFactory"]

StoreFactory = Callable[[], Store]
"""Makes a new, empty store each time it is called."""


class StoreContract:
    """Base of every contract suite. pytest does not collect it (its name has no ``Test``).

    A host subclasses a suite in a class whose name starts with ``Test`` and overrides the
    one fixture :meth:`store_factory`, returning a callable that builds a **new, empty**
    store each time it is called::

        class TestMyCustomers(CustomerRepositoryContract):
            @pytest.fixture
            def store_factory(self, tmp_path):
                return lambda: MyStore(tmp_path / f"{uuid4()}.db")

    Tests needing an optional :class:`~omnicrm.unit_of_work.Capability` skip, with the
    reason shown, on a store whose ``capabilities`` lack it.
    """

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        """Override me: return a callable that builds a new, empty store."""
        pytest.fail("override the `store_factory` fixture in your contract test class")

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[Store]:
        """A new, empty store for one test, closed afterwards."""
        built = store_factory()
        try:
            yield built
        finally:
            built.close()

    @staticmethod
    def require(store: Store, capability: str) -> None:
        """Skip the running test unless ``store`` declares ``capability``."""
        if capability not in store.capabilities:
            pytest.skip(f"{type(store).__name__} does not declare the {capability!r} capability")
