"""Blocking: the keys records are grouped by, so only plausible pairs are compared.

The same keys are the online resolver's match-key index: a new record is compared
with the stored records sharing at least one key, never with the whole store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from omnicrm.identity.prepared import PreparedRecord

__all__ = [
    "IndexPairs",
    "blocking_keys",
    "candidate_indexes",
    "candidate_pairs",
    "secondary_keys",
    "secondary_pairs",
]

Indexes = npt.NDArray[np.int64]
IndexPairs = tuple[Indexes, Indexes]
"""Pairs of record indexes as two arrays ``(left, right)``, ``left < right``, sorted."""


def _initial(text: str) -> str:
    return text[:1]


def blocking_keys(p: PreparedRecord) -> frozenset[str]:
    """The match keys of a prepared record (``"phone:09012345678"``, ...).

    Keys cover each way one person's records can still agree after a change or a
    typo: any shared identifier; the full name (spelling or reading); given name with
    date of birth (a married-name change); family initial with date of birth (a typo
    in the name); name with postal code or address (no date of birth known).
    """
    keys: set[str] = set()
    if p.phone:
        keys.add(f"phone:{p.phone}")
    if p.email:
        keys.add(f"email:{p.email}")
    if p.member_card:
        keys.add(f"card:{p.member_card}")
    family_reading = p.family_kana or p.family
    given_reading = p.given_kana or p.given
    birth = p.birth_date.isoformat() if p.birth_date else ""
    if p.family and p.given:  # either order: names get written the other way round
        keys.add("name:" + "|".join(sorted((p.family, p.given))))
    if family_reading and given_reading:
        keys.add("kana:" + "|".join(sorted((family_reading, given_reading))))
    if birth:
        for reading in (family_reading, given_reading):
            if reading:
                keys.add(f"name_birth:{reading}|{birth}")
                keys.add(f"initial_birth:{_initial(reading)}|{birth}")
    if given_reading and p.postal_code:
        keys.add(f"given_postal:{given_reading}|{p.postal_code}")
    if family_reading and p.postal_code:
        keys.add(f"family_postal:{family_reading}|{p.postal_code}")
    if p.address and p.address.block and given_reading:
        keys.add(f"given_block:{_initial(given_reading)}|{p.address.block}|{p.address.locality}")
    return frozenset(keys)


def secondary_keys(p: PreparedRecord) -> Iterator[str]:
    """Keys of pairs of fields strangers seldom share, none of them a name, so that a
    record whose names were both replaced or mistyped is still compared: birth date and
    postal code, postal code and house (or block) number, street and house number, the
    family name's first three letters and postal code, the birth date alone.

    Not match keys: :func:`~omnicrm.identity.link` uses them, and
    :func:`~omnicrm.identity.resolve` in a batch without households (with households,
    the pairs they add are family members and neighbours, whom the given names keep
    apart anyway).
    """  # noqa: D205
    block = p.address.block if p.address else ""
    if p.postal_code and p.birth_date:
        yield f"birth_postal:{p.birth_date.isoformat()}|{p.postal_code}"
    if p.postal_code and block:
        yield f"postal_block:{p.postal_code}|{block}"
    street = p.address.locality.split()[0] if p.address and p.address.locality else ""
    if street and block:
        yield f"street_block:{street}|{block}"
    if street and p.postal_code:
        yield f"postal_street:{p.postal_code}|{street}"
    family = p.family_kana or p.family
    if family and p.postal_code:
        yield f"family_prefix_postal:{family[:3]}|{p.postal_code}"
    for name in (family, p.given_kana or p.given):
        if name and block:
            yield f"name_block:{name}|{block}"
        if name and street:
            yield f"name_street:{name}|{street}"
    if p.birth_date:
        yield f"birth:{p.birth_date.isoformat()}"


def _secondary_memberships(records: Sequence[PreparedRecord]) -> IndexPairs:
    """:func:`_memberships` of the :func:`secondary_keys`, built from the fields' integer
    codes instead of key strings (the same blocks, the same repeats: a record's two
    names may give one key twice); the key strings when a text holds their ``|``."""  # noqa: D205, D209
    codes: dict[str, int] = {"": 0}
    column = _coder(codes)
    addresses = [p.address for p in records]
    postal = column(p.postal_code for p in records)
    block = column(a.block if a else "" for a in addresses)
    street = column(a.locality.split()[0] if a and a.locality else "" for a in addresses)
    families = [p.family_kana or p.family for p in records]
    family, prefix = column(families), column(f[:3] for f in families)
    given = column(p.given_kana or p.given for p in records)
    if any("|" in text for text in codes):
        return _memberships(secondary_keys(p) for p in records)
    births = (p.birth_date.toordinal() if p.birth_date else 0 for p in records)
    birth = np.fromiter(births, dtype=np.int64, count=len(records))
    present = np.ones(len(records), dtype=np.int64)
    kinds = [  # in the order secondary_keys gives them; one kind per key prefix
        (0, birth, postal), (1, postal, block), (2, street, block), (3, postal, street),
        (4, prefix, postal), (5, family, block), (6, family, street), (5, given, block),
        (6, given, street), (7, birth, present),
    ]  # fmt: skip
    return _keyed_memberships(kinds, max(len(codes), int(birth.max(initial=0)) + 1))


KeyKinds = list[tuple[int, Indexes, Indexes]]
"""Keys as ``(kind, first, second)``: each record's key of a kind is its two codes
(a record holds it when both are not 0); keys of one kind and codes are one key."""


def _keyed_memberships(kinds: KeyKinds, base: int, *, once: bool = False) -> IndexPairs:
    """``(record, block)`` of keys given as codes (every code below ``base``); with
    ``once`` a record is in a block once (a set of keys)."""  # noqa: D205, D209
    holders, keys = [], []
    for kind, first, second in kinds:
        held = np.nonzero((first != 0) & (second != 0))[0]
        holders.append(held)
        keys.append((kind * base + first[held]) * base + second[held])
    held_by, (_, blocks) = np.concatenate(holders), _unique_inverse(np.concatenate(keys))
    if once and len(blocks):
        count = int(blocks.max()) + 1
        pairs = _unique(held_by * count + blocks)
        held_by, blocks = pairs // count, pairs % count
    return held_by, blocks


def _coder(codes: dict[str, int]) -> Callable[[Iterable[str]], Indexes]:
    """A function giving texts their integer codes in ``codes`` (``""`` is 0), adding new ones."""

    def column(texts: Iterable[str]) -> Indexes:
        values = list(texts)
        for text in set(values).difference(codes):
            codes[text] = len(codes)
        return np.fromiter(map(codes.__getitem__, values), dtype=np.int64, count=len(values))

    return column


def _primary_memberships(records: Sequence[PreparedRecord]) -> IndexPairs:
    """:func:`_memberships` of the :func:`blocking_keys` (each record once in a block,
    in record order), built from the fields' integer codes instead of key strings; the
    key strings when a text holds their ``|``."""  # noqa: D205, D209
    codes: dict[str, int] = {"": 0}
    column = _coder(codes)
    phone, email = column(p.phone for p in records), column(p.email for p in records)
    card = column(p.member_card for p in records)
    family, given = column(p.family for p in records), column(p.given for p in records)
    family_reading = column(p.family_kana or p.family for p in records)
    given_reading = column(p.given_kana or p.given for p in records)
    initials = [column(t[:1] for t in texts) for texts in _readings(records)]
    postal = column(p.postal_code for p in records)
    plots = [p.address.key if p.address and p.address.block else "" for p in records]
    if any("|" in text for text in codes) or any(text.count("|") > 1 for text in plots):
        return _memberships(blocking_keys(p) for p in records)
    plot = column(plots)  # locality and block: one "|" in each
    births = (p.birth_date.toordinal() if p.birth_date else 0 for p in records)
    birth = np.fromiter(births, dtype=np.int64, count=len(records))
    present = np.ones(len(records), dtype=np.int64)
    both_names = (family != 0) & (given != 0)  # the unordered pair of spellings
    both_readings = (family_reading != 0) & (given_reading != 0)
    kinds: KeyKinds = [
        (0, phone, present), (1, email, present), (2, card, present),
        (3, np.where(both_names, np.minimum(family, given), 0), np.maximum(family, given)),
        (4, np.where(both_readings, np.minimum(family_reading, given_reading), 0),
         np.maximum(family_reading, given_reading)),
        (5, family_reading, birth), (5, given_reading, birth),
        (6, initials[0], birth), (6, initials[1], birth),
        (7, given_reading, postal), (8, family_reading, postal),
        (9, np.where(given_reading != 0, initials[1], 0), plot),
    ]  # fmt: skip
    return _keyed_memberships(kinds, max(len(codes), int(birth.max(initial=0)) + 1), once=True)


def _readings(records: Sequence[PreparedRecord]) -> tuple[list[str], list[str]]:
    return [p.family_kana or p.family for p in records], [p.given_kana or p.given for p in records]


def secondary_pairs(
    records: Sequence[PreparedRecord], *, max_block_size: int, split: int | None = None
) -> Iterator[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, sharing a :func:`secondary_keys` key, or neighbours
    in the order of their names (:data:`NEIGHBOURS`), each once, in order.

    A block larger than ``max_block_size`` (on either side with ``split``) is skipped.
    With ``split`` only pairs of one record before and one from ``split`` are paired.
    """  # noqa: D205
    return _listed(_secondary_codes(records, max_block_size, split), len(records))


