"""Storage adapters: :mod:`.memory` (the reference) and :mod:`.sqlite`, opened by URL."""

from omnicrm.persistence.registry import BackendRegistry, open_store, register_backend

__all__ = ["BackendRegistry", "open_store", "register_backend"]
