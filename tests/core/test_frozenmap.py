"""FrozenMap: a read-only, hashable text mapping that behaves like a dict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnicrm.errors import InvalidTypeError
from omnicrm.frozenmap import FrozenMap, to_frozen_map

texts = st.text(max_size=8)


@given(st.dictionaries(texts, texts, max_size=6), texts)
def test_reads_like_the_dict_it_was_built_from(items: dict[str, str], key: str) -> None:
    frozen = FrozenMap(items)
    assert frozen == items
    assert frozen.get(key) == items.get(key)
    assert frozen.get(key, "fallback") == items.get(key, "fallback")
    assert (key in frozen) == (key in items)
    assert list(frozen) == sorted(items)
    assert hash(frozen) == hash(FrozenMap(dict(reversed(list(items.items())))))


def test_converter_names_the_bad_key() -> None:
    with pytest.raises(InvalidTypeError, match="attributes\\['tier'\\]"):
        to_frozen_map({"tier": 3})
    assert to_frozen_map(None) == {}