def _secondary_codes(
    records: Sequence[PreparedRecord], max_block_size: int, split: int | None
) -> Indexes:
    n = len(records)
    found = _block_pairs(_secondary_memberships(records), n, max_block_size, split=split)
    named = sorted((name, i) for i, p in enumerate(records) for name in _name_orders(p))
    order = np.fromiter((i for _, i in named), dtype=np.int64, count=len(named))
    neighbours = [(order[:-d], order[d:]) for d in range(1, NEIGHBOURS + 1) if d < len(order)]
    return _unique(np.concatenate((found, _codes(neighbours, n, split))))


SECONDARY_BLOCK = 10
"""In a batch, a secondary block of more records than this is skipped: a pair of fields
that many records share (a common birth date and postcode, a long street) is no sign of
one person, and its pairs grow with the square of the block."""

NEIGHBOURS = 4
"""Records paired with the next ones in the order of their names (sorted neighbourhood),
each record sorted under both orders of its names, so that two records whose names
agree only in their first letters, or were written the other way round with a typo, are
compared even when no other key joins them."""


def _name_orders(p: PreparedRecord) -> tuple[str, ...]:
    family, given = p.family_kana or p.family, p.given_kana or p.given
    if family and given:
        return f"{family} {given}", f"{given} {family}"
    return (family or given,) if family or given else ()


