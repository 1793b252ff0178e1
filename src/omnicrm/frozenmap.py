"""An immutable, hashable ``str -> str`` mapping for attributes on frozen values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, overload

from omnicrm.errors import InvalidTypeError
from omnicrm.validation import check_text

__all__ = ["FrozenMap", "to_frozen_map"]

_T = TypeVar("_T")


class FrozenMap(Mapping[str, str]):
    """A read-only mapping of text keys to text values, hashable and ordered by key."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        pairs = sorted((items or {}).items())
        self._items: dict[str, str] = dict(pairs)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    @overload
    def get(self, key: str, /) -> str | None: ...
    @overload
    def get(self, key: str, /, default: str | _T) -> str | _T: ...
    def get(self, key: str, /, default: object = None) -> object:
        """The value of ``key``, or ``default``.

        The dict's own lookup in one call (hot in every journey condition), where the
        inherited ``Mapping.get`` takes two calls and a ``try``.
        """
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


def to_frozen_map(value: Any) -> FrozenMap:
    """Convert a mapping of ``str`` to ``str`` into a :class:`FrozenMap`, checking types.

    Used as an ``attrs`` converter; it raises ``InvalidTypeError`` naming the bad key.
    """
    if isinstance(value, FrozenMap):
        return value
    if value is None:
        return FrozenMap()
    if not isinstance(value, Mapping):
        raise InvalidTypeError(
            "attributes", value, f"must be a mapping, not {type(value).__name__}"
        )
    for key, item in value.items():
        check_text("attributes key", key, max_length=200)
        if not isinstance(item, str):
            raise InvalidTypeError(
                f"attributes[{key!r}]", item, f"must be a str, not {type(item).__name__}"
            )
    return FrozenMap(value)
