"""Blocking: the keys records are grouped by, so only plausible pairs are compared.

The same keys are the online resolver's match-key index: a new record is compared
with the stored records sharing at least one key, never with the whole store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from omnicrm.identity.prepared import PreparedRecord

__all__ = ["blocking_keys", "candidate_pairs", "secondary_keys"]


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


def secondary_pairs(
    records: Sequence[PreparedRecord], *, max_block_size: int, split: int | None = None
) -> Iterator[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, sharing a :func:`secondary_keys` key (maybe repeated).

    A block larger than ``max_block_size`` (on either side with ``split``) is skipped.
    With ``split`` only pairs of one record before and one from ``split`` are paired.
    """
    blocks: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for index, record in enumerate(records):
        for key in secondary_keys(record):
            blocks[key][split is not None and index >= split].append(index)
    for lefts, rights in blocks.values():
        if len(lefts) > max_block_size or len(rights) > max_block_size:
            continue
        if split is not None:
            yield from ((i, j) for i in lefts for j in rights)
        else:
            yield from (
                (lefts[x], lefts[y]) for x in range(len(lefts)) for y in range(x + 1, len(lefts))
            )
    named = sorted((name, i) for i, p in enumerate(records) for name in _name_orders(p))
    for x, (_, i) in enumerate(named):
        for _, j in named[x + 1 : x + NEIGHBOURS + 1]:
            if i != j and (split is None or (i < split) != (j < split)):
                yield (i, j) if i < j else (j, i)


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


def candidate_pairs(
    records: Sequence[PreparedRecord],
    *,
    max_block_size: int,
    window: int,
    secondary: bool = False,
) -> Iterator[tuple[int, int]]:
    """Yield each pair of indexes ``(i, j)``, ``i < j``, sharing a blocking key, once.

    A block larger than ``max_block_size`` (a very common name) is sorted by given
    name, birth date and postal code and only records within ``window`` of each other
    are paired, so the number of pairs grows near-linearly with the records. With
    ``secondary``, pairs sharing a :func:`secondary_keys` key (in a block of at most
    :data:`SECONDARY_BLOCK`) follow.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for key in blocking_keys(record):
            blocks[key].append(index)
    seen: set[int] = set()  # i * n + j: a third of a tuple's memory
    n = len(records)
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) <= max_block_size:
            pairs: Iterator[tuple[int, int]] = (
                (members[x], members[y])
                for x in range(len(members))
                for y in range(x + 1, len(members))
            )
        else:
            ordered = sorted(members, key=lambda i: _window_key(records[i]))
            pairs = (
                (ordered[x], ordered[y])
                for x in range(len(ordered))
                for y in range(x + 1, min(x + window, len(ordered)))
            )
        for i, j in pairs:
            if i > j:
                i, j = j, i
            if i * n + j not in seen:
                seen.add(i * n + j)
                yield i, j
    if secondary:
        capped = min(max_block_size, SECONDARY_BLOCK)
        for i, j in secondary_pairs(records, max_block_size=capped):
            if i * n + j not in seen:
                seen.add(i * n + j)
                yield i, j