def _window_key(p: PreparedRecord) -> tuple[str, str, str]:
    birth = p.birth_date.isoformat() if p.birth_date else ""
    return (p.given_kana or p.given, birth, p.postal_code)


def candidate_indexes(
    records: Sequence[PreparedRecord],
    *,
    max_block_size: int,
    window: int,
    secondary: bool = False,
    primary: IndexPairs | None = None,
) -> IndexPairs:
    """Every pair of indexes ``(i, j)``, ``i < j``, sharing a blocking key, once, in order.

    A block larger than ``max_block_size`` (a very common name) is sorted by given
    name, birth date and postal code and only records within ``window`` of each other
    are paired, so the number of pairs grows near-linearly with the records. With
    ``secondary``, pairs sharing a :func:`secondary_keys` key (in a block of at most
    :data:`SECONDARY_BLOCK`) and neighbours in the order of their names are added.
    Computed in arrays (numpy): the pairs of all blocks at once, with no set of pairs.
    ``primary``: the pairs of the blocking keys when already found (this function
    without ``secondary``, for the same records and settings), so they are not found twice.
    """
    n = len(records)
    if primary is not None:
        codes = primary[0] * n + primary[1]
    else:
        codes = _block_pairs(
            _primary_memberships(records),
            n,
            max_block_size,
            window=window,
            order=lambda i: _window_key(records[i]),
        )
    if secondary:
        capped = min(max_block_size, SECONDARY_BLOCK)
        codes = _unique(np.concatenate((codes, _secondary_codes(records, capped, None))))
    return codes // max(n, 1), codes % max(n, 1)


def candidate_pairs(
    records: Sequence[PreparedRecord],
    *,
    max_block_size: int,
    window: int,
    secondary: bool = False,
) -> Iterator[tuple[int, int]]:
    """:func:`candidate_indexes` as ``(i, j)`` tuples, in order."""
    left, right = candidate_indexes(
        records, max_block_size=max_block_size, window=window, secondary=secondary
    )
    return zip(left.tolist(), right.tolist(), strict=True)


