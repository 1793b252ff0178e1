"""Blocking: the keys records are grouped by, so only plausible pairs are compared.

The same keys are the online resolver's match-key index: a new record is compared
with the stored records sharing at least one key, never with the whole store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from omnicrm.identity.prepared import PreparedRecord

__all__ = ["blocking_keys", "candidate_pairs"]


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


def _window_key(p: PreparedRecord) -> tuple[str, str, str]:
    birth = p.birth_date.isoformat() if p.birth_date else ""
    return (p.given_kana or p.given, birth, p.postal_code)


def candidate_pairs(
    records: Sequence[PreparedRecord], *, max_block_size: int, window: int
) -> Iterator[tuple[int, int]]:
    """Yield each pair of indexes ``(i, j)``, ``i < j``, sharing a blocking key, once.

    A block larger than ``max_block_size`` (a very common name) is sorted by given
    name, birth date and postal code and only records within ``window`` of each other
    are paired, so the number of pairs grows near-linearly with the records.
    """
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for key in blocking_keys(record):
            blocks[key].append(index)
    seen: set[tuple[int, int]] = set()
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
            pair = (i, j) if i < j else (j, i)
            if pair not in seen:
                seen.add(pair)
                yield pair
