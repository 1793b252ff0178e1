"""Opening a store from a URL, and the registry of backends by scheme."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.unit_of_work import Store

__all__ = ["BackendRegistry", "open_store", "register_backend", "registry"]

Factory = Callable[[str], Store]
"""Builds a store from the whole URL."""


def _memory(url: str) -> Store:
    from omnicrm.persistence.memory import MemoryStore

    if url not in ("memory:", "memory://"):
        raise ConfigurationError("url", url, "the memory backend takes no path: use 'memory:'")
    return MemoryStore()


def _sqlite(url: str) -> Store:
    from omnicrm.persistence.sqlite import SQLiteStore

    parts = urlsplit(url)
    if parts.netloc or not parts.path or parts.path == "/":
        raise ConfigurationError(
            "url", url, "expected sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return SQLiteStore(unquote(parts.path[1:]))


def _postgres(url: str) -> Store:
    try:
        from omnicrm.persistence.postgres import PostgresStore
    except ImportError as exc:  # psycopg is the optional "postgres" extra
        raise ConfigurationError(
            "url", url, "PostgreSQL needs psycopg: pip install 'omnicrm[postgres]'"
        ) from exc
    return PostgresStore(url)


class BackendRegistry:
    """Maps URL schemes ("memory", "sqlite", a host's own) to store factories."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {
            "memory": _memory,
            "sqlite": _sqlite,
            "postgresql": _postgres,
            "postgres": _postgres,
        }

    def register(self, scheme: str, factory: Factory) -> None:
        """Make ``open_store("<scheme>:...")`` call ``factory(url)``."""
        if not isinstance(scheme, str) or not scheme.isidentifier():
            raise ConfigurationError("scheme", scheme, "must be a name like 'mydb'")
        self._factories[scheme] = factory

    def open(self, url: str) -> Store:
        """Open the store ``url`` names."""
        if not isinstance(url, str):
            raise InvalidTypeError("url", url, "must be a str such as 'sqlite:///crm.db'")
        scheme = url.partition(":")[0]
        factory = self._factories.get(scheme)
        if factory is None or ":" not in url:
            raise ConfigurationError(
                "url", url, f"unknown store scheme; known: {sorted(self._factories)}"
            )
        return factory(url)


registry = BackendRegistry()
"""The process-wide backend registry used by :func:`open_store`."""


def register_backend(scheme: str, factory: Factory) -> None:
    """Register a host's own backend: ``register_backend("mydb", MyStore.from_url)``."""
    registry.register(scheme, factory)


def open_store(url: str) -> Store:
    """Open a store: ``"memory:"``, ``"sqlite:///crm.db"``, ``"postgresql://…"`` or another.

    Other schemes are those a host registered with :func:`register_backend`.
    """
    return registry.open(url)
