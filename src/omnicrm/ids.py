"""Identifiers: the id-generator protocol and the default random generator.

Randomness is injected like time: services take an :class:`IdGenerator`, so tests
can use :class:`omnicrm.testing.SequentialIds` and get the same ids every run.
"""

from __future__ import annotations

import uuid
from typing import Protocol, runtime_checkable

from omnicrm.validation import check_id

__all__ = ["IdGenerator", "UuidIds"]


@runtime_checkable
class IdGenerator(Protocol):
    """Makes new unique ids; ``prefix`` names the kind of thing ("cus", "hold")."""

    def new_id(self, prefix: str) -> str:
        """Return a new id starting with ``prefix`` and an underscore."""
        ...


class UuidIds:
    """Random ids: ``f"{prefix}_{uuid4().hex}"``."""

    def new_id(self, prefix: str) -> str:
        """Return a new random id such as ``cus_5f0c...``."""
        check_id("prefix", prefix)
        return f"{prefix}_{uuid.uuid4().hex}"