def _listed(codes: Indexes, n: int) -> Iterator[tuple[int, int]]:
    return zip((codes // max(n, 1)).tolist(), (codes % max(n, 1)).tolist(), strict=True)


def _memberships(keys_of: Iterable[Iterable[str]]) -> IndexPairs:
    """``(record, block)``: each key a record holds, numbered by first appearance."""
    ids: dict[str, int] = {}
    holders: list[int] = []
    blocks: list[int] = []
    for index, keys in enumerate(keys_of):
        for key in keys:
            blocks.append(ids.setdefault(key, len(ids)))
            holders.append(index)
    return np.array(holders, dtype=np.int64), np.array(blocks, dtype=np.int64)


def _block_pairs(
    memberships: IndexPairs,
    n: int,
    max_block_size: int,
    *,
    split: int | None = None,
    window: int = 0,
    order: Callable[[int], tuple[str, str, str]] | None = None,
) -> Indexes:
    """The codes ``i * n + j`` of every pair of records sharing a block, each once.

    A block of at most ``max_block_size`` records (on each side with ``split``) gives
    all its pairs; a larger one, with ``order``, the pairs within ``window`` of each
    other in that order, else none.
    """
    holders, blocks = memberships
    if not len(blocks):
        return np.zeros(0, dtype=np.int64)
    members = holders[np.argsort(blocks, kind="stable")]  # by block, then record
    sizes = np.bincount(blocks)
    starts = np.cumsum(sizes) - sizes
    if split is None:
        small = sizes <= max_block_size
    else:
        lefts = np.bincount(blocks[holders < split], minlength=len(sizes))
        small = (lefts <= max_block_size) & (sizes - lefts <= max_block_size)
    found = [
        _all_pairs(members, starts[small & (sizes == s)], s)
        for s in np.unique(sizes[small & (sizes > 1)]).tolist()
    ]
    if order is not None and window > 1:
        found += _window_pairs(members, starts[~small], sizes[~small], window, order)
    return _codes(found, n, split)


def _all_pairs(members: Indexes, starts: Indexes, size: int) -> IndexPairs:
    rows = members[starts[:, None] + np.arange(size)]
    xs, ys = np.triu_indices(size, 1)
    return rows[:, xs].ravel(), rows[:, ys].ravel()


def _window_pairs(
    members: Indexes,
    starts: Indexes,
    sizes: Indexes,
    window: int,
    order: Callable[[int], tuple[str, str, str]],
) -> list[IndexPairs]:
    """Pairs within ``window`` of each other in each block sorted by ``order`` (stable)."""
    if not len(starts):
        return []
    keys: dict[int, tuple[str, str, str]] = {}

    def key(i: int) -> tuple[str, str, str]:
        if i not in keys:
            keys[i] = order(i)
        return keys[i]

    ordered = np.array(
        [
            i
            for start, size in zip(starts.tolist(), sizes.tolist(), strict=True)
            for i in sorted(members[start : start + size].tolist(), key=key)
        ],
        dtype=np.int64,
    )
    block = np.repeat(np.arange(len(sizes)), sizes)
    found = []
    for d in range(1, min(window, len(ordered))):
        same = block[:-d] == block[d:]
        found.append((ordered[:-d][same], ordered[d:][same]))
    return found


def _codes(pairs: Iterable[IndexPairs], n: int, split: int | None) -> Indexes:
    """``i * n + j`` (``i < j``) of ``pairs``, sorted, each once; no record with itself
    and, with ``split``, only pairs across it."""  # noqa: D205, D209
    codes = [np.zeros(0, dtype=np.int64)]
    for left, right in pairs:
        low, high = np.minimum(left, right), np.maximum(left, right)
        keep = low < high if split is None else (low < split) & (high >= split)
        codes.append(low[keep] * n + high[keep])
    return _unique(np.concatenate(codes))


def _unique_inverse(values: Indexes) -> IndexPairs:
    """The distinct ``values`` (sorted) and each value's position among them."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.concatenate(([True], ordered[1:] != ordered[:-1])) if len(values) else ordered
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first.astype(bool)], inverse


def _unique(values: Indexes) -> Indexes:
    """``values`` sorted, each once (a sort: numpy's hashing ``unique`` is slower here)."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values
